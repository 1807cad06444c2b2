//! Lua scripting: EVAL/EVALSHA/SCRIPT against the real binary. Expected
//! replies were recorded from Redis 7.2 behaviour (Valkey, with Redis's
//! own wording where the two differ).

mod common;

use common::Server;
use std::time::Duration;

/// Sends a command whose reply is a chain of one-element arrays and reads
/// it line by line (the recursive reader of tests/common would need a
/// deep native stack).
fn deep_reply(c: &mut common::Conn, args: &[&str]) -> String {
    use std::io::BufRead;
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send(&a);
    let mut out = String::new();
    loop {
        let mut line = String::new();
        c.r.read_line(&mut line).expect("read");
        assert!(!line.is_empty(), "connection closed");
        out.push_str(&line);
        if line != "*1\r\n" {
            return out;
        }
    }
}

fn sha_suffix(sha: &str, line: u32) -> String {
    format!("script: {}, on @user_script:{}.", sha, line)
}

#[test]
fn return_value_conversions() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["EVAL", "return 1", "0"]), ":1\r\n");
    assert_eq!(c.cmd(&["EVAL", "return 3.99", "0"]), ":3\r\n");
    assert_eq!(c.cmd(&["EVAL", "return -3.99", "0"]), ":-3\r\n");
    assert_eq!(c.cmd(&["EVAL", "return 'x'", "0"]), "$1\r\nx\r\n");
    assert_eq!(c.cmd(&["EVAL", "return nil", "0"]), "$-1\r\n");
    assert_eq!(c.cmd(&["EVAL", "return false", "0"]), "$-1\r\n");
    assert_eq!(c.cmd(&["EVAL", "return true", "0"]), ":1\r\n");
    assert_eq!(
        c.cmd(&["EVAL", "return {1,2.7,'x',false,true,nil,3}", "0"]),
        "*5\r\n:1\r\n:2\r\n$1\r\nx\r\n$-1\r\n:1\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return {1,{2,{3}},{ok='x'},{err='y'}}", "0"]),
        "*4\r\n:1\r\n*2\r\n:2\r\n*1\r\n:3\r\n+x\r\n-y\r\n"
    );
    assert_eq!(c.cmd(&["EVAL", "return {ok='fine'}", "0"]), "+fine\r\n");
    assert_eq!(
        c.cmd(&["EVAL", "return {err='bad thing'}", "0"]),
        "-bad thing\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.error_reply('My Error')", "0"]),
        "-My Error\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.error_reply('x')", "0"]),
        "-ERR x\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.status_reply('FINE')", "0"]),
        "+FINE\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return {double=3.5}", "0"]),
        "$3\r\n3.5\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return math.huge", "0"]),
        ":-9223372036854775808\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "return {KEYS[1], KEYS[2], ARGV[1]}",
            "2",
            "a",
            "b",
            "c"
        ]),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        deep_reply(&mut c, &["EVAL", "local t={} t[1]=t return t", "0"])
            .lines()
            .last(),
        Some("-ERR reached lua stack limit")
    );
    // RESP3 forms after redis.setresp(3), seen by a RESP3 client.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(
        c.cmd(&["EVAL", "redis.setresp(3) return {false, true}", "0"]),
        "*2\r\n#f\r\n#t\r\n"
    );
    assert_eq!(c.cmd(&["EVAL", "return {double=3.5}", "0"]), ",3.5\r\n");
    assert_eq!(c.cmd(&["EVAL", "return false", "0"]), "_\r\n");
}

#[test]
fn command_replies_seen_by_scripts() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    c.cmd(&["HSET", "h", "a", "1"]);
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('hgetall', KEYS[1])", "1", "h"]),
        "*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "redis.setresp(3) return redis.call('hgetall','h').map.a",
            "0"
        ]),
        "$1\r\n1\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return type(redis.call('get','nokey'))", "0"]),
        "$7\r\nboolean\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('ping').ok", "0"]),
        "$4\r\nPONG\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('set','n', 3.5)", "0"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["GET", "n"]), "$3\r\n3.5\r\n");
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('incr','cnt')", "0"]),
        ":1\r\n"
    );
    // SELECT inside a script doesn't change the caller's database.
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "redis.call('select', 1) return redis.call('set','indb1','x')",
            "0"
        ]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd(&["EXISTS", "indb1"]), ":0\r\n");
    c.cmd(&["SELECT", "1"]);
    assert_eq!(c.cmd(&["EXISTS", "indb1"]), ":1\r\n");
    c.cmd(&["SELECT", "0"]);
    // Blocking commands don't block inside scripts.
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('blpop','nolist', 0)", "0"]),
        "$-1\r\n"
    );
    // Scripts inside transactions.
    assert_eq!(c.cmd(&["MULTI"]), "+OK\r\n");
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('incr','cnt')", "0"]),
        "+QUEUED\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('incr','cnt')", "0"]),
        "+QUEUED\r\n"
    );
    assert_eq!(c.cmd(&["EXEC"]), "*2\r\n:2\r\n:3\r\n");
    // A client blocked on another connection is served by a script's push.
    let mut waiter = s.conn();
    waiter.send(&[b"BLPOP", b"bl", b"5"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "redis.call('lpush','bl','a','b') return redis.call('llen','bl')",
            "0"
        ]),
        ":2\r\n"
    );
    assert_eq!(waiter.read_reply(), "*2\r\n$2\r\nbl\r\n$1\r\nb\r\n");
}

#[test]
fn error_shapes() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    c.cmd(&["SET", "s", "x"]);
    let body = "return redis.call('incr','s')";
    let sha = c.cmd(&["SCRIPT", "LOAD", body]);
    let sha = sha.lines().nth(1).unwrap_or("").to_string();
    assert_eq!(
        c.cmd(&["EVAL", body, "0"]),
        format!(
            "-ERR value is not an integer or out of range {}\r\n",
            sha_suffix(&sha, 1)
        )
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.pcall('incr','s')", "0"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('nosuch')", "0"]),
        format!(
            "-ERR Unknown Redis command called from script {}\r\n",
            sha_suffix("206396248e12c6e742fd7296250433c8d7343b74", 1)
        )
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('get')", "0"]),
        format!(
            "-ERR Wrong number of args calling Redis command from script {}\r\n",
            sha_suffix("f187dee77f607f7cff00bbabc9df38507582c78d", 1)
        )
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('multi')", "0"]),
        format!(
            "-ERR This Redis command is not allowed from script {}\r\n",
            sha_suffix("c329a1a294be6bf95b44144f7502610661ae925a", 1)
        )
    );
    assert_eq!(
        c.cmd(&["EVAL", "error('x')", "0"]),
        format!(
            "-ERR user_script:1: x {}\r\n",
            sha_suffix("9851144f39f03a0d597a980c5aa79c80cb696891", 1)
        )
    );
    assert_eq!(
        c.cmd(&["EVAL", "error({err='ZZZ x'})", "0"]),
        format!(
            "-ZZZ x {}\r\n",
            sha_suffix("dfc02f1140ec422b845e1f4607ebb41eb2972927", 1)
        )
    );
    assert_eq!(
        c.cmd(&["EVAL", "return (", "0"]),
        "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return 1", "-1"]),
        "-ERR Number of keys can't be negative\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return 1", "2", "a"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.setresp(4)", "0"]),
        format!(
            "-ERR RESP version must be 2 or 3. {}\r\n",
            sha_suffix("921c0a48021d97dfd5884aeea41875972c7804d9", 1)
        )
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "local ok, e = pcall(redis.call, 'nosuch') return e",
            "0"
        ]),
        "$44\r\nERR Unknown Redis command called from script\r\n"
    );
    // Read-only scripts.
    assert_eq!(
        c.cmd(&["EVAL_RO", "return redis.call('set','a','b')", "0"]),
        format!(
            "-ERR Write commands are not allowed from read-only scripts. {}\r\n",
            sha_suffix("ff967d0ae0e68b4f9e360fa91c54598bc25ad9b6", 1)
        )
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('set','a','b')",
            "0"
        ]),
        format!(
            "-ERR Write commands are not allowed from read-only scripts. {}\r\n",
            sha_suffix("6acb400a50fe96e33eca4e0af6e9dcfb21193726", 2)
        )
    );
    assert_eq!(
        c.cmd(&["EVAL_RO", "#!lua\nreturn 1", "0"]),
        "-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "#!lua flags=bad\nreturn 1", "0"]),
        "-ERR Unexpected flag in script shebang: bad\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "#!lua", "0"]),
        "-ERR Invalid script shebang\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "#!notlua\nreturn 1", "0"]),
        "-ERR Could not find scripting engine 'notlua'\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL_RO", "return redis.call('get','s')", "0"]),
        "$1\r\nx\r\n"
    );
}

#[test]
fn evalsha_and_script_cache() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";
    assert_eq!(
        c.cmd(&["EVALSHA", sha, "0"]),
        "-NOSCRIPT No matching script. Please use EVAL.\r\n"
    );
    assert_eq!(
        c.cmd(&["SCRIPT", "LOAD", "return 1"]),
        format!("$40\r\n{}\r\n", sha)
    );
    assert_eq!(c.cmd(&["EVALSHA", sha, "0"]), ":1\r\n");
    assert_eq!(c.cmd(&["EVALSHA", &sha.to_uppercase(), "0"]), ":1\r\n");
    assert_eq!(c.cmd(&["EVALSHA_RO", sha, "0"]), ":1\r\n");
    assert_eq!(c.cmd(&["SCRIPT", "EXISTS", sha, "x"]), "*2\r\n:1\r\n:0\r\n");
    // EVAL caches its body too.
    c.cmd(&["EVAL", "return 2", "0"]);
    assert_eq!(
        c.cmd(&[
            "SCRIPT",
            "EXISTS",
            "7f923f79fe76194c868d7e1d0820de36700eb649"
        ]),
        "*1\r\n:1\r\n"
    );
    assert_eq!(
        c.cmd(&["SCRIPT", "FLUSH", "bad"]),
        "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n"
    );
    assert_eq!(c.cmd(&["SCRIPT", "FLUSH", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.cmd(&["SCRIPT", "EXISTS", sha]), "*1\r\n:0\r\n");
    assert_eq!(
        c.cmd(&["SCRIPT", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return redis.sha1hex('')", "0"]),
        "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"
    );
}

#[test]
fn sandbox() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["EVAL", "return foo", "0"]),
        format!(
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'foo' {}\r\n",
            sha_suffix("47e30a5d10d5694f99208f9adc4fe3bf2450edbd", 1)
        )
    );
    assert_eq!(
        c.cmd(&["EVAL", "foo=1", "0"]),
        format!(
            "-ERR user_script:1: Attempt to modify a readonly table {}\r\n",
            sha_suffix("5bddd8336e5f711bfa499383fc73c17560c6250b", 1)
        )
    );
    assert_eq!(
        c.cmd(&["EVAL", "string.foo=1", "0"]),
        format!(
            "-ERR user_script:1: Attempt to modify a readonly table {}\r\n",
            sha_suffix("430e58f82d10fb9c20c167012c39650705856070", 1)
        )
    );
    assert_eq!(
        c.cmd(&["EVAL", "rawset(_G,'a',1)", "0"]),
        format!(
            "-ERR Attempt to modify a readonly table {}\r\n",
            sha_suffix("a1cbfb6b00d33f3232294dcc9ab503e3b919971b", 1)
        )
    );
    for g in [
        "print", "loadfile", "dofile", "require", "io", "debug", "package", "setfenv", "getfenv",
    ] {
        let r = c.cmd(&["EVAL", &format!("return type({})", g), "0"]);
        assert!(
            r.contains("Script attempted to access nonexistent global variable"),
            "{} -> {}",
            g,
            r
        );
    }
    assert_eq!(
        c.cmd(&["EVAL", "return type(os.clock)..type(os.time)", "0"]),
        "$11\r\nfunctionnil\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "local n=0 for k,v in pairs(string) do n=n+1 end return n",
            "0"
        ]),
        ":15\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return loadstring('return 1+1')()", "0"]),
        ":2\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "return redis.REDIS_VERSION .. ' ' .. redis.REDIS_VERSION_NUM",
            "0"
        ]),
        "$12\r\n7.2.4 459268\r\n"
    );
    // Libraries.
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "return bit.tohex(-1)..bit.tohex(255,-4)..bit.band(0xff,0x0f)..bit.lshift(1,40)",
            "0"
        ]),
        "$17\r\nffffffff00FF15256\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "return cjson.encode({1,2,'a/b',{x=1.5}, cjson.null, true})",
            "0"
        ]),
        "$32\r\n[1,2,\"a\\/b\",{\"x\":1.5},null,true]\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "return cjson.encode(cjson.decode('{\"a\":[1,2,null],\"b\":1e100}'))",
            "0"
        ]),
        "$27\r\n{\"a\":[1,2,null],\"b\":1e+100}\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "local s = cmsgpack.pack({1,2,3}, 'abc', -1, -200, 1.5, {a=1}, true, nil, 300, 70000, {}) \
             return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end))",
            "0"
        ]),
        "$64\r\n93010203a3616263ffd1ff38ca3fc0000081a16101c3c0cd012cce0001117090\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "return {cmsgpack.unpack(cmsgpack.pack({1,2,{x='y'}}, 'abc', -5, 1.5))}",
            "0"
        ]),
        "*4\r\n*3\r\n:1\r\n:2\r\n*0\r\n$3\r\nabc\r\n:-5\r\n:1\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)}",
            "0"
        ]),
        "*3\r\n:2\r\n:1\r\n:2\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "local s = struct.pack('>I2 <i4 b B h H l L d f', 258, -2, -1, 255, -300, 65535, -5, 7, 1.5, 0.25) \
             return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end))",
            "0"
        ]),
        "$80\r\n0102feffffffffffd4fefffffbffffffffffffff0700000000000000000000000000f83f0000803e\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "return {struct.unpack('s c2 b c0', struct.pack('s c2 b c0', 'hello', 'xy', 3, 'abc'))}",
            "0"
        ]),
        "*4\r\n$5\r\nhello\r\n$2\r\nxy\r\n$3\r\nabc\r\n:13\r\n"
    );
    assert_eq!(
        c.cmd(&["EVAL", "return struct.size('!4 b i4 d')", "0"]),
        ":16\r\n"
    );
    // cjson's decoder: its error texts and nesting limit.
    for (json, err) in [
        (
            "[1,2",
            "Expected comma or array end but found T_END at character 5",
        ),
        (
            "{\"a\":}",
            "Expected value but found T_OBJ_END at character 6",
        ),
        (
            "nul",
            "Expected value but found invalid token at character 1",
        ),
        (
            "[1,2] x",
            "Expected the end but found invalid token at character 7",
        ),
        (
            "\"abc",
            "Expected value but found unexpected end of string at character 5",
        ),
        (
            "{1:2}",
            "Expected object key string but found T_NUMBER at character 2",
        ),
    ] {
        let r = c.cmd(&["EVAL", "return cjson.decode(ARGV[1])", "0", json]);
        assert!(r.contains(err), "{} -> {}", json, r);
    }
    let r = c.cmd(&[
        "EVAL",
        "return cjson.decode(string.rep('[', 1100) .. string.rep(']', 1100))",
        "0",
    ]);
    assert!(
        r.contains("Found too many nested data structures (1001) at character 1001"),
        "{}",
        r
    );
    assert_eq!(
        c.cmd(&[
            "EVAL",
            "return cjson.encode(cjson.decode(ARGV[1]))",
            "0",
            "{\"a\":[1,{\"b\":null}]}"
        ]),
        "$20\r\n{\"a\":[1,{\"b\":null}]}\r\n"
    );
    // Resource bombs end in errors, not crashes.
    let r = c.cmd(&[
        "EVAL",
        "local function f() return 1 + f() end return f()",
        "0",
    ]);
    assert!(r.contains("stack overflow"), "{}", r);
    let r = c.cmd(&[
        "EVAL",
        "local s = string.rep('x', 1024*1024) while true do s = s .. s end",
        "0",
    ]);
    assert!(
        r.starts_with("-ERR") && r.contains("not enough memory"),
        "{}",
        r
    );
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    // Globals don't leak between runs.
    let r = c.cmd(&["EVAL", "redis.call = nil", "0"]);
    assert!(r.contains("Attempt to modify a readonly table"), "{}", r);
    assert_eq!(
        c.cmd(&["EVAL", "return redis.call('ping')", "0"]),
        "+PONG\r\n"
    );
}

#[test]
fn transfers_stay_atomic_across_workers() {
    let s = Server::start(&["--threads", "4"]);
    let mut c = s.conn();
    c.cmd(&["SET", "acct:a", "1000"]);
    c.cmd(&["SET", "acct:b", "1000"]);
    let script = "local a = tonumber(redis.call('get', KEYS[1])) \
                  local n = tonumber(ARGV[1]) \
                  if a < n then return 0 end \
                  redis.call('set', KEYS[1], a - n) \
                  redis.call('incrby', KEYS[2], n) \
                  return 1";
    let port = s.port;
    let mut handles = Vec::new();
    for i in 0..8 {
        let script = script.to_string();
        handles.push(std::thread::spawn(move || {
            let mut c = common::Conn::new(port);
            for j in 0..150 {
                let (from, to) = if (i + j) % 2 == 0 {
                    ("acct:a", "acct:b")
                } else {
                    ("acct:b", "acct:a")
                };
                let amount = ((i * 7 + j) % 13 + 1).to_string();
                let r = c.cmd(&["EVAL", &script, "2", from, to, &amount]);
                assert!(r == ":1\r\n" || r == ":0\r\n", "{}", r);
                // Observe the invariant from outside while transfers run.
                let sum = c.cmd(&[
                    "EVAL",
                    "return redis.call('get','acct:a') + redis.call('get','acct:b')",
                    "0",
                ]);
                assert_eq!(sum, ":2000\r\n");
            }
        }));
    }
    for h in handles {
        h.join().expect("client thread");
    }
    let a: i64 = c
        .cmd(&["GET", "acct:a"])
        .lines()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let b: i64 = c
        .cmd(&["GET", "acct:b"])
        .lines()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    assert_eq!(a + b, 2000);
}

#[test]
fn busy_and_script_kill() {
    let s = Server::start(&["--threads", "4", "--busy-reply-threshold", "100"]);
    // Connections are handed to workers round robin: these three land on
    // three different workers.
    let mut runner = s.conn();
    let mut other = s.conn();
    let mut killer = s.conn();
    assert_eq!(runner.cmd(&["PING"]), "+PONG\r\n");
    runner.send(&[b"EVAL", b"local i = 0 while true do i = i + 1 end", b"0"]);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        other.cmd(&["GET", "x"]),
        "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert_eq!(killer.cmd(&["SCRIPT", "KILL"]), "+OK\r\n");
    let r = runner.read_reply();
    assert!(
        r.starts_with("-ERR Script killed by user with SCRIPT KILL... script: "),
        "{}",
        r
    );
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");

    // pcall can't swallow the kill.
    runner.send(&[
        b"EVAL",
        b"while true do pcall(function() local i = 0 while true do i = i + 1 end end) end",
        b"0",
    ]);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(killer.cmd(&["SCRIPT", "KILL"]), "+OK\r\n");
    let r = runner.read_reply();
    assert!(
        r.starts_with("-ERR Script killed by user with SCRIPT KILL..."),
        "{}",
        r
    );

    // A script that wrote can't be killed; it ends by itself.
    runner.send(&[
        b"EVAL",
        b"redis.call('set','w','1') local t = os.clock() while os.clock() - t < 0.6 do end return 7",
        b"0",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        killer.cmd(&["SCRIPT", "KILL"]),
        "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n"
    );
    assert_eq!(runner.read_reply(), ":7\r\n");
    assert_eq!(other.cmd(&["GET", "w"]), "$1\r\n1\r\n");
}

#[test]
fn functions() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let lib = "#!lua name=mylib\n\
               redis.register_function('myfunc', function(keys, args) return {keys[1], args[1]} end)\n\
               redis.register_function{function_name='ro', callback=function(k,a) return redis.call('get', k[1]) end, flags={'no-writes'}, description='desc'}";
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", lib]), "$5\r\nmylib\r\n");
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", lib]),
        "-ERR Library 'mylib' already exists\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", "return 1"]),
        "-ERR Missing library metadata\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", "#!lua name=x\nreturn 1"]),
        "-ERR No functions registered\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", "#!lua name=a-b\nreturn 1"]),
        "-ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", "#!lua name=y foo=bar\nreturn 1"]),
        "-ERR Invalid metadata value given: foo=bar\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=y\nredis.register_function('myfunc', function() end)"
        ]),
        "-ERR Function myfunc already exists\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", "#!lua name=y\nredis.register_function{function_name='q', callback=function() end, flags={'bad'}}"]),
        "-ERR Error registering functions: ERR unknown flag given\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", "#!lua name=y\nredis.call('ping')"]),
        "-ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LOAD", "#!lua name=y\nreturn ("]),
        "-ERR Error compiling function: user_function:2: unexpected symbol near '<eof>'\r\n"
    );
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(
        c.cmd(&["FCALL", "myfunc", "1", "k", "a"]),
        "*2\r\n$1\r\nk\r\n$1\r\na\r\n"
    );
    assert_eq!(
        c.cmd(&["FCALL", "nofunc", "0"]),
        "-ERR Function not found\r\n"
    );
    assert_eq!(
        c.cmd(&["FCALL_RO", "myfunc", "0"]),
        "-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    assert_eq!(c.cmd(&["FCALL_RO", "ro", "1", "k"]), "$1\r\nv\r\n");
    assert_eq!(
        c.cmd(&["FCALL", "ro", "0"]),
        "-ERR Lua redis lib command arguments must be strings or integers script: ro, on @user_function:3.\r\n"
    );
    assert_eq!(
        c.cmd(&["FCALL", "myfunc", "-1"]),
        "-ERR Number of keys can't be negative\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "LIST", "LIBRARYNAME", "my*"]),
        "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*2\r\n\
         *6\r\n$4\r\nname\r\n$6\r\nmyfunc\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n\
         *6\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$4\r\ndesc\r\n$5\r\nflags\r\n*1\r\n$9\r\nno-writes\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "STATS"]),
        "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:2\r\n"
    );
    // SCRIPT FLUSH leaves libraries alone.
    assert_eq!(c.cmd(&["SCRIPT", "FLUSH"]), "+OK\r\n");
    assert_eq!(c.cmd(&["FCALL_RO", "ro", "1", "k"]), "$1\r\nv\r\n");
    assert_eq!(
        c.cmd(&[
            "FUNCTION",
            "LOAD",
            "REPLACE",
            "#!lua name=mylib\nredis.register_function('myfunc', function() return 5 end)"
        ]),
        "$5\r\nmylib\r\n"
    );
    assert_eq!(c.cmd(&["FCALL", "myfunc", "0"]), ":5\r\n");
    assert_eq!(c.cmd(&["FCALL", "ro", "0"]), "-ERR Function not found\r\n");
    assert_eq!(
        c.cmd(&["FUNCTION", "DELETE", "nolib"]),
        "-ERR Library not found\r\n"
    );
    assert_eq!(c.cmd(&["FUNCTION", "DELETE", "mylib"]), "+OK\r\n");
    assert_eq!(c.cmd(&["FUNCTION", "LIST"]), "*0\r\n");
    assert_eq!(
        c.cmd(&["FUNCTION", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
    assert_eq!(
        c.cmd(&["FUNCTION", "FLUSH", "bad"]),
        "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n"
    );
}

#[test]
fn busy_function_and_function_kill() {
    let s = Server::start(&["--threads", "4", "--busy-reply-threshold", "100"]);
    let mut runner = s.conn();
    let mut other = s.conn();
    let mut killer = s.conn();
    assert_eq!(
        runner.cmd(&[
            "FUNCTION",
            "LOAD",
            "#!lua name=spin\nredis.register_function('spin', function() while true do end end)"
        ]),
        "$4\r\nspin\r\n"
    );
    runner.send(&[b"FCALL", b"spin", b"0"]);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        other.cmd(&["PING"]),
        "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert_eq!(
        killer.cmd(&["SCRIPT", "KILL"]),
        "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
    );
    assert_eq!(killer.cmd(&["FUNCTION", "KILL"]), "+OK\r\n");
    assert_eq!(
        runner.read_reply(),
        "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n"
    );
    assert_eq!(other.cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn function_dump_restore() {
    let s = Server::start(&[]);
    let mut r = s.redis();
    let code = "#!lua name=mylib\nredis.register_function('f1', function() return 1 end)";
    let name: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(code)
        .query(&mut r)
        .expect("load");
    assert_eq!(name, "mylib");
    let dump: Vec<u8> = redis::cmd("FUNCTION")
        .arg("DUMP")
        .query(&mut r)
        .expect("dump");
    assert_eq!(dump.first(), Some(&0xf5));
    let err = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .query::<String>(&mut r)
        .expect_err("append onto an existing library");
    assert!(
        err.to_string().contains("Library mylib already exists"),
        "{}",
        err
    );
    let ok: String = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .arg("REPLACE")
        .query(&mut r)
        .expect("replace");
    assert_eq!(ok, "OK");
    let _: String = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query(&mut r)
        .expect("flush");
    let ok: String = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .query(&mut r)
        .expect("restore");
    assert_eq!(ok, "OK");
    let v: i64 = redis::cmd("FCALL")
        .arg("f1")
        .arg(0)
        .query(&mut r)
        .expect("fcall");
    assert_eq!(v, 1);
    let mut bad = dump.clone();
    if let Some(b) = bad.last_mut() {
        *b ^= 1;
    }
    let err = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&bad)
        .query::<String>(&mut r)
        .expect_err("bad checksum");
    assert!(
        err.to_string()
            .contains("DUMP payload version or checksum are wrong"),
        "{}",
        err
    );
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["FUNCTION", "RESTORE", "x", "bad"]),
        "-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.\r\n"
    );
}

#[test]
fn many_cached_scripts_and_large_replies() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    // More scripts than the interpreter has host handles for.
    let n = 9000;
    let mut batch = Vec::new();
    for i in 0..n {
        let body = format!("return {}", i);
        batch.extend_from_slice(&common::encode(&[b"EVAL", body.as_bytes(), b"0"]));
    }
    c.send_raw(&batch);
    for i in 0..n {
        assert_eq!(c.read_reply(), format!(":{}\r\n", i));
    }
    assert_eq!(
        c.cmd(&["EVAL", "return 'still fine'", "0"]),
        "$10\r\nstill fine\r\n"
    );
    // Large and deep replies.
    let r = c.cmd(&[
        "EVAL",
        "local t = {} for i=1,20000 do t['k'..i] = i end return {map=t}",
        "0",
    ]);
    assert!(r.starts_with("*40000\r\n"), "{}", &r[..r.len().min(20)]);
    let r = deep_reply(
        &mut c,
        &[
            "EVAL",
            "local t = {} local c = t for i=1,8000 do local n = {} c[1] = n c = n end return t",
            "0",
        ],
    );
    assert!(
        r.ends_with("*1\r\n-ERR reached lua stack limit\r\n"),
        "{}",
        &r[r.len().saturating_sub(40)..]
    );
    assert_eq!(r.matches("*1\r\n").count(), 7995);
}

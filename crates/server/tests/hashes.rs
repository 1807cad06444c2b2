//! Hash commands against the real binary: exact RESP2/RESP3 replies (errors
//! included) as Redis 7.2 sends them, listpack/hashtable encodings around
//! the configured thresholds, HRANDFIELD's count forms, keyspace events, and
//! HSCAN's guarantee while other clients modify the hash.
mod common;
use common::*;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Replies recorded from Valkey 8.1 (Redis 7.2 behaviour). `None`: run the
/// command but don't compare (HELLO names the server).
#[rustfmt::skip]
const CASES: &[(&[&str], Option<&str>)] = &[
    (&["flushall"], Some("+OK\r\n")),
    (&["hset", "h", "a", "1", "b", "2"], Some(":2\r\n")),
    (&["hset", "h", "a", "3", "c", "4"], Some(":1\r\n")),
    (&["hget", "h", "a"], Some("$1\r\n3\r\n")),
    (&["hget", "h", "zz"], Some("$-1\r\n")),
    (&["hget", "nokey", "a"], Some("$-1\r\n")),
    (&["hmset", "h", "d", "5"], Some("+OK\r\n")),
    (&["hmset", "h", "d"], Some("-ERR wrong number of arguments for 'hmset' command\r\n")),
    (&["hset", "h", "d"], Some("-ERR wrong number of arguments for 'hset' command\r\n")),
    (&["hset", "h"], Some("-ERR wrong number of arguments for 'hset' command\r\n")),
    (&["hsetnx", "h", "a", "9"], Some(":0\r\n")),
    (&["hsetnx", "h", "e", "9"], Some(":1\r\n")),
    (&["hmget", "h", "a", "zz", "e"], Some("*3\r\n$1\r\n3\r\n$-1\r\n$1\r\n9\r\n")),
    (&["hmget", "nokey", "a", "b"], Some("*2\r\n$-1\r\n$-1\r\n")),
    (&["hlen", "h"], Some(":5\r\n")),
    (&["hlen", "nokey"], Some(":0\r\n")),
    (&["hexists", "h", "a"], Some(":1\r\n")),
    (&["hexists", "h", "zz"], Some(":0\r\n")),
    (&["hexists", "nokey", "a"], Some(":0\r\n")),
    (&["hstrlen", "h", "a"], Some(":1\r\n")),
    (&["hstrlen", "h", "zz"], Some(":0\r\n")),
    (&["hstrlen", "nokey", "a"], Some(":0\r\n")),
    (&["hkeys", "h"], Some("*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n")),
    (&["hvals", "h"], Some("*5\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n9\r\n")),
    (&["hgetall", "h"], Some("*10\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n4\r\n$1\r\nd\r\n$1\r\n5\r\n$1\r\ne\r\n$1\r\n9\r\n")),
    (&["hkeys", "nokey"], Some("*0\r\n")),
    (&["hvals", "nokey"], Some("*0\r\n")),
    (&["hgetall", "nokey"], Some("*0\r\n")),
    (&["hdel", "h", "a", "zz"], Some(":1\r\n")),
    (&["hdel", "h", "zz"], Some(":0\r\n")),
    (&["hdel", "nokey", "a"], Some(":0\r\n")),
    (&["hgetall", "h"], Some("*8\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n4\r\n$1\r\nd\r\n$1\r\n5\r\n$1\r\ne\r\n$1\r\n9\r\n")),
    (&["hdel", "h", "b", "c", "d", "e"], Some(":4\r\n")),
    (&["exists", "h"], Some(":0\r\n")),
    (&["hincrby", "h", "f", "5"], Some(":5\r\n")),
    (&["hincrby", "h", "f", "-10"], Some(":-5\r\n")),
    (&["hincrby", "h", "f", "x"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["hincrby", "h", "f", "9223372036854775807"], Some(":9223372036854775802\r\n")),
    (&["hincrby", "h", "f", "-9223372036854775808"], Some(":-6\r\n")),
    (&["hset", "h", "m", "-9223372036854775808", "big", "9223372036854775807", "s", "abc", "sp", " 1", "z", "007"], Some(":5\r\n")),
    (&["hincrby", "h", "m", "-1"], Some("-ERR increment or decrement would overflow\r\n")),
    (&["hincrby", "h", "big", "1"], Some("-ERR increment or decrement would overflow\r\n")),
    (&["hincrby", "h", "m", "1"], Some(":-9223372036854775807\r\n")),
    (&["hincrby", "h", "s", "1"], Some("-ERR hash value is not an integer\r\n")),
    (&["hincrby", "h", "sp", "1"], Some("-ERR hash value is not an integer\r\n")),
    (&["hincrby", "h", "z", "1"], Some("-ERR hash value is not an integer\r\n")),
    (&["hincrby", "h", "f", "1.5"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["hincrbyfloat", "h", "fl", "1.5"], Some("$3\r\n1.5\r\n")),
    (&["hincrbyfloat", "h", "fl", "0.1"], Some("$3\r\n1.6\r\n")),
    (&["hincrbyfloat", "h", "fl", "-1.6"], Some("$1\r\n0\r\n")),
    (&["hincrbyfloat", "h", "fl", "5.0e3"], Some("$4\r\n5000\r\n")),
    (&["hincrbyfloat", "h", "fl", "1e-20"], Some("$4\r\n5000\r\n")),
    (&["hincrbyfloat", "h", "g", "3.0"], Some("$1\r\n3\r\n")),
    (&["hincrbyfloat", "h", "g", "0.1"], Some("$3\r\n3.1\r\n")),
    (&["hincrbyfloat", "h", "x", "1e30"], Some("$31\r\n1000000000000000000024696061952\r\n")),
    (&["hincrbyfloat", "h", "y", "0x10"], Some("$2\r\n16\r\n")),
    (&["hincrbyfloat", "h", "y", "0x1p-3"], Some("$6\r\n16.125\r\n")),
    (&["hincrbyfloat", "h", "s", "1"], Some("-ERR hash value is not a float\r\n")),
    (&["hincrbyfloat", "h", "z", "1"], Some("$1\r\n8\r\n")),
    (&["hincrbyfloat", "h", "sp", "1"], Some("-ERR hash value is not a float\r\n")),
    (&["hincrbyfloat", "h", "fl", "inf"], Some("-ERR value is NaN or Infinity\r\n")),
    (&["hincrbyfloat", "h", "fl", "-inf"], Some("-ERR value is NaN or Infinity\r\n")),
    (&["hincrbyfloat", "h", "fl", "nan"], Some("-ERR value is not a valid float\r\n")),
    (&["hincrbyfloat", "h", "fl", "abc"], Some("-ERR value is not a valid float\r\n")),
    (&["hincrbyfloat", "h", "fl", "1e-5000"], Some("-ERR value is not a valid float\r\n")),
    (&["hincrbyfloat", "h", "fl", ""], Some("-ERR value is not a valid float\r\n")),
    (&["hincrbyfloat", "h", "big", "1.7976931348623157e308"], Some("$309\r\n179769313486231569995921046774104434048386446944329178485314420765176628523124396354701868608387085564428793419425520689308708363451136055357897278026477617073498977686288394835618163294045594434929537447290627480669417384648879122776218333598953852832103282504751611691208117720159985926376802466863339536384\r\n")),
    (&["hset", "h", "huge", "1e4931"], Some(":1\r\n")),
    (&["hincrbyfloat", "h", "huge", "1e4931"], Some("$4932\r\n200000000000000000001203789877592778264767554850906622954757008270506603897321744481506665555886628554733305112733255536412372181288092067324683232986219508421730724747989447564854721551129256415467549354125656216692248941891528726681854568970284182933353081667971299547661351290827407523688095236596573190810809264181659911188464260500664120416014041640724784215830376292040749002954986324098006078999743862522930812816274698649775424178491037276750687839574195608300559543376038791080621544382327729251387896839458625632065896472199399155897844971852806829389817438964158844486737569856912397446026801261082910725264722972895913015878010552396126692728025795939323072509101521660792110766173229118528874457820583720539348353548259430799671852627179597169939527735662117360744004929518613208814064752349487875030389998838305775234454806912247693137906182800499241709497690449843964209843538071849318865237707440169205095387371341545397285160860810737663514476058538176090935570442091758146635484219793069276769106603238593130675506684219510754640421090511917872045546510168709143493943042258605855420129990315855892642575045753740165454925990266316998840648741682438189663122959728344210831679470279149551709665750854106845144272328071245563216018978486673380483490848476525846455508805321928051065111562864316065068070466132123528465339228051447910509824214397037888769355524666976385837954741401680693319040967746724326654676726388971397896827688995677331211751062169766737958379296999769510072852820960160115649102352518938232309146178263948821590779598620201643520253862125978061671578758668868014567556543282104163728019954218880354404946216967172137987306607145370835079239070353619303862188926289184727610642915198675693755058573174287148449955595964555002864895169179923019276015979819907690624208770364269835674347328140529060856850977087522288338072123293273640438861553892441992677538089315338393910314208388257660529782565469038857254224446069564649214699657030741715900012531244542990822665858790669299123189556818235176710997623433477530136305156272372890072998521015825954120958658215311933608230711650953154857766266131735382059301307668796539815364829541215480237100267410735375088172622726034413580444767567705160436281200788521301521965264003038761526607117332307830085121188138353727569163086836917051183014816263450063914540074115975595435528869041186701170074842555812967429248553006942913892861373156965987289150978765042799142027513550068511352465827594677582609460110968347501360030996839737384793057229415854640712200929473057209975358157657660226010087441497813559768415688672033554449166820725860208269050424548687500387050874151409975705367656762141068602030656797191710148332274800242464634512446007458119535005855773097914053760723600304056149717696371726466429084436304900194106747771730576325147631791168093866966021273248652442085842051634795637304441661362841407766318066524431092831843238601095761862754532281289864397905981798081519943453070977416205524482433152958621249261982196951573925596540177011051980194713425699687556534298522070217771654292677499166604363863709741111721279169214078100064640927267876731105624731487623045007086789508775361063556298538259154482080749291354835133376900635100883054164851750061130757694776534207668096255637729602729490038086293947455401600608240938771830708811611821676903308252304225417623280469935830263445479036725698184432267285951477339680385736464731411384951729758769759964581521335814256192878708265025846336491333824690028175824027586309730507520301731241836697385676903168594752032720351246139565355847455015694364851732876426751975230307506519685904399951686203617400363497060183895916634209993556264440587372929756148805072290589423555340225842009974511063293440933694197826040746678269900341742636248813784239917462964794913646834958485827959817717558933305753997320564075193609089041843975119335775582420667389978828475634729738426170835579604038925934062220398987631407753191402958411234747924722974311463542890719467240413754987017281877282844675028353120351653683752822930210617656201849649222039016872893785367514598574022082282975754123279563466905873480647612339926417858708623637059976256092696360139240393344702384511215696767865013483112526611489681749308361718068445695392883336211175112356362001187265638368963183131743936704569195980203667010001249278405531429916066463947932075341436085833256131651686954672552912655426844105155973978766564973284581985696987874992814277249617718481628544729306760376572347241198556393072018000160564281752757528204687530623852751456042554738931042701415143524504232045437431526327116736426017872936508601458408401995230027037883184682648820001284216563478997660053146884535509620148365936568533666894462985740593723240938343473359728583229294603672674104685440683315850162315580197196191480966003880720072372104197187594701391311547950948356670945717870175275874232628217307683622758377324544\r\n")),
    (&["hset", "h", "infv", "inf"], Some(":1\r\n")),
    (&["hincrbyfloat", "h", "infv", "1"], Some("-ERR increment would produce NaN or Infinity\r\n")),
    (&["hincrbyfloat", "h", "f", "0"], Some("$2\r\n-6\r\n")),
    (&["hget", "h", "fl"], Some("$4\r\n5000\r\n")),
    (&["hget", "h", "f"], Some("$2\r\n-6\r\n")),
    (&["hrandfield", "nokey"], Some("$-1\r\n")),
    (&["hrandfield", "nokey", "5"], Some("*0\r\n")),
    (&["hrandfield", "nokey", "5", "withvalues"], Some("*0\r\n")),
    (&["hrandfield", "h", "abc"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["hrandfield", "h", "1.5"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["hrandfield", "h", "1", "withvalue"], Some("-ERR syntax error\r\n")),
    (&["hrandfield", "h", "1", "withvalues", "x"], Some("-ERR syntax error\r\n")),
    (&["hrandfield", "h", "-9223372036854775808"], Some("-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n")),
    (&["hrandfield", "h", "-9223372036854775807", "withvalues"], Some("-ERR value is out of range\r\n")),
    (&["hrandfield", "h", "-4611686018427387904", "withvalues"], Some("-ERR value is out of range\r\n")),
    (&["hrandfield", "h", "4611686018427387904", "withvalues"], Some("-ERR value is out of range\r\n")),
    (&["hrandfield", "h", "0"], Some("*0\r\n")),
    (&["hrandfield", "h", "0", "withvalues"], Some("*0\r\n")),
    (&["hset", "small", "a", "1", "b", "2"], Some(":2\r\n")),
    (&["hrandfield", "small", "2"], Some("*2\r\n$1\r\na\r\n$1\r\nb\r\n")),
    (&["hrandfield", "small", "5", "withvalues"], Some("*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["hrandfield", "small", "100"], Some("*2\r\n$1\r\na\r\n$1\r\nb\r\n")),
    (&["hscan", "small", "0"], Some("*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["hscan", "small", "0", "match", "a"], Some("*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n")),
    (&["hscan", "small", "0", "MATCH", "*", "COUNT", "1"], Some("*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["hscan", "small", "7"], Some("*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["hscan", "small", "01"], Some("*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    // Redis 7.2 reads cursors with strtoul: a sign is allowed ("-1" wraps)
    // and "" is cursor 0 (Valkey 8 is stricter here).
    (&["hscan", "small", "-1"], Some("*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["hscan", "small", "abc"], Some("-ERR invalid cursor\r\n")),
    (&["hscan", "small", ""], Some("*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["hscan", "small", " 1"], Some("-ERR invalid cursor\r\n")),
    (&["hscan", "small", "18446744073709551616"], Some("-ERR invalid cursor\r\n")),
    (&["hscan", "small", "0", "count", "0"], Some("-ERR syntax error\r\n")),
    (&["hscan", "small", "0", "count", "-1"], Some("-ERR syntax error\r\n")),
    (&["hscan", "small", "0", "count", "abc"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["hscan", "small", "0", "match"], Some("-ERR syntax error\r\n")),
    // Redis 7.2 has no NOVALUES (a Valkey 8 addition).
    (&["hscan", "small", "0", "novalues"], Some("-ERR syntax error\r\n")),
    (&["hscan", "small", "0", "type", "string"], Some("-ERR syntax error\r\n")),
    (&["hscan", "nokey", "0", "count", "0"], Some("*2\r\n$1\r\n0\r\n*0\r\n")),
    (&["hscan", "nokey", "abc"], Some("-ERR invalid cursor\r\n")),
    (&["set", "str", "x"], Some("+OK\r\n")),
    (&["hset", "str", "a", "1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hmset", "str", "a", "1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hsetnx", "str", "a", "1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hget", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hmget", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hgetall", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hkeys", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hvals", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hlen", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hexists", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hstrlen", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hdel", "str", "a"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hincrby", "str", "a", "1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hincrbyfloat", "str", "a", "1"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hincrby", "str", "a", "x"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["hincrbyfloat", "str", "a", "x"], Some("-ERR value is not a valid float\r\n")),
    (&["hrandfield", "str"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hrandfield", "str", "2"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hrandfield", "str", "x"], Some("-ERR value is not an integer or out of range\r\n")),
    (&["hscan", "str", "0"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hscan", "str", "x"], Some("-ERR invalid cursor\r\n")),
    (&["hscan", "str", "0", "count", "0"], Some("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")),
    (&["hello", "3"], None),
    (&["hgetall", "small"], Some("%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["hgetall", "nokey"], Some("%0\r\n")),
    (&["hkeys", "small"], Some("*2\r\n$1\r\na\r\n$1\r\nb\r\n")),
    (&["hmget", "small", "a", "zz"], Some("*2\r\n$1\r\n1\r\n_\r\n")),
    (&["hget", "small", "zz"], Some("_\r\n")),
    (&["hrandfield", "nokey"], Some("_\r\n")),
    (&["hrandfield", "small", "5", "withvalues"], Some("*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["hrandfield", "small", "5"], Some("*2\r\n$1\r\na\r\n$1\r\nb\r\n")),
    (&["hrandfield", "small", "0", "withvalues"], Some("*0\r\n")),
    (&["hscan", "small", "0"], Some("*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n")),
    (&["hincrbyfloat", "small", "a", "0.5"], Some("$3\r\n1.5\r\n")),
    (&["hello", "2"], None),
];

#[test]
fn replies_match_redis() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for (args, want) in CASES {
        let got = c.cmd(args);
        if let Some(want) = want {
            assert_eq!(&got, want, "{args:?}");
        }
    }
}

fn enc(c: &mut Conn, key: &str) -> String {
    c.cmd(&["object", "encoding", key])
}

fn hset_n(c: &mut Conn, key: &str, n: usize, prefix: &str, value: &str) -> String {
    let mut args: Vec<String> = vec!["hset".into(), key.into()];
    for i in 0..n {
        args.push(format!("{prefix}{i}"));
        args.push(value.into());
    }
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    c.cmd(&refs)
}

const LISTPACK: &str = "$8\r\nlistpack\r\n";
const HASHTABLE: &str = "$9\r\nhashtable\r\n";

#[test]
fn encodings_at_builtin_default_threshold() {
    // Redis's built-in default is 512 fields.
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(hset_n(&mut c, "h", 512, "f", "v"), ":512\r\n");
    assert_eq!(enc(&mut c, "h"), LISTPACK);
    assert_eq!(c.cmd(&["hset", "h", "f512", "v"]), ":1\r\n");
    assert_eq!(enc(&mut c, "h"), HASHTABLE);
}

#[test]
fn encodings_at_sample_config_thresholds() {
    // The thresholds of the sample redis.conf.
    let s = Server::start(&["--hash-max-listpack-entries", "128"]);
    let mut c = s.conn();
    // 128 fields stay a listpack, the 129th converts.
    assert_eq!(hset_n(&mut c, "h1", 128, "f", "v"), ":128\r\n");
    assert_eq!(enc(&mut c, "h1"), LISTPACK);
    assert_eq!(c.cmd(&["hset", "h1", "f128", "v"]), ":1\r\n");
    assert_eq!(enc(&mut c, "h1"), HASHTABLE);
    assert_eq!(c.cmd(&["hlen", "h1"]), ":129\r\n");
    // Deleting back below the threshold keeps the hashtable.
    assert_eq!(c.cmd(&["hdel", "h1", "f0", "f1", "f2"]), ":3\r\n");
    assert_eq!(enc(&mut c, "h1"), HASHTABLE);
    // More than 128 pairs in one HSET convert up front, even duplicates.
    let mut args = vec!["hset", "h2"];
    for _ in 0..129 {
        args.extend(["same", "v"]);
    }
    assert_eq!(c.cmd(&args), ":1\r\n");
    assert_eq!(enc(&mut c, "h2"), HASHTABLE);
    // Values and fields: 64 bytes fit, 65 convert.
    let v64 = "x".repeat(64);
    let v65 = "x".repeat(65);
    c.cmd(&["hset", "h3", "a", &v64]);
    assert_eq!(enc(&mut c, "h3"), LISTPACK);
    c.cmd(&["hset", "h3", "b", &v65]);
    assert_eq!(enc(&mut c, "h3"), HASHTABLE);
    c.cmd(&["hset", "h4", &v65, "1"]);
    assert_eq!(enc(&mut c, "h4"), HASHTABLE);
    // HSETNX on an existing field changes nothing.
    c.cmd(&["hset", "h5", "a", "1"]);
    assert_eq!(c.cmd(&["hsetnx", "h5", "a", &v65]), ":0\r\n");
    assert_eq!(enc(&mut c, "h5"), LISTPACK);
    assert_eq!(c.cmd(&["hsetnx", "h5", "b", &v65]), ":1\r\n");
    assert_eq!(enc(&mut c, "h5"), HASHTABLE);
    // HINCRBY with a long field, HINCRBYFLOAT with a long result.
    c.cmd(&["hset", "h6", "a", "1"]);
    c.cmd(&["hincrby", "h6", &v65, "1"]);
    assert_eq!(enc(&mut c, "h6"), HASHTABLE);
    c.cmd(&["hset", "h7", "a", "1"]);
    c.cmd(&["hincrbyfloat", "h7", "a", "1e70"]);
    assert_eq!(enc(&mut c, "h7"), HASHTABLE);
    // Everything still readable after conversions.
    assert_eq!(c.cmd(&["hget", "h3", "a"]), bulk(&v64));
    assert_eq!(c.cmd(&["hget", "h3", "b"]), bulk(&v65));
    assert_eq!(c.cmd(&["hstrlen", "h3", "b"]), ":65\r\n");
    assert_eq!(
        c.cmd(&["hmget", "h1", "f5", "nope"]),
        "*2\r\n$1\r\nv\r\n$-1\r\n"
    );
}

#[test]
fn encodings_follow_configured_thresholds() {
    let s = Server::start(&[
        "--hash-max-listpack-entries",
        "4",
        "--hash-max-listpack-value",
        "8",
    ]);
    let mut c = s.conn();
    hset_n(&mut c, "h", 4, "f", "v");
    assert_eq!(enc(&mut c, "h"), LISTPACK);
    c.cmd(&["hset", "h", "f4", "v"]);
    assert_eq!(enc(&mut c, "h"), HASHTABLE);
    c.cmd(&["hset", "g", "a", "12345678"]);
    assert_eq!(enc(&mut c, "g"), LISTPACK);
    c.cmd(&["hset", "g", "b", "123456789"]);
    assert_eq!(enc(&mut c, "g"), HASHTABLE);
    // Read at run time: CONFIG SET applies to the next conversion.
    if c.cmd(&["config", "set", "hash-max-listpack-entries", "1"]) == "+OK\r\n" {
        c.cmd(&["hset", "k", "a", "1"]);
        assert_eq!(enc(&mut c, "k"), LISTPACK);
        c.cmd(&["hset", "k", "b", "1"]);
        assert_eq!(enc(&mut c, "k"), HASHTABLE);
    }
}

#[test]
fn hashtable_hash_commands() {
    let s = Server::start(&["--hash-max-listpack-entries", "128"]);
    let mut c = s.conn();
    let mut r = s.redis();
    hset_n(&mut c, "h", 300, "field:", "value");
    assert_eq!(enc(&mut c, "h"), HASHTABLE);
    let all: HashMap<String, String> = redis::cmd("HGETALL")
        .arg("h")
        .query(&mut r)
        .unwrap_or_default();
    assert_eq!(all.len(), 300);
    assert!(all.values().all(|v| v == "value"));
    let keys: Vec<String> = redis::cmd("HKEYS")
        .arg("h")
        .query(&mut r)
        .unwrap_or_default();
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 300);
    assert_eq!(
        c.cmd(&["hincrby", "h", "field:7", "1"]),
        "-ERR hash value is not an integer\r\n"
    );
    assert_eq!(c.cmd(&["hincrby", "h", "n", "41"]), ":41\r\n");
    assert_eq!(c.cmd(&["hincrbyfloat", "h", "n", "0.5"]), bulk("41.5"));
    for i in 0..300 {
        let f = format!("field:{i}");
        assert_eq!(c.cmd(&["hexists", "h", &f]), ":1\r\n");
        assert_eq!(c.cmd(&["hdel", "h", &f]), ":1\r\n");
    }
    assert_eq!(c.cmd(&["hlen", "h"]), ":1\r\n");
    assert_eq!(c.cmd(&["hdel", "h", "n"]), ":1\r\n");
    assert_eq!(c.cmd(&["exists", "h"]), ":0\r\n");
}

#[test]
fn hrandfield_counts() {
    let s = Server::start(&[]);
    let mut r = s.redis();
    let mut c = s.conn();
    for (key, n) in [("small", 10usize), ("big", 500)] {
        hset_n(&mut c, key, n, "f", "v");
        for count in [1i64, 3, 9, 10, 11, 200, 499, 500, 501] {
            let got: Vec<String> = redis::cmd("HRANDFIELD")
                .arg(key)
                .arg(count)
                .query(&mut r)
                .unwrap_or_default();
            let want = (count as usize).min(n);
            assert_eq!(got.len(), want, "{key} {count}");
            assert_eq!(
                got.iter().collect::<HashSet<_>>().len(),
                want,
                "distinct {key} {count}"
            );
            assert!(got.iter().all(|f| f.starts_with('f')));
        }
        // Negative counts: exactly that many, repeats allowed.
        let got: Vec<String> = redis::cmd("HRANDFIELD")
            .arg(key)
            .arg(-1000)
            .query(&mut r)
            .unwrap_or_default();
        assert_eq!(got.len(), 1000);
        // WITHVALUES: flat pairs in RESP2.
        let got: Vec<String> = redis::cmd("HRANDFIELD")
            .arg(key)
            .arg(-7)
            .arg("WITHVALUES")
            .query(&mut r)
            .unwrap_or_default();
        assert_eq!(got.len(), 14);
        assert!(got.chunks(2).all(|p| p[0].starts_with('f') && p[1] == "v"));
        let got: Vec<String> = redis::cmd("HRANDFIELD")
            .arg(key)
            .arg(5)
            .arg("WITHVALUES")
            .query(&mut r)
            .unwrap_or_default();
        assert_eq!(got.len(), 10);
    }
    // RESP3: WITHVALUES pairs are arrays of two.
    c.cmd(&["hello", "3"]);
    let reply = c.cmd(&["hrandfield", "big", "-2", "withvalues"]);
    assert!(reply.starts_with("*2\r\n*2\r\n$"), "{reply:?}");
    let reply = c.cmd(&["hrandfield", "big", "3"]);
    assert!(reply.starts_with("*3\r\n$"), "{reply:?}");
    let reply = c.cmd(&["hrandfield", "big"]);
    assert!(reply.starts_with('$'), "{reply:?}");
}

#[test]
fn keyspace_events() {
    let s = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub = s.conn();
    sub.cmd(&["psubscribe", "__keyevent@0__:*"]);
    let mut c = s.conn();
    c.cmd(&["hset", "h", "a", "1", "b", "x"]);
    c.cmd(&["hsetnx", "h", "c", "1"]);
    c.cmd(&["hsetnx", "h", "c", "1"]);
    c.cmd(&["hincrby", "h", "a", "1"]);
    c.cmd(&["hincrby", "h", "b", "1"]);
    c.cmd(&["hincrbyfloat", "h", "a", "1.5"]);
    c.cmd(&["hdel", "h", "zz"]);
    c.cmd(&["hdel", "h", "a", "b"]);
    c.cmd(&["hdel", "h", "c"]);
    let mut events = Vec::new();
    for _ in 0..7 {
        let msg = sub.read_reply();
        events.push(msg.split("\r\n").nth(6).unwrap_or_default().to_string());
    }
    let want: Vec<String> = [
        "hset",
        "hset",
        "hincrby",
        "hincrbyfloat",
        "hdel",
        "hdel",
        "del",
    ]
    .iter()
    .map(|e| format!("__keyevent@0__:{e}"))
    .collect();
    assert_eq!(events, want);
}

/// HSCAN returns every field that exists for the whole scan at least once,
/// while another client grows the hash (the table doubles) and shrinks it
/// again (the table halves) between the scan's calls.
#[test]
fn hscan_survives_concurrent_resizes() {
    let s = Server::start(&["--hash-max-listpack-entries", "128"]);
    let mut c = s.conn();
    let stable: Vec<String> = (0..200).map(|i| format!("stable:{i}")).collect();
    let mut args = vec!["hset".to_string(), "h".to_string()];
    for f in &stable {
        args.push(f.clone());
        args.push("v".into());
    }
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    c.cmd(&refs);
    assert_eq!(enc(&mut c, "h"), HASHTABLE);
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicU64::new(0));
    let writer = {
        let stop = stop.clone();
        let rounds = rounds.clone();
        let mut w = s.conn();
        std::thread::spawn(move || {
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) && round < 10_000 {
                let tmp: Vec<String> = (0..3000).map(|i| format!("tmp:{round}:{i}")).collect();
                for chunk in tmp.chunks(500) {
                    let mut a = vec!["hset", "h"];
                    for f in chunk {
                        a.extend([f.as_str(), "x"]);
                    }
                    w.cmd(&a);
                }
                for chunk in tmp.chunks(500) {
                    let mut a = vec!["hdel", "h"];
                    a.extend(chunk.iter().map(|f| f.as_str()));
                    w.cmd(&a);
                }
                round += 1;
                rounds.store(round, Ordering::Relaxed);
            }
        })
    };
    let mut r = s.redis();
    let mut scans = 0;
    // Keep scanning until the writer has grown and shrunk the table a few
    // times during the scans.
    while scans < 20 || rounds.load(Ordering::Relaxed) < 10 {
        scans += 1;
        let mut seen: HashSet<String> = HashSet::new();
        let mut cursor: u64 = 0;
        let mut calls = 0;
        loop {
            let (next, items): (u64, Vec<String>) = redis::cmd("HSCAN")
                .arg("h")
                .arg(cursor)
                .arg("COUNT")
                .arg(10)
                .query(&mut r)
                .unwrap_or((0, Vec::new()));
            for p in items.chunks(2) {
                seen.insert(p[0].clone());
            }
            cursor = next;
            calls += 1;
            if cursor == 0 || calls > 1_000_000 {
                break;
            }
        }
        for f in &stable {
            assert!(seen.contains(f), "HSCAN missed {f}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    assert_eq!(c.cmd(&["hlen", "h"]), ":200\r\n");
}

//! Connection commands: PING, ECHO, QUIT, SELECT.

use crate::cmd::util::{arg_i64, eq_ic};
use crate::dispatch::{CommandTable, Ctx};

pub fn register(t: &mut CommandTable) {
    t.add("ping", ping);
    t.add("echo", echo);
    t.add("quit", quit);
    t.add("select", select);
}

fn ping(ctx: &mut Ctx, argv: &[&[u8]]) {
    if argv.len() > 2 {
        ctx.out
            .error("ERR wrong number of arguments for 'ping' command");
        return;
    }
    let subscribed = ctx.client.shared.has_flag(crate::client::flag::PUBSUB) && !ctx.client.resp3;
    if subscribed {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(argv.get(1).copied().unwrap_or(b""));
    } else if let Some(m) = argv.get(1) {
        ctx.out.bulk(m);
    } else {
        ctx.out.simple("PONG");
    }
}

fn echo(ctx: &mut Ctx, argv: &[&[u8]]) {
    ctx.out.bulk(argv[1]);
}

fn quit(ctx: &mut Ctx, _argv: &[&[u8]]) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}

fn select(ctx: &mut Ctx, argv: &[&[u8]]) {
    let _ = eq_ic;
    match arg_i64(argv[1]) {
        Err(e) => ctx.out.error(e),
        Ok(i) if i < 0 || i as usize >= ctx.srv.ks.ndbs() => {
            ctx.out.error("ERR DB index is out of range")
        }
        Ok(i) => {
            ctx.client.select(i as usize);
            ctx.out.ok();
        }
    }
}

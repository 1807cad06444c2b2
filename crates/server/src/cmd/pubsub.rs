//! Pub/sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UN- forms, PUBLISH,
//! SPUBLISH, PUBSUB, and delivery of keyspace notifications.
//!
//! Subscriptions live in one registry (a read-mostly lock). PUBLISH encodes
//! the message once per protocol and appends it to each subscriber's mailbox
//! under that mailbox's lock, so messages from one publisher arrive in
//! publish order whatever thread the subscribers run on. A subscriber whose
//! undelivered output exceeds `client-output-buffer-limit pubsub` is
//! disconnected without affecting anyone else.

use crate::client::{flag, ClientShared};
use crate::dispatch::{CommandTable, Ctx, LockKind};
use crate::server::Server;
use parking_lot::{Mutex, RwLock};
use spinel_keyspace::glob::glob_match;
use spinel_resp::ReplyBuf;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

#[derive(Default)]
pub struct Registry {
    channels: HashMap<Vec<u8>, Vec<Arc<ClientShared>>>,
    patterns: HashMap<Vec<u8>, Vec<Arc<ClientShared>>>,
    shard_channels: HashMap<Vec<u8>, Vec<Arc<ClientShared>>>,
}

/// What one client is subscribed to (kept beside the registry so that
/// UNSUBSCRIBE without arguments and disconnects know what to remove).
#[derive(Default)]
pub struct ClientSubs {
    channels: BTreeSet<Vec<u8>>,
    patterns: BTreeSet<Vec<u8>>,
    shard_channels: BTreeSet<Vec<u8>>,
}

fn registry() -> &'static RwLock<Registry> {
    static R: OnceLock<RwLock<Registry>> = OnceLock::new();
    R.get_or_init(|| RwLock::new(Registry::default()))
}

fn subs_of() -> &'static Mutex<HashMap<u64, ClientSubs>> {
    static S: OnceLock<Mutex<HashMap<u64, ClientSubs>>> = OnceLock::new();
    S.get_or_init(|| Mutex::new(HashMap::new()))
}

pub fn register(t: &mut CommandTable) {
    t.add_lock("subscribe", subscribe, Some(LockKind::None));
    t.add_lock("unsubscribe", unsubscribe, Some(LockKind::None));
    t.add_lock("psubscribe", psubscribe, Some(LockKind::None));
    t.add_lock("punsubscribe", punsubscribe, Some(LockKind::None));
    t.add_lock("ssubscribe", ssubscribe, Some(LockKind::None));
    t.add_lock("sunsubscribe", sunsubscribe, Some(LockKind::None));
    t.add_lock("publish", publish_cmd, Some(LockKind::None));
    t.add_lock("spublish", spublish_cmd, Some(LockKind::None));
    t.add_lock("pubsub|channels", pubsub_channels, Some(LockKind::None));
    t.add_lock("pubsub|numsub", pubsub_numsub, Some(LockKind::None));
    t.add_lock("pubsub|numpat", pubsub_numpat, Some(LockKind::None));
    t.add_lock(
        "pubsub|shardchannels",
        pubsub_shardchannels,
        Some(LockKind::None),
    );
    t.add_lock(
        "pubsub|shardnumsub",
        pubsub_shardnumsub,
        Some(LockKind::None),
    );
    t.add_lock("pubsub|help", pubsub_help, Some(LockKind::None));
    crate::hooks::CLOSE_HOOKS.lock().push(on_close);
    let _ = crate::notify::HOOK.set(keyspace_notification);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn sub_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }
    fn unsub_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

fn set_of(s: &mut ClientSubs, k: Kind) -> &mut BTreeSet<Vec<u8>> {
    match k {
        Kind::Channel => &mut s.channels,
        Kind::Pattern => &mut s.patterns,
        Kind::Shard => &mut s.shard_channels,
    }
}

fn map_of(r: &mut Registry, k: Kind) -> &mut HashMap<Vec<u8>, Vec<Arc<ClientShared>>> {
    match k {
        Kind::Channel => &mut r.channels,
        Kind::Pattern => &mut r.patterns,
        Kind::Shard => &mut r.shard_channels,
    }
}

/// Count reported in (un)subscribe replies: channels + patterns, or shard
/// channels for the sharded forms.
fn count(s: &ClientSubs, k: Kind) -> usize {
    match k {
        Kind::Shard => s.shard_channels.len(),
        _ => s.channels.len() + s.patterns.len(),
    }
}

fn update_flags(c: &ClientShared, s: &ClientSubs) {
    c.sub.store(s.channels.len(), Ordering::Relaxed);
    c.psub.store(s.patterns.len(), Ordering::Relaxed);
    c.ssub.store(s.shard_channels.len(), Ordering::Relaxed);
    let any = !(s.channels.is_empty() && s.patterns.is_empty() && s.shard_channels.is_empty());
    c.set_flag(flag::PUBSUB, any);
}

fn do_subscribe(ctx: &mut Ctx, names: &[&[u8]], k: Kind) {
    if ctx.client.multi.is_some() || ctx.client.in_exec {
        // Redis refuses (P|S)SUBSCRIBE inside MULTI via the no-multi flag;
        // this is a second line of defence.
    }
    let shared = ctx.client.shared.clone();
    for name in names {
        let cnt = {
            let mut all = subs_of().lock();
            let mine = all.entry(shared.id).or_default();
            if set_of(mine, k).insert(name.to_vec()) {
                map_of(&mut registry().write(), k)
                    .entry(name.to_vec())
                    .or_default()
                    .push(shared.clone());
            }
            update_flags(&shared, mine);
            count(mine, k)
        };
        ctx.out.push(3);
        ctx.out.bulk(k.sub_word());
        ctx.out.bulk(name);
        ctx.out.int(cnt as i64);
    }
}

fn remove_one(shared: &Arc<ClientShared>, name: &[u8], k: Kind) {
    let mut r = registry().write();
    let m = map_of(&mut r, k);
    if let Some(v) = m.get_mut(name) {
        v.retain(|c| c.id != shared.id);
        if v.is_empty() {
            m.remove(name);
        }
    }
}

fn do_unsubscribe(ctx: &mut Ctx, names: &[&[u8]], k: Kind) {
    let shared = ctx.client.shared.clone();
    let targets: Vec<Vec<u8>> = if names.is_empty() {
        let all = subs_of().lock();
        match all.get(&shared.id) {
            Some(s) => match k {
                Kind::Channel => s.channels.iter().cloned().collect(),
                Kind::Pattern => s.patterns.iter().cloned().collect(),
                Kind::Shard => s.shard_channels.iter().cloned().collect(),
            },
            None => Vec::new(),
        }
    } else {
        names.iter().map(|n| n.to_vec()).collect()
    };
    if targets.is_empty() {
        let cnt = subs_of()
            .lock()
            .get(&shared.id)
            .map(|s| count(s, k))
            .unwrap_or(0);
        ctx.out.push(3);
        ctx.out.bulk(k.unsub_word());
        ctx.out.null();
        ctx.out.int(cnt as i64);
        return;
    }
    for name in targets {
        let cnt = {
            let mut all = subs_of().lock();
            let mine = all.entry(shared.id).or_default();
            if set_of(mine, k).remove(&name) {
                remove_one(&shared, &name, k);
            }
            update_flags(&shared, mine);
            let c = count(mine, k);
            if mine.channels.is_empty()
                && mine.patterns.is_empty()
                && mine.shard_channels.is_empty()
            {
                all.remove(&shared.id);
            }
            c
        };
        ctx.out.push(3);
        ctx.out.bulk(k.unsub_word());
        ctx.out.bulk(&name);
        ctx.out.int(cnt as i64);
    }
}

fn subscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    do_subscribe(ctx, &argv[1..], Kind::Channel)
}
fn psubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    do_subscribe(ctx, &argv[1..], Kind::Pattern)
}
fn ssubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    do_subscribe(ctx, &argv[1..], Kind::Shard)
}
fn unsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    do_unsubscribe(ctx, &argv[1..], Kind::Channel)
}
fn punsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    do_unsubscribe(ctx, &argv[1..], Kind::Pattern)
}
fn sunsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) {
    do_unsubscribe(ctx, &argv[1..], Kind::Shard)
}

/// Removes every subscription of a closing client.
pub fn on_close(_srv: &'static Server, c: &ClientShared) {
    let Some(mine) = subs_of().lock().remove(&c.id) else {
        return;
    };
    let mut r = registry().write();
    for (k, set) in [
        (Kind::Channel, &mine.channels),
        (Kind::Pattern, &mine.patterns),
        (Kind::Shard, &mine.shard_channels),
    ] {
        let m = map_of(&mut r, k);
        for name in set {
            if let Some(v) = m.get_mut(name) {
                v.retain(|x| x.id != c.id);
                if v.is_empty() {
                    m.remove(name);
                }
            }
        }
    }
}

/// One message encoded for both protocols, built lazily.
struct Encoded {
    resp2: Option<Vec<u8>>,
    resp3: Option<Vec<u8>>,
}

impl Encoded {
    fn get(&mut self, resp3: bool, build: impl Fn(&mut ReplyBuf)) -> &[u8] {
        let slot = if resp3 {
            &mut self.resp3
        } else {
            &mut self.resp2
        };
        slot.get_or_insert_with(|| {
            let mut r = ReplyBuf::new(resp3);
            build(&mut r);
            r.buf
        })
    }
}

/// `client-output-buffer-limit pubsub <hard> <soft> <soft-seconds>`.
#[derive(Clone, Copy)]
struct Limit {
    hard: usize,
    soft: usize,
    soft_secs: i64,
}

fn output_limit(srv: &Server) -> Limit {
    let [_, _, (hard, soft, secs)] = srv.config.client_output_buffer_limits();
    Limit {
        hard: hard as usize,
        soft: soft as usize,
        soft_secs: secs,
    }
}

/// Appends to a subscriber's mailbox, or disconnects it when its undelivered
/// output passes the hard limit, or stays above the soft limit for longer
/// than the soft period (Redis's checkClientOutputBufferLimits).
fn deliver(c: &ClientShared, bytes: &[u8], limit: Limit) {
    let mut mb = c.mailbox.lock();
    let size = mb.len() + bytes.len();
    let mut over = limit.hard > 0 && size > limit.hard;
    if !over && limit.soft > 0 {
        if size > limit.soft {
            let now = crate::server::now_ms();
            let since = c.obuf_soft_since.load(Ordering::Relaxed);
            if since == 0 {
                c.obuf_soft_since.store(now, Ordering::Relaxed);
            } else if now - since > limit.soft_secs * 1000 {
                over = true;
            }
        } else {
            c.obuf_soft_since.store(0, Ordering::Relaxed);
        }
    }
    if over {
        drop(mb);
        crate::log::warning(&format!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            c.id, c.addr
        ));
        c.request_kill();
        return;
    }
    mb.extend_from_slice(bytes);
    drop(mb);
    c.wake.notify_one();
}

/// Publishes to a channel (and matching patterns); returns receivers.
pub fn publish(srv: &Server, channel: &[u8], msg: &[u8], sharded: bool) -> usize {
    let limit = output_limit(srv);
    let r = registry().read();
    let mut n = 0;
    let mut enc = Encoded {
        resp2: None,
        resp3: None,
    };
    let word: &[u8] = if sharded { b"smessage" } else { b"message" };
    let map = if sharded {
        &r.shard_channels
    } else {
        &r.channels
    };
    if let Some(subs) = map.get(channel) {
        for c in subs {
            let resp3 = c.resp.load(Ordering::Relaxed) == 3;
            let bytes = enc.get(resp3, |o| {
                o.push(3);
                o.bulk(word);
                o.bulk(channel);
                o.bulk(msg);
            });
            deliver(c, bytes, limit);
            n += 1;
        }
    }
    if !sharded {
        for (pat, subs) in r.patterns.iter() {
            if !glob_match(pat, channel, false) {
                continue;
            }
            let mut penc = Encoded {
                resp2: None,
                resp3: None,
            };
            for c in subs {
                let resp3 = c.resp.load(Ordering::Relaxed) == 3;
                let bytes = penc.get(resp3, |o| {
                    o.push(4);
                    o.bulk(b"pmessage");
                    o.bulk(pat);
                    o.bulk(channel);
                    o.bulk(msg);
                });
                deliver(c, bytes, limit);
                n += 1;
            }
        }
    }
    n
}

fn publish_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let n = publish(ctx.srv, argv[1], argv[2], false);
    ctx.out.int(n as i64);
}

fn spublish_cmd(ctx: &mut Ctx, argv: &[&[u8]]) {
    let n = publish(ctx.srv, argv[1], argv[2], true);
    ctx.out.int(n as i64);
}

fn list_channels(ctx: &mut Ctx, argv: &[&[u8]], sharded: bool) {
    let pat = argv.get(2).copied();
    let r = registry().read();
    let map = if sharded {
        &r.shard_channels
    } else {
        &r.channels
    };
    let names: Vec<&Vec<u8>> = map
        .keys()
        .filter(|k| pat.map(|p| glob_match(p, k, false)).unwrap_or(true))
        .collect();
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n);
    }
}

fn pubsub_channels(ctx: &mut Ctx, argv: &[&[u8]]) {
    list_channels(ctx, argv, false)
}

fn pubsub_shardchannels(ctx: &mut Ctx, argv: &[&[u8]]) {
    list_channels(ctx, argv, true)
}

fn numsub(ctx: &mut Ctx, argv: &[&[u8]], sharded: bool) {
    let r = registry().read();
    let map = if sharded {
        &r.shard_channels
    } else {
        &r.channels
    };
    let names = &argv[2..];
    // A flat array in both protocols, as Redis replies.
    ctx.out.array(names.len() * 2);
    for n in names {
        ctx.out.bulk(n);
        ctx.out
            .int(map.get(*n).map(|v| v.len()).unwrap_or(0) as i64);
    }
}

fn pubsub_numsub(ctx: &mut Ctx, argv: &[&[u8]]) {
    numsub(ctx, argv, false)
}

fn pubsub_shardnumsub(ctx: &mut Ctx, argv: &[&[u8]]) {
    numsub(ctx, argv, true)
}

fn pubsub_numpat(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let n = registry().read().patterns.len();
    ctx.out.int(n as i64);
}

fn pubsub_help(ctx: &mut Ctx, _argv: &[&[u8]]) {
    let lines = [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Print this help.",
    ];
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.simple(l);
    }
}

/// Delivers a keyspace notification according to `notify-keyspace-events`.
fn keyspace_notification(class: u32, event: &str, key: &[u8], db: usize) {
    use crate::notify as n;
    let flags = n::FLAGS.load(Ordering::Relaxed);
    if flags & class == 0 {
        return;
    }
    let Some(srv) = crate::server::get() else {
        return;
    };
    if flags & n::KEYSPACE != 0 {
        let mut ch = format!("__keyspace@{}__:", db).into_bytes();
        ch.extend_from_slice(key);
        publish(srv, &ch, event.as_bytes(), false);
    }
    if flags & n::KEYEVENT != 0 {
        let ch = format!("__keyevent@{}__:{}", db, event).into_bytes();
        publish(srv, &ch, key, false);
    }
}

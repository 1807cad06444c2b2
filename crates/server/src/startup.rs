//! Process start-up and shutdown: builds the server from its config, binds,
//! starts the workers and background threads, and waits for a signal or
//! SHUTDOWN.

use crate::client::ClientRegistry;
use crate::config::Config;
use crate::locks::ThreadLocks;
use crate::server::{self, Server};
use crate::stats::Stats;
use crate::{log, net};
use parking_lot::Mutex;
use spinel_keyspace::{Keyspace, DEFAULT_SHARDS};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

/// Builds the process-wide server state.
pub fn build(config: Config, config_file: Option<String>) -> &'static Server {
    let threads = config.threads().max(1);
    let mut commands = crate::cmd::table();
    for (from, to) in config.rename_commands() {
        commands.rename(from, to);
    }
    let ncmds = commands.cmds.len();
    let ks = Keyspace::new(config.databases(), DEFAULT_SHARDS);
    let now = server::now_ms();
    server::install(Server {
        ks,
        thread_locks: ThreadLocks::new(threads),
        commands,
        clients: ClientRegistry::new(),
        stats: Stats::new(threads, ncmds),
        started: Instant::now(),
        started_unix: now / 1000,
        run_id: server::random_hex(40),
        port: AtomicU64::new(config.port() as u64),
        dirty: AtomicU64::new(0),
        lastsave: AtomicI64::new(now / 1000),
        shutdown_requested: AtomicBool::new(false),
        pause_until_ms: AtomicI64::new(0),
        pause_write_only: AtomicBool::new(false),
        slowlog: Mutex::new(Default::default()),
        config,
        config_file,
    })
}

/// Runs the server until shutdown; returns the process exit code.
pub fn run(srv: &'static Server) -> i32 {
    let pid = std::process::id();
    log::notice("oO0OoO0OoO0Oo Spinel is starting oO0OoO0OoO0Oo");
    log::notice(&format!(
        "Spinel version={}, redis_version={}, bits=64, pid={}, just started",
        server::SPINEL_VERSION,
        server::VERSION,
        pid
    ));
    match &srv.config_file {
        Some(_) => log::notice("Configuration loaded"),
        None => log::warning(
            "Warning: no config file specified, using the default config. In order to specify a config file use spinel-server /path/to/redis.conf",
        ),
    }
    let threads = srv.config.threads().max(1);
    let listeners = match net::bind_listeners(srv) {
        Ok(l) => l,
        Err(e) => {
            log::warning(&e);
            return 1;
        }
    };
    log::notice(&format!(
        "Running mode=standalone, port={}, threads={}.",
        srv.config.port(),
        threads
    ));
    write_pidfile(srv);
    crate::notify::refresh(srv);
    crate::evict::refresh(&srv.config);
    crate::info::record_startup_memory();
    log::notice("Server initialized");
    if !crate::persist::start(srv) {
        return 1;
    }
    let workers = match net::start_workers(srv, threads) {
        Ok(w) => w,
        Err(e) => {
            log::warning(&format!("Failed to start worker threads: {}", e));
            return 1;
        }
    };
    crate::listen::spawn(srv, listeners, &workers);
    let _ = std::thread::Builder::new()
        .name("spinel-cron".into())
        .spawn(move || crate::expire::cron_loop(srv));
    log::notice("Ready to accept connections tcp");
    wait_for_shutdown(srv)
}

fn write_pidfile(srv: &Server) {
    if let Some(p) = srv.config.get_string("pidfile") {
        if !p.is_empty() {
            if let Err(e) = std::fs::write(&p, format!("{}\n", std::process::id())) {
                log::warning(&format!("Failed to write PID file: {}", e));
            }
        }
    }
}

/// Blocks the main thread until SIGTERM/SIGINT or SHUTDOWN.
fn wait_for_shutdown(srv: &'static Server) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(_) => loop {
            std::thread::park();
        },
    };
    rt.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut int = signal(SignalKind::interrupt()).ok();
        loop {
            tokio::select! {
                _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {
                    log::warning("Received SIGTERM scheduling shutdown...");
                    break;
                }
                _ = async { match int.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {
                    log::warning("Received SIGINT scheduling shutdown...");
                    break;
                }
                _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {
                    if srv.shutdown_requested.load(Ordering::Relaxed) {
                        break;
                    }
                }
            }
        }
    });
    shutdown(srv, SHUTDOWN_NOSAVE.load(Ordering::Relaxed));
    0
}

/// SHUTDOWN NOSAVE was requested (hooks receive it as `nosave`).
static SHUTDOWN_NOSAVE: AtomicBool = AtomicBool::new(false);
/// SHUTDOWN SAVE was requested: save hooks should save even without save points.
pub static SHUTDOWN_SAVE: AtomicBool = AtomicBool::new(false);
static SHUTDOWN_STARTED: AtomicBool = AtomicBool::new(false);

/// Asks the main thread to shut down (the SHUTDOWN command): it runs
/// `shutdown` and exits the process.
pub fn request_shutdown(srv: &Server, nosave: bool, save: bool) {
    SHUTDOWN_NOSAVE.store(nosave, Ordering::Relaxed);
    SHUTDOWN_SAVE.store(save, Ordering::Relaxed);
    srv.shutdown_requested.store(true, Ordering::Relaxed);
}

/// Redis's prepareForShutdown: final save (when configured), pidfile, bye.
/// Runs once: a second caller waits for the first to end the process.
pub fn shutdown(srv: &'static Server, _nosave: bool) {
    if SHUTDOWN_STARTED.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    srv.shutdown_requested.store(true, Ordering::Relaxed);
    log::warning("User requested shutdown...");
    for hook in SHUTDOWN_HOOKS.lock().iter() {
        hook(srv, _nosave);
    }
    if let Some(p) = srv.config.get_string("pidfile") {
        if !p.is_empty() {
            log::notice("Removing the pid file.");
            let _ = std::fs::remove_file(p);
        }
    }
    log::warning("Spinel is now ready to exit, bye bye...");
}

/// Hooks run at shutdown (e.g. the final RDB save).
pub type ShutdownHook = fn(&'static Server, bool);
pub static SHUTDOWN_HOOKS: Mutex<Vec<ShutdownHook>> = Mutex::new(Vec::new());

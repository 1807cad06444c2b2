//! `spinel-server [/path/to/redis.conf] [--directive value ...]`

use spinel_server::{config, log, startup};

/// mimalloc (fast, and its size classes fit Spinel's per-key nodes tightly),
/// wrapped in per-thread byte counters for INFO's `used_memory`.
#[global_allocator]
static GLOBAL: spinel_server::info::CountingAlloc<mimalloc::MiMalloc> =
    spinel_server::info::CountingAlloc::new(mimalloc::MiMalloc);

fn main() {
    // No transparent huge pages (as Redis recommends): the allocator would
    // otherwise back a mostly idle arena with 2 MiB pages, and an empty
    // server would hold ~20 MiB resident.
    // SAFETY: prctl with PR_SET_THP_DISABLE takes integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match config::from_args(&args) {
        config::Startup::Run(c) => c,
        config::Startup::Exit(code) => std::process::exit(code),
    };
    log::init(
        log::Level::from_name(&cfg.loglevel()).unwrap_or(log::Level::Notice),
        &cfg.logfile(),
    );
    let file = cfg.config_file();
    let srv = startup::build(cfg, file);
    let code = startup::run(srv);
    std::process::exit(code);
}

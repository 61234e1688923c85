//! Runnable examples for the zk-* toolkit. The binaries in `src/bin`:
//!
//! - `quickstart`: the README's main job, [`quickstart::run`] narrated on stdout;
//! - `bench`: the standard client workload against any ensemble (and the lock
//!   workloads of [`lock_bench`]);
//! - `lock`: takes a lock K times, printing timestamped events ([`event`]);
//! - `leader`: joins a leader latch, printing timestamped leadership changes;
//! - `discovery`: watches (and with `--register` joins) a service in a
//!   Curator-compatible registry, printing the instances as they change;
//! - `config_watch`: follows a JSON config node, printing each value;
//! - `sim_startup`: how fast a simulated 3-node ensemble serves its first request;
//! - `sim_soak`: whether the simulator's memory stays flat over a long write run;
//! - `tree_cache_bench`: how long a tree cache of many nodes takes to
//!   initialize and resync, and its memory per node.

pub mod lock_bench;
pub mod quickstart;

/// Prints `<micros> <what>` on stdout: a Unix timestamp in microseconds,
/// then the event (the line format of the `lock` and `leader` examples).
pub fn event(what: &str) {
    use std::io::Write;
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    let mut out = std::io::stdout().lock();
    // A closed stdout is no reason to stop coordinating.
    let _ = writeln!(out, "{micros} {what}");
    let _ = out.flush();
}

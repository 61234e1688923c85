//! Runnable examples for the zk-* toolkit. The binaries in `src/bin`:
//!
//! - `quickstart`: the README's main job, [`quickstart::run`] narrated on stdout;
//! - `bench`: the standard client workload against any ensemble;
//! - `sim_startup`: how fast a simulated 3-node ensemble serves its first request.

pub mod quickstart;

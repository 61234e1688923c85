//! Cross-crate integration tests of the zk-* toolkit; they live in `tests/`.
//!
//! - `main_job.rs`: the README's main job (`examples::quickstart`) keeps its
//!   promises: a client survives the crash of its server in the same session
//!   and its watches fire.
//! - `scenarios.rs`: shared fault scenarios (a client across a kill of its server,
//!   a session expiry, a partition of its server, a dropped link) run unchanged on
//!   every `zk_server_sim::testkit::TestEnsemble` backend: simulator, local real
//!   ZooKeeper, containers.

//! Cross-crate integration tests of the zk-* toolkit; they live in `tests/`.
//!
//! - `main_job.rs`: the README's main job (`examples::quickstart`) keeps its
//!   promises: a client survives the crash of its server in the same session
//!   and its watches fire.

//! zk-client integration tests against real ZooKeeper 3.8 (one test binary).
//!
//! The default ensemble (three servers, no extended types) is shared by every
//! test, each in its own chroot; TTL tests use a standalone server with
//! extended types; fault tests put a TCP proxy in front of a server or run
//! a fake server that sends garbage.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

mod api;
#[cfg(target_os = "linux")]
mod batch_reads;
mod chroot;
mod errors;
mod expiry;
mod fake_server;
mod limits;
mod ops;
mod ordering;
mod persistent;
mod readonly;
mod recovery;
mod sasl;
mod session;
mod support;
mod terminal;
#[cfg(feature = "tls")]
mod tls;
mod watch_removal;
mod watches;

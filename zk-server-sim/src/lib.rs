//! A lightweight, replicated, wire-compatible ZooKeeper server simulator for
//! fault testing.
//!
//! ```
//! use std::io::{Read, Write};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> std::io::Result<()> {
//! // Three servers on OS-assigned loopback ports, elected and serving.
//! let ensemble = zk_server_sim::Ensemble::builder().nodes(3).seed(42).build().await?;
//! let leader = ensemble.leader().expect("a quorum elects a leader");
//! println!("connect to {} (leader is server {leader})", ensemble.connect_string());
//!
//! // Any ZooKeeper client can talk to it; four-letter words work too.
//! let addr = ensemble.addr(0);
//! let srvr = tokio::task::spawn_blocking(move || {
//!     let mut s = std::net::TcpStream::connect(addr)?;
//!     s.write_all(b"srvr")?;
//!     let mut out = String::new();
//!     s.read_to_string(&mut out)?;
//!     Ok::<_, std::io::Error>(out)
//! })
//! .await??;
//! assert!(srvr.contains("Mode: "));
//!
//! // Inject faults: the leader crashes, the rest elect a new one.
//! ensemble.kill(leader);
//! assert!(ensemble.leader().is_some_and(|l| l != leader));
//! ensemble.check_history().expect("client-visible guarantees hold");
//! # Ok(())
//! # }
//! ```
//!
//! # What it simulates
//!
//! - **Replication (Zab-like).** One leader; every write, wherever it
//!   arrives, is forwarded to the leader over an in-process link, gets the
//!   next zxid (epoch in the high 32 bits), is proposed, commits on a
//!   majority of acks and is applied by every node in zxid order. Reads are
//!   answered from the local node, which may lag; `sync` waits for the
//!   leader's commit point. A session's replies always go out in request
//!   order, and a read waits behind the session's pending writes.
//! - **Elections.** When the leader is lost (killed, partitioned, paused past
//!   `sync_limit` ticks, [`Ensemble::force_election`]), the available nodes
//!   that can reach a majority elect the most up-to-date one (seeded
//!   tie-break) in a new epoch. Acknowledged writes are never lost;
//!   uncommitted proposals are committed or truncated as Zab would.
//! - **Sessions.** Ids carry the creating server in the high byte; passwords
//!   derive from the id and a per-ensemble secret, so any node validates a
//!   reconnect. The leader tracks expiry in tick-sized buckets and expires
//!   sessions with a replicated closeSession (ephemerals deleted, watches
//!   fired on every node).
//! - **Faults**: see [`fault`] — kill/restart (with or without
//!   wiping), pause/resume, partitions, dropped connections, delayed replies,
//!   apply-then-drop, forced expiry and elections.
//! - **Observability**: roles, zxids, sessions, watch counts, tree snapshots,
//!   four-letter words, and a recorder of client-visible history with a
//!   checker ([`Ensemble::check_history`], [`history`]).
//!
//! # Determinism
//!
//! A single `u64` seed drives every random choice (session ids, passwords,
//! election tie-breaks). Without [`Builder::seed`], `ZK_SIM_SEED` (decimal or
//! `0x` hex) is read, else a random seed is drawn; [`Ensemble::seed`] reports
//! it so a failing test can print it and be replayed.

pub mod admin;
mod ensemble;
pub mod fault;
pub mod history;
pub mod real;
mod server;
pub mod testkit;
pub mod tree;

pub use ensemble::{parse_seed, Builder, Ensemble, Role, SessionInfo};
pub use server::VERSION;

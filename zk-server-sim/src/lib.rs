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
//! # Faithfulness notes
//!
//! - **Handshake** (protocol.md §5): timeouts are clamped into
//!   [`Builder::min_session_timeout`, `Builder::max_session_timeout`]; the
//!   read-only byte is echoed only when the client sent it; a client whose
//!   `lastZxidSeen` is ahead of the server, a server without quorum, and a
//!   read-write client on a read-only server are closed without a response;
//!   an unknown/expired session or a wrong password gets the expired
//!   response (timeout 0, session 0, 16 zero bytes) and a close. Frames sent
//!   before the ConnectResponse are held until the session exists.
//! - **Replies** carry the node's last applied zxid; auth replies zxid 0;
//!   notifications zxid −1 (3.8). An unknown opcode gets UNIMPLEMENTED and
//!   then a close; a body that does not decode, a null path in a read and a
//!   read op inside a write multi get MARSHALLINGERROR and the connection
//!   stays; `reconfig` RECONFIGDISABLED (an error txn: it takes a zxid, as
//!   every write does); a negative or oversized frame length closes the
//!   connection.
//! - **Connections**: at most [`Builder::max_client_cnxns`] per client
//!   address (default 60, as `maxClientCnxns`; more are closed at once); a
//!   connection without a ConnectRequest is closed after
//!   [`Builder::sessionless_connection_timeout`] (10 s, rounded up as
//!   real's expiry queue); failed accepts back off instead of spinning. Two 3.8 quirks are kept: a *successful* standalone `check`
//!   (opcode 13) is applied but gets no reply (a failed one gets its error;
//!   a real multi-server ensemble also breaks its followers on that txn,
//!   which is not simulated), and a client's `deleteContainer` (opcode 20)
//!   is always BADARGUMENTS (an error txn).
//! - **Auth**: every connection holds `ip:<peer address>` from the start;
//!   `digest` and `ip` auth packets succeed (the latter adds nothing new),
//!   a digest equal to [`Builder::super_digest`] also grants `super`; any
//!   other scheme gets AUTHFAILED, then a close. Notifications go only to
//!   connections whose ids grant READ on the node (ZOOKEEPER-4799).
//! - **`/zookeeper/config`**: a multi-node ensemble lists its membership
//!   there as a quorum member does (`server.N=127.0.0.1:0:0:participant;
//!   127.0.0.1:<client port>` lines, `version=0`; the in-process peers have
//!   no quorum or election ports); a single node is standalone (empty).
//! - **SESSIONMOVED**: a session that reconnects elsewhere becomes owned by
//!   the new server; a later write on the old connection closes it (the
//!   client only sees a disconnect). A reconnect on the same server closes
//!   the older connection at once.
//! - **Four-letter words**: every word 3.8 answers, in its formats
//!   (latencies print as 0), filtered by [`Builder::four_letter_whitelist`]
//!   (default `*`; a word outside it answers `<cmd> is not executed because
//!   it is not in the whitelist.`, `srvr` always answers). `hash` lists the
//!   tree digest after every 128th zxid, computed as ZooKeeper computes it.
//! - **Memory** stays flat over long runs: each server keeps the last
//!   [`Builder::commit_log_count`] committed proposals (the tree is the
//!   snapshot); a follower further behind is synced with a snapshot. With
//!   history recording on, the recorded history itself grows.
//! - **Slow consumers**: a connection keeps reading while its writes are
//!   blocked; its output queue is unbounded as real ZooKeeper's, unless
//!   [`Builder::max_output_queue`] caps it. Replies are not limited by
//!   `jute.maxbuffer` (real sends them); requests are
//!   ([`Builder::max_frame_size`]).
//! - **Simplifications**: roles come from an omniscient view of the links
//!   rather than FastLeaderElection messages; a crash or partition is noticed
//!   at once, a pause after `sync_limit` ticks; peers never lag except while
//!   paused; observers, local sessions, SASL and quotas are not simulated.
//!   [`Builder::server_version`] 3.9 changes only the notification zxid and
//!   the version string.
//!
//! # Testing with the test kit
//!
//! [`testkit::TestEnsemble`] runs the same test on three backends behind one
//! API with the simulator's names: the simulator ([`testkit::Backend::Sim`]),
//! ZooKeeper 3.8 as local processes ([`testkit::Backend::Real`], Debian's
//! `zookeeper` package) and ZooKeeper containers ([`testkit::Backend::Container`],
//! feature `testcontainers`, an image built by `scripts/build-zk-image.sh`).
//! It creates chroots, tells which node a client is on, kills and restarts
//! nodes, partitions and heals, expires sessions and drops client links; a
//! backend the machine lacks is skipped with the reason (a failure under
//! `CI=true`). See [`testkit`] for the table of calls.
//!
//! ```
//! use zk_server_sim::testkit::{Backend, TestEnsemble};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), zk_server_sim::testkit::TestkitError> {
//! for backend in [Backend::Sim] {
//!     // Backend::Real and Backend::Container run the same code.
//!     let Some(ensemble) = TestEnsemble::builder(backend).nodes(3).start_or_skip().await? else {
//!         continue; // not on this machine: said on stderr
//!     };
//!     let ns = ensemble.chroot("demo").await?;
//!     // ... connect the service under test to ns.connect_string ...
//!     let leader = ensemble.wait_healthy().await?;
//!     ensemble.isolate(leader).await?; // the others elect a new leader
//!     assert_ne!(ensemble.wait_healthy().await?, leader);
//!     ensemble.heal().await?;
//! #   drop(ns);
//! }
//! # Ok(()) }
//! ```
//!
//! # The standalone binary
//!
//! `zk-server-sim --nodes 3 --port 2181 --admin-port 2199` serves servers on
//! 2181, 2182, 2183, prints `ready connect=<..> admin=<..> seed=<..>` and
//! takes fault commands on the admin port, one line each (see [`admin`]).
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

pub use ensemble::{
    parse_seed, BuildError, Builder, Ensemble, Role, ServerVersion, SessionInfo, VERSION,
};

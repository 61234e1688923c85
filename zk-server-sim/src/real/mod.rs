//! Real Apache ZooKeeper servers for integration and differential tests.
//!
//! [`RealEnsemble`] runs Debian's ZooKeeper 3.8 (`apt-get install -y zookeeper`, or
//! `bash .ci/install-deps.sh`) as child JVMs on free 127.0.0.1 ports: one standalone
//! server, or a quorum of three or more. Tests can crash, stop, pause and restart
//! nodes, ask who leads, and send four-letter words. Everything here is synchronous
//! `std` code; call it directly from a test, or through `spawn_blocking` inside tokio.
//!
//! ```no_run
//! use zk_server_sim::real::{RealEnsemble, ServerMode};
//!
//! # fn main() -> Result<(), zk_server_sim::real::RealZkError> {
//! let mut ensemble = RealEnsemble::builder().nodes(3).start()?;
//! let leader = ensemble.wait_for_leader()?;
//! ensemble.kill(leader)?;
//! let new_leader = ensemble.wait_for_leader()?;
//! assert_ne!(leader, new_leader);
//! ensemble.restart(leader)?;
//! assert_eq!(ensemble.mode(leader)?, ServerMode::Follower);
//! # Ok(())
//! # }
//! ```
//!
//! Tests that only need a working server share one per test process and keep apart
//! with a chroot each:
//!
//! ```no_run
//! use zk_server_sim::real::RealEnsemble;
//!
//! # fn main() -> Result<(), zk_server_sim::real::RealZkError> {
//! let ensemble = RealEnsemble::shared_three()?;
//! let ns = ensemble.chroot("my_test");
//! // create ns.path through a client on ns.base_connect_string, then
//! // connect the client under test to ns.connect_string
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! - **Nodes** are numbered from 0; node `i` has ZooKeeper id (`myid`) `i + 1`. Each
//!   has a client, a quorum and an election port, picked by binding port 0. Start-up
//!   retries on fresh ports when ZooKeeper loses a race for one.
//! - **Ready** means `srvr` reports a `Mode:` line on every node (`ruok` answers `imok`
//!   before the server serves, so it is not used).
//! - **Files**: one temporary directory per ensemble,
//!   `node<myid>/{zoo.cfg, zookeeper.log, data/myid, data/version-2/}`, removed on drop
//!   (keep it with [`RealEnsembleBuilder::keep_dir`] or `ZK_REAL_KEEP_DIR=1`). Server
//!   logs go to `zookeeper.log`, never to the test's output; start-up errors quote
//!   the log's tail.
//! - **No stray JVMs**: each JVM runs under a small bash wrapper whose stdin is a pipe
//!   held only by this process. When the process ends in any way (normal exit with
//!   a never-dropped shared ensemble, panic, `process::exit`, SIGKILL), the pipe
//!   closes and the wrapper SIGKILLs its JVM and removes the ensemble directory.
//!   Dropping a [`RealEnsemble`] kills its nodes at once.
//! - **Config** always has `4lw.commands.whitelist=*`, `admin.enableServer=false`,
//!   `forceSync=no` unless asked, and only loopback addresses.
//! - **Timing** (2-core machine, OpenJDK 17): a standalone server serves about 0.3 s
//!   after spawn, a three-node quorum about 1 s; a new leader is elected well within
//!   a second of the old one's SIGKILL.
//!
//! # Classpath
//!
//! `/usr/share/java/zookeeper.jar` (its manifest `Class-Path` names its dependencies)
//! plus `/usr/share/java/slf4j-simple.jar`, the logging binding Debian's jar lacks.
//! Main class `org.apache.zookeeper.server.quorum.QuorumPeerMain` in every mode.

mod config;
mod ensemble;
mod error;
mod four_letter;
mod install;
mod node;
mod peer_links;
mod ports;
mod process;
mod shared;

pub use config::{RealEnsembleBuilder, KEEP_DIR_ENV};
pub use ensemble::RealEnsemble;
pub use error::RealZkError;
pub use four_letter::{four_letter_word, parse_mntr, ServerMode, SrvrInfo, NOT_SERVING_REPLY};
pub use install::{DEFAULT_ZOOKEEPER_JAR, MAIN_CLASS, NETTY_EXTRA_JARS, SLF4J_SIMPLE_JAR};
pub use shared::{unique_chroot, Chroot};

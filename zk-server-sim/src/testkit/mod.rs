//! Tools for tests: **not for applications**.
//!
//! # One ensemble API over three backends
//!
//! [`TestEnsemble`] starts N ZooKeeper servers on a [`Backend`] and drives them
//! with the simulator's names, so the same test runs on each:
//!
//! | backend | what runs | needs |
//! |---|---|---|
//! | [`Backend::Sim`] | the in-process simulator ([`Ensemble`](crate::Ensemble)) | nothing |
//! | [`Backend::Real`] | ZooKeeper 3.8 as local child JVMs ([`real::RealEnsemble`](crate::real::RealEnsemble)) | Debian's `zookeeper` package |
//! | [`Backend::Container`] | ZooKeeper containers via the `testcontainers` crate | feature `testcontainers`, Docker, an image ([`DEFAULT_IMAGE`]) |
//!
//! | call | effect |
//! |---|---|
//! | [`len`](TestEnsemble::len), [`addr`](TestEnsemble::addr), [`connect_string`](TestEnsemble::connect_string) | where clients connect |
//! | [`chroot`](TestEnsemble::chroot) | a fresh, created chroot and its connect strings |
//! | [`node_of`](TestEnsemble::node_of) | the node a client is on, from its `server()` address |
//! | [`leader`](TestEnsemble::leader), [`wait_healthy`](TestEnsemble::wait_healthy) | who leads; wait until every reachable node follows one |
//! | [`kill`](TestEnsemble::kill), [`restart`](TestEnsemble::restart) | crash a node; start it again (optionally wiped) |
//! | [`partition`](TestEnsemble::partition), [`isolate`](TestEnsemble::isolate), [`heal`](TestEnsemble::heal) | cut and restore links between servers |
//! | [`expire_session`](TestEnsemble::expire_session) | a real server-side expiry, now |
//! | [`drop_client_connections`](TestEnsemble::drop_client_connections) | close a node's client links |
//! | [`drop_session_connection`](TestEnsemble::drop_session_connection) | close one session's client link |
//!
//! A backend that cannot run on the machine is
//! [`TestkitError::Unavailable`]; [`TestEnsembleBuilder::start_or_skip`] reports it
//! as skipped with the reason, except under `CI=true`, where it fails.
//!
//! How faults are made: the simulator injects them itself; real servers run with
//! their peer links through local proxies that a partition cuts
//! ([`real::RealEnsembleBuilder::partitionable`](crate::real::RealEnsembleBuilder::partitionable));
//! containers sit on two private Docker networks (peers, clients) and a partition
//! disconnects a container from the peers network. Clients of real servers and
//! containers connect through a [`FaultProxy`] each, which is how their links are
//! dropped.
//!
//! # Lower-level tools
//!
//! [`RawClient`] speaks the ZooKeeper wire protocol with no session logic at
//! all (no reconnects, no pings on its own, no watch bookkeeping), so a test
//! can send exactly the frames it wants to a real ZooKeeper or to the
//! simulator and see exactly what comes back.
//!
//! [`FaultProxy`] sits between a client and a server and breaks the link
//! on command (drop, refuse, blackhole, delay, drop after a request) and,
//! when asked, records every frame both ways ([`WireLog`]);
//! [`expire_session`] ends a session on the server for real.
//!
//! [`consistency`] records what clients asked and got back and checks the
//! history against ZooKeeper's promises (linearizable writes, session
//! order, reads that never go back, sync-then-read, watch-before-data),
//! from the clients' side only: usable against any server.

pub mod consistency;
mod container;
mod ensemble;
mod error;
pub mod expire;
pub mod proxy;
mod raw_client;
pub mod wire;

pub use ensemble::{skips_are_failures, Backend, TestEnsemble, TestEnsembleBuilder};
pub use error::TestkitError;
pub use expire::expire_session;
pub use proxy::FaultProxy;
pub use raw_client::{RawClient, DEFAULT_REQUEST_TIMEOUT};
pub use wire::{Direction, Frame, WireLog};

/// The container backend's default image: the official image's name and tag.
/// No registry is reachable from every machine, so `scripts/build-zk-image.sh`
/// builds a compatible image under this tag from Debian's packages; `ZK_IMAGE`
/// or [`TestEnsembleBuilder::image`] picks another.
pub const DEFAULT_IMAGE: &str = "zookeeper:3.8";

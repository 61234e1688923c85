//! Tools for tests: **not for applications**.
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
pub mod expire;
pub mod proxy;
mod raw_client;
pub mod wire;

pub use expire::expire_session;
pub use proxy::FaultProxy;
pub use raw_client::{RawClient, DEFAULT_REQUEST_TIMEOUT};
pub use wire::{Direction, Frame, WireLog};

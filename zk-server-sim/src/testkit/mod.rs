//! Tools for tests: **not for applications**.
//!
//! [`RawClient`] speaks the ZooKeeper wire protocol with no session logic at
//! all (no reconnects, no pings on its own, no watch bookkeeping), so a test
//! can send exactly the frames it wants to a real ZooKeeper or to the
//! simulator and see exactly what comes back.

mod raw_client;

pub use raw_client::{RawClient, DEFAULT_REQUEST_TIMEOUT};

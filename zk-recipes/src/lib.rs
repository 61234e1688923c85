//! Curator-style coordination recipes on the public `zk-client` API.
//!
//! Node layouts are compatible with Apache Curator 5.x, so Java and Rust
//! processes can share one lock or one leader latch path.
//!
//! # The framework
//!
//! - [`Session`] owns the current client, publishes recipe
//!   [`ConnectionState`]s (Lost counted from the last server contact) and
//!   builds a new client after expiry ([`ConnectionState::NewSession`]).
//! - [`protected`] creates (Curator's `_c_<uuid>-` names) find their node
//!   again after a lost reply and adopt it only if their own session owns it.
//! - [`guaranteed_delete()`] keeps deleting in the background until the node
//!   or its session is gone; recipes never forget a node that may exist.

pub mod barrier;
pub mod double_barrier;
pub mod error;
pub mod guaranteed_delete;
pub mod leader;
pub mod mutex;
pub mod protected;
mod queue;
pub mod rwlock;
pub mod semaphore;
pub mod session;
pub mod state;

pub use barrier::Barrier;
pub use double_barrier::DoubleBarrier;
pub use error::{Error, LossReason, Result};
pub use guaranteed_delete::{guaranteed_delete, DeleteHandle, DeleteOutcome};
pub use leader::{
    LeaderContext, LeaderElection, LeaderLatch, LeaderLatchBuilder, Leadership, Participant,
};
pub use mutex::{HoldState, Mutex, MutexGuard};
pub use protected::{create_protected, ProtectedNode};
pub use rwlock::{ReadGuard, ReadWriteLock, WriteGuard};
pub use semaphore::{Lease, Semaphore};
pub use session::{Session, SessionBuilder};
pub use state::ConnectionState;

//! Curator-style coordination recipes on the public `zk-client` API.
//!
//! ```
//! use zk_recipes::{Mutex, Session};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // The example runs against an embedded simulated ensemble.
//! # let ensemble = zk_server_sim::Ensemble::builder().nodes(3).build().await?;
//! # let hosts = ensemble.connect_string();
//! // A session owns the client and replaces it after expiry.
//! let session = Session::connect(hosts.as_str()).await?;
//!
//! // Same path, same lock as Curator's InterProcessMutex("/app/lock").
//! let lock = Mutex::new(&session, "/app/lock")?;
//! let guard = lock.acquire().await?;
//! println!("holding {} (fencing token {})", guard.node_path(), guard.fencing_token());
//!
//! // A write that applies only while the lock is still held.
//! # session.client().create("/app/balance", b"0", &Default::default()).await?;
//! guard
//!     .fenced(|txn| txn.set_data("/app/balance", b"100", None))
//!     .await?;
//!
//! // Work under the lock can select on losing it.
//! tokio::select! {
//!     reason = guard.lost() => println!("lock lost: {reason}"),
//!     () = tokio::time::sleep(std::time::Duration::from_millis(10)) => {}
//! }
//! guard.release().await?;
//! session.close().await?;
//! # Ok(()) }
//! ```
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
//! - Retry policies are in [`zk_client::retry`].
//!
//! # Recipes
//!
//! - [`Mutex`]: Curator `InterProcessMutex` (`<path>/_c_<uuid>-lock-<seq>`),
//!   with a fencing token, [fenced writes](MutexGuard::fenced) and
//!   [loss notification](MutexGuard::lost).
//! - [`LeaderLatch`]: Curator `LeaderLatch` (`<path>/_c_<uuid>-latch-<seq>`,
//!   data = participant id), leadership as a `watch` channel.
//! - [`LeaderElection`]: Curator `LeaderSelector` style; runs a future while
//!   leader.
//!
//! # Safety under faults
//!
//! A holder or leader can always be wrong for a moment (a pause, a
//! partition): what it holds is decided by the server. Hence:
//! - leadership needs our node first **and** owned by our live session;
//! - the session is declared Lost before the server can expire it;
//! - every holder has a fencing token (its node's czxid, increasing) and
//!   fenced writes, which the server refuses once the node is gone.

pub mod barrier;
pub mod cache;
pub mod config;
pub mod counter;
pub mod discovery;
pub mod distributed_queue;
pub mod double_barrier;
pub mod error;
pub mod group;
pub mod guaranteed_delete;
pub mod leader;
pub mod mutex;
pub mod partitioner;
pub mod persistent_node;
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
    Fenced, LeaderContext, LeaderElection, LeaderLatch, LeaderLatchBuilder, Leadership, Participant,
};
pub use mutex::{HoldState, Mutex, MutexGuard};
pub use protected::{create_protected, ProtectedNode};
pub use rwlock::{ReadGuard, ReadWriteLock, WriteGuard};
pub use semaphore::{Lease, Semaphore};
pub use session::{Session, SessionBuilder};
pub use state::ConnectionState;

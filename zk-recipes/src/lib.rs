//! Curator-style coordination recipes on the public `zk-client` API.
//!
//! ```
//! use zk_client::{Client, CreateOptions};
//! use zk_recipes::cache::{CacheEvent, TreeCache};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let ensemble = zk_server_sim::Ensemble::builder().nodes(1).build().await?;
//! # let hosts = ensemble.connect_string();
//! let client = Client::connect(hosts.as_str()).await?;
//! client.create("/app", b"", &CreateOptions::default()).await?;
//! client.create("/app/a", b"1", &CreateOptions::default()).await?;
//!
//! // A tree cache mirrors /app (paths, data, stats) on one persistent watch.
//! let cache = TreeCache::start(&client, "/app");
//! let mut events = cache.events();
//! cache.initialized().await?;
//! assert_eq!(&cache.get("/app/a").map(|n| n.data).unwrap_or_default()[..], b"1");
//!
//! client.set_data("/app/a", b"2", None).await?;
//! loop {
//!     if let Some(CacheEvent::Updated { new, .. }) = events.recv().await {
//!         assert_eq!(&new.data[..], b"2");
//!         break;
//!     }
//! }
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
pub use session::{Session, SessionBuilder};
pub use state::ConnectionState;

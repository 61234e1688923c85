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
//! Recipes here keep node layouts compatible with Apache Curator 5.4, so that
//! Java and Rust processes can share them.

pub mod cache;
pub mod config;
pub mod discovery;

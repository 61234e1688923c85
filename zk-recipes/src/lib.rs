//! Curator-style coordination recipes on the public `zk-client` API.
//!
//! **Nothing is implemented yet.** This crate holds the place of the recipes
//! in the workspace layout; no recipe issue has been worked on so far.
//!
//! The plan: locks, read-write lock, semaphore, barriers, leader latch and
//! election, service registry and discovery, cached config, counters and
//! queues, with node layouts compatible with Apache Curator 5.4 so that Java
//! and Rust processes can share a lock or a registry.

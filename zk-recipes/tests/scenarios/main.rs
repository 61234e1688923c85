//! recipes.md §14 fault scenarios for the mutex and the leader recipes, on
//! the simulator (and a subset on real ZooKeeper 3.8, in `real`).

// Test helpers may unwrap: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod leader;
mod mutex;
mod real;
mod support;

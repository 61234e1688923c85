//! zk-server-sim

pub mod testkit;
pub mod tree;

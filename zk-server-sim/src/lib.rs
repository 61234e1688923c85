//! zk-server-sim

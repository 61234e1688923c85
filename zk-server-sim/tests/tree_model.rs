//! Unit tests of the tree model (`zk_server_sim::tree`): Stats, sequential
//! names, error precedence, multi, ACLs, sessions, reaping and watches.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![allow(unreachable_pub, dead_code)]

mod tree_model {
    pub mod acl;
    pub mod errors;
    pub mod replication;
    pub mod sessions;
    pub mod stat;
    pub mod support;
    pub mod watches;
}

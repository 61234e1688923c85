//! The [`DataTree`] itself: nodes, per-session ephemerals, and queries.

use std::collections::BTreeMap;

use bytes::Bytes;
use zk_proto::{Acl, EventType, Stat};

use super::java_hash::JavaHashSet;
use super::node::Node;
use super::TreeEvent;

/// ZooKeeper's znode tree, as one server holds it.
///
/// Pure and deterministic: the same [`Txn`](super::Txn)s applied in the same
/// order give the same state, answers and events on every replica. A fresh
/// tree has what a fresh ZooKeeper 3.8 server has: `/`, `/zookeeper`,
/// `/zookeeper/quota` and `/zookeeper/config` (ACL `READ_ACL_UNSAFE`, aversion
/// −1), all with zero zxids and times.
///
/// See the [module docs](super) for the leader/follower usage.
#[derive(Debug, Clone)]
pub struct DataTree {
    /// Every node by absolute path; the root is `/` (ZooKeeper also maps `""` to it).
    pub(crate) nodes: BTreeMap<String, Node>,
    /// Per session, its ephemerals as ZooKeeper's `HashSet` holds them.
    pub(crate) ephemerals: BTreeMap<i64, JavaHashSet>,
    /// Live sessions (created and not closed) and their timeouts.
    pub(crate) sessions: BTreeMap<i64, i32>,
    /// The zxid of the last applied txn.
    pub(crate) last_zxid: i64,
}

/// A node's content in a [`DataTree::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeSnapshot {
    /// The data.
    pub data: Bytes,
    /// The Stat a client would see.
    pub stat: Stat,
    /// The ACL.
    pub acl: Vec<Acl>,
}

pub(crate) const ROOT: &str = "/";
pub(crate) const PROC: &str = "/zookeeper";
pub(crate) const QUOTA: &str = "/zookeeper/quota";
pub(crate) const CONFIG: &str = "/zookeeper/config";

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    /// A fresh tree, as a new ZooKeeper 3.8 server starts with.
    pub fn new() -> Self {
        let empty = || Node::new(Bytes::new().into(), Acl::open_unsafe(), 0, 0, 0);
        let mut root = empty();
        root.children.insert("zookeeper");
        let mut proc_node = empty();
        proc_node.children.insert("quota");
        proc_node.children.insert("config");
        let mut config = empty();
        // DataTree.addConfigNode: setACL(READ_ACL_UNSAFE, version −1).
        config.acl = Acl::read_unsafe();
        config.stat.aversion = -1;
        let mut nodes = BTreeMap::new();
        nodes.insert(ROOT.to_owned(), root);
        nodes.insert(PROC.to_owned(), proc_node);
        nodes.insert(QUOTA.to_owned(), empty());
        nodes.insert(CONFIG.to_owned(), config);
        DataTree {
            nodes,
            ephemerals: BTreeMap::new(),
            sessions: BTreeMap::new(),
            last_zxid: 0,
        }
    }

    /// Sets `/zookeeper/config` as a quorum member does at start-up and on
    /// every new configuration (`QuorumPeer.setQuorumVerifier` →
    /// `DataTree.setData(path, config, version −1, zxid = config version, now)`):
    /// the data becomes the dynamic config text (`server.N=…` lines then
    /// `version=<hex>`), mzxid the config version, mtime this server's clock,
    /// and the data version −1. A local, unreplicated change; a standalone
    /// server never does it (its config node stays empty). Returns the
    /// NodeDataChanged event for the watch manager.
    pub fn set_config(&mut self, data: Bytes, config_version: i64, time_ms: i64) -> Vec<TreeEvent> {
        let Some(node) = self.nodes.get_mut(CONFIG) else {
            return Vec::new();
        };
        node.data = data.into();
        node.stat.mzxid = config_version;
        node.stat.mtime = time_ms;
        node.stat.version = -1;
        vec![TreeEvent::new(
            CONFIG,
            EventType::NodeDataChanged,
            node.acl.clone(),
        )]
    }

    /// A node by the key ZooKeeper's `nodes.get(path)` uses: `""` is the root too.
    pub(crate) fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(if path.is_empty() { ROOT } else { path })
    }

    pub(crate) fn node_mut(&mut self, path: &str) -> Option<&mut Node> {
        self.nodes
            .get_mut(if path.is_empty() { ROOT } else { path })
    }

    /// The zxid of the last applied txn (ZooKeeper's `lastProcessedZxid`).
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// The node count as `mntr`'s `zk_znode_count` reports it: ZooKeeper's map
    /// holds the root twice (`""` and `/`), so a fresh tree reports 5.
    pub fn node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    /// The paths of `session_id`'s ephemerals, in ZooKeeper's order
    /// (`getEphemerals`, and the order a close deletes them in).
    pub fn ephemerals(&self, session_id: i64) -> Vec<String> {
        self.ephemerals
            .get(&session_id)
            .map(|set| set.java_clone().iter_java().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Total ephemerals across sessions (`mntr`'s `zk_ephemerals_count`).
    pub fn ephemerals_count(&self) -> usize {
        self.ephemerals.values().map(JavaHashSet::len).sum()
    }

    /// Sessions that hold ephemerals or were created through [`Txn::CreateSession`](super::Txn)
    /// and not closed, with their timeouts (0 if only known from ephemerals).
    pub fn sessions(&self) -> BTreeMap<i64, i32> {
        let mut out = self.sessions.clone();
        for id in self.ephemerals.keys() {
            out.entry(*id).or_insert(0);
        }
        out
    }

    /// The Stat a client would see for `path`, if it exists.
    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.node(path).map(Node::client_stat)
    }

    /// The data of `path`, if it exists.
    pub fn data(&self, path: &str) -> Option<Bytes> {
        self.node(path).map(|n| n.data.to_bytes())
    }

    /// The children of `path` in ZooKeeper's order, if it exists.
    pub fn children(&self, path: &str) -> Option<Vec<String>> {
        self.node(path).map(Node::child_names)
    }

    /// The internal ephemeral owner of `path` (with container/TTL markers; see
    /// [`zk_proto::EphemeralKind`]), which client Stats show as 0 for those kinds.
    pub fn ephemeral_owner(&self, path: &str) -> Option<i64> {
        self.node(path).map(|n| n.stat.ephemeral_owner)
    }

    /// Every node with its data, client Stat and ACL, by path.
    pub fn snapshot(&self) -> BTreeMap<String, NodeSnapshot> {
        self.nodes
            .iter()
            .map(|(path, n)| {
                (
                    path.clone(),
                    NodeSnapshot {
                        data: n.data.to_bytes(),
                        stat: n.client_stat(),
                        acl: n.acl.clone(),
                    },
                )
            })
            .collect()
    }
}

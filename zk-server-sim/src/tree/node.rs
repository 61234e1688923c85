//! One znode as ZooKeeper's `DataNode` holds it.

use zk_proto::{Acl, Data, EphemeralKind, Stat};

use super::java_hash::JavaHashSet;

/// A znode: data, ACL, the persisted stat fields, and the children's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub(crate) data: Data,
    pub(crate) acl: Vec<Acl>,
    /// ZooKeeper's `StatPersisted`: `cversion` counts child creations (not
    /// changes) and `ephemeral_owner` keeps the container/TTL markers;
    /// `data_length` and `num_children` are unused here.
    pub(crate) stat: Stat,
    pub(crate) children: JavaHashSet,
}

/// `DataNode.addChild` allocates `new HashSet<String>(8)`.
const CHILDREN_INITIAL_CAPACITY: usize = 8;

impl Node {
    /// A node as `DataTree.createNode` makes it (`createStat`).
    pub(crate) fn new(data: Data, acl: Vec<Acl>, zxid: i64, time: i64, owner: i64) -> Self {
        Node {
            data,
            acl,
            stat: Stat {
                czxid: zxid,
                mzxid: zxid,
                ctime: time,
                mtime: time,
                version: 0,
                cversion: 0,
                aversion: 0,
                ephemeral_owner: owner,
                data_length: 0,
                num_children: 0,
                pzxid: zxid,
            },
            children: JavaHashSet::with_capacity(CHILDREN_INITIAL_CAPACITY),
        }
    }

    /// The kind of node, from its internal ephemeral owner.
    pub(crate) fn kind(&self) -> EphemeralKind {
        EphemeralKind::from_owner(self.stat.ephemeral_owner)
    }

    /// `DataNode.copyStat`: the Stat a client sees. cversion becomes
    /// `2 × creations − children` (every create but the surviving children was
    /// followed by a delete); ephemeralOwner is 0 for containers and TTL nodes.
    pub(crate) fn client_stat(&self) -> Stat {
        let num_children = i32::try_from(self.children.len()).unwrap_or(i32::MAX);
        let owner = match self.kind() {
            EphemeralKind::Session(id) => id,
            _ => 0,
        };
        Stat {
            ephemeral_owner: owner,
            data_length: i32::try_from(self.data.len()).unwrap_or(i32::MAX),
            num_children,
            cversion: self
                .stat
                .cversion
                .wrapping_mul(2)
                .wrapping_sub(num_children),
            ..self.stat.clone()
        }
    }

    /// The children in the order ZooKeeper lists them.
    pub(crate) fn child_names(&self) -> Vec<String> {
        self.children.iter_java().map(str::to_owned).collect()
    }
}

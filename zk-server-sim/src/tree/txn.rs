//! Transactions: fully decided state changes, and what applying one produces.

use zk_proto::{Acl, Data, ErrorCode, EventType, Response};

/// A fully decided, deterministic change to the [`DataTree`](super::DataTree).
///
/// The leader turns a write request into a `Txn` with
/// [`DataTree::prepare`](super::DataTree::prepare); every replica then applies
/// the same `Txn` with [`DataTree::apply`](super::DataTree::apply) and reaches
/// the same state. Everything that depends on the leader's view (the final path
/// with its sequence suffix, the resolved ACL, the ephemeral owner, the parent's
/// new cversion) is decided here, as in ZooKeeper's `CreateTxn`, `SetDataTxn`…
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Txn {
    /// A session was created (`createSession`); no change to the tree itself.
    CreateSession {
        /// The new session's id.
        session_id: i64,
        /// Its negotiated timeout.
        timeout_ms: i32,
    },
    /// A session was closed or expired (`closeSession`): its ephemerals are
    /// deleted, in the order ZooKeeper 3.8 deletes them, with their events.
    CloseSession {
        /// The session that ends.
        session_id: i64,
    },
    /// A node is created (`create`, `create2`, `createContainer`, `createTTL`).
    Create(CreateTxn),
    /// A node is deleted (`delete`, and inside a multi).
    Delete {
        /// The node to delete.
        path: String,
    },
    /// A container or expired TTL node is deleted (`deleteContainer`, opcode 20).
    DeleteContainer {
        /// The node to delete.
        path: String,
    },
    /// A node's data is replaced (`setData`).
    SetData {
        /// The node.
        path: String,
        /// The new data (null kept null).
        data: Data,
        /// The node's new data version (the old one + 1, wrapping as Java's `int`).
        version: i32,
    },
    /// A node's ACL is replaced (`setACL`).
    SetAcl {
        /// The node.
        path: String,
        /// The resolved ACL (the `auth` scheme already expanded).
        acl: Vec<Acl>,
        /// The node's new ACL version.
        version: i32,
    },
    /// A version check that passed (`check`, inside a multi or on its own).
    Check {
        /// The node.
        path: String,
        /// The checked version + 1, as ZooKeeper's `CheckVersionTxn` carries it.
        version: i32,
    },
    /// A multi whose every op passed; applied atomically under one zxid.
    Multi(Vec<Txn>),
    /// A multi that failed: one code per op — OK before the failing op, its
    /// code at it, RUNTIMEINCONSISTENCY after. Changes nothing but still takes a zxid.
    MultiError(Vec<ErrorCode>),
    /// A plain write that failed. ZooKeeper still assigns it a zxid
    /// (`PrepRequestProcessor` turns the `KeeperException` into an `ErrorTxn`).
    Error(ErrorCode),
}

/// How the reply to a create is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateReply {
    /// `create` (opcode 1): only the path (`CreateResponse`, or `CreateResult` in a multi).
    Path,
    /// `create2`, `createContainer`, `createTTL`: the path and the new node's Stat.
    PathAndStat,
}

/// The decided content of a create.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateTxn {
    /// The final path, including any sequence suffix.
    pub path: String,
    /// The node's data (null kept null, as ZooKeeper keeps it).
    pub data: Data,
    /// The resolved ACL.
    pub acl: Vec<Acl>,
    /// ZooKeeper's internal ephemeralOwner: 0, the owning session,
    /// [`zk_proto::CONTAINER_EPHEMERAL_OWNER`], or a TTL marker
    /// (see [`zk_proto::EphemeralKind`]).
    pub ephemeral_owner: i64,
    /// The parent's new internal cversion (its old one + 1).
    pub parent_cversion: i32,
    /// The reply shape.
    pub reply: CreateReply,
}

impl CreateTxn {
    /// A create of `path` with everything spelled out.
    pub fn new(
        path: impl Into<String>,
        data: impl Into<Data>,
        acl: Vec<Acl>,
        ephemeral_owner: i64,
        parent_cversion: i32,
        reply: CreateReply,
    ) -> Self {
        CreateTxn {
            path: path.into(),
            data: data.into(),
            acl,
            ephemeral_owner,
            parent_cversion,
            reply,
        }
    }
}

/// What applying a [`Txn`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TxnResult {
    /// The reply for the client that sent the request. Paths are server paths.
    /// A failed multi is `Ok(Response::Multi(..))` with per-op errors, as on the wire.
    pub response: Result<Response, ErrorCode>,
    /// The node events, in the order ZooKeeper triggers them, for
    /// [`WatchManager::trigger`](super::WatchManager::trigger).
    pub events: Vec<TreeEvent>,
}

/// A change to one node that watches may observe.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TreeEvent {
    /// The server path the event is about (for NodeChildrenChanged, the parent).
    pub path: String,
    /// NodeCreated, NodeDeleted, NodeDataChanged or NodeChildrenChanged.
    pub event_type: EventType,
    /// The ACL of the node the event is about (for NodeChildrenChanged, the
    /// parent's). A connection without READ on it is not notified (the
    /// CVE-2024-23944 fix, ZOOKEEPER-4799, in 3.8.4 and Debian's 3.8.0), though
    /// its one-shot watch is still used up.
    pub acl: Vec<Acl>,
}

impl TreeEvent {
    /// An event of `event_type` on `path`, on a node with `acl`.
    pub fn new(path: impl Into<String>, event_type: EventType, acl: Vec<Acl>) -> Self {
        TreeEvent {
            path: path.into(),
            event_type,
            acl,
        }
    }
}

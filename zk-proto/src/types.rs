//! The protocol's small enums: create modes, permissions, states, event and watch types.

use bitflags::bitflags;

use crate::int_enum::int_enum;
use crate::OpCode;

int_enum! {
    /// How a node is created (`CreateRequest.flags`).
    pub enum CreateMode : "create mode" {
        /// A plain persistent node.
        Persistent = 0 => "PERSISTENT",
        /// Deleted when the creating session ends.
        Ephemeral = 1 => "EPHEMERAL",
        /// Persistent, with a 10-digit sequence suffix.
        PersistentSequential = 2 => "PERSISTENT_SEQUENTIAL",
        /// Ephemeral, with a 10-digit sequence suffix.
        EphemeralSequential = 3 => "EPHEMERAL_SEQUENTIAL",
        /// Deleted by the server once its last child is gone (opcode 19).
        Container = 4 => "CONTAINER",
        /// Deleted when unmodified and childless for its TTL (opcode 21).
        PersistentWithTtl = 5 => "PERSISTENT_WITH_TTL",
        /// Sequential TTL node (opcode 21).
        PersistentSequentialWithTtl = 6 => "PERSISTENT_SEQUENTIAL_WITH_TTL",
    }
}

impl CreateMode {
    /// Whether nodes of this mode belong to a session.
    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    /// Whether the server appends a sequence number.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// Whether this is a container.
    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }

    /// Whether this is a TTL mode.
    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// The opcode that creates this mode and returns a Stat: containers need
    /// 19 and TTL nodes 21 (sent as plain creates they become persistent nodes).
    pub fn op_code(self) -> OpCode {
        if self.is_container() {
            OpCode::CreateContainer
        } else if self.is_ttl() {
            OpCode::CreateTtl
        } else {
            OpCode::Create2
        }
    }
}

bitflags! {
    /// ACL permission bits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    #[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
    pub struct Perms: i32 {
        /// Read data and list children.
        const READ = 1;
        /// Set data.
        const WRITE = 2;
        /// Create children.
        const CREATE = 4;
        /// Delete children.
        const DELETE = 8;
        /// Set the ACL.
        const ADMIN = 16;
        /// Everything.
        const ALL = 31;
    }
}

int_enum! {
    /// `WatcherEvent.state`: the session state an event reports.
    pub enum KeeperState : "keeper state" {
        /// Deprecated.
        Unknown = -1 => "Unknown",
        /// Not connected (client-generated).
        Disconnected = 0 => "Disconnected",
        /// Deprecated.
        NoSyncConnected = 1 => "NoSyncConnected",
        /// Connected; all node events carry this state.
        SyncConnected = 3 => "SyncConnected",
        /// Authentication failed.
        AuthFailed = 4 => "AuthFailed",
        /// Connected to a read-only server.
        ConnectedReadOnly = 5 => "ConnectedReadOnly",
        /// SASL authentication succeeded.
        SaslAuthenticated = 6 => "SaslAuthenticated",
        /// The session expired (client-generated).
        Expired = -112 => "Expired",
        /// The client closed (3.6+).
        Closed = 7 => "Closed",
    }
}

int_enum! {
    /// `WatcherEvent.type`: what happened to a node.
    pub enum EventType : "event type" {
        /// A session-state event, not about a node.
        None = -1 => "None",
        /// The node was created.
        NodeCreated = 1 => "NodeCreated",
        /// The node was deleted.
        NodeDeleted = 2 => "NodeDeleted",
        /// The node's data changed.
        NodeDataChanged = 3 => "NodeDataChanged",
        /// The node's children changed.
        NodeChildrenChanged = 4 => "NodeChildrenChanged",
        /// A data watch was removed (client-local).
        DataWatchRemoved = 5 => "DataWatchRemoved",
        /// A child watch was removed (client-local).
        ChildWatchRemoved = 6 => "ChildWatchRemoved",
        /// A persistent watch was removed (3.6+, client-local).
        PersistentWatchRemoved = 7 => "PersistentWatchRemoved",
    }
}

int_enum! {
    /// The `type` of checkWatches and removeWatches.
    pub enum WatcherType : "watcher type" {
        /// Child watches.
        Children = 1 => "Children",
        /// Data and exist watches.
        Data = 2 => "Data",
        /// Every kind (on servers before 3.9 also persistent ones).
        Any = 3 => "Any",
        /// Persistent watches (3.9+).
        Persistent = 4 => "Persistent",
        /// Persistent recursive watches (3.9+).
        PersistentRecursive = 5 => "PersistentRecursive",
    }
}

int_enum! {
    /// `AddWatchRequest.mode`.
    pub enum AddWatchMode : "add watch mode" {
        /// Fires for data changes, deletes and child changes of the node, and stays.
        Persistent = 0 => "PERSISTENT",
        /// Fires for every change in the subtree below the node, and stays.
        PersistentRecursive = 1 => "PERSISTENT_RECURSIVE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_their_codes() {
        for &m in CreateMode::ALL {
            assert_eq!(CreateMode::try_from(m.code()).unwrap(), m);
        }
        for &s in KeeperState::ALL {
            assert_eq!(KeeperState::try_from(s.code()).unwrap(), s);
        }
        for &e in EventType::ALL {
            assert_eq!(EventType::try_from(e.code()).unwrap(), e);
        }
        for &w in WatcherType::ALL {
            assert_eq!(WatcherType::try_from(w.code()).unwrap(), w);
        }
        assert!(CreateMode::try_from(7).is_err());
        assert_eq!(CreateMode::Container.op_code(), OpCode::CreateContainer);
        assert_eq!(
            CreateMode::PersistentSequentialWithTtl.op_code(),
            OpCode::CreateTtl
        );
        assert_eq!(CreateMode::EphemeralSequential.op_code(), OpCode::Create2);
        assert_eq!(Perms::ALL.bits(), 31);
    }
}

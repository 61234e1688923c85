//! Opcodes (`ZooDefs.OpCode`), ZooKeeper 3.4 to 3.9.

use crate::int_enum::int_enum;

int_enum! {
    /// The `type` of a [`RequestHeader`](crate::RequestHeader): which operation a request is.
    pub enum OpCode : "opcode" {
        /// A watch notification (server push, xid −1).
        Notification = 0 => "notification",
        /// Create a node, returning its path.
        Create = 1 => "create",
        /// Delete a node.
        Delete = 2 => "delete",
        /// Does a node exist (its Stat).
        Exists = 3 => "exists",
        /// A node's data and Stat.
        GetData = 4 => "getData",
        /// Set a node's data.
        SetData = 5 => "setData",
        /// A node's ACL.
        GetAcl = 6 => "getACL",
        /// Set a node's ACL.
        SetAcl = 7 => "setACL",
        /// A node's children.
        GetChildren = 8 => "getChildren",
        /// Sync this server with the leader.
        Sync = 9 => "sync",
        /// Keep-alive (xid −2).
        Ping = 11 => "ping",
        /// A node's children and Stat.
        GetChildren2 = 12 => "getChildren2",
        /// Check a node's version (multi sub-op).
        Check = 13 => "check",
        /// An atomic transaction.
        Multi = 14 => "multi",
        /// Create a node, returning its path and Stat (3.5+).
        Create2 = 15 => "create2",
        /// Change the ensemble membership (3.5+).
        Reconfig = 16 => "reconfig",
        /// Check that a watch exists (3.5+).
        CheckWatches = 17 => "checkWatches",
        /// Remove watches (3.5+).
        RemoveWatches = 18 => "removeWatches",
        /// Create a container node (3.5.1+).
        CreateContainer = 19 => "createContainer",
        /// Delete a container node (server-internal).
        DeleteContainer = 20 => "deleteContainer",
        /// Create a TTL node (3.5.3+).
        CreateTtl = 21 => "createTTL",
        /// A batch of reads (3.6+).
        MultiRead = 22 => "multiRead",
        /// Add authentication (xid −4).
        Auth = 100 => "auth",
        /// Re-register watches after a reconnect (xid −8).
        SetWatches = 101 => "setWatches",
        /// A SASL token exchange.
        Sasl = 102 => "sasl",
        /// The session's ephemeral nodes (3.6+).
        GetEphemerals = 103 => "getEphemerals",
        /// The number of descendants of a node (3.6+).
        GetAllChildrenNumber = 104 => "getAllChildrenNumber",
        /// Re-register watches including persistent ones (3.6+, xid −8).
        SetWatches2 = 105 => "setWatches2",
        /// Add a persistent or persistent-recursive watch (3.6+).
        AddWatch = 106 => "addWatch",
        /// Who the server thinks this session is (3.7+).
        WhoAmI = 107 => "whoAmI",
        /// Session creation (internal; the ConnectRequest).
        CreateSession = -10 => "createSession",
        /// End the session.
        CloseSession = -11 => "closeSession",
        /// An error result inside a multi response.
        Error = -1 => "error",
    }
}

impl OpCode {
    /// Whether a request with this opcode changes replicated state: a server
    /// forwards it to the leader, which turns it into a transaction with a zxid
    /// (even when it fails). Reads, pings, auth and watch management are not writes.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            OpCode::Create
                | OpCode::Create2
                | OpCode::CreateContainer
                | OpCode::CreateTtl
                | OpCode::Delete
                | OpCode::DeleteContainer
                | OpCode::SetData
                | OpCode::SetAcl
                | OpCode::Check
                | OpCode::Multi
                | OpCode::Reconfig
                | OpCode::CreateSession
                | OpCode::CloseSession
        )
    }
}

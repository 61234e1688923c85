//! Request and response records of the individual operations.

use bytes::{Bytes, BytesMut};

use crate::data::{Acl, ClientInfo, Stat};
use crate::field::record;
use crate::jute::{Reader, Record};
use crate::{AddWatchMode, EventType, KeeperState, ProtoError, WatcherType};

record! {
    /// create (1), create2 (15) and createContainer (19).
    pub struct CreateRequest {
        /// Path of the node (for sequential modes, the prefix).
        pub path: String,
        /// Initial data.
        #[cfg_attr(any(test, feature = "arbitrary"), arbitrary(with = crate::field::arb_data))]
        pub data: crate::Data,
        /// Initial ACL.
        pub acl: Vec<Acl>,
        /// The [`CreateMode`](crate::CreateMode) code.
        pub flags: i32,
    }
}

record! {
    /// createTTL (21).
    pub struct CreateTtlRequest {
        /// Path of the node.
        pub path: String,
        /// Initial data.
        #[cfg_attr(any(test, feature = "arbitrary"), arbitrary(with = crate::field::arb_data))]
        pub data: crate::Data,
        /// Initial ACL.
        pub acl: Vec<Acl>,
        /// The [`CreateMode`](crate::CreateMode) code (5 or 6).
        pub flags: i32,
        /// Time to live, ms, in (0, 2^40 − 1].
        pub ttl: i64,
    }
}

record! {
    /// Reply to create (1): the path actually created.
    pub struct CreateResponse {
        /// The created path (with its sequence suffix).
        pub path: String,
    }
}

record! {
    /// Reply to create2, createContainer and createTTL.
    pub struct Create2Response {
        /// The created path.
        pub path: String,
        /// The new node's Stat.
        pub stat: Stat,
    }
}

record! {
    /// delete (2).
    pub struct DeleteRequest {
        /// The node.
        pub path: String,
        /// Expected data version, −1 for any.
        pub version: i32,
    }
}

/// deleteContainer (20): sent only inside the server. Its body is the bare
/// UTF-8 path with no length prefix.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
pub struct DeleteContainerRequest {
    /// The container's path.
    pub path: String,
}

impl Record for DeleteContainerRequest {
    fn encode(&self, buf: &mut BytesMut) {
        buf.extend_from_slice(self.path.as_bytes());
    }

    fn decode(r: &mut Reader) -> Result<Self, ProtoError> {
        let raw = r.take_rest();
        Ok(DeleteContainerRequest {
            path: String::from_utf8_lossy(&raw).into_owned(),
        })
    }
}

record! {
    /// exists (3).
    pub struct ExistsRequest {
        /// The node.
        pub path: String,
        /// Leave a data watch (an exist watch when the node is absent).
        pub watch: bool,
    }
}

record! {
    /// Reply to exists, setData (5) and a standalone check (13).
    pub struct StatResponse {
        /// The node's Stat.
        pub stat: Stat,
    }
}

/// Reply to exists (3).
pub type ExistsResponse = StatResponse;
/// Reply to setData (5).
pub type SetDataResponse = StatResponse;
/// Reply to setACL (7).
pub type SetAclResponse = StatResponse;

record! {
    /// getData (4), and a getData op inside multiRead.
    pub struct GetDataRequest {
        /// The node.
        pub path: String,
        /// Leave a data watch.
        pub watch: bool,
    }
}

record! {
    /// Reply to getData (4) and reconfig (16).
    pub struct GetDataResponse {
        /// The node's data.
        #[cfg_attr(any(test, feature = "arbitrary"), arbitrary(with = crate::field::arb_data))]
        pub data: crate::Data,
        /// The node's Stat.
        pub stat: Stat,
    }
}

record! {
    /// setData (5).
    pub struct SetDataRequest {
        /// The node.
        pub path: String,
        /// New data.
        #[cfg_attr(any(test, feature = "arbitrary"), arbitrary(with = crate::field::arb_data))]
        pub data: crate::Data,
        /// Expected data version, −1 for any.
        pub version: i32,
    }
}

record! {
    /// getACL (6).
    pub struct GetAclRequest {
        /// The node.
        pub path: String,
    }
}

record! {
    /// Reply to getACL (6).
    pub struct GetAclResponse {
        /// The node's ACL.
        pub acl: Vec<Acl>,
        /// The node's Stat.
        pub stat: Stat,
    }
}

record! {
    /// setACL (7).
    pub struct SetAclRequest {
        /// The node.
        pub path: String,
        /// The new ACL.
        pub acl: Vec<Acl>,
        /// Expected ACL version (aversion), −1 for any.
        pub version: i32,
    }
}

record! {
    /// getChildren (8) and getChildren2 (12), and a getChildren op inside multiRead.
    pub struct GetChildrenRequest {
        /// The node.
        pub path: String,
        /// Leave a child watch.
        pub watch: bool,
    }
}

record! {
    /// Reply to getChildren (8).
    pub struct GetChildrenResponse {
        /// Child names (not full paths), in no particular order.
        pub children: Vec<String>,
    }
}

record! {
    /// Reply to getChildren2 (12).
    pub struct GetChildren2Response {
        /// Child names.
        pub children: Vec<String>,
        /// The parent's Stat.
        pub stat: Stat,
    }
}

record! {
    /// sync (9) and its reply.
    pub struct SyncRequest {
        /// The path (servers sync the whole tree).
        pub path: String,
    }
}

/// Reply to sync (9).
pub type SyncResponse = SyncRequest;

record! {
    /// check (13), as a multi sub-op or standalone.
    pub struct CheckVersionRequest {
        /// The node.
        pub path: String,
        /// Expected data version.
        pub version: i32,
    }
}

record! {
    /// reconfig (16).
    pub struct ReconfigRequest {
        /// Servers to add (incremental reconfig), comma separated.
        pub joining_servers: String,
        /// Server ids to remove (incremental reconfig), comma separated.
        pub leaving_servers: String,
        /// The complete new membership (non-incremental reconfig).
        pub new_members: String,
        /// Expected current config version, −1 for any.
        pub cur_config_id: i64,
    }
}

record! {
    /// checkWatches (17) and removeWatches (18).
    pub struct RemoveWatchesRequest {
        /// The watched path.
        pub path: String,
        /// The [`WatcherType`] code.
        pub watcher_type: i32,
    }
}

/// checkWatches (17) has the same layout as removeWatches.
pub type CheckWatchesRequest = RemoveWatchesRequest;

impl RemoveWatchesRequest {
    /// The watcher type, if known.
    pub fn watcher_type(&self) -> Result<WatcherType, ProtoError> {
        WatcherType::try_from(self.watcher_type)
    }
}

record! {
    /// auth (100), sent with xid −4.
    pub struct AuthPacket {
        /// Always 0.
        pub auth_type: i32,
        /// The scheme (`digest`, `ip`, ...).
        pub scheme: String,
        /// The credentials (for digest: `user:password`).
        #[cfg_attr(any(test, feature = "arbitrary"), arbitrary(with = crate::field::arb_bytes))]
        pub auth: Bytes,
    }
}

record! {
    /// sasl (102): `GetSASLRequest`; the reply `SetSASLResponse` has the same layout.
    pub struct SaslRequest {
        /// The SASL token.
        #[cfg_attr(any(test, feature = "arbitrary"), arbitrary(with = crate::field::arb_bytes))]
        pub token: Bytes,
    }
}

/// Reply to sasl (102).
pub type SaslResponse = SaslRequest;

record! {
    /// setWatches (101), sent with xid −8 after a reconnect.
    pub struct SetWatches {
        /// The client's last seen zxid; changes after it fire at once.
        pub relative_zxid: i64,
        /// Paths with data watches.
        pub data_watches: Vec<String>,
        /// Paths with exist watches.
        pub exist_watches: Vec<String>,
        /// Paths with child watches.
        pub child_watches: Vec<String>,
    }
}

record! {
    /// setWatches2 (105): SetWatches plus persistent watches (3.6+).
    pub struct SetWatches2 {
        /// The client's last seen zxid.
        pub relative_zxid: i64,
        /// Paths with data watches.
        pub data_watches: Vec<String>,
        /// Paths with exist watches.
        pub exist_watches: Vec<String>,
        /// Paths with child watches.
        pub child_watches: Vec<String>,
        /// Paths with persistent watches.
        pub persistent_watches: Vec<String>,
        /// Paths with persistent recursive watches.
        pub persistent_recursive_watches: Vec<String>,
    }
}

record! {
    /// getEphemerals (103).
    pub struct GetEphemeralsRequest {
        /// A plain string prefix; empty or "/" for all.
        pub prefix_path: String,
    }
}

record! {
    /// Reply to getEphemerals (103).
    pub struct GetEphemeralsResponse {
        /// Full paths of the session's matching ephemerals.
        pub ephemerals: Vec<String>,
    }
}

record! {
    /// getAllChildrenNumber (104).
    pub struct GetAllChildrenNumberRequest {
        /// The node.
        pub path: String,
    }
}

record! {
    /// Reply to getAllChildrenNumber (104).
    pub struct GetAllChildrenNumberResponse {
        /// Number of descendants (not counting the node itself).
        pub total_number: i32,
    }
}

record! {
    /// addWatch (106).
    pub struct AddWatchRequest {
        /// The watched path.
        pub path: String,
        /// The [`AddWatchMode`] code.
        pub mode: i32,
    }
}

impl AddWatchRequest {
    /// The watch mode, if known.
    pub fn mode(&self) -> Result<AddWatchMode, ProtoError> {
        AddWatchMode::try_from(self.mode)
    }
}

record! {
    /// Reply to addWatch (106), and the body of an error result in a multi.
    pub struct ErrorResponse {
        /// The result code.
        pub err: crate::ErrorCode,
    }
}

record! {
    /// Reply to whoAmI (107).
    pub struct WhoAmIResponse {
        /// The session's identities.
        pub client_info: Vec<ClientInfo>,
    }
}

record! {
    /// A watch notification (xid −1).
    pub struct WatcherEvent {
        /// The [`EventType`] code.
        pub event_type: i32,
        /// The [`KeeperState`] code (SyncConnected for node events).
        pub state: i32,
        /// The absolute server path.
        pub path: String,
    }
}

impl WatcherEvent {
    /// The event type, if known.
    pub fn event_type(&self) -> Result<EventType, ProtoError> {
        EventType::try_from(self.event_type)
    }

    /// The keeper state, if known.
    pub fn state(&self) -> Result<KeeperState, ProtoError> {
        KeeperState::try_from(self.state)
    }

    /// A node event in state SyncConnected.
    pub fn node(event_type: EventType, path: impl Into<String>) -> Self {
        WatcherEvent {
            event_type: event_type.code(),
            state: KeeperState::SyncConnected.code(),
            path: path.into(),
        }
    }
}

//! ZooKeeper's data model: the znode tree, watches and ACLs, as a pure,
//! deterministic library (no I/O, no async runtime).
//!
//! **Note for the server/ensemble code (additions to the agreed interface):**
//! - [`TreeEvent`] also carries the node's `acl`, and [`WatchManager`]
//!   withholds a notification from a connection without READ on the node
//!   (ZOOKEEPER-4799 / CVE-2024-23944, present in 3.8.4+ and in Debian's
//!   3.8.0 package, so in the reference server). Call
//!   [`WatchManager::set_auth`] with a connection's ids at connect (`ip:<addr>`)
//!   and after every successful auth packet, or ACL-protected nodes' events
//!   are filtered out; [`WatchManager::set_acl_filtering`]`(false)` gives 3.8.0–3.8.3.
//! - [`auth::authenticate_with`] covers `ip` auth packets and the super digest.
//! - Every write takes a zxid in ZooKeeper, including an empty multi and a
//!   reconfig answered with RECONFIGDISABLED (`prepare` returns a txn for both).
//! - addWatch's reply has an `ErrorResponse { err: 0 }` body on the wire.
//! - Two client-sent requests ZooKeeper 3.8 mishandles, which the server may
//!   want to mimic itself: a *successful* standalone `check` (opcode 13) gets
//!   no reply at all (the server fails to serialize `SetDataResponse(null)`;
//!   `apply` answers with the node's Stat), and a client-sent `deleteContainer`
//!   (opcode 20) is answered BADARGUMENTS (the server reads the path from the
//!   whole packet, header included; `prepare` treats it as the internal
//!   ContainerManager request).
//!
//! It answers exactly as a ZooKeeper 3.8 server does — error codes and the
//! order they are checked in, every Stat field (including the client-visible
//! cversion, `2 × creations − children`), sequential names, child and
//! ephemeral listing order (Java `HashSet` order), multi atomicity, watch
//! trigger rules — so that any ZooKeeper client gets the same answers from the
//! simulator as from a real server. Where upstream is quirky the simulator is
//! quirky too; each such place says so.
//!
//! # Use
//!
//! ```
//! use zk_proto::{Acl, CreateRequest, GetDataRequest, Request, Response};
//! use zk_server_sim::tree::{Ctx, DataTree, WatchManager};
//!
//! let mut tree = DataTree::new();
//! let mut watches = WatchManager::default();
//! let ctx = Ctx { session_id: 1, auth: &[], now_ms: 1_000, extended_types: false };
//!
//! // A client on connection 7 watches /app, which does not exist yet.
//! let exists = Request::Exists(zk_proto::ExistsRequest { path: "/app".into(), watch: true });
//! let result = tree.read(&ctx, &exists);
//! watches.register_after_read(7, &exists, &result);
//!
//! // Leader: decide the txn, give it a zxid, apply it (every replica applies the same txn).
//! let create = Request::Create(CreateRequest {
//!     path: "/app".into(),
//!     data: "v1".into(),
//!     acl: Acl::open_unsafe(),
//!     flags: 0,
//! });
//! let txn = tree.prepare(&ctx, &create);
//! let applied = tree.apply(1, ctx.now_ms, &txn);
//! assert!(applied.response.is_ok());
//!
//! // The server that holds the connection fires its watches.
//! let notes = watches.trigger(&applied.events);
//! assert_eq!(notes.len(), 1);
//! assert_eq!(notes[0].1.path, "/app");
//!
//! let get = Request::GetData(GetDataRequest { path: "/app".into(), watch: false });
//! let Ok(Response::GetData(data)) = tree.read(&ctx, &get) else { unreachable!() };
//! assert_eq!(&data.data[..], b"v1");
//! assert_eq!(data.stat.czxid, 1);
//! ```
//!
//! # Roles
//!
//! - The **leader** keeps a speculative tree: [`DataTree::prepare`] a write,
//!   assign the next zxid, then [`DataTree::apply`] it at once so later
//!   prepares see it. Every write gets a zxid, failed ones included.
//! - **Every replica** applies committed [`Txn`]s in zxid order with the same
//!   zxid and leader time, and reaches the same state.
//! - **Each server** keeps a [`WatchManager`] for its own connections, fires it
//!   with [`TxnResult::events`] after applying a commit, and queues the
//!   notifications before any later reply on that connection.
//! - Reads go to [`DataTree::read`], then [`WatchManager::register_after_read`].
//!
//! Response paths are server paths: chroot is purely client-side.
//!
//! # Node kinds
//!
//! Internally, ephemeralOwner holds the session id, [`zk_proto::CONTAINER_EPHEMERAL_OWNER`]
//! or a TTL marker ([`zk_proto::EphemeralKind`]); like ZooKeeper's
//! `DataNode.copyStat`, the Stats clients see show 0 for containers and TTL
//! nodes. [`DataTree::ephemeral_owner`] gives the internal value.
//!
//! # Not modelled
//!
//! Sessions (validity, owner, local sessions) belong to the ensemble: `prepare`
//! does not check them. Quotas are not enforced (3.8 only enforces them when
//! `zookeeper.quota.enforce` is set). Reconfig is always disabled.

mod acl;
mod apply;
pub mod auth;
mod data_tree;
mod digest;
mod java_hash;
mod node;
mod prepare;
mod read;
mod reap;
mod txn;
mod watch;

pub use data_tree::{DataTree, NodeSnapshot};
pub use txn::{CreateReply, CreateTxn, TreeEvent, Txn, TxnResult};
pub use watch::{ConnId, WatchManager, WatchesSummary};

/// Who is asking, and when: the context of one request.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The session that sent the request (owner of ephemerals it creates).
    pub session_id: i64,
    /// The connection's authenticated ids, in the order they were added
    /// (`ip:<addr>` first, then each auth packet's ids).
    pub auth: &'a [zk_proto::Id],
    /// The leader's wall clock, for txns decided now.
    pub now_ms: i64,
    /// `zookeeper.extendedTypesEnabled`: TTL nodes allowed.
    pub extended_types: bool,
}

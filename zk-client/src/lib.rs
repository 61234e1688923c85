//! An async [tokio] client for Apache ZooKeeper 3.5–3.9.
//!
//! ```
//! use zk_client::{Client, CreateOptions};
//!
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // The example runs against an embedded simulated ensemble.
//! # let ensemble = zk_server_sim::Ensemble::builder().nodes(3).build().await?;
//! # let hosts = ensemble.connect_string();
//! # let root = Client::connect(hosts.as_str()).await?;
//! # root.create("/myapp/config", b"v1", CreateOptions::persistent().with_parents()).await?;
//! // `hosts` is "host1:port1,host2:port2,..."; "/myapp" is the chroot.
//! let client = Client::connect(format!("{hosts}/myapp")).await?;
//!
//! // Every operation is a typed method; paths are relative to the chroot.
//! let (path, stat) = client
//!     .create(
//!         "/workers/w-",
//!         b"ready",
//!         CreateOptions::ephemeral_sequential().with_parents(),
//!     )
//!     .await?;
//! assert_eq!(path, "/workers/w-0000000000");
//! println!("created {path} at zxid {:#x}", stat.czxid);
//!
//! // A one-shot watch comes back with the read, as a future of the next event.
//! let (data, stat, watch) = client.get_data_watch("/config").await?;
//! assert_eq!(&data[..], b"v1");
//!
//! // Atomic transactions through a typed builder.
//! client
//!     .transaction()
//!     .check("/config", stat.version)
//!     .set_data("/config", b"v2", Some(stat.version))
//!     .commit()
//!     .await?;
//!
//! let event = watch.await?;
//! println!("{} on {}", event.event_type, event.path); // NodeDataChanged on /config
//!
//! client.close().await?;
//! # Ok(()) }
//! ```
//!
//! # The contract
//!
//! - **One task owns the socket.** [`Client`] is a cheap `Clone` handle; every
//!   clone feeds the same background task, which writes requests, matches
//!   replies in FIFO order (a reply whose xid is not the oldest outstanding
//!   one is a fatal protocol error), routes watch events, and pings the
//!   server after a third of the negotiated session timeout of idleness. A
//!   connection silent for two thirds of it is dropped.
//! - **Every request resolves**: with its reply, with an error when the
//!   connection is lost or the session ends, or with
//!   [`Error::RequestTimeout`] when a [request timeout] is set. A caller is
//!   never left hanging.
//! - **Connection loss** fails everything in flight with
//!   [`Error::ConnectionLoss`] (the outcome is unknown: a write may or may not
//!   have been applied), publishes [`SessionState::Disconnected`], and hunts
//!   the servers of the connect string to resume the same session (session
//!   id, password and last zxid seen), re-arming the session's watches with
//!   SetWatches. Requests made meanwhile wait for the next connection; every
//!   failed attempt fails them with `ConnectionLoss`, as the Java client does.
//! - **Expiry is never hidden.** A server's "expired" answer, or no server
//!   reachable for 4/3 of the negotiated timeout, ends the session:
//!   [`SessionState::Expired`] (said once), every pending request and watch
//!   fails with [`Error::SessionExpired`], and so does every later call. The
//!   same holds for [`SessionState::AuthFailed`] and
//!   [`SessionState::Closed`]. The client never replaces a session behind
//!   your back: a new session is a new [`Client`], built by you.
//! - **Input is checked before sending**: paths ([`Error::InvalidPath`]),
//!   data and request sizes against `jute.maxbuffer`
//!   ([`Error::DataTooLarge`]), the connect string
//!   ([`Error::BadConnectString`]).
//! - **Chroot** (`host:port/app`) is prefixed to every outgoing path and
//!   stripped from every incoming one: created paths, watch events, multi
//!   results, ephemerals. [`Client::get_config`] is never chroot-relative.
//! - **Garbage from a server** (truncated, oversized or nonsensical frames,
//!   unexpected xids) yields typed errors ([`Error::Protocol`],
//!   [`Error::UnexpectedReply`], or `ConnectionLoss` for requests caught on a
//!   connection dropped because of it) and never a panic.
//!
//! # Layers
//!
//! The crate reads bottom-up; no module imports from a layer above its own
//! (tokio-postgres's shape: codec, connect, connection, client). Arrows
//! point from a module to what it uses; `tests/layers.rs` checks every
//! `crate::`/`super::` path of `src/` against this order.
//!
//! ```text
//!  handles    builder ─► client ◄─ txn
//!                          ├──► watch, persistent ─┐
//!                          └──► request ◄──────────┤   retry (error classes)
//!  ────────────────────────────────────────────────┼────────────────────
//!  session    mod ─► hunt, handshake, live ─► task (the Task, its driver loop)
//!                 ─► pending, watches, persistent, probe ─► submit, state
//!  ──────────────────────────────────────────────────────────────────────
//!  transport  connect (TCP, TLS) ─► conn (framing), low_water   sasl (on a conn)
//!  ──────────────────────────────────────────────────────────────────────
//!  base       event   config   chroot   create ─► error
//!  ──────────────────────────────────────────────────────────────────────
//!  codec      zk_proto (records, frames, the byte layout of requests)
//! ```
//!
//! In the session, `task` holds the session's state and the loop that
//! drives it (connect, serve, end); its phases are methods on it in files of
//! their own: `hunt` (finding a server: the first connect, reconnects,
//! backoff), `handshake` (a fresh connection's setup: connect request,
//! SASL, credentials, watch re-arming) and `live` (the live connection's
//! poll loop: read and route frames, write work, pings).
//!
//! # Reading replies in batches
//!
//! ZooKeeper writes each reply on its own, and a client that wakes for each
//! spends most of its CPU on wakeups. With at least 8 requests in flight on
//! a plain TCP connection (Linux), the live loop raises the socket's
//! receive low-water mark (`transport::low_water`, `SO_RCVLOWAT`) so that
//! the kernel wakes it once per batch: never above what the replies owed
//! must bring (20 bytes, the smallest reply, for each of up to a quarter of
//! them, at most 1,280 bytes), and back to one byte once no reply has come
//! for 10 ms. See
//! [`ClientBuilder::batch_reads`], which turns it off.
//!
//! # Versions
//!
//! Every expected-version argument ([`Client::delete`],
//! [`Client::set_data`], [`Client::set_acl`], and [`Transaction`]'s
//! `delete`, `set_data` and `check`) takes `impl Into<Option<i32>>`: a
//! version (`3` or `Some(3)`) that must match, or `None` for any version
//! (ZooKeeper's −1).
//!
//! # Ordering
//!
//! ZooKeeper applies one session's requests in the order it receives them.
//! This client preserves the order **in which the methods are called**, not
//! the order in which their futures are first polled:
//!
//! ```no_run
//! # async fn demo(c: zk_client::Client) -> Result<(), zk_client::Error> {
//! let a = c.create("/n", b"x", zk_client::CreateMode::Persistent);
//! let b = c.get_data("/n"); // sent after the create: it sees the node
//! let (data, _) = b.await?;  // awaiting `b` first is fine
//! a.await?;
//! # Ok(()) }
//! ```
//!
//! Each operation is a plain `fn`: it validates and encodes the request and
//! appends it to the session's submission line (under a short mutex) before
//! returning; the returned future only waits for the answer. The task takes
//! work from the front of that line, assigns xids in line order, and writes
//! in that order. Since the task, not the caller's future, moves requests
//! to the wire, no request waits for another future to be polled.
//!
//! # Backpressure
//!
//! At most [`max_in_flight`] requests are written to the server and
//! unanswered at any time; the task takes more from the line only as replies
//! arrive. Calls made past that limit wait in the line, in call order,
//! until there is room. The line holds only requests whose futures the
//! caller still holds: dropping a future (or its timing out) withdraws a
//! request that has not been sent, so the client never buffers work nobody
//! is waiting for. A caller that bounds its own concurrency (for example
//! with `buffer_unordered(n)`) thus bounds the client's memory too.
//! [`Client::stats`] reports the current and peak numbers in flight and
//! waiting.
//!
//! # Watches
//!
//! `*_watch` methods return the read's result together with a
//! [`OneshotWatch`], a future of the next [`WatchedEvent`] on that node. The
//! watch is registered only when the read succeeds (for
//! [`Client::exists_watch`], also when the node is absent). Several watchers
//! of one node all fire. When the session ends, pending watches resolve
//! with its terminal error rather than hanging. Session states come from
//! [`Client::state`] and [`Client::state_stream`].
//!
//! # Persistent watches
//!
//! [`Client::watch_persistent`] (one node) and
//! [`Client::watch_persistent_recursive`] (a subtree) register a watch that
//! stays (addWatch, ZooKeeper 3.6+) and return a [`PersistentWatch`], a
//! `Stream` of [`PersistentEvent`]s:
//!
//! ```no_run
//! # async fn demo(client: zk_client::Client) -> Result<(), zk_client::Error> {
//! use futures::StreamExt;
//! use zk_client::PersistentEvent;
//!
//! let mut changes = client.watch_persistent_recursive("/services").await?;
//! while let Some(item) = changes.next().await {
//!     match item {
//!         PersistentEvent::Node(ev) => println!("{} {}", ev.event_type, ev.path),
//!         // Reconnected: what changed meanwhile is not replayed. Re-read.
//!         PersistentEvent::Resync => println!("resync"),
//!         PersistentEvent::Closed(e) => return Err(e),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! - **Never silent.** The server re-arms persistent watches after a
//!   reconnect but cannot replay the changes made meanwhile
//!   (ZOOKEEPER-4698), so after every reconnect the stream yields
//!   [`PersistentEvent::Resync`] before any new event; when the session ends
//!   it yields [`PersistentEvent::Closed`] and ends.
//! - **Delivery follows Java's `ZKWatchManager`:** an event goes to every
//!   one-shot watch it triggers, to the persistent watches on its path and
//!   to the recursive watches on its path and its ancestors (never
//!   NodeChildrenChanged for those).
//! - **One path, both kinds (ZOOKEEPER-4466).** On a 3.8 server the last
//!   registration of a path decides its mode, so a one-shot watch set on a
//!   path this client watches persistently would silently turn the
//!   persistent watch into a one-shot one. The client therefore does not set
//!   such a one-shot watch on the server (the read goes out with
//!   `watch = false`) and serves it from the persistent watch's events,
//!   which include every event the one-shot watch wants (for a recursive
//!   watch: all but NodeChildrenChanged, so one-shot child watches are still
//!   set, and set again after the addWatch and after each reconnect). A path
//!   watched both persistently *and* recursively by one client is left to
//!   the server: on 3.8 the later registration wins.
//! - **Removal.** Dropping the stream (or [`PersistentWatch::remove`])
//!   removes the watch; on the server with removeWatches of type Any (the
//!   only type servers before 3.9 know), unless another persistent watch of
//!   this client is on the same path. Any also removes the session's
//!   one-shot watches on the path, so those are set again right after
//!   (SetWatches relative to the last zxid seen: nothing is missed).
//!
//! # Recovery
//!
//! - **Hunting.** The server list is shuffled once and walked round-robin;
//!   the host name is resolved again on every attempt. Attempts after the
//!   first wait a random pause up to 50 ms × 2^attempt (capped at 1 s). The
//!   first attempt after losing a connection goes at once, unless that
//!   connection (and those before it, in a row) broke within a second of
//!   its handshake: then it waits such a pause too, indexed by how many in
//!   a row, so a server that accepts sessions and breaks them is not
//!   hammered while failing over from a server that served us stays
//!   immediate. Each attempt may take at most the connect timeout, or its share of the session
//!   timeout (the timeout divided by the number of servers, at least
//!   2 s), or the time left before local expiry, whichever is least.
//! - **Single system image.** Every attempt sends the last zxid this client
//!   has seen, and it is never reset. A server that is behind it closes the
//!   handshake without answering; that is a failed attempt (the client
//!   moves on), never an expiry.
//! - **Watch recovery.** On reconnecting, every live one-shot and persistent
//!   watch is registered again with SetWatches (SetWatches2 for batches
//!   that hold persistent watches), relative to the last zxid seen, in
//!   batches of at most 128 KiB of paths, all written at once: one-shot
//!   watches fire at once for changes made while the client was away.
//!   [`ClientStats`] reports the last re-registration.
//! - **Credentials** (digest or any scheme, from the builder or
//!   [`Client::add_auth`]) are sent again after every reconnect.
//! - **SESSIONMOVED** (a reply from a server that no longer owns the
//!   session) is treated as a connection loss: the connection is dropped,
//!   the requests in flight fail with [`Error::ConnectionLoss`], and the
//!   client reconnects, as Java does.
//! - **Read-only mode** ([`ClientBuilder::read_only`]): a server cut off
//!   from its quorum may accept the session read-only
//!   ([`SessionState::ConnectedReadOnly`]: reads work, writes fail with
//!   [`Error::NotReadOnly`]; [`Client::server`] names the server). Meanwhile the client asks the other servers
//!   (`isro`, backoff from 100 ms doubling to 60 s) and moves to the first
//!   read-write one. A session that has only ever seen read-only servers
//!   cannot be resumed: the move starts a new session (the state stream
//!   shows Disconnected, then Connected).
//! - **Server list.** [`Client::update_server_list`] replaces the servers;
//!   if the current one is not in the new list, the client moves.
//!   [`ClientBuilder::follow_config`] does the same on its own with the
//!   client addresses in `/zookeeper/config`, read on every connection and
//!   whenever it changes.
//!
//! # TLS and SASL
//!
//! **TLS** (feature `tls`): [`ClientBuilder::tls`] with a [`TlsConfig`]
//! reaches every server of the connect string over TLS, so the ports must
//! be the servers' `secureClientPort`s (Java: `zookeeper.client.secure=true`).
//! The server's certificate must chain to a CA of the `TlsConfig` and name
//! the host as the connect string writes it (a DNS name, or an IP address
//! as an IP subject alternative name), or [`TlsConfig::server_name`];
//! verification cannot be turned off. A client certificate is optional.
//! Every connection and reconnection does its own handshake. A refused
//! certificate or handshake fails the attempt with [`Error::Tls`] (host and
//! reason), which [`ClientBuilder::connect`] returns rather than a timeout;
//! unusable settings give [`Error::TlsConfig`] before anything is sent.
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # async fn demo() -> Result<(), zk_client::Error> {
//! use zk_client::{Client, TlsConfig};
//!
//! let client = Client::builder("10.0.0.1:2281,10.0.0.2:2281")
//!     .tls(TlsConfig::new().ca_pem_file("ca.pem")?)
//!     .sasl_digest_md5("bob", "bobsecret")
//!     .connect()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! On the server (3.5+): `secureClientPort=2281`,
//! `serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory`,
//! `ssl.keyStore.location`/`.password`, `ssl.trustStore.location`/`.password`
//! (JKS, PKCS12 or PEM), and `ssl.clientAuth=need` (the default: a client
//! certificate is required), `want` or `none`. With client certificates the
//! server also needs
//! `authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider`,
//! and gives the session the id `x509:<subject DN>`.
//!
//! **SASL**: [`ClientBuilder::sasl_digest_md5`] logs in with DIGEST-MD5
//! (RFC 2831, quality of protection `auth`) right after the ConnectResponse
//! of every connection, before auth packets, SetWatches and requests, as
//! Java's `ZooKeeperSaslClient` does; the client also checks the server's
//! proof that it knows the password. The session then carries the id
//! `sasl:<username>`, which ACLs can name. A refusal ends the session:
//! [`Error::AuthFailed`] from `connect`, [`SessionState::AuthFailed`] after
//! a reconnect, the reason in the log (warn). The server needs a JAAS file
//! (`-Djava.security.auth.login.config=...`) with
//! `Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_bob="bobsecret"; };`
//! and `authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider`
//! in `zoo.cfg`. DIGEST-MD5 keeps the password off the wire but not the
//! traffic: use it over TLS where that matters. Kerberos (GSSAPI) is not
//! supported.
//!
//! # Cargo features
//!
//! | feature | default | what |
//! |---|---|---|
//! | `tls` | on | [`TlsConfig`] and [`ClientBuilder::tls`], with `rustls` on the `ring` crypto provider (no system libraries; ring's C and assembly build with the system C compiler). Off, the crate has no TLS dependency. |
//!
//! # Tracing
//!
//! The client emits [`tracing`] spans and events (no subscriber is
//! installed): `zk.connect` (host, attempt, backoff_ms, session_id,
//! last_zxid) per connection attempt, with a `connected` or `connect attempt
//! failed` event,
//! `zk.request` (op, path, xid, session_id) per request with `send` and
//! `reply` events at trace/debug, and `zk.event` (event, path, zxid) per
//! watch notification.
//!
//! [tokio]: https://tokio.rs
//! [request timeout]: ClientBuilder::request_timeout
//! [`max_in_flight`]: ClientBuilder::max_in_flight

// The crate docs link to the TLS items, which exist only with the feature.
#![cfg_attr(not(feature = "tls"), allow(rustdoc::broken_intra_doc_links))]

mod builder;
mod chroot;
mod client;
mod config;
mod create;
mod error;
mod event;
mod persistent;
mod request;
pub mod retry;
mod session;
mod transport;
mod txn;
mod watch;

pub use builder::{
    ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BUFFER, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_SESSION_TIMEOUT, REPLY_OVERHEAD,
};
pub use client::{Client, ClientStats};
pub use config::{ConnectString, HostPort, CONFIG_NODE, DEFAULT_PORT};
pub use create::{parse_sequence, CreateOptions};
pub use error::{Error, ErrorSource, OpResult, Result};
pub use event::{PersistentEvent, WatchedEvent, WatcherKind};
pub use persistent::PersistentWatch;
pub use session::state::{SessionState, StateStream};
pub use transport::conn::Transport;
#[cfg(feature = "tls")]
pub use transport::tls::TlsConfig;
pub use txn::{MultiRead, Transaction};
pub use watch::OneshotWatch;

/// The byte buffer type of node data (re-exported from [`bytes`]).
pub use bytes::Bytes;

/// The rustls version [`TlsConfig::rustls_config`] takes (feature `tls`).
#[cfg(feature = "tls")]
pub use rustls;

/// The protocol types the API uses (`Stat`, `Acl`, `CreateMode`...), re-exported.
pub use zk_proto as proto;
pub use zk_proto::{
    Acl, ClientInfo, CreateMode, ErrorCode, EventType, Id, PathError, Perms, ProtoError, Stat,
    CONTAINER_EPHEMERAL_OWNER, PASSWORD_LEN,
};

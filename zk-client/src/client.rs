//! The client handle and its typed operations.

use std::fmt;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;
use zk_proto::{
    Acl, ClientInfo, Create2Response, DeleteRequest, ErrorCode, ExistsRequest, GetAclRequest,
    GetAclResponse, GetAllChildrenNumberRequest, GetAllChildrenNumberResponse,
    GetChildren2Response, GetChildrenRequest, GetChildrenResponse, GetDataRequest, GetDataResponse,
    GetEphemeralsRequest, GetEphemeralsResponse, Reader, ReconfigRequest, Request, SetAclRequest,
    SetDataRequest, Stat, StatResponse, SyncRequest, WhoAmIResponse,
};

use crate::chroot::Chroot;
use crate::config::{ConnectString, HostPort, CONFIG_NODE};
use crate::create::{ancestors, CreateBody, CreateOptions};
use crate::error::{Error, Result};
use crate::event::{WatchKind, WatcherKind};
use crate::persistent::PersistentWatch;
use crate::request::{self, decode, with_deadline, Call};
use crate::session::state::{SessionState, StateStream};
use crate::session::submit::{PersistentReg, Shared, WatchReg, Work};
use crate::watch::OneshotWatch;

/// Counters describing the client's request pipeline.
///
/// - `in_flight`: requests written to the server (or about to be) and not yet
///   answered. Never more than `max_in_flight`.
/// - `queued`: requests made but not yet sent because `max_in_flight` were
///   outstanding. Each belongs to a future the caller holds; dropping the
///   future withdraws it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// Requests currently awaiting a reply.
    pub in_flight: usize,
    /// The most requests ever awaiting a reply at once.
    pub peak_in_flight: usize,
    /// Requests currently waiting for room in flight.
    pub queued: usize,
    /// The longest the waiting line has been.
    pub peak_queued: usize,
    /// The configured limit.
    pub max_in_flight: usize,
    /// SetWatches/SetWatches2 batches sent at the last (re)connect.
    pub rearm_batches: usize,
    /// Watch registrations (path and kind) those batches carried.
    pub rearm_watches: usize,
    /// Bytes of paths those batches carried (each batch at most 128 KiB).
    pub rearm_path_bytes: usize,
}

pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) chroot: Chroot,
    pub(crate) max_frame: usize,
    pub(crate) request_timeout: Option<Duration>,
}

impl Client {
    /// A handle on the session whose task shares `shared`.
    pub(crate) fn new(
        shared: Arc<Shared>,
        chroot: Chroot,
        max_frame: usize,
        request_timeout: Option<Duration>,
    ) -> Client {
        Client {
            inner: Arc::new(Inner {
                shared,
                chroot,
                max_frame,
                request_timeout,
            }),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: close the session once earlier requests are answered.
        self.shared.submit_close(Work::Close(None));
    }
}

/// A handle to a ZooKeeper session. Cheap to clone; every clone shares the
/// one background task that owns the connection.
///
/// Every operation is a plain `fn` that validates and encodes the request and
/// puts it in line **before returning**; the returned future only waits for
/// the answer. So the order of calls is the order ZooKeeper sees, whatever
/// order the futures are polled in. See the crate docs on ordering and
/// backpressure.
///
/// When the last handle is dropped, the session is closed after the
/// requests already made have been answered.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = *self.inner.shared.state.borrow();
        f.debug_struct("Client")
            .field("session_id", &format_args!("{:#x}", info.session_id))
            .field("state", &info.state)
            .field("chroot", &self.inner.chroot)
            .finish()
    }
}

impl Client {
    /// The current session state.
    pub fn state(&self) -> SessionState {
        self.inner.shared.state.borrow().state
    }

    /// A stream of session states: the current one first, then every change
    /// (never hiding a disconnection), ending after a terminal state.
    pub fn state_stream(&self) -> StateStream {
        StateStream::new(self.inner.shared.state.subscribe())
    }

    /// When the last frame from a server arrived in this session (a reply,
    /// an event or a ping's answer; before the first connection, when the
    /// client was built). A connected client hears from its server at least
    /// every third of the negotiated timeout (it pings when idle), so a
    /// caller can count its own "session may be gone" deadline from this,
    /// as Curator's "lost" state after the session timeout does.
    pub fn last_contact(&self) -> std::time::Instant {
        self.inner.shared.last_contact()
    }

    /// The session id (0 before the first connection).
    pub fn session_id(&self) -> i64 {
        self.inner.shared.state.borrow().session_id
    }

    /// The session timeout the server granted.
    pub fn negotiated_timeout(&self) -> Duration {
        let ms = self.inner.shared.state.borrow().negotiated_timeout_ms;
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// The chroot this client works under, if any.
    pub fn chroot(&self) -> Option<&str> {
        self.inner.chroot.prefix_str()
    }

    /// Pipeline counters (requests in flight and waiting); see [`ClientStats`].
    pub fn stats(&self) -> ClientStats {
        let s = &self.inner.shared;
        ClientStats {
            in_flight: s.counters.in_flight.load(Ordering::Relaxed),
            peak_in_flight: s.counters.peak_in_flight.load(Ordering::Relaxed),
            queued: s.queued(),
            peak_queued: s.counters.peak_queued.load(Ordering::Relaxed),
            max_in_flight: s.max_in_flight,
            rearm_batches: s.counters.rearm_batches.load(Ordering::Relaxed),
            rearm_watches: s.counters.rearm_watches.load(Ordering::Relaxed),
            rearm_path_bytes: s.counters.rearm_bytes.load(Ordering::Relaxed),
        }
    }

    /// The server of the current connection (as named in the connect
    /// string), or `None` while disconnected. Whether it is read-only is
    /// the [`state`](Self::state): `ConnectedReadOnly`.
    pub fn server(&self) -> Option<HostPort> {
        self.inner.shared.server()
    }

    /// The session password (16 bytes; zeros before the first connection).
    /// With [`session_id`](Self::session_id) it is everything needed to
    /// resume the session, so treat it as a secret; tests use it to expire
    /// a session on the server (`zk_server_sim::testkit::expire_session`).
    pub fn session_password(&self) -> [u8; zk_proto::PASSWORD_LEN] {
        self.inner.shared.state.borrow().passwd
    }

    /// Replaces the servers the client connects to (as Java's
    /// `updateServerList`). `connect_string` must name the same chroot as
    /// the one this client was built with, or none.
    ///
    /// Takes effect at once: later (re)connections walk the new list in a
    /// fresh random order, and if the current server is not in it, the
    /// client drops the connection (outstanding requests fail with
    /// [`Error::ConnectionLoss`]) and moves to one that is, within the same
    /// session. Java's probabilistic load rebalancing is not done: a client
    /// whose server stays in the list stays on it.
    ///
    /// Errors: [`Error::BadConnectString`] (unparsable, or another chroot).
    pub fn update_server_list(&self, connect_string: &str) -> Result<()> {
        let cs = ConnectString::parse(connect_string)?;
        if cs.chroot().is_some() && cs.chroot() != self.chroot() {
            return Err(Error::BadConnectString {
                input: connect_string.to_owned(),
                reason: format!("the chroot must stay {:?}", self.chroot().unwrap_or("/")),
            });
        }
        self.inner.shared.set_new_hosts(cs.hosts().to_vec());
        Ok(())
    }

    /// Checks that the chroot node exists, or creates it (and its
    /// parents) when `create`; the paths here are server paths.
    pub(crate) async fn check_chroot(&self, create: bool) -> Result<()> {
        let Some(root) = self.inner.chroot.prefix_str().map(str::to_owned) else {
            return Ok(());
        };
        // The session lives on across a connection loss (follow_config may
        // move to another server right after connecting): ask again.
        let mut tries = 0;
        let found = loop {
            let exists = Request::Exists(ExistsRequest {
                path: root.clone(),
                watch: false,
            });
            match exists_reply(self.send(Ok(exists), None)).await {
                Err(Error::ConnectionLoss) if tries < CHROOT_CHECK_TRIES => tries += 1,
                other => break other?,
            }
        };
        if found.is_some() {
            return Ok(());
        }
        if !create {
            return Err(Error::NoChroot { chroot: root });
        }
        for path in ancestors(&root).into_iter().chain([root.as_str()]) {
            let request = Request::Create2(zk_proto::CreateRequest {
                path: path.to_owned(),
                data: Bytes::new().into(),
                acl: Acl::open_unsafe(),
                flags: zk_proto::CreateMode::Persistent.code(),
            });
            match self.send(Ok(request), None).ok().await {
                Ok(_) | Err(Error::NodeExists) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn deadline(&self) -> Option<Instant> {
        // A timeout too long to add to now (Duration::MAX) is no deadline.
        self.inner
            .request_timeout
            .and_then(|t| Instant::now().checked_add(t))
    }

    pub(crate) fn server_path(&self, path: &str) -> Result<String> {
        self.inner.chroot.to_server(path)
    }

    /// The node data of a request. Its size is checked with the rest of the
    /// request when it is encoded ([`Error::DataTooLarge`]).
    pub(crate) fn check_data(&self, data: &[u8]) -> Result<Bytes> {
        Ok(Bytes::copy_from_slice(data))
    }

    pub(crate) fn strip(&self, server_path: String) -> String {
        self.inner.chroot.strip(server_path)
    }

    /// Encodes `request` and puts it in line. This is the moment that fixes
    /// the request's order.
    pub(crate) fn send_with(
        &self,
        request: Result<Request>,
        watch: Option<WatchReg>,
        persistent: Option<PersistentReg>,
    ) -> Call {
        request::submit(
            &self.inner.shared,
            self.inner.max_frame,
            self.deadline(),
            self.session_id(),
            request,
            watch,
            persistent,
        )
    }

    /// Encodes `request` and puts it in line (see [`Client::send_with`]).
    pub(crate) fn send(&self, request: Result<Request>, watch: Option<WatchReg>) -> Call {
        self.send_with(request, watch, None)
    }

    // ----- persistent watches -----

    /// Watches `path` persistently (addWatch, mode PERSISTENT; ZooKeeper
    /// 3.6+): the returned [`PersistentWatch`] streams every NodeCreated,
    /// NodeDeleted, NodeDataChanged and NodeChildrenChanged on that node,
    /// without re-registering. The node need not exist.
    ///
    /// After every reconnect the stream yields
    /// [`PersistentEvent::Resync`](crate::PersistentEvent::Resync): the
    /// server re-arms the watch (SetWatches2) but cannot replay the changes
    /// made while the client was away. Dropping the stream removes the watch.
    ///
    /// Notable errors: `Unimplemented` (servers before 3.6), `NoAuth`.
    pub fn watch_persistent(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<PersistentWatch>> + Send + 'static {
        self.add_watch(path, false)
    }

    /// Watches the subtree at `path` (addWatch, mode PERSISTENT_RECURSIVE;
    /// ZooKeeper 3.6+): NodeCreated, NodeDeleted and NodeDataChanged of the
    /// node and of every node below it, never NodeChildrenChanged (a
    /// creation or deletion below says as much). Otherwise as
    /// [`Client::watch_persistent`].
    pub fn watch_persistent_recursive(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<PersistentWatch>> + Send + 'static {
        self.add_watch(path, true)
    }

    fn add_watch(
        &self,
        path: &str,
        recursive: bool,
    ) -> impl Future<Output = Result<PersistentWatch>> + Send + 'static {
        let mode = if recursive {
            zk_proto::AddWatchMode::PersistentRecursive
        } else {
            zk_proto::AddWatchMode::Persistent
        };
        let id = self
            .inner
            .shared
            .next_watch_id
            .fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let request = self.server_path(path);
        let reg = request.as_ref().ok().map(|server_path| PersistentReg {
            id,
            recursive,
            server_path: server_path.clone(),
            tx,
        });
        let request = request.map(|path| {
            Request::AddWatch(zk_proto::AddWatchRequest {
                path,
                mode: mode.code(),
            })
        });
        let call = self.send_with(request, None, reg);
        let shared = self.inner.shared.clone();
        let path = path.to_owned();
        async move {
            call.ok().await?;
            Ok(PersistentWatch::new(rx, id, path, recursive, shared))
        }
    }

    fn send_watched(
        &self,
        request: Result<Request>,
        kind: WatchKind,
        exist_on_no_node: bool,
    ) -> (Call, OneshotWatch) {
        let (tx, rx) = oneshot::channel();
        let server_path = request
            .as_ref()
            .ok()
            .and_then(|r| r.path())
            .map(str::to_owned);
        let watch = server_path.clone().map(|server_path| WatchReg {
            kind,
            server_path,
            exist_on_no_node,
            covered: false,
            removed: false,
            tx,
        });
        let shared = self.inner.shared.clone();
        (
            self.send(request, watch),
            OneshotWatch::new(rx, shared, server_path, kind),
        )
    }

    /// Removes every one-shot watch of `kind` this client holds on `path`
    /// (Java's `removeWatches`, opcode 18): each pending [`OneshotWatch`]
    /// resolves at once with a `DataWatchRemoved` or `ChildWatchRemoved`
    /// event, and the server-side watch is removed. With `local`, the
    /// watches are removed here even if the server cannot be told (no
    /// connection, or it refused): the session's next connection does not
    /// set them again. Persistent watches are not affected (drop their
    /// streams); where the server's removal clobbers their registration,
    /// the client registers them again at once.
    ///
    /// Notable errors: `NoWatcher` when this client holds no such watch on
    /// the path; without `local`, the server's refusal or `ConnectionLoss`
    /// (the watchers are then removed locally already, and the server
    /// dropped its watches with the connection).
    pub fn remove_watches(
        &self,
        path: &str,
        kind: WatcherKind,
        local: bool,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        match self.server_path(path) {
            Ok(server_path) => self.inner.shared.submit(Work::RemoveWatches {
                server_path,
                kind,
                local,
                reply: tx,
            }),
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
        let deadline = self.deadline();
        async move { with_deadline(deadline, async { rx.await.unwrap_or(Err(Error::Closed)) }).await }
    }

    // ----- create / delete -----

    /// Creates a node and returns its path (with the sequence suffix for
    /// sequential modes, relative to the chroot) and its Stat.
    ///
    /// Every mode is supported: persistent, ephemeral, both sequential
    /// variants (the path may then end in `/`), container (opcode 19) and
    /// TTL (opcode 21; the server must run with
    /// `zookeeper.extendedTypesEnabled=true`, or it answers UNIMPLEMENTED).
    ///
    /// Notable errors: `NodeExists`, `NoNode` (no parent),
    /// `NoChildrenForEphemerals`, `InvalidAcl`, `NoAuth`, `Unimplemented`,
    /// `BadArguments`; `InvalidPath`, `DataTooLarge` and `InvalidArgument`
    /// before sending.
    pub fn create(
        &self,
        path: &str,
        data: &[u8],
        options: impl Into<CreateOptions>,
    ) -> impl Future<Output = Result<(String, Stat)>> + Send + 'static {
        let options = options.into();
        let request = self.create_request(path, data, &options);
        // Kept for a second try after creating missing parents.
        let again = match (&request, options.parents()) {
            (Ok(r), Some(parents)) => Some((r.clone(), parents, path.to_owned())),
            _ => None,
        };
        let call = self.send(request, None);
        let this = self.clone();
        async move {
            let mut reply = call.ok().await;
            if let Some((request, parents, path)) = again {
                // NONODE: a parent is missing. Create the missing ones and
                // try again; a parent removed meanwhile (a container reaped,
                // a concurrent delete) makes another round.
                let parent_options = options.parent_options(parents);
                let mut rounds = 0;
                while matches!(reply, Err(Error::NoNode)) && rounds < MAX_PARENT_ROUNDS {
                    rounds += 1;
                    for parent in ancestors(&path) {
                        let request = this.create_request(parent, b"", &parent_options);
                        match this.send(request, None).ok().await {
                            Ok(_) | Err(Error::NodeExists) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    reply = this.send(Ok(request.clone()), None).ok().await;
                }
            }
            let resp: Create2Response = decode(reply?)?;
            Ok((this.strip(resp.path), resp.stat))
        }
    }

    fn create_request(&self, path: &str, data: &[u8], options: &CreateOptions) -> Result<Request> {
        let mode = options.mode();
        let server_path = self
            .inner
            .chroot
            .to_server_create(path, mode.is_sequential())?;
        let data = self.check_data(data)?;
        Ok(match options.request(server_path, data)? {
            CreateBody::Plain(r) => Request::Create2(r),
            CreateBody::Container(r) => Request::CreateContainer(r),
            CreateBody::Ttl(r) => Request::CreateTtl(r),
        })
    }

    /// Creates a node unless it exists: `Ok(Some((path, stat)))` when this
    /// call created it, `Ok(None)` when it was already there (NODEEXISTS is
    /// the answer, not an error). With
    /// [`CreateOptions::with_parents`] this is Curator's `EnsurePath`.
    ///
    /// ```no_run
    /// # async fn demo(client: zk_client::Client) -> Result<(), zk_client::Error> {
    /// use zk_client::CreateOptions;
    ///
    /// client
    ///     .create_if_absent("/app/config", b"{}", CreateOptions::persistent().with_parents())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn create_if_absent(
        &self,
        path: &str,
        data: &[u8],
        options: impl Into<CreateOptions>,
    ) -> impl Future<Output = Result<Option<(String, Stat)>>> + Send + 'static {
        let create = self.create(path, data, options);
        async move {
            match create.await {
                Ok(created) => Ok(Some(created)),
                Err(Error::NodeExists) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }

    /// Deletes `path` and everything below it, children before parents
    /// (Curator's `deletingChildrenIfNeeded`, Java's `ZKUtil.deleteRecursive`).
    /// Not atomic: another client may see (or add to) a partly deleted
    /// tree. Nodes that others delete meanwhile are skipped; a child added
    /// meanwhile is deleted too (a NOTEMPTY makes another pass, at most
    /// 10 per node).
    ///
    /// Notable errors: `NoNode` (`path` itself does not exist), `NoAuth`;
    /// `InvalidArgument` for `/`.
    pub fn delete_all(&self, path: &str) -> impl Future<Output = Result<()>> + Send + 'static {
        let this = self.clone();
        let checked = match self.server_path(path) {
            Ok(_) if path == "/" => Err(Error::InvalidArgument(
                "delete_all(\"/\") would delete the whole tree (or chroot)".into(),
            )),
            Ok(_) => Ok(path.to_owned()),
            Err(e) => Err(e),
        };
        async move {
            let path = checked?;
            delete_tree(this, path, true).await
        }
    }

    /// Deletes a node if its version matches (`None`: any version).
    ///
    /// Notable errors: `NoNode`, `BadVersion`, `NotEmpty`, `NoAuth`.
    pub fn delete(
        &self,
        path: &str,
        version: impl Into<Option<i32>>,
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let version: Option<i32> = version.into();
        let request = self.server_path(path).map(|path| {
            Request::Delete(DeleteRequest {
                path,
                version: version.unwrap_or(-1),
            })
        });
        let call = self.send(request, None);
        async move {
            call.ok().await?;
            Ok(())
        }
    }

    // ----- reads -----

    /// The node's Stat, or `None` if it does not exist.
    pub fn exists(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Option<Stat>>> + Send + 'static {
        let request = self
            .server_path(path)
            .map(|path| Request::Exists(ExistsRequest { path, watch: false }));
        let call = self.send(request, None);
        async move { exists_reply(call).await }
    }

    /// Like [`Client::exists`], and leaves a watch: on the node's data (and
    /// deletion) when it exists, on its creation when it does not.
    pub fn exists_watch(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Option<Stat>, OneshotWatch)>> + Send + 'static {
        let request = self
            .server_path(path)
            .map(|path| Request::Exists(ExistsRequest { path, watch: true }));
        let (call, watch) = self.send_watched(request, WatchKind::Data, true);
        async move { Ok((exists_reply(call).await?, watch)) }
    }

    /// The node's data and Stat. A node created with null data (possible
    /// from other clients; ZooKeeper answers length −1) reads as empty.
    ///
    /// Notable errors: `NoNode`, `NoAuth`.
    pub fn get_data(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Bytes, Stat)>> + Send + 'static {
        let request = self
            .server_path(path)
            .map(|path| Request::GetData(GetDataRequest { path, watch: false }));
        let call = self.send(request, None);
        async move {
            let r: GetDataResponse = decode(call.ok().await?)?;
            Ok((r.data.into_bytes(), r.stat))
        }
    }

    /// Like [`Client::get_data`], and leaves a watch on the node's data and deletion.
    pub fn get_data_watch(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Bytes, Stat, OneshotWatch)>> + Send + 'static {
        let request = self
            .server_path(path)
            .map(|path| Request::GetData(GetDataRequest { path, watch: true }));
        let (call, watch) = self.send_watched(request, WatchKind::Data, false);
        async move {
            let r: GetDataResponse = decode(call.ok().await?)?;
            Ok((r.data.into_bytes(), r.stat, watch))
        }
    }

    /// The names of the node's children (in no particular order).
    pub fn get_children(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send + 'static {
        let request = self
            .server_path(path)
            .map(|path| Request::GetChildren(GetChildrenRequest { path, watch: false }));
        let call = self.send(request, None);
        async move {
            let r: GetChildrenResponse = decode(call.ok().await?)?;
            Ok(r.children)
        }
    }

    /// Like [`Client::get_children`], and leaves a watch on the children and the node's deletion.
    pub fn get_children_watch(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Vec<String>, OneshotWatch)>> + Send + 'static {
        let request = self
            .server_path(path)
            .map(|path| Request::GetChildren(GetChildrenRequest { path, watch: true }));
        let (call, watch) = self.send_watched(request, WatchKind::Child, false);
        async move {
            let r: GetChildrenResponse = decode(call.ok().await?)?;
            Ok((r.children, watch))
        }
    }

    /// The names of the node's children and the node's Stat (getChildren2).
    pub fn get_children_with_stat(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Vec<String>, Stat)>> + Send + 'static {
        let request = self
            .server_path(path)
            .map(|path| Request::GetChildren2(GetChildrenRequest { path, watch: false }));
        let call = self.send(request, None);
        async move {
            let r: GetChildren2Response = decode(call.ok().await?)?;
            Ok((r.children, r.stat))
        }
    }

    /// Like [`Client::get_children_with_stat`], and leaves a child watch.
    pub fn get_children_with_stat_watch(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Vec<String>, Stat, OneshotWatch)>> + Send + 'static {
        let request = self
            .server_path(path)
            .map(|path| Request::GetChildren2(GetChildrenRequest { path, watch: true }));
        let (call, watch) = self.send_watched(request, WatchKind::Child, false);
        async move {
            let r: GetChildren2Response = decode(call.ok().await?)?;
            Ok((r.children, r.stat, watch))
        }
    }

    /// The number of descendants of the node (not counting itself).
    pub fn get_all_children_number(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<i32>> + Send + 'static {
        let request = self
            .server_path(path)
            .map(|path| Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path }));
        let call = self.send(request, None);
        async move {
            let r: GetAllChildrenNumberResponse = decode(call.ok().await?)?;
            Ok(r.total_number)
        }
    }

    /// This session's ephemeral nodes whose path starts with `prefix` (a
    /// plain string prefix; `/` for all), relative to the chroot.
    pub fn get_ephemerals(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send + 'static {
        let request = self
            .server_path(prefix)
            .map(|prefix_path| Request::GetEphemerals(GetEphemeralsRequest { prefix_path }));
        let call = self.send(request, None);
        let this = self.clone();
        async move {
            let r: GetEphemeralsResponse = decode(call.ok().await?)?;
            Ok(r.ephemerals
                .into_iter()
                .filter_map(|p| this.inner.chroot.strip_inside(p))
                .collect())
        }
    }

    /// The node's ACL and Stat.
    pub fn get_acl(
        &self,
        path: &str,
    ) -> impl Future<Output = Result<(Vec<Acl>, Stat)>> + Send + 'static {
        let request = self
            .server_path(path)
            .map(|path| Request::GetAcl(GetAclRequest { path }));
        let call = self.send(request, None);
        async move {
            let r: GetAclResponse = decode(call.ok().await?)?;
            Ok((r.acl, r.stat))
        }
    }

    // ----- writes -----

    /// Replaces the node's data if its version matches (`None`: any version).
    ///
    /// Notable errors: `NoNode`, `BadVersion`, `NoAuth`; `DataTooLarge` before sending.
    pub fn set_data(
        &self,
        path: &str,
        data: &[u8],
        version: impl Into<Option<i32>>,
    ) -> impl Future<Output = Result<Stat>> + Send + 'static {
        let version: Option<i32> = version.into();
        let request = (|| {
            Ok(Request::SetData(SetDataRequest {
                path: self.server_path(path)?,
                data: self.check_data(data)?.into(),
                version: version.unwrap_or(-1),
            }))
        })();
        let call = self.send(request, None);
        async move {
            let r: StatResponse = decode(call.ok().await?)?;
            Ok(r.stat)
        }
    }

    /// Replaces the node's ACL if its ACL version (`aversion`) matches (`None`: any).
    ///
    /// Notable errors: `NoNode`, `BadVersion`, `NoAuth`, `InvalidAcl`.
    pub fn set_acl(
        &self,
        path: &str,
        acl: &[Acl],
        version: impl Into<Option<i32>>,
    ) -> impl Future<Output = Result<Stat>> + Send + 'static {
        let version: Option<i32> = version.into();
        let request = self.server_path(path).map(|path| {
            Request::SetAcl(SetAclRequest {
                path,
                acl: acl.to_vec(),
                version: version.unwrap_or(-1),
            })
        });
        let call = self.send(request, None);
        async move {
            let r: StatResponse = decode(call.ok().await?)?;
            Ok(r.stat)
        }
    }

    /// Waits until the server this client is connected to has applied every
    /// write the leader had committed when it received the sync.
    pub fn sync(&self, path: &str) -> impl Future<Output = Result<()>> + Send + 'static {
        let request = self
            .server_path(path)
            .map(|path| Request::Sync(SyncRequest { path }));
        let call = self.send(request, None);
        async move {
            let _: SyncRequest = decode(call.ok().await?)?;
            Ok(())
        }
    }

    // ----- auth -----

    /// Adds credentials to the session (for example `("digest", b"user:password")`).
    /// They are remembered and sent again after every reconnect.
    ///
    /// Bad credentials end the session: the future fails with
    /// [`Error::AuthFailed`] and the state becomes
    /// [`SessionState::AuthFailed`].
    pub fn add_auth(
        &self,
        scheme: &str,
        auth: &[u8],
    ) -> impl Future<Output = Result<()>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.inner.shared.submit(Work::Auth {
            scheme: scheme.to_owned(),
            auth: Bytes::copy_from_slice(auth),
            reply: tx,
        });
        let deadline = self.deadline();
        async move { with_deadline(deadline, async { rx.await.unwrap_or(Err(Error::Closed)) }).await }
    }

    /// The identities the server associates with this session (whoAmI, ZooKeeper 3.7+).
    pub fn who_am_i(&self) -> impl Future<Output = Result<Vec<ClientInfo>>> + Send + 'static {
        let call = self.send(Ok(Request::WhoAmI), None);
        async move {
            let r: WhoAmIResponse = decode(call.ok().await?)?;
            Ok(r.client_info)
        }
    }

    // ----- ensemble configuration -----

    /// The ensemble's dynamic configuration: the data of `/zookeeper/config`
    /// (never chroot-relative) and its Stat.
    pub fn get_config(&self) -> impl Future<Output = Result<(Bytes, Stat)>> + Send + 'static {
        let call = self.send(
            Ok(Request::GetData(GetDataRequest {
                path: CONFIG_NODE.to_owned(),
                watch: false,
            })),
            None,
        );
        async move {
            let r: GetDataResponse = decode(call.ok().await?)?;
            Ok((r.data.into_bytes(), r.stat))
        }
    }

    /// Changes the ensemble membership and returns the new configuration.
    ///
    /// Incremental: `joining` (`server.N=host:quorum:election;client` lines,
    /// comma separated) and `leaving` (server ids). Bulk: `new_members`.
    /// `from_config` is the expected current config version (`None`: any).
    /// The session needs the rights (super user) and the server
    /// `reconfigEnabled=true`, or the answer is NOAUTH / RECONFIGDISABLED.
    pub fn reconfig(
        &self,
        joining: Option<&str>,
        leaving: Option<&str>,
        new_members: Option<&str>,
        from_config: Option<i64>,
    ) -> impl Future<Output = Result<(Bytes, Stat)>> + Send + 'static {
        let call = self.send(
            Ok(Request::Reconfig(ReconfigRequest {
                joining_servers: joining.unwrap_or_default().to_owned(),
                leaving_servers: leaving.unwrap_or_default().to_owned(),
                new_members: new_members.unwrap_or_default().to_owned(),
                cur_config_id: from_config.unwrap_or(-1),
            })),
            None,
        );
        async move {
            let r: GetDataResponse = decode(call.ok().await?)?;
            Ok((r.data.into_bytes(), r.stat))
        }
    }

    // ----- close -----

    /// Ends the session on the server (its ephemerals go at once) after the
    /// requests already made have been answered. Later calls fail with
    /// [`Error::Closed`]; the state becomes [`SessionState::Closed`].
    ///
    /// Idempotent, as Java's `close()`: on a session that is already over
    /// (closed, expired, refused authentication) it returns `Ok(())` at
    /// once. It fails only with `ConnectionLoss` when the connection broke
    /// before the server answered the closeSession: the session may then
    /// live on the server (ephemerals included) until it expires.
    pub fn close(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.inner.shared.submit_close(Work::Close(Some(tx)));
        async move { rx.await.unwrap_or(Ok(())) }
    }
}

/// How many connection losses the chroot check at connect rides out.
const CHROOT_CHECK_TRIES: usize = 5;

/// How many times a create with parents creates them and tries again.
const MAX_PARENT_ROUNDS: usize = 5;

/// Passes of [`delete_tree`] over one node that keeps getting new children.
const MAX_DELETE_PASSES: usize = 10;

/// Deletes `path` and its subtree, children first (siblings in parallel).
fn delete_tree(
    client: Client,
    path: String,
    top: bool,
) -> std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send>> {
    Box::pin(async move {
        for _ in 0..MAX_DELETE_PASSES {
            let children = match client.get_children(&path).await {
                Ok(c) => c,
                Err(Error::NoNode) if !top => return Ok(()),
                Err(e) => return Err(e),
            };
            let base = if path == "/" { "" } else { path.as_str() };
            futures::future::try_join_all(
                children
                    .into_iter()
                    .map(|c| delete_tree(client.clone(), format!("{base}/{c}"), false)),
            )
            .await?;
            match client.delete(&path, None).await {
                Ok(()) => return Ok(()),
                Err(Error::NoNode) if !top => return Ok(()),
                Err(Error::NotEmpty) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::NotEmpty)
    })
}

async fn exists_reply(call: Call) -> Result<Option<Stat>> {
    let reply = call.reply().await?;
    match reply.err {
        ErrorCode::Ok => {
            let r: StatResponse = decode(Reader::new(reply.body))?;
            Ok(Some(r.stat))
        }
        ErrorCode::NoNode => Ok(None),
        other => Err(Error::from_failure(other)),
    }
}

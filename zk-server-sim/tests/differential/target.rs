//! What a sequence runs against: the in-process tree, or any server speaking
//! the wire protocol (a real ZooKeeper, or the simulator's network server).

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::SocketAddr;

use zk_proto::{
    ConnectRequest, ErrorCode, ErrorResponse, Id, Request, Response, SetWatches2, WatcherEvent,
};
use zk_server_sim::testkit::RawClient;
use zk_server_sim::tree::auth::{authenticate_with, digest, ip_id, AuthConfig};
use zk_server_sim::tree::{ConnId, Ctx, DataTree, Txn, WatchManager};

/// What one request produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Whether a reply came at all: 3.8 sends none for a successful
    /// standalone `check` (`zxid` is then the ping's that followed it).
    pub answered: bool,
    /// The reply header's zxid.
    pub zxid: i64,
    /// The reply header's error.
    pub err: ErrorCode,
    /// The decoded body, if any.
    pub body: Option<Response>,
}

/// What a handshake answered: the runner compares every field (the
/// session id once normalised to "the n-th session").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    pub session_id: i64,
    pub protocol_version: i32,
    /// The negotiated timeout, ms (the request's, clamped into the
    /// server's bounds).
    pub timeout: i32,
    pub passwd_len: usize,
    pub read_only: Option<bool>,
}

impl Handshake {
    /// What a real 3.8 server answers a client that sends the read-only
    /// byte: protocol 0, a 16-byte password, not read-only.
    fn tree(session_id: i64, timeout: i32) -> Self {
        Handshake {
            session_id,
            protocol_version: 0,
            timeout,
            passwd_len: 16,
            read_only: Some(false),
        }
    }

    fn of(r: &zk_proto::ConnectResponse) -> Self {
        Handshake {
            session_id: r.session_id,
            protocol_version: r.protocol_version,
            timeout: r.timeout,
            passwd_len: r.passwd.len(),
            read_only: r.read_only,
        }
    }
}

/// The session timeout bounds of the reference servers: a real 3.8 server's
/// defaults (`minSessionTimeout` 2 × and `maxSessionTimeout` 20 × tickTime,
/// tickTime 2000 ms). The tree clamps to them, the simulator is configured
/// with them.
pub const TIMEOUT_BOUNDS_MS: (i32, i32) = (4_000, 40_000);

/// A system under test.
pub enum Target {
    /// DataTree + WatchManager driven in-process as a server would drive them.
    Tree(Box<TreeTarget>),
    /// Sessions over TCP to `addr`.
    Wire(WireTarget),
}

impl Target {
    /// The tree as one server.
    pub fn tree() -> Self {
        Self::tree_servers(1)
    }

    /// The tree with one watch manager per simulated server: the n-th
    /// session opened sits on server `n % servers`, as with
    /// [`Target::wire_nodes`] (watch tables are per server, and 3.8's
    /// checkWatches looks at every connection's watches of its server).
    /// With more than one server the tree is a quorum member's: its
    /// `/zookeeper/config` lists the (made-up) membership.
    pub fn tree_servers(servers: usize) -> Self {
        let mut t = TreeTarget {
            servers: (0..servers.max(1))
                .map(|_| WatchManager::default())
                .collect(),
            ..TreeTarget::default()
        };
        if servers > 1 {
            let mut text: String = (1..=servers)
                .map(|i| {
                    format!(
                        "server.{i}=127.0.0.1:0:0:participant;127.0.0.1:{}\n",
                        2180 + i
                    )
                })
                .collect();
            text.push_str("version=0");
            let now = t.now();
            t.tree.set_config(text.into(), 0, now);
        }
        Target::Tree(Box::new(t))
    }

    /// A server at `addr`.
    pub fn wire(addr: SocketAddr, slots: usize) -> Self {
        Self::wire_nodes(format!("wire {addr}"), vec![addr], slots)
    }

    /// An ensemble: the n-th session opened connects to `addrs[n % len]`,
    /// so sessions (and reopened ones) spread over the servers.
    pub fn wire_nodes(label: impl Into<String>, addrs: Vec<SocketAddr>, slots: usize) -> Self {
        Target::Wire(WireTarget {
            label: label.into(),
            addrs,
            opened: 0,
            clients: (0..slots).map(|_| None).collect(),
            at: vec![None; slots],
            request_timeout: std::time::Duration::from_secs(120),
            timed_out: false,
        })
    }

    /// Bounds each request of a wire target (default 120 s, only a hang
    /// detector); see [`Target::timed_out`].
    pub fn with_request_timeout(mut self, timeout: std::time::Duration) -> Self {
        if let Target::Wire(w) = &mut self {
            w.request_timeout = timeout;
        }
        self
    }

    /// Whether a request (or handshake) of this target ever went unanswered
    /// within its timeout: the server hung rather than answered differently.
    pub fn timed_out(&self) -> bool {
        match self {
            Target::Tree(_) => false,
            Target::Wire(w) => w.timed_out,
        }
    }

    /// How many servers the target has (sessions spread over them).
    pub fn servers(&self) -> usize {
        match self {
            Target::Tree(t) => t.servers.len().max(1),
            Target::Wire(w) => w.addrs.len(),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Target::Tree(t) if t.servers.len() > 1 => {
                format!("tree ({} servers)", t.servers.len())
            }
            Target::Tree(_) => "tree".into(),
            Target::Wire(w) => w.label.clone(),
        }
    }

    /// Opens a new session in `slot`, asking for `timeout_ms`; returns what
    /// the handshake answered.
    pub async fn open(&mut self, slot: usize, timeout_ms: i32) -> io::Result<Handshake> {
        match self {
            Target::Tree(t) => Ok(t.open(slot, timeout_ms)),
            Target::Wire(w) => {
                let r = w.open(slot, timeout_ms).await;
                w.note(r)
            }
        }
    }

    /// Sends `reqs` on the session in `slot` at once and returns their
    /// outcomes in order (the tree runs them one after another).
    pub async fn pipeline(&mut self, slot: usize, reqs: &[Request]) -> io::Result<Vec<Outcome>> {
        match self {
            Target::Tree(t) => Ok(reqs.iter().map(|r| t.request(slot, r)).collect()),
            Target::Wire(w) => {
                let r = w.pipeline(slot, reqs).await;
                w.note(r)
            }
        }
    }

    /// Moves the session in `slot` to a new connection on the next server,
    /// asking for `timeout_ms`: the old connection is dropped without
    /// closeSession and the session resumed with its id, password and last
    /// zxid seen. Returns what the handshake answered.
    pub async fn reconnect(&mut self, slot: usize, timeout_ms: i32) -> io::Result<Handshake> {
        match self {
            Target::Tree(t) => t
                .reconnect(slot, timeout_ms)
                .ok_or_else(|| io::Error::other("no session in slot")),
            Target::Wire(w) => {
                let r = w.reconnect(slot, timeout_ms).await;
                w.note(r)
            }
        }
    }
}

impl WireTarget {
    /// Records a timeout (see [`Target::timed_out`]).
    fn note<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if matches!(&r, Err(e) if e.kind() == io::ErrorKind::TimedOut) {
            self.timed_out = true;
        }
        r
    }

    async fn open(&mut self, slot: usize, timeout_ms: i32) -> io::Result<Handshake> {
        let w = self;
        let addr = *w
            .addrs
            .get(w.opened % w.addrs.len().max(1))
            .ok_or_else(|| io::Error::other("no server address"))?;
        w.opened += 1;
        let mut c = RawClient::connect(addr, timeout_ms).await?;
        // Only a hang detector by default: a real server on a
        // loaded machine may stall for many seconds (seen at load 9
        // on 2 cores) and still answer.
        c.set_request_timeout(w.request_timeout);
        if let Some(a) = w.at.get_mut(slot) {
            *a = Some((addr, c.session_id()));
        }
        let hs = Handshake::of(c.connect_response());
        if let Some(s) = w.clients.get_mut(slot) {
            *s = Some(c);
        }
        Ok(hs)
    }

    async fn pipeline(&mut self, slot: usize, reqs: &[Request]) -> io::Result<Vec<Outcome>> {
        let w = self;
        let c = w
            .clients
            .get_mut(slot)
            .and_then(Option::as_mut)
            .ok_or_else(|| io::Error::other("no session in slot"))?;
        let replies = c.pipeline(reqs).await?;
        Ok(replies
            .into_iter()
            .map(|r| match r {
                Some((h, body)) => Outcome {
                    answered: true,
                    zxid: h.zxid,
                    err: h.err,
                    body,
                },
                None => Outcome {
                    answered: false,
                    zxid: 0,
                    err: ErrorCode::Ok,
                    body: None,
                },
            })
            .collect())
    }

    async fn reconnect(&mut self, slot: usize, timeout_ms: i32) -> io::Result<Handshake> {
        let w = self;
        let Some(old) = w.clients.get_mut(slot).and_then(Option::take) else {
            return Err(io::Error::other("no session in slot"));
        };
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: old.last_zxid(),
            timeout: timeout_ms,
            session_id: old.session_id(),
            passwd: old.connect_response().passwd.clone(),
            read_only: Some(false),
        };
        old.disconnect();
        let addr = *w
            .addrs
            .get(w.opened % w.addrs.len().max(1))
            .ok_or_else(|| io::Error::other("no server address"))?;
        w.opened += 1;
        // A server behind the client's last zxid closes the
        // connection without an answer (the client must try again,
        // or elsewhere); it catches up soon.
        let mut tries = 0;
        let mut c = loop {
            tries += 1;
            match RawClient::connect_with(addr, &req).await {
                Ok(c) => break c,
                Err(e) if tries < 1000 && e.kind() != io::ErrorKind::TimedOut => {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                Err(e) => return Err(e),
            }
        };
        if c.session_id() != req.session_id {
            return Err(io::Error::other(format!(
                "resuming session {:#x} answered session {:#x}",
                req.session_id,
                c.session_id()
            )));
        }
        c.set_request_timeout(w.request_timeout);
        let hs = Handshake::of(c.connect_response());
        if let Some(a) = w.at.get_mut(slot) {
            *a = Some((addr, hs.session_id));
        }
        if let Some(s) = w.clients.get_mut(slot) {
            *s = Some(c);
        }
        Ok(hs)
    }
}

impl Target {
    /// Closes the session in `slot` (closeSession, then the connection goes).
    pub async fn close(&mut self, slot: usize) -> io::Result<Outcome> {
        match self {
            Target::Tree(t) => Ok(t.close(slot)),
            Target::Wire(w) => {
                let Some(mut c) = w.clients.get_mut(slot).and_then(Option::take) else {
                    return Err(io::Error::other("no session in slot"));
                };
                let r = c.request(&Request::CloseSession).await;
                c.disconnect();
                let (h, body) = w.note(r)?;
                Ok(Outcome {
                    answered: true,
                    zxid: h.zxid,
                    err: h.err,
                    body,
                })
            }
        }
    }

    pub async fn request(&mut self, slot: usize, req: &Request) -> io::Result<Outcome> {
        match self {
            Target::Tree(t) => Ok(t.request(slot, req)),
            Target::Wire(w) => {
                let at = w.at.get(slot).copied().flatten();
                let r = w.request(slot, req).await;
                w.note(r).map_err(|e| match at {
                    Some((addr, session)) => io::Error::new(
                        e.kind(),
                        format!("{e} (server {addr}, session {session:#x})"),
                    ),
                    None => e,
                })
            }
        }
    }

    /// Every notification the session in `slot` has been sent so far. For a
    /// wire target, a ping first makes sure everything queued before now has arrived.
    pub async fn notifications(&mut self, slot: usize) -> io::Result<Vec<WatcherEvent>> {
        match self {
            Target::Tree(t) => Ok(t
                .notes
                .get_mut(slot)
                .map(|q| q.drain(..).collect())
                .unwrap_or_default()),
            Target::Wire(w) => {
                let Some(c) = w.clients.get_mut(slot).and_then(Option::as_mut) else {
                    return Ok(Vec::new());
                };
                let r = c.request(&Request::Ping).await.map(|_| c.notifications());
                w.note(r)
            }
        }
    }
}

impl WireTarget {
    async fn request(&mut self, slot: usize, req: &Request) -> io::Result<Outcome> {
        let c = self
            .clients
            .get_mut(slot)
            .and_then(Option::as_mut)
            .ok_or_else(|| io::Error::other("no session in slot"))?;
        if matches!(req, Request::Check(_)) {
            // A successful check gets no reply: a ping behind it
            // tells (and carries the zxid the check took).
            let mut replies = c.pipeline(&[req.clone(), Request::Ping]).await?;
            let ping = replies.pop().flatten();
            return match (replies.pop().flatten(), ping) {
                (Some((h, body)), _) => Ok(Outcome {
                    answered: true,
                    zxid: h.zxid,
                    err: h.err,
                    body,
                }),
                (None, Some((h, _))) => Ok(Outcome {
                    answered: false,
                    zxid: h.zxid,
                    err: ErrorCode::Ok,
                    body: None,
                }),
                (None, None) => Err(io::Error::other("no reply to the ping")),
            };
        }
        let (h, body) = c.request(req).await?;
        Ok(Outcome {
            answered: true,
            zxid: h.zxid,
            err: h.err,
            body,
        })
    }
}

/// Sessions over TCP.
pub struct WireTarget {
    label: String,
    addrs: Vec<SocketAddr>,
    /// Sessions opened so far (picks the next server).
    opened: usize,
    clients: Vec<Option<RawClient>>,
    /// Each slot's server and session, for error reports.
    at: Vec<Option<(SocketAddr, i64)>>,
    /// Bounds each request.
    request_timeout: std::time::Duration,
    /// Whether a request ever timed out.
    timed_out: bool,
}

/// One session of the tree target.
#[derive(Debug)]
struct TreeSession {
    id: i64,
    conn: ConnId,
    /// The server the session's connection is on.
    server: usize,
    auth: Vec<Id>,
}

/// The in-process server: one tree, one watch manager, zxids from 1.
#[derive(Debug, Default)]
pub struct TreeTarget {
    pub tree: DataTree,
    /// Each server's watches.
    pub servers: Vec<WatchManager>,
    /// Sessions opened so far (picks the next server).
    opened: usize,
    sessions: BTreeMap<usize, TreeSession>,
    notes: Vec<VecDeque<WatcherEvent>>,
    next_conn: ConnId,
    clock: i64,
}

const PEER: &str = "127.0.0.1";

impl TreeTarget {
    fn now(&mut self) -> i64 {
        self.clock += 7;
        1_700_000_000_000 + self.clock
    }

    fn write(&mut self, session_id: i64, auth: &[Id], req: &Request) -> Outcome {
        let now = self.now();
        let ctx = Ctx {
            session_id,
            auth,
            now_ms: now,
            extended_types: true,
        };
        let txn = match req {
            // A client-sent deleteContainer: 3.8 reads its path from the
            // whole packet (header included) and answers BADARGUMENTS.
            Request::DeleteContainer(_) => Txn::Error(ErrorCode::BadArguments),
            _ => self.tree.prepare(&ctx, req),
        };
        let zxid = self.tree.last_zxid() + 1;
        let applied = self.tree.apply(zxid, now, &txn);
        self.route(&applied.events);
        match applied.response {
            // 3.8 fails to serialize a successful standalone check's reply.
            Ok(_) if matches!(req, Request::Check(_)) => Outcome {
                answered: false,
                zxid,
                err: ErrorCode::Ok,
                body: None,
            },
            Ok(body) => Outcome {
                answered: true,
                zxid,
                err: ErrorCode::Ok,
                body: Some(body),
            },
            Err(err) => Outcome {
                answered: true,
                zxid,
                err,
                body: None,
            },
        }
    }

    fn route(&mut self, events: &[zk_server_sim::tree::TreeEvent]) {
        let mut fired = Vec::new();
        for w in &mut self.servers {
            fired.extend(w.trigger(events));
        }
        for (conn, ev) in fired {
            if let Some((slot, _)) = self.sessions.iter().find(|(_, s)| s.conn == conn) {
                let slot = *slot;
                self.queue(slot).push_back(ev);
            }
        }
    }

    fn queue(&mut self, slot: usize) -> &mut VecDeque<WatcherEvent> {
        while self.notes.len() <= slot {
            self.notes.push(VecDeque::new());
        }
        &mut self.notes[slot]
    }

    fn open(&mut self, slot: usize, timeout_ms: i32) -> Handshake {
        let id = 0x0100_0000_0000_0000 + self.tree.last_zxid() + 1;
        let timeout_ms = timeout_ms.clamp(TIMEOUT_BOUNDS_MS.0, TIMEOUT_BOUNDS_MS.1);
        let txn = zk_server_sim::tree::Txn::CreateSession {
            session_id: id,
            timeout_ms,
        };
        let zxid = self.tree.last_zxid() + 1;
        let now = self.now();
        self.tree.apply(zxid, now, &txn);
        self.next_conn += 1;
        let auth = vec![ip_id(PEER)];
        if self.servers.is_empty() {
            self.servers.push(WatchManager::default());
        }
        let server = self.opened % self.servers.len();
        self.opened += 1;
        self.servers[server].set_auth(self.next_conn, &auth);
        self.sessions.insert(
            slot,
            TreeSession {
                id,
                conn: self.next_conn,
                server,
                auth,
            },
        );
        self.queue(slot).clear();
        Handshake::tree(id, timeout_ms)
    }

    /// A new connection for the session in `slot`, on the next server:
    /// the old connection's watches and auth are gone.
    fn reconnect(&mut self, slot: usize, timeout_ms: i32) -> Option<Handshake> {
        if self.servers.is_empty() {
            self.servers.push(WatchManager::default());
        }
        let server = self.opened % self.servers.len();
        self.opened += 1;
        self.next_conn += 1;
        let conn = self.next_conn;
        let auth = vec![ip_id(PEER)];
        let s = self.sessions.get_mut(&slot)?;
        let (old_server, old_conn) = (s.server, s.conn);
        s.server = server;
        s.conn = conn;
        s.auth = auth.clone();
        let id = s.id;
        if let Some(w) = self.servers.get_mut(old_server) {
            w.remove_connection(old_conn);
        }
        self.servers[server].set_auth(conn, &auth);
        self.queue(slot).clear();
        let timeout_ms = timeout_ms.clamp(TIMEOUT_BOUNDS_MS.0, TIMEOUT_BOUNDS_MS.1);
        Some(Handshake::tree(id, timeout_ms))
    }

    fn close(&mut self, slot: usize) -> Outcome {
        let Some(s) = self.sessions.remove(&slot) else {
            return Outcome {
                answered: true,
                zxid: self.tree.last_zxid(),
                err: ErrorCode::SessionExpired,
                body: None,
            };
        };
        let out = self.write(s.id, &s.auth, &Request::CloseSession);
        self.servers[s.server].remove_connection(s.conn);
        self.queue(slot).clear();
        out
    }

    fn request(&mut self, slot: usize, req: &Request) -> Outcome {
        let last = self.tree.last_zxid();
        let Some(s) = self.sessions.get(&slot) else {
            return Outcome {
                answered: true,
                zxid: last,
                err: ErrorCode::SessionExpired,
                body: None,
            };
        };
        let (id, conn, server, auth) = (s.id, s.conn, s.server, s.auth.clone());
        let ok = |body: Option<Response>| Outcome {
            answered: true,
            zxid: last,
            err: ErrorCode::Ok,
            body,
        };
        let fail = |err: ErrorCode| Outcome {
            answered: true,
            zxid: last,
            err,
            body: None,
        };
        match req {
            Request::Ping => ok(Some(Response::Empty)),
            Request::Auth(p) => {
                let cfg = AuthConfig::new(Some(PEER.into()), Some(digest(super::gen::SUPER)));
                match authenticate_with(&p.scheme, &p.auth, &cfg) {
                    Ok(ids) => {
                        if let Some(s) = self.sessions.get_mut(&slot) {
                            for i in ids {
                                if !s.auth.contains(&i) {
                                    s.auth.push(i);
                                }
                            }
                            self.servers[server].set_auth(s.conn, &s.auth);
                        }
                        ok(Some(Response::Empty))
                    }
                    Err(e) => fail(e),
                }
            }
            Request::SetWatches(sw) => {
                let sw2 = SetWatches2 {
                    relative_zxid: sw.relative_zxid,
                    data_watches: sw.data_watches.clone(),
                    exist_watches: sw.exist_watches.clone(),
                    child_watches: sw.child_watches.clone(),
                    persistent_watches: Vec::new(),
                    persistent_recursive_watches: Vec::new(),
                };
                self.set_watches(slot, conn, server, &sw2);
                ok(Some(Response::Empty))
            }
            Request::SetWatches2(sw) => {
                self.set_watches(slot, conn, server, sw);
                ok(Some(Response::Empty))
            }
            Request::AddWatch(_) => {
                let res = Ok(Response::AddWatch(ErrorResponse { err: ErrorCode::Ok }));
                self.servers[server].register_after_read(conn, req, &res);
                ok(res.ok())
            }
            Request::RemoveWatches(r) => match self.servers[server].remove(conn, r) {
                Ok(()) => ok(Some(Response::Empty)),
                Err(e) => fail(e),
            },
            Request::CheckWatches(r) => match self.servers[server].check(conn, r) {
                Ok(()) => ok(Some(Response::Empty)),
                Err(e) => fail(e),
            },
            Request::Create(_)
            | Request::Create2(_)
            | Request::CreateContainer(_)
            | Request::CreateTtl(_)
            | Request::Delete(_)
            | Request::DeleteContainer(_)
            | Request::SetData(_)
            | Request::SetAcl(_)
            | Request::Check(_)
            | Request::Multi(_)
            | Request::Reconfig(_)
            | Request::CloseSession => self.write(id, &auth, req),
            _ => {
                let ctx = Ctx {
                    session_id: id,
                    auth: &auth,
                    now_ms: 0,
                    extended_types: true,
                };
                let res = self.tree.read(&ctx, req);
                self.servers[server].register_after_read(conn, req, &res);
                match res {
                    Ok(body) => ok(Some(body)),
                    Err(e) => fail(e),
                }
            }
        }
    }

    fn set_watches(&mut self, slot: usize, conn: ConnId, server: usize, sw: &SetWatches2) {
        let events = self.servers[server].set_watches(conn, &self.tree, sw);
        self.queue(slot).extend(events);
    }
}

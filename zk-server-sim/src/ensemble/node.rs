//! One simulated server: its replicated state, its client connections and
//! the per-connection request queues that keep replies in request order.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use zk_proto::{
    encode_notification, encode_reply, ErrorCode, Id, ReplyHeader, Request, Response, SyncResponse,
    WatcherEvent,
};

use super::leader::LeaderState;
use super::link::{Envelope, LogEntry};
use crate::history::{Event, History};
use crate::server::Outbox;
use crate::tree::{ConnId, Ctx, DataTree, Txn, WatchManager};

/// What a node is doing, as ZooKeeper's `ServerState` (plus `Down`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Looking for a leader; refuses clients.
    Looking,
    /// Following the given node.
    Following(usize),
    /// Leading the ensemble.
    Leading,
    /// Without quorum, serving read-only clients.
    ReadOnly,
    /// Killed.
    Down,
}

impl Role {
    /// The `Mode:` word of `srvr` (`None` when not serving).
    pub(crate) fn mode(self) -> Option<&'static str> {
        match self {
            Role::Following(_) => Some("follower"),
            Role::Leading => Some("leader"),
            Role::ReadOnly => Some("read-only"),
            Role::Looking | Role::Down => None,
        }
    }
}

/// The result a write is waiting for.
#[derive(Debug)]
pub(crate) enum Done {
    Applied(Result<Response, ErrorCode>),
    Rejected(ErrorCode),
}

/// A request of one connection that has not been answered yet.
#[derive(Debug)]
pub(crate) enum Pending {
    /// A write forwarded to the leader, answered once committed locally.
    Write {
        xid: i32,
        token: u64,
        done: Option<Done>,
        /// A standalone `check`: 3.8 sends no reply when it succeeds
        /// (FinalRequestProcessor fails to serialize `SetDataResponse(null)`;
        /// the txn is applied and later requests are answered).
        silent_ok: bool,
    },
    /// A request answered from local state once it reaches the head, with
    /// the connection's ids when it arrived (ZooKeeper's `Request.authInfo`
    /// is a copy taken at receipt; an auth packet behind it doesn't count).
    Local {
        xid: i32,
        request: Request,
        auth: Vec<Id>,
    },
    /// A sync barrier.
    Sync {
        xid: i32,
        path: String,
        token: u64,
        zxid: Option<i64>,
    },
    /// An error reply that must keep its place in line; with `close`, the
    /// connection is closed once it is sent.
    Error {
        xid: i32,
        err: ErrorCode,
        close: bool,
    },
}

/// Handshake progress of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnState {
    /// Nothing received yet.
    Fresh,
    /// ConnectRequest received; waiting on the leader (token).
    Handshaking(u64),
    /// Session established.
    Open,
}

/// One client connection, as the node sees it.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) session: i64,
    pub(crate) state: ConnState,
    pub(crate) timeout_ms: i32,
    /// Whether the ConnectRequest carried the read-only byte (echoed only then).
    pub(crate) ro_byte: Option<bool>,
    pub(crate) auth: Vec<Id>,
    pub(crate) tx: Outbox,
    /// Close without flushing (see [`Outbox::abort`]).
    pub(crate) abort: bool,
    pub(crate) out: BytesMut,
    pub(crate) pending: VecDeque<Pending>,
    pub(crate) close: bool,
    pub(crate) peer: SocketAddr,
    pub(crate) received: u64,
    pub(crate) sent: u64,
    pub(crate) last_zxid: i64,
    pub(crate) last_xid: i32,
    pub(crate) last_op: &'static str,
    /// Frames that arrived while the handshake was still waiting on the
    /// leader; ZooKeeper stops reading the socket then, so they are
    /// processed once the session is established.
    pub(crate) early: Vec<Bytes>,
    /// When the connection was accepted (ms on the ensemble clock).
    pub(crate) opened_ms: u64,
}

impl Conn {
    pub(crate) fn new(tx: Outbox, peer: SocketAddr) -> Self {
        Conn {
            session: 0,
            state: ConnState::Fresh,
            timeout_ms: 0,
            ro_byte: None,
            auth: vec![Id {
                scheme: "ip".into(),
                id: peer.ip().to_string(),
            }],
            tx,
            abort: false,
            out: BytesMut::with_capacity(256),
            pending: VecDeque::new(),
            close: false,
            peer,
            received: 0,
            sent: 0,
            last_zxid: 0,
            last_xid: 0,
            last_op: "NA",
            early: Vec::new(),
            opened_ms: 0,
        }
    }
}

/// Per-node fault switches that the request path consults.
#[derive(Debug, Default)]
pub(crate) struct NodeFaults {
    /// Perform the next write, then drop its connection instead of replying.
    pub(crate) apply_then_drop: bool,
}

/// Counters for the four-letter words.
#[derive(Debug, Default, Clone)]
pub(crate) struct Stats {
    pub(crate) received: u64,
    pub(crate) sent: u64,
}

/// Replies are not limited by `jute.maxbuffer`: a real server sends a
/// reply of any size (a client with a smaller limit drops it).
pub(crate) const REPLY_LIMIT: usize = i32::MAX as usize;

/// A simulated server.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) id: usize,
    pub(crate) role: Role,
    /// The epoch of the leader this node last synced with.
    pub(crate) epoch: u32,
    pub(crate) tree: DataTree,
    pub(crate) watches: WatchManager,
    /// The in-memory log: proposals from position `log_base` on (older
    /// committed ones are dropped, see [`Node::trim_log`]).
    pub(crate) log: Vec<Arc<LogEntry>>,
    /// How many proposals were dropped from the front of `log`.
    pub(crate) log_base: usize,
    /// How many proposals (counted from the first, dropped ones included)
    /// are applied to `tree` (all committed).
    pub(crate) applied: usize,
    /// Committed proposals kept behind the commit point for DIFF syncs
    /// (`zookeeper.commitLogCount`); a follower further behind gets SNAP.
    pub(crate) commit_log_count: usize,
    /// Zxids of dropped committed proposals, kept only while history is
    /// recorded (the history checker needs every committed zxid), as
    /// inclusive runs of consecutive zxids: one run per epoch (zxids count
    /// up by one within an epoch), so this stays a few entries long however
    /// many writes a long run makes.
    pub(crate) dropped_zxids: Vec<(i64, i64)>,
    /// Times this node was brought in line with a leader by DIFF (the
    /// leader's log) and by SNAP (a copy of its tree).
    pub(crate) syncs: SyncCounts,
    /// `(zxid, tree digest)` after each applied txn whose zxid is a
    /// multiple of 128, the last 1,024 (ZooKeeper's digest log, which
    /// `hash` lists); a snapshot or a wipe starts it afresh.
    pub(crate) digest_log: std::collections::VecDeque<(i64, i64)>,
    /// Committed sessions and their negotiated timeouts.
    pub(crate) sessions: BTreeMap<i64, i32>,
    pub(crate) conns: HashMap<ConnId, Conn>,
    pub(crate) dirty: Vec<ConnId>,
    pub(crate) next_session: i64,
    pub(crate) next_token: u64,
    pub(crate) touched: BTreeSet<i64>,
    pub(crate) inbox: VecDeque<Envelope>,
    /// When the node was paused (ms on the ensemble clock).
    pub(crate) paused_at: Option<u64>,
    /// Whether peers have noticed the pause.
    pub(crate) pause_detected: bool,
    pub(crate) looking_since: u64,
    pub(crate) leader: Option<LeaderState>,
    pub(crate) faults: NodeFaults,
    pub(crate) stats: Stats,
    pub(crate) sync_waiters: Vec<ConnId>,
    pub(crate) history: History,
    /// ZooTrace's mask (`gtmk`/`stmk`; 306 at start, as real).
    pub(crate) trace_mask: i64,
    /// Optional cap on a connection's queued output, in bytes.
    pub(crate) max_output: Option<usize>,
    pub(crate) extended_types: bool,
    /// The ensemble's password secret.
    pub(crate) secret: u64,
    /// The release impersonated.
    pub(crate) version: super::builder::ServerVersion,
}

impl Node {
    pub(crate) fn new(
        id: usize,
        seed: u64,
        extended_types: bool,
        record: bool,
        secret: u64,
        version: super::builder::ServerVersion,
    ) -> Self {
        Node {
            id,
            role: Role::Looking,
            epoch: 0,
            tree: DataTree::new(),
            watches: WatchManager::new(),
            log: Vec::new(),
            log_base: 0,
            applied: 0,
            commit_log_count: 500,
            dropped_zxids: Vec::new(),
            syncs: SyncCounts::default(),
            digest_log: std::collections::VecDeque::new(),
            sessions: BTreeMap::new(),
            conns: HashMap::new(),
            dirty: Vec::new(),
            next_session: super::session::first_session_id(seed, id as u64 + 1),
            next_token: 1,
            touched: BTreeSet::new(),
            inbox: VecDeque::new(),
            paused_at: None,
            pause_detected: false,
            looking_since: 0,
            leader: None,
            faults: NodeFaults::default(),
            stats: Stats::default(),
            sync_waiters: Vec::new(),
            history: History {
                node: id,
                ..History::new(record)
            },
            max_output: None,
            trace_mask: 306,
            extended_types,
            secret,
            version,
        }
    }

    /// A crash: every connection, watch, queued peer message and leader
    /// duty is gone; the log, tree and sessions (the disk) survive.
    pub(crate) fn crash(&mut self) {
        self.conns.clear();
        self.dirty.clear();
        self.watches = WatchManager::new();
        self.role = Role::Down;
        self.leader = None;
        self.inbox.clear();
        self.paused_at = None;
        self.pause_detected = false;
        self.touched.clear();
        self.sync_waiters.clear();
    }

    /// Starts a crashed node again at `now_ms` (ensemble clock), from its
    /// disk or, with `wipe`, from nothing; it looks for a leader.
    pub(crate) fn restart(&mut self, now_ms: u64, wipe: bool) {
        if wipe {
            self.wipe();
        }
        self.role = Role::Looking;
        self.looking_since = now_ms;
    }

    /// Freezes the node at `now_ms` (a GC pause): peer messages wait in its
    /// inbox. Nothing happens to a crashed or already paused node.
    pub(crate) fn pause(&mut self, now_ms: u64) {
        if self.role != Role::Down && self.paused_at.is_none() {
            self.paused_at = Some(now_ms);
            self.pause_detected = false;
        }
    }

    /// Ends a pause at `now_ms`. If the peers noticed it, the node finds
    /// itself out of the quorum and stops serving; otherwise it returns the
    /// peer messages that waited for it, oldest first (none when it was
    /// not paused).
    pub(crate) fn resume(&mut self, now_ms: u64) -> VecDeque<Envelope> {
        if self.paused_at.take().is_none() {
            return VecDeque::new();
        }
        let inbox = std::mem::take(&mut self.inbox);
        if std::mem::take(&mut self.pause_detected) {
            self.stop_serving(now_ms);
            return VecDeque::new();
        }
        inbox
    }

    /// Stops serving (closes every client connection) and looks for a
    /// leader; a looking node forgets any leader state.
    pub(crate) fn stop_serving(&mut self, now_ms: u64) {
        if matches!(self.role, Role::Leading | Role::Following(_)) {
            tracing::info!(node = self.id, "node stops serving and looks for a leader");
            self.close_all();
            self.role = Role::Looking;
            self.looking_since = now_ms;
            self.leader = None;
        } else if self.role == Role::Looking {
            self.leader = None;
        }
    }

    /// Replaces this node's state with a copy of `leader`'s (a SNAP sync):
    /// its watches are gone with its connections.
    pub(crate) fn install_snapshot(&mut self, leader: &Node) {
        self.syncs.snap += 1;
        self.digest_log.clear();
        self.close_all();
        self.tree = leader.tree.clone();
        self.watches = WatchManager::new();
        self.log = leader.log.clone();
        self.log_base = leader.log_base;
        self.applied = leader.applied;
        self.sessions = leader.sessions.clone();
    }

    /// Registers a new client connection at `now_ms` (ensemble clock);
    /// false when the node is down or `peer`'s address already holds
    /// `max_per_ip` connections (0: unlimited), as `maxClientCnxns`.
    pub(crate) fn open(
        &mut self,
        conn: ConnId,
        tx: Outbox,
        peer: SocketAddr,
        max_per_ip: usize,
        now_ms: u64,
    ) -> bool {
        if self.role == Role::Down {
            return false;
        }
        if max_per_ip > 0
            && self
                .conns
                .values()
                .filter(|c| c.peer.ip() == peer.ip())
                .count()
                >= max_per_ip
        {
            tracing::warn!(
                node = self.id,
                "Too many connections from {} - max is {max_per_ip}",
                peer.ip()
            );
            return false;
        }
        let mut c = Conn::new(tx, peer);
        c.opened_ms = now_ms;
        // The notification ACL filter needs the connection's ids from the
        // start (`ip:<peer>`).
        self.watches.set_auth(conn, &c.auth);
        self.conns.insert(conn, c);
        true
    }

    /// Closes every connection that has not sent a ConnectRequest by its
    /// deadline: `timeout_ms` after it opened, rounded up to a multiple of
    /// `timeout_ms` as real ZooKeeper's connection expiry queue does.
    pub(crate) fn close_sessionless(&mut self, now_ms: u64, timeout_ms: u64) {
        let late: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.state == ConnState::Fresh
                    && now_ms >= super::leader::bucket(c.opened_ms + timeout_ms, timeout_ms)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            tracing::debug!(
                node = self.id,
                conn = id,
                "closing a connection that never sent a ConnectRequest"
            );
            self.close_conn(id);
        }
    }

    /// Queues an error reply in line behind the connection's pending
    /// requests; with `close`, the connection closes after it.
    pub(crate) fn push_error(&mut self, conn: ConnId, xid: i32, err: ErrorCode, close: bool) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.pending.push_back(Pending::Error { xid, err, close });
        }
    }

    /// Forgets a connection whose socket is gone.
    pub(crate) fn forget(&mut self, conn: ConnId) {
        if self.conns.remove(&conn).is_some() {
            self.watches.remove_connection(conn);
        }
        self.sync_waiters.retain(|c| *c != conn);
    }

    /// Forgets all state (a restart with a wiped disk).
    fn wipe(&mut self) {
        self.tree = DataTree::new();
        self.watches = WatchManager::new();
        self.log.clear();
        self.log_base = 0;
        self.applied = 0;
        self.dropped_zxids.clear();
        self.digest_log.clear();
        self.sessions.clear();
        self.epoch = 0;
    }

    /// The node's last processed zxid.
    pub(crate) fn last_zxid(&self) -> i64 {
        self.tree.last_zxid()
    }

    /// The zxid of the last logged (maybe uncommitted) proposal.
    pub(crate) fn last_logged(&self) -> i64 {
        self.log
            .last()
            .map(|e| e.zxid)
            .unwrap_or_else(|| self.tree.last_zxid())
    }

    /// Whether read-write clients are served.
    pub(crate) fn serving(&self) -> bool {
        matches!(self.role, Role::Leading | Role::Following(_))
    }

    pub(crate) fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    pub(crate) fn mark(&mut self, conn: ConnId) {
        if !self.dirty.contains(&conn) {
            self.dirty.push(conn);
        }
    }

    /// Closes every client connection (the node stops serving).
    pub(crate) fn close_all(&mut self) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.close_conn(id);
        }
    }

    /// Closes a connection at once, dropping its queued output (a real
    /// server's `cnxn.close()`, e.g. when its session expires).
    pub(crate) fn abort_conn(&mut self, id: ConnId) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.abort = true;
        }
        self.close_conn(id);
    }

    pub(crate) fn close_conn(&mut self, id: ConnId) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.close = true;
            c.pending.clear();
            self.mark(id);
        }
    }

    /// Sends buffered output to the I/O tasks and forgets closed connections.
    pub(crate) fn flush(&mut self) {
        for id in std::mem::take(&mut self.dirty) {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            if c.close && c.abort {
                c.tx.abort();
                self.watches.remove_connection(id);
                self.conns.remove(&id);
                continue;
            }
            if !c.out.is_empty() {
                c.tx.send(c.out.split().freeze());
            }
            if let Some(cap) = self.max_output.filter(|cap| c.tx.queued() > *cap) {
                tracing::warn!(
                    node = self.id,
                    conn = id,
                    session = format_args!("{:#x}", c.session),
                    queued = c.tx.queued(),
                    cap,
                    "closing connection: the client is not reading its replies"
                );
                c.tx.abort();
                self.watches.remove_connection(id);
                self.conns.remove(&id);
                continue;
            }
            if c.close {
                c.tx.close();
                self.watches.remove_connection(id);
                self.conns.remove(&id);
            }
        }
    }

    /// One past the position of the last logged proposal.
    pub(crate) fn log_end(&self) -> usize {
        self.log_base + self.log.len()
    }

    /// The proposal at position `pos`, unless it was dropped.
    pub(crate) fn log_entry(&self, pos: usize) -> Option<&Arc<LogEntry>> {
        self.log.get(pos.checked_sub(self.log_base)?)
    }

    /// Every committed zxid this node still knows of (for the history
    /// checker).
    pub(crate) fn committed_zxids(&self) -> impl Iterator<Item = i64> + '_ {
        let live = self.applied.saturating_sub(self.log_base);
        self.dropped_zxids
            .iter()
            .flat_map(|&(first, last)| first..=last)
            .chain(self.log.iter().take(live).map(|e| e.zxid))
    }

    /// Applies committed log entries up to and including `zxid`.
    pub(crate) fn apply_through(&mut self, zxid: i64, now_ms: i64) {
        while let Some(entry) = self.log_entry(self.applied).cloned() {
            if entry.zxid > zxid {
                break;
            }
            self.applied += 1;
            self.apply_entry(&entry, now_ms);
        }
        self.trim_log();
    }

    /// Bounds the log as a real server's snapshots and purges bound its
    /// disk, and its `commitLogCount` its memory: the tree is the snapshot,
    /// so once more than twice `commit_log_count` committed proposals are
    /// held, all but the last `commit_log_count` are dropped (amortised:
    /// one drain per `commit_log_count` commits).
    fn trim_log(&mut self) {
        let keep = self.commit_log_count.max(1);
        let committed = self.applied.saturating_sub(self.log_base);
        if committed <= keep.saturating_mul(2) {
            return;
        }
        let n = (committed - keep).min(self.log.len());
        let gone = self.log.drain(..n);
        if self.history.enabled {
            for zxid in gone.map(|e| e.zxid) {
                match self.dropped_zxids.last_mut() {
                    Some((_, last)) if last.checked_add(1) == Some(zxid) => *last = zxid,
                    _ => self.dropped_zxids.push((zxid, zxid)),
                }
            }
        }
        self.log_base += n;
    }

    fn apply_entry(&mut self, entry: &LogEntry, now_ms: i64) {
        let result = self.tree.apply(entry.zxid, entry.time_ms, &entry.txn);
        if entry.zxid % DIGEST_LOG_INTERVAL == 0 {
            if self.digest_log.len() >= DIGEST_LOG_LIMIT {
                self.digest_log.pop_front();
            }
            self.digest_log.push_back((entry.zxid, self.tree.digest()));
        }
        let fired = self.watches.trigger(&result.events);
        for (conn, event) in fired {
            self.notify(conn, &event, entry.zxid);
        }
        match &entry.txn {
            Txn::CreateSession {
                session_id,
                timeout_ms,
            } => {
                self.sessions.insert(*session_id, *timeout_ms);
            }
            Txn::CloseSession { session_id } => {
                self.sessions.remove(session_id);
            }
            _ => {}
        }
        if let Some(origin) = entry.origin.filter(|o| o.node == self.id) {
            if let Txn::CreateSession {
                session_id,
                timeout_ms,
            } = &entry.txn
            {
                self.finish_handshake(origin.conn, origin.token, *session_id, *timeout_ms);
            } else if let Some(c) = self.conns.get_mut(&origin.conn) {
                for p in c.pending.iter_mut() {
                    if let Pending::Write { token, done, .. } = p {
                        if *token == origin.token {
                            *done = Some(Done::Applied(result.response));
                            break;
                        }
                    }
                }
                self.pump(origin.conn, now_ms);
            }
        }
        if let Txn::CloseSession { session_id } = &entry.txn {
            let ids: Vec<ConnId> = self
                .conns
                .iter()
                .filter(|(_, c)| c.session == *session_id)
                .map(|(id, _)| *id)
                .collect();
            let asked = entry.origin.filter(|o| o.node == self.id).map(|o| o.conn);
            for id in ids {
                if Some(id) == asked {
                    // The client's own closeSession: its reply goes out,
                    // then the socket closes.
                    self.pump(id, now_ms);
                    self.close_conn(id);
                } else {
                    // Expired (or closed elsewhere): closed at once,
                    // whatever is still queued for it.
                    self.abort_conn(id);
                }
            }
        }
        for id in std::mem::take(&mut self.sync_waiters) {
            self.pump(id, now_ms);
        }
    }

    /// Puts the ensemble's configuration in `/zookeeper/config`, as a quorum
    /// member does whenever it (re)joins a leader
    /// (`ZKDatabase.initConfigInZKDatabase`: a local setData, not a txn);
    /// watches on it fire on the connections still open.
    pub(crate) fn load_config(&mut self, text: &Bytes, time_ms: i64) {
        let events = self.tree.set_config(text.clone(), 0, time_ms);
        for (conn, event) in self.watches.trigger(&events) {
            if self.conns.get(&conn).is_some_and(|c| !c.close) {
                self.notify(conn, &event, 0);
            }
        }
    }

    /// Answers a handshake whose session the leader has confirmed or created.
    pub(crate) fn finish_handshake(
        &mut self,
        conn: ConnId,
        token: u64,
        session_id: i64,
        timeout_ms: i32,
    ) {
        let secret = self.secret;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.state != ConnState::Handshaking(token) {
            return;
        }
        let response = zk_proto::ConnectResponse {
            protocol_version: 0,
            timeout: timeout_ms,
            session_id,
            passwd: super::session::password(secret, session_id),
            read_only: c.ro_byte.map(|_| self.role == Role::ReadOnly),
        };
        c.state = ConnState::Open;
        c.session = session_id;
        c.timeout_ms = timeout_ms;
        let _ = zk_proto::encode_record_frame(&mut c.out, REPLY_LIMIT, &response);
        self.history
            .push(conn, session_id, Event::Connected { timeout_ms });
        self.mark(conn);
    }

    /// Refuses a handshake with the "expired" ConnectResponse, then closes.
    pub(crate) fn expire_handshake(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            let response = zk_proto::ConnectResponse::expired(c.ro_byte);
            let _ = zk_proto::encode_record_frame(&mut c.out, REPLY_LIMIT, &response);
            c.close = true;
            self.mark(conn);
        }
    }

    /// Queues a watch notification on a connection (before any later reply).
    pub(crate) fn notify(&mut self, conn: ConnId, event: &WatcherEvent, zxid: i64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        // 3.8 sends −1; 3.9 the zxid of the change (catch-up events: the
        // node's current zxid).
        let wire_zxid = match self.version {
            super::builder::ServerVersion::V3_8 => -1,
            _ if zxid > 0 => zxid,
            _ => self.tree.last_zxid(),
        };
        if encode_notification(&mut c.out, REPLY_LIMIT, wire_zxid, event).is_ok() {
            c.sent += 1;
            self.stats.sent += 1;
            self.history.push(
                conn,
                c.session,
                Event::Notification {
                    event_type: event.event_type,
                    path: event.path.clone(),
                    zxid,
                },
            );
        }
        self.mark(conn);
    }

    /// Writes a reply with the node's current zxid.
    pub(crate) fn reply(
        &mut self,
        conn: ConnId,
        xid: i32,
        result: &Result<Response, ErrorCode>,
        op: Option<&Request>,
    ) {
        let zxid = self.tree.last_zxid();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let (err, body) = match result {
            Ok(r) => (ErrorCode::Ok, r),
            Err(e) => (*e, &Response::Empty),
        };
        let header = ReplyHeader { xid, zxid, err };
        if encode_reply(&mut c.out, REPLY_LIMIT, &header, body).is_err() {
            c.close = true;
        }
        c.sent += 1;
        c.last_zxid = zxid;
        self.stats.sent += 1;
        if self.history.enabled {
            self.history.push(
                conn,
                c.session,
                Event::Reply {
                    xid,
                    zxid,
                    err: err.code(),
                    op: op.map(|r| r.op_code().code()),
                    path: op.and_then(|r| r.path()).map(str::to_owned),
                    stat: body_stat(body),
                },
            );
        }
        self.mark(conn);
    }

    /// The leader has answered sync barrier `origin`: it resolves once this
    /// node has applied `zxid`.
    pub(crate) fn resolve_sync(&mut self, origin: super::link::Origin, zxid: i64, now_ms: i64) {
        if let Some(c) = self.conns.get_mut(&origin.conn) {
            for p in c.pending.iter_mut() {
                if let Pending::Sync { token, zxid: z, .. } = p {
                    if *token == origin.token {
                        *z = Some(zxid);
                    }
                }
            }
        }
        self.pump(origin.conn, now_ms);
    }

    /// Answers every request at the head of the connection's queue that is
    /// ready, in order.
    pub(crate) fn pump(&mut self, conn: ConnId, now_ms: i64) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.close {
                return;
            }
            let ready = match c.pending.front() {
                None => return,
                Some(Pending::Write { done, .. }) => done.is_some(),
                Some(Pending::Local { .. }) | Some(Pending::Error { .. }) => true,
                Some(Pending::Sync { zxid, .. }) => {
                    matches!(zxid, Some(z) if *z <= self.tree.last_zxid())
                }
            };
            if !ready {
                if matches!(c.pending.front(), Some(Pending::Sync { .. }))
                    && !self.sync_waiters.contains(&conn)
                {
                    self.sync_waiters.push(conn);
                }
                return;
            }
            let Some(head) = c.pending.pop_front() else {
                return;
            };
            match head {
                Pending::Write {
                    xid,
                    done: Some(Done::Applied(Ok(_))),
                    silent_ok: true,
                    ..
                } => {
                    self.history.push(conn, c.session, Event::Dropped { xid });
                }
                Pending::Write { xid, done, .. } => {
                    if self.faults.apply_then_drop {
                        self.faults.apply_then_drop = false;
                        self.history.push(conn, c.session, Event::Dropped { xid });
                        self.close_conn(conn);
                        return;
                    }
                    match done {
                        Some(Done::Applied(result)) => self.reply(conn, xid, &result, None),
                        Some(Done::Rejected(ErrorCode::SessionMoved)) => {
                            self.close_conn(conn);
                            return;
                        }
                        Some(Done::Rejected(err)) => self.reply(conn, xid, &Err(err), None),
                        None => {}
                    }
                }
                Pending::Error { xid, err, close } => {
                    self.reply(conn, xid, &Err(err), None);
                    if close {
                        self.close_conn(conn);
                        return;
                    }
                }
                Pending::Sync { xid, path, .. } => {
                    self.reply(conn, xid, &Ok(Response::Sync(SyncResponse { path })), None)
                }
                Pending::Local { xid, request, auth } => {
                    self.run_local(conn, xid, &request, now_ms, Some(&auth))
                }
            }
        }
    }

    /// Runs a request that needs only this node's state: reads, pings,
    /// watch management.
    /// `auth`: the connection's ids when the request arrived (default: now).
    pub(crate) fn run_local(
        &mut self,
        conn: ConnId,
        xid: i32,
        request: &Request,
        now_ms: i64,
        auth: Option<&[Id]>,
    ) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let ctx = Ctx {
            session_id: c.session,
            auth: auth.unwrap_or(&c.auth),
            now_ms,
            extended_types: self.extended_types,
        };
        let result: Result<Response, ErrorCode> = match request {
            Request::Ping => Ok(Response::Empty),
            Request::SetWatches(sw) => {
                let sw2 = zk_proto::SetWatches2 {
                    relative_zxid: sw.relative_zxid,
                    data_watches: sw.data_watches.clone(),
                    exist_watches: sw.exist_watches.clone(),
                    child_watches: sw.child_watches.clone(),
                    persistent_watches: Vec::new(),
                    persistent_recursive_watches: Vec::new(),
                };
                let events = self.watches.set_watches(conn, &self.tree, &sw2);
                self.catch_up(conn, events);
                Ok(Response::Empty)
            }
            Request::SetWatches2(sw2) => {
                let events = self.watches.set_watches(conn, &self.tree, sw2);
                self.catch_up(conn, events);
                Ok(Response::Empty)
            }
            Request::AddWatch(req) => match req.mode() {
                Ok(mode) => {
                    self.watches.add_watch(conn, &req.path, mode);
                    // FinalRequestProcessor answers addWatch with ErrorResponse(0).
                    Ok(Response::AddWatch(zk_proto::ErrorResponse {
                        err: ErrorCode::Ok,
                    }))
                }
                Err(_) => Err(ErrorCode::BadArguments),
            },
            Request::CheckWatches(req) => self.watches.check(conn, req).map(|()| Response::Empty),
            Request::RemoveWatches(req) => self.watches.remove(conn, req).map(|()| Response::Empty),
            other => {
                let result = self.tree.read(&ctx, other);
                self.watches.register_after_read(conn, other, &result);
                result
            }
        };
        let reply_xid = match request {
            Request::Ping => zk_proto::xid::PING,
            Request::SetWatches(_) | Request::SetWatches2(_) => zk_proto::xid::SET_WATCHES,
            _ => xid,
        };
        self.reply(conn, reply_xid, &result, Some(request));
    }

    fn catch_up(&mut self, conn: ConnId, events: Vec<WatcherEvent>) {
        // Catch-up events announce changes older than the watch; record 0.
        for event in events {
            self.notify(conn, &event, 0);
        }
    }
}

fn body_stat(body: &Response) -> Option<zk_proto::Stat> {
    match body {
        Response::Stat(s) => Some(s.stat.clone()),
        Response::GetData(d) => Some(d.stat.clone()),
        Response::GetChildren2(d) => Some(d.stat.clone()),
        Response::Create2(d) => Some(d.stat.clone()),
        _ => None,
    }
}

/// How often a follower was synced each way (see `Node::syncs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SyncCounts {
    /// Syncs from the leader's in-memory log.
    pub(crate) diff: u64,
    /// Syncs by a copy of the leader's tree.
    pub(crate) snap: u64,
}

/// A digest is logged after every txn whose zxid is a multiple of this
/// (ZooKeeper's `DIGEST_LOG_INTERVAL`).
const DIGEST_LOG_INTERVAL: i64 = 128;

/// How many logged digests are kept (ZooKeeper's `DIGEST_LOG_LIMIT`).
const DIGEST_LOG_LIMIT: usize = 1024;

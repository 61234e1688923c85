//! [`Core`]: every node's state behind one lock, and the message pump.
//!
//! All replicated state changes and all request handling happen on the
//! caller's thread while the lock is held, so commits and reads never
//! interleave (ZooKeeper's CommitProcessor guarantees by construction).
//! Peer messages go through a FIFO queue drained until quiet after each
//! event; a paused node's messages wait in its inbox, a cut link drops them.

use std::collections::VecDeque;

use super::builder::Config;
use super::link::{Envelope, Links, Msg};
use super::node::{ConnState, Done, Node, Pending, Role};
use super::session::mix;

/// Milliseconds since the Unix epoch (ctime/mtime of znodes).
pub(crate) fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The whole simulated ensemble.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) cfg: Config,
    pub(crate) nodes: Vec<Node>,
    pub(crate) links: Links,
    pub(crate) queue: VecDeque<Envelope>,
    pub(crate) leader: Option<usize>,
    pub(crate) max_epoch: u32,
    /// Seed-derived election tie-break per node.
    pub(crate) rank: Vec<u64>,
    pub(crate) start: tokio::time::Instant,
    /// Messages waiting on held links, in send order.
    pub(crate) held: VecDeque<Envelope>,
    /// Connections holding frames that arrived during their handshake.
    pub(crate) early: Vec<(usize, crate::tree::ConnId)>,
    /// The dynamic configuration text a quorum member puts in
    /// `/zookeeper/config`, and the time it carries (`None`: one node,
    /// standalone).
    pub(crate) membership: Option<(bytes::Bytes, i64)>,
}

impl Core {
    pub(crate) fn new(cfg: Config) -> Self {
        let secret = mix(cfg.seed ^ 0x005E_C2E7);
        let mut nodes: Vec<Node> = (0..cfg.nodes)
            .map(|i| {
                Node::new(
                    i,
                    cfg.seed,
                    cfg.max_frame,
                    cfg.extended_types,
                    cfg.record_history,
                    secret,
                    cfg.version,
                )
            })
            .collect();
        for n in &mut nodes {
            n.commit_log_count = cfg.commit_log_count;
        }
        let rank = (0..cfg.nodes)
            .map(|i| mix(cfg.seed.wrapping_add(i as u64)))
            .collect();
        Core {
            links: Links::new(cfg.nodes),
            nodes,
            queue: VecDeque::new(),
            leader: None,
            max_epoch: 0,
            rank,
            start: tokio::time::Instant::now(),
            early: Vec::new(),
            held: VecDeque::new(),
            membership: None,
            cfg,
        }
    }

    /// Sets the membership listed in `/zookeeper/config` from the nodes'
    /// client addresses: `server.<id>=<host>:<quorum port>:<election
    /// port>:participant;<host>:<client port>` per node, then `version=0`,
    /// as `QuorumVerifier.toString` writes it. The simulator's peers talk
    /// in-process, so the quorum and election ports are listed as 0. A
    /// single node is a standalone server: its config node stays empty.
    /// Every node stamps the config node with this moment (a real server
    /// uses its own clock whenever it loads the config), so that replicas'
    /// trees stay identical.
    pub(crate) fn set_membership(&mut self, addrs: &[std::net::SocketAddr]) {
        if addrs.len() < 2 {
            self.membership = None;
            return;
        }
        let mut text = String::new();
        for (i, a) in addrs.iter().enumerate() {
            text.push_str(&format!(
                "server.{}={}:0:0:participant;{}:{}\n",
                i + 1,
                a.ip(),
                a.ip(),
                a.port()
            ));
        }
        text.push_str("version=0");
        self.membership = Some((text.into(), wall_ms()));
    }

    /// Milliseconds on the ensemble's monotonic clock.
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX / 2)
    }

    /// Queues a peer message.
    pub(crate) fn send(&mut self, from: usize, to: usize, msg: Msg) {
        let epoch = self.nodes.get(from).map(|n| n.epoch).unwrap_or(0);
        self.queue.push_back(Envelope {
            from,
            to,
            epoch,
            msg,
        });
    }

    /// Delivers queued messages until none are left, then hands buffered
    /// client output to the I/O tasks.
    pub(crate) fn settle(&mut self) {
        loop {
            self.deliver();
            if !self.replay_early() {
                break;
            }
        }
        for n in &mut self.nodes {
            n.flush();
        }
    }

    fn deliver(&mut self) {
        while let Some(env) = self.queue.pop_front() {
            if !self.links.up(env.from, env.to) {
                continue;
            }
            if self.links.held(env.from, env.to) {
                self.held.push_back(env);
                continue;
            }
            let Some(to) = self.nodes.get_mut(env.to) else {
                continue;
            };
            if to.role == Role::Down {
                continue;
            }
            if to.paused_at.is_some() {
                to.inbox.push_back(env);
                continue;
            }
            self.handle(env);
        }
    }

    fn handle(&mut self, env: Envelope) {
        let Envelope {
            from,
            to,
            epoch,
            msg,
        } = env;
        let now = wall_ms();
        let Some(node) = self.nodes.get_mut(to) else {
            return;
        };
        if epoch != node.epoch {
            return;
        }
        let leading = node.role == Role::Leading;
        let following = node.role == Role::Following(from);
        match msg {
            Msg::Forward {
                origin,
                session_id,
                auth,
                op,
            } if leading => self.lead_forward(to, origin, session_id, auth, op),
            Msg::Propose(entry) if following && entry.zxid > node.last_logged() => {
                let zxid = entry.zxid;
                node.log.push(entry);
                self.send(to, from, Msg::Ack { zxid });
            }
            Msg::Ack { zxid } if leading => {
                if let Some(ls) = node.leader.as_mut() {
                    if ls.followers.contains(&from) {
                        let slot = ls.acked.entry(from).or_insert(0);
                        *slot = (*slot).max(zxid);
                    }
                }
                self.try_commit(to);
            }
            Msg::Commit { zxid } if following => node.apply_through(zxid, now),
            Msg::Sync { origin } if leading => {
                let last = node.last_logged();
                let outstanding = last > node.last_zxid();
                if let Some(ls) = node.leader.as_mut() {
                    if outstanding {
                        ls.syncs.push((last, origin));
                    } else if origin.node == to {
                        // The leader's own session: answered in line, before
                        // any later request of the session is processed.
                        let zxid = node.last_zxid();
                        node.resolve_sync(origin, zxid, now);
                    } else {
                        let zxid = node.last_zxid();
                        self.send(to, origin.node, Msg::SyncDone { origin, zxid });
                    }
                }
            }
            Msg::SyncDone { origin, zxid } if leading || following => {
                node.resolve_sync(origin, zxid, now);
            }
            Msg::Revalidate { origin, session_id } if leading => {
                let timeout = node.leader.as_mut().and_then(|ls| {
                    ls.tracker.get_mut(&session_id).map(|t| {
                        t.owner = Some(origin.node);
                        t.timeout_ms
                    })
                });
                if timeout.is_some() {
                    self.touch(to, session_id);
                }
                self.send(
                    to,
                    origin.node,
                    Msg::Revalidated {
                        origin,
                        session_id,
                        timeout_ms: timeout,
                    },
                );
            }
            Msg::Revalidated {
                origin,
                session_id,
                timeout_ms,
            } if leading || following => {
                let negotiated = node
                    .conns
                    .get(&origin.conn)
                    .map(|c| c.timeout_ms)
                    .unwrap_or(0);
                match timeout_ms {
                    Some(_) => {
                        node.finish_handshake(origin.conn, origin.token, session_id, negotiated)
                    }
                    None => {
                        if node
                            .conns
                            .get(&origin.conn)
                            .is_some_and(|c| c.state == ConnState::Handshaking(origin.token))
                        {
                            node.expire_handshake(origin.conn);
                        }
                    }
                }
            }
            Msg::Rejected { origin, err } if leading || following => {
                if let Some(c) = node.conns.get_mut(&origin.conn) {
                    for p in c.pending.iter_mut() {
                        if let Pending::Write { token, done, .. } = p {
                            if *token == origin.token {
                                *done = Some(Done::Rejected(err));
                            }
                        }
                    }
                }
                node.pump(origin.conn, now);
            }
            Msg::Touch { sessions } if leading => {
                for s in sessions {
                    self.touch(to, s);
                }
            }
            _ => {}
        }
    }

    /// Periodic work: failure detection, read-only mode, session touches,
    /// expiry and reaping.
    pub(crate) fn tick(&mut self) {
        let now = self.now_ms();
        let detect_after = self.cfg.sync_limit.saturating_mul(self.cfg.tick_ms);
        let mut changed = false;
        for n in &mut self.nodes {
            if let Some(at) = n.paused_at {
                if !n.pause_detected && now.saturating_sub(at) >= detect_after {
                    n.pause_detected = true;
                    changed = true;
                }
            }
        }
        if changed {
            self.reconfigure();
        }
        if self.cfg.read_only {
            let wait = self.cfg.tick_ms.max(2000);
            for n in &mut self.nodes {
                if n.role == Role::Looking
                    && n.paused_at.is_none()
                    && now.saturating_sub(n.looking_since) >= wait
                {
                    tracing::info!(node = n.id, "entering read-only mode");
                    n.role = Role::ReadOnly;
                }
            }
        }
        for i in 0..self.nodes.len() {
            let Some(n) = self.nodes.get_mut(i) else {
                continue;
            };
            if n.paused_at.is_some() {
                continue;
            }
            if let Role::Following(l) = n.role {
                if !n.touched.is_empty() {
                    let sessions = std::mem::take(&mut n.touched).into_iter().collect();
                    self.send(i, l, Msg::Touch { sessions });
                }
            }
        }
        let sessionless = self.cfg.sessionless_ms;
        for n in &mut self.nodes {
            if n.paused_at.is_none() {
                n.close_sessionless(now, sessionless);
            }
        }
        if let Some(l) = self.leader {
            if self.nodes.get(l).is_some_and(|n| n.paused_at.is_none()) {
                self.lead_tick(l);
            }
        }
        self.settle();
    }

    /// Re-queues held messages whose link is no longer held, in order.
    pub(crate) fn unhold(&mut self) {
        let held = std::mem::take(&mut self.held);
        let (free, still): (VecDeque<_>, VecDeque<_>) = held
            .into_iter()
            .partition(|e| !self.links.held(e.from, e.to));
        self.held = still;
        for env in free.into_iter().rev() {
            self.queue.push_front(env);
        }
    }

    /// Crashes node `i` (its I/O side is crashed by the caller).
    pub(crate) fn crash(&mut self, i: usize) {
        if self.leader == Some(i) {
            self.leader = None;
        }
        if let Some(n) = self.nodes.get_mut(i) {
            n.crash();
        }
        self.reconfigure();
    }

    /// Starts crashed node `i` again, optionally with a wiped disk.
    pub(crate) fn restart(&mut self, i: usize, wipe: bool) {
        let now = self.now_ms();
        if let Some(n) = self.nodes.get_mut(i) {
            n.restart(now, wipe);
        }
        self.reconfigure();
    }

    /// Pauses node `i`; its peers notice after `sync_limit` ticks.
    pub(crate) fn pause(&mut self, i: usize) {
        let now = self.now_ms();
        if let Some(n) = self.nodes.get_mut(i) {
            n.pause(now);
        }
    }

    /// Resumes node `i`: the peer messages that waited for it are delivered
    /// before anything sent since.
    pub(crate) fn resume(&mut self, i: usize) {
        let now = self.now_ms();
        let Some(n) = self.nodes.get_mut(i) else {
            return;
        };
        let was_paused = n.paused_at.is_some();
        for env in n.resume(now).into_iter().rev() {
            self.queue.push_front(env);
        }
        if was_paused {
            self.settle();
            self.reconfigure();
        }
    }

    /// The node a follower sends its requests to.
    pub(crate) fn leader_of(&self, i: usize) -> Option<usize> {
        match self.nodes.get(i)?.role {
            Role::Leading => Some(i),
            Role::Following(l) => Some(l),
            _ => None,
        }
    }
}

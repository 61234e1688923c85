//! The replicated ensemble: builder, nodes, leader, election, peer links,
//! client request handling and four-letter words. The network I/O lives in
//! [`crate::server`], which reaches the ensemble only through
//! [`server::Backend`].

pub(crate) mod builder;
pub(crate) mod core;
pub(crate) mod election;
pub(crate) mod four_letter;
pub(crate) mod handshake;
pub(crate) mod leader;
pub(crate) mod link;
pub(crate) mod node;
pub(crate) mod requests;
pub(crate) mod session;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::task::AbortHandle;

pub use builder::{parse_seed, BuildError, Builder, ServerVersion, VERSION};
pub use node::Role;

use self::core::Core;
use crate::history::{self, HistoryError, Record};
use crate::server::{self, Backend, NodeIo, Outbox};
use crate::tree::{ConnId, NodeSnapshot};

/// State shared by the ensemble handle and its tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    core: Mutex<Core>,
    pub(crate) io: Vec<NodeIo>,
    max_frame: usize,
    next_conn: AtomicU64,
}

impl Shared {
    /// Locks the core, recovering from a poisoned lock (the state is still
    /// consistent: every mutation completes before it can panic).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for Shared {
    fn io(&self, node: usize) -> Option<&NodeIo> {
        self.io.get(node)
    }

    fn max_frame(&self) -> usize {
        self.max_frame
    }

    fn next_conn(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    fn open(&self, node: usize, conn: ConnId, tx: Outbox, peer: SocketAddr) -> bool {
        let mut core = self.lock();
        let (max, now) = (core.cfg.max_client_cnxns, core.now_ms());
        core.nodes
            .get_mut(node)
            .is_some_and(|n| n.open(conn, tx, peer, max, now))
    }

    fn receive(&self, node: usize, conn: ConnId, frames: Vec<Bytes>) {
        let mut core = self.lock();
        for frame in frames {
            core.on_frame(node, conn, frame);
        }
        core.settle();
    }

    fn four_letter(&self, node: usize, conn: ConnId, word: &str, arg: &[u8]) -> String {
        let port = self.io.get(node).map(|io| io.addr.port()).unwrap_or(0);
        let mut core = self.lock();
        let now = core.now_ms();
        let core = &mut *core;
        let Some(n) = core.nodes.get_mut(node) else {
            return String::new();
        };
        // Rendered while this connection still counts, as the real server
        // lists the asking connection.
        let text = four_letter::answer(&core.cfg, n, word, arg, Some(conn), port, now);
        n.forget(conn);
        text
    }

    fn close(&self, node: usize, conn: ConnId) {
        let mut core = self.lock();
        if let Some(n) = core.nodes.get_mut(node) {
            n.forget(conn);
        }
        core.settle();
    }
}

/// A session as the ensemble sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session id.
    pub id: i64,
    /// Negotiated timeout in milliseconds.
    pub timeout_ms: i32,
    /// The node whose connection owns it, if known to the leader.
    pub owner: Option<usize>,
    /// Paths of its ephemeral nodes.
    pub ephemerals: Vec<String>,
}

/// A running, in-process ZooKeeper ensemble. Dropping it stops every task
/// and closes every port.
#[derive(Debug)]
pub struct Ensemble {
    shared: Arc<Shared>,
    ticker: AbortHandle,
    seed: u64,
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        self.ticker.abort();
        for io in &self.shared.io {
            io.crash();
        }
    }
}

impl Ensemble {
    /// A [`Builder`] with default settings.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) async fn start(cfg: builder::Config) -> std::io::Result<Ensemble> {
        let seed = cfg.seed;
        let tick_ms = cfg.tick_ms;
        let mut listeners = Vec::new();
        for i in 0..cfg.nodes {
            let port = match cfg.base_port {
                Some(p) => p.saturating_add(u16::try_from(i).unwrap_or(u16::MAX)),
                None => 0,
            };
            listeners.push(server::listener::bind(SocketAddr::from((
                [127, 0, 0, 1],
                port,
            )))?);
        }
        let io = listeners
            .iter()
            .map(|l| Ok(NodeIo::new(l.local_addr()?)))
            .collect::<std::io::Result<Vec<_>>>()?;
        let max_frame = cfg.max_frame;
        let mut core = Core::new(cfg);
        let addrs: Vec<SocketAddr> = io.iter().map(|n| n.addr).collect();
        core.set_membership(&addrs);
        core.reconfigure();
        core.settle();
        let shared = Arc::new(Shared {
            core: Mutex::new(core),
            io,
            max_frame,
            next_conn: AtomicU64::new(1),
        });
        for (i, (io, l)) in shared.io.iter().zip(listeners).enumerate() {
            io.serve(Arc::clone(&shared), i, l);
        }
        let weak = Arc::downgrade(&shared);
        let ticker = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis((tick_ms / 2).max(1)));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                shared.lock().tick();
            }
        })
        .abort_handle();
        tracing::info!(seed, nodes = shared.io.len(), "ensemble started");
        Ok(Ensemble {
            shared,
            ticker,
            seed,
        })
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn with_core<T>(&self, f: impl FnOnce(&mut Core) -> T) -> T {
        let mut core = self.shared.lock();
        let out = f(&mut core);
        core.settle();
        out
    }

    /// The seed that drives this ensemble's random choices.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of servers.
    pub fn len(&self) -> usize {
        self.shared.io.len()
    }

    /// Always false: an ensemble has at least one server.
    pub fn is_empty(&self) -> bool {
        self.shared.io.is_empty()
    }

    /// Client address of server `i` (0-based).
    ///
    /// # Panics
    ///
    /// Never; an out-of-range `i` gives 127.0.0.1:0.
    pub fn addr(&self, i: usize) -> SocketAddr {
        self.shared
            .io
            .get(i)
            .map(|io| io.addr)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// `host:port,host:port,...` for every server.
    pub fn connect_string(&self) -> String {
        self.shared
            .io
            .iter()
            .map(|io| io.addr.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The current leader, if a quorum has one.
    pub fn leader(&self) -> Option<usize> {
        self.with_core(|c| c.leader)
    }

    /// What server `i` is doing.
    pub fn role(&self, i: usize) -> Option<Role> {
        self.with_core(|c| c.nodes.get(i).map(|n| n.role))
    }

    /// The current epoch (the high 32 bits of new zxids).
    pub fn epoch(&self) -> u32 {
        self.with_core(|c| c.max_epoch)
    }

    /// Server `i`'s last processed (committed and applied) zxid.
    pub fn last_zxid(&self, i: usize) -> i64 {
        self.with_core(|c| c.nodes.get(i).map(|n| n.last_zxid()).unwrap_or(0))
    }

    /// Live sessions, as the leader's tracker sees them (or, without a
    /// leader, as the most up-to-date node last committed them).
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.with_core(|c| {
            let best = c.leader.or_else(|| {
                (0..c.nodes.len()).max_by_key(|&i| c.nodes.get(i).map(|n| n.last_zxid()))
            });
            let Some(n) = best.and_then(|i| c.nodes.get(i)) else {
                return Vec::new();
            };
            n.sessions
                .iter()
                .map(|(id, timeout_ms)| SessionInfo {
                    id: *id,
                    timeout_ms: *timeout_ms,
                    owner: n
                        .leader
                        .as_ref()
                        .and_then(|ls| ls.tracker.get(id))
                        .and_then(|t| t.owner),
                    ephemerals: n.tree.ephemerals(*id),
                })
                .collect()
        })
    }

    /// Number of watches registered on server `i`.
    pub fn watch_count(&self, i: usize) -> usize {
        self.with_core(|c| c.nodes.get(i).map(|n| n.watches.watch_count()).unwrap_or(0))
    }

    /// Number of client connections server `i` holds (handshaken or not).
    pub fn connection_count(&self, i: usize) -> usize {
        self.with_core(|c| c.nodes.get(i).map(|n| n.conns.len()).unwrap_or(0))
    }

    /// A copy of server `i`'s committed tree.
    pub fn snapshot(&self, i: usize) -> std::collections::BTreeMap<String, NodeSnapshot> {
        self.with_core(|c| {
            c.nodes
                .get(i)
                .map(|n| n.tree.snapshot())
                .unwrap_or_default()
        })
    }

    /// The answer server `i` gives to four-letter word `word`.
    pub fn four_letter(&self, i: usize, word: &str) -> String {
        let port = self.addr(i).port();
        self.with_core(|c| {
            let now = c.now_ms();
            c.nodes
                .get_mut(i)
                .map(|n| four_letter::answer(&c.cfg, n, word, &[], None, port, now))
                .unwrap_or_default()
        })
    }

    /// Everything recorded so far (see [`crate::history`]).
    pub fn history(&self) -> Vec<Record> {
        self.with_core(|c| {
            let mut all: Vec<Record> = c
                .nodes
                .iter()
                .flat_map(|n| n.history.records.iter().cloned())
                .collect();
            all.sort_by_key(|r| r.seq);
            all
        })
    }

    /// Checks the recorded client-visible history (see [`crate::history`]).
    pub fn check_history(&self) -> Result<(), HistoryError> {
        let committed: BTreeSet<i64> =
            self.with_core(|c| c.nodes.iter().flat_map(|n| n.committed_zxids()).collect());
        history::check(&self.history(), &committed)
    }

    /// Waits until a leader is elected and every available node follows it.
    pub async fn wait_for_quorum(&self) {
        loop {
            let ready = self.with_core(|c| {
                c.leader.is_some()
                    && (0..c.nodes.len()).all(|i| {
                        !c.available(i)
                            || c.nodes.get(i).is_some_and(|n| {
                                matches!(n.role, Role::Leading | Role::Following(_))
                            })
                            || !c.links.up(i, c.leader.unwrap_or(i))
                    })
            });
            if ready {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits until server `i` has applied `zxid`.
    pub async fn wait_synced(&self, i: usize, zxid: i64) {
        while self.last_zxid(i) < zxid {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Waits until `role(i)` satisfies `pred`.
    pub async fn wait_role(&self, i: usize, pred: impl Fn(Role) -> bool) {
        loop {
            if self.role(i).is_some_and(&pred) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use std::time::Duration;

    use zk_proto::{Acl, CreateRequest, ErrorCode, Request, SetDataRequest};

    use super::Ensemble;
    use crate::testkit::RawClient;

    fn log_lens(e: &Ensemble) -> Vec<usize> {
        e.with_core(|c| c.nodes.iter().map(|n| n.log.len()).collect())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_stays_bounded_and_a_follower_behind_it_is_caught_up_by_snapshot() {
        let e = Ensemble::builder()
            .nodes(3)
            .tick_time(Duration::from_millis(20))
            .commit_log_count(10)
            .seed(3)
            .build()
            .await
            .unwrap();
        let leader = e.leader().unwrap();
        let mut c = RawClient::connect(e.addr(leader), 10_000).await.unwrap();
        let create = Request::Create(CreateRequest {
            path: "/k".into(),
            data: "0".into(),
            acl: Acl::open_unsafe(),
            flags: 0,
        });
        assert_eq!(c.request(&create).await.unwrap().0.err, ErrorCode::Ok);
        let set = |i: usize| {
            Request::SetData(SetDataRequest {
                path: "/k".into(),
                data: i.to_string().into(),
                version: -1,
            })
        };
        for i in 0..200 {
            assert_eq!(c.request(&set(i)).await.unwrap().0.err, ErrorCode::Ok);
        }
        let lens = log_lens(&e);
        assert!(lens.iter().all(|&l| l <= 20), "logs not trimmed: {lens:?}");

        // A follower down for far more than the kept window resyncs from a
        // snapshot and ends with the leader's tree.
        let f = (leader + 1) % 3;
        let syncs = |e: &Ensemble| e.with_core(|c| c.nodes[f].syncs);
        let before = syncs(&e);
        e.kill(f);
        for i in 200..300 {
            assert_eq!(c.request(&set(i)).await.unwrap().0.err, ErrorCode::Ok);
        }
        e.restart(f, false).await.unwrap();
        e.wait_for_quorum().await;
        let zxid = e.last_zxid(leader);
        tokio::time::timeout(Duration::from_secs(10), e.wait_synced(f, zxid))
            .await
            .unwrap();
        assert_eq!(e.snapshot(f), e.snapshot(leader));
        // ... by SNAP: its log ended far before the leader's window.
        let after = syncs(&e);
        assert_eq!(after.diff, before.diff, "synced by DIFF: {after:?}");
        assert!(after.snap > before.snap, "not synced by SNAP: {after:?}");
        assert!(log_lens(&e).iter().all(|&l| l <= 20));
        // With history recorded, the dropped zxids the checker needs are
        // kept as runs (one per epoch), not one entry per write.
        let runs: Vec<usize> =
            e.with_core(|c| c.nodes.iter().map(|n| n.dropped_zxids.len()).collect());
        assert!(
            runs.iter().all(|&r| r <= 2),
            "dropped zxids not coalesced: {runs:?}"
        );
        e.check_history().unwrap();
    }
}

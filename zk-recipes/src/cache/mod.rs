//! Caches of a node or a subtree, kept on persistent watches.
//!
//! A [`TreeCache`] mirrors the subtree at a path (paths, data and every
//! [`Stat`] field) on one persistent-recursive watch; a [`NodeCache`] mirrors
//! one node on a persistent watch. Both:
//!
//! - read the whole tree again after every reconnect and every
//!   [`Resync`](zk_client::PersistentEvent::Resync) and compare each node's
//!   stat with the cached one, so a change made while the client was away is
//!   never missed and a delete-and-recreate is reported as
//!   [`CacheEvent::Removed`] then [`CacheEvent::Added`] (ZOOKEEPER-4698);
//! - announce [`CacheEvent::Initialized`] only after one complete read;
//! - keep memory bounded under event floods: pending changes are merged per
//!   path, and past [`TreeCacheBuilder::max_pending`] of them the cache
//!   reads the tree again instead; a subscriber that falls behind the event
//!   buffer (no more than that is ever held for it) gets
//!   [`CacheEvent::Lagged`] then a fresh [`CacheEvent::Snapshot`] (see
//!   [`CacheEvents`]), never an unbounded queue or a silent gap;
//! - started on a plain [`Client`], end at its session's end with
//!   [`CacheEvent::Closed`] (an expired session is never hidden); started
//!   with [`TreeCacheBuilder::start_following`] on a series of clients (a
//!   [`Session`](crate::Session)'s), move to each new session and read
//!   everything again.

mod engine;
mod events;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use tokio::sync::{broadcast, watch};
use zk_client::{Client, Stat};

pub use events::CacheEvents;

use engine::Source;

/// One cached node: its path, data and stat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildData {
    /// The node's path (relative to the client's chroot).
    pub path: String,
    /// The node's data.
    pub data: Bytes,
    /// The node's stat, as the server last reported it.
    pub stat: Stat,
}

/// A change seen by a cache.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheEvent {
    /// A node appeared.
    Added(ChildData),
    /// A node's data or stat changed (same node: same czxid).
    Updated {
        /// What the cache held before.
        old: ChildData,
        /// What it holds now.
        new: ChildData,
    },
    /// A node disappeared (or was deleted and re-created: `Added` follows).
    Removed(ChildData),
    /// The first complete read of the tree is done; sent once.
    Initialized,
    /// A complete re-read (after a reconnect, a new session or an event
    /// flood) is done, and its differences were sent as events before this.
    Resynced,
    /// This subscriber fell behind by more than the event buffer: `missed`
    /// events are gone, and so is what was still queued for it. A
    /// [`CacheEvent::Snapshot`] follows at once (unless the cache was
    /// dropped, which ends the stream): never a silent gap.
    Lagged {
        /// How many events were dropped for this subscriber.
        missed: u64,
    },
    /// The cache's whole contents, sent to one subscriber right after its
    /// [`CacheEvent::Lagged`]: replace everything known with it. The events
    /// after it follow it exactly. (Never broadcast: each lagging
    /// subscriber gets its own; an `Initialized` or `Resynced` it missed is
    /// not repeated, see [`TreeCache::status`].)
    Snapshot(BTreeMap<String, ChildData>),
    /// The cache stopped: its session ended for good or the cache was
    /// dropped. The contents stay readable but are no longer kept.
    Closed(zk_client::Error),
}

/// Where a cache stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CacheStatus {
    /// One complete read has finished.
    pub initialized: bool,
    /// Complete reads finished so far (the first one included).
    pub full_reads: u64,
    /// The last complete read finished and every event seen since then has
    /// been applied: the cache is as current as the watch lets it be.
    pub in_sync: bool,
    /// Set when the cache has stopped for good.
    pub closed: Option<zk_client::Error>,
}

/// State shared by the cache handle and its task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) nodes: RwLock<BTreeMap<String, ChildData>>,
    pub(crate) events: broadcast::Sender<CacheEvent>,
    pub(crate) status: watch::Sender<CacheStatus>,
}

/// Options for a [`TreeCache`] (or, with [`NodeCache::builder`], a
/// [`NodeCache`]).
#[derive(Debug, Clone)]
pub struct TreeCacheBuilder {
    path: String,
    recursive: bool,
    event_buffer: usize,
    max_pending: usize,
    concurrency: usize,
}

impl TreeCacheBuilder {
    fn new(path: &str, recursive: bool) -> Self {
        TreeCacheBuilder {
            path: path.to_string(),
            recursive,
            event_buffer: 4096,
            max_pending: 10_000,
            concurrency: 128,
        }
    }

    /// Events held per subscriber (the most that ever wait for one)
    /// before a slow one gets [`CacheEvent::Lagged`] and a
    /// [`CacheEvent::Snapshot`] (default 4096; rounded up to a power of
    /// two, as tokio's broadcast channel does).
    pub fn event_buffer(mut self, n: usize) -> Self {
        self.event_buffer = n.max(1);
        self
    }

    /// Changed paths remembered before the cache gives up on them and reads
    /// the whole tree again (default 10,000).
    pub fn max_pending(mut self, n: usize) -> Self {
        self.max_pending = n.max(1);
        self
    }

    /// Reads kept in flight during a complete read (default 128).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Starts the cache on `client`; it ends when that client's session does.
    pub fn start(self, client: &Client) -> TreeCache {
        self.start_with(Source::Fixed(Some(client.clone())))
    }

    /// Starts the cache on the current client of `clients` and moves to
    /// each new client published there (a new session after an expiry:
    /// a `Session` publishes them), reading the
    /// whole tree again in each. The cache ends when the sender is dropped.
    pub fn start_following(self, clients: watch::Receiver<Client>) -> TreeCache {
        self.start_with(Source::Follow {
            clients,
            started: false,
        })
    }

    /// Starts the cache on `session` and follows it into each new session
    /// (see [`start_following`](Self::start_following)).
    pub fn start_on(self, session: &crate::Session) -> TreeCache {
        self.start_following(session.clients())
    }

    /// [`start_following`](Self::start_following) with a subscription made
    /// before the first read.
    pub fn start_following_with_events(
        self,
        clients: watch::Receiver<Client>,
    ) -> (TreeCache, CacheEvents) {
        self.start_subscribed(Source::Follow {
            clients,
            started: false,
        })
    }

    /// Like [`start`](Self::start), with a subscription made before the
    /// cache reads anything: it sees every node as [`CacheEvent::Added`],
    /// then [`CacheEvent::Initialized`].
    pub fn start_with_events(self, client: &Client) -> (TreeCache, CacheEvents) {
        self.start_subscribed(Source::Fixed(Some(client.clone())))
    }

    fn start_subscribed(self, source: Source) -> (TreeCache, CacheEvents) {
        let (events, rx) = broadcast::channel(self.event_buffer);
        let cache = self.spawn(source, events);
        let weak = Arc::downgrade(&cache.shared);
        (cache, CacheEvents::new(rx, weak))
    }

    fn start_with(self, source: Source) -> TreeCache {
        let (events, _) = broadcast::channel(self.event_buffer);
        self.spawn(source, events)
    }

    fn spawn(self, source: Source, events: broadcast::Sender<CacheEvent>) -> TreeCache {
        let (status, _) = watch::channel(CacheStatus::default());
        let shared = Arc::new(Shared {
            nodes: RwLock::new(BTreeMap::new()),
            events,
            status,
        });
        let task = tokio::spawn(engine::run(shared.clone(), source, self));
        TreeCache { shared, task }
    }
}

/// A cache of the subtree at a path, on a persistent-recursive watch (see
/// the [module docs](self)).
///
/// Dropping it stops the task and removes the watch.
#[derive(Debug)]
pub struct TreeCache {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl TreeCache {
    /// Options for a cache of the subtree at `path`.
    pub fn builder(path: &str) -> TreeCacheBuilder {
        TreeCacheBuilder::new(path, true)
    }

    /// A cache of the subtree at `path` with default options on `session`,
    /// following it into each new session.
    pub fn start_on(session: &crate::Session, path: &str) -> TreeCache {
        Self::builder(path).start_on(session)
    }

    /// A cache of the subtree at `path` with default options, on `client`.
    pub fn start(client: &Client, path: &str) -> TreeCache {
        Self::builder(path).start(client)
    }

    /// The cached node at `path`, if any.
    pub fn get(&self, path: &str) -> Option<ChildData> {
        read(&self.shared).get(path).cloned()
    }

    /// A consistent copy of every cached node, by path.
    pub fn snapshot(&self) -> BTreeMap<String, ChildData> {
        read(&self.shared).clone()
    }

    /// The number of cached nodes.
    pub fn len(&self) -> usize {
        read(&self.shared).len()
    }

    /// Whether the cache holds no node.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cached children names of `path`, sorted.
    pub fn children(&self, path: &str) -> Vec<String> {
        let nodes = read(&self.shared);
        let prefix = if path == "/" {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        nodes
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter_map(|(p, _)| {
                let rest = p.get(prefix.len()..)?;
                (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
            })
            .collect()
    }

    /// Events from now on (earlier ones are not replayed: see
    /// [`TreeCacheBuilder::start_with_events`] and
    /// [`TreeCache::snapshot_and_events`]).
    pub fn events(&self) -> CacheEvents {
        CacheEvents::new(self.shared.events.subscribe(), Arc::downgrade(&self.shared))
    }

    /// A snapshot and the events that follow it exactly (none missed, none
    /// repeated).
    pub fn snapshot_and_events(&self) -> (BTreeMap<String, ChildData>, CacheEvents) {
        let nodes = read(&self.shared);
        let events = CacheEvents::new(self.shared.events.subscribe(), Arc::downgrade(&self.shared));
        (nodes.clone(), events)
    }

    /// The cache's status now.
    pub fn status(&self) -> CacheStatus {
        self.shared.status.borrow().clone()
    }

    /// A receiver of [`CacheStatus`] changes.
    pub fn status_changes(&self) -> watch::Receiver<CacheStatus> {
        self.shared.status.subscribe()
    }

    /// Waits for the first complete read. Errors with the cache's terminal
    /// error if it stopped first.
    pub async fn initialized(&self) -> Result<(), zk_client::Error> {
        let mut rx = self.shared.status.subscribe();
        let r = rx
            .wait_for(|s| s.initialized || s.closed.is_some())
            .await
            .map(|s| s.clone());
        match r {
            Ok(s) if s.initialized => Ok(()),
            Ok(s) => Err(s.closed.unwrap_or(zk_client::Error::Closed)),
            Err(_) => Err(zk_client::Error::Closed),
        }
    }
}

impl Drop for TreeCache {
    fn drop(&mut self) {
        // Aborting drops the task's PersistentWatch, which removes the watch.
        self.task.abort();
    }
}

/// A cache of one node, on a persistent watch: the node's data and stat, or
/// `None` while it does not exist. Same guarantees as [`TreeCache`].
#[derive(Debug)]
pub struct NodeCache {
    inner: TreeCache,
    path: String,
}

impl NodeCache {
    /// Options for a cache of the node at `path` (use
    /// [`TreeCacheBuilder::start_node`]).
    pub fn builder(path: &str) -> TreeCacheBuilder {
        TreeCacheBuilder::new(path, false)
    }

    /// A cache of the node at `path` on `session`, following it into each
    /// new session.
    pub fn start_on(session: &crate::Session, path: &str) -> NodeCache {
        Self::builder(path).start_node_on(session)
    }

    /// A cache of the node at `path` on `client`.
    pub fn start(client: &Client, path: &str) -> NodeCache {
        Self::builder(path).start_node(client)
    }

    /// The node now, or `None` if it does not exist (or the cache has not
    /// read it yet: see [`NodeCache::initialized`]).
    pub fn current(&self) -> Option<ChildData> {
        self.inner.get(&self.path)
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Events from now on.
    pub fn events(&self) -> CacheEvents {
        self.inner.events()
    }

    /// The current node and the events that follow it exactly.
    pub fn current_and_events(&self) -> (Option<ChildData>, CacheEvents) {
        let (mut snap, ev) = self.inner.snapshot_and_events();
        (snap.remove(&self.path), ev)
    }

    /// The cache's status now.
    pub fn status(&self) -> CacheStatus {
        self.inner.status()
    }

    /// Waits for the first read of the node.
    pub async fn initialized(&self) -> Result<(), zk_client::Error> {
        self.inner.initialized().await
    }
}

impl TreeCacheBuilder {
    /// Starts a [`NodeCache`] (of the builder's path) on `client`.
    pub fn start_node(self, client: &Client) -> NodeCache {
        let path = self.path.clone();
        NodeCache {
            inner: TreeCacheBuilder {
                recursive: false,
                ..self
            }
            .start(client),
            path,
        }
    }
}

impl TreeCacheBuilder {
    /// Starts a [`NodeCache`] on `session`, following it into each new session.
    pub fn start_node_on(self, session: &crate::Session) -> NodeCache {
        self.start_node_following_with_events(session.clients()).0
    }

    /// A [`NodeCache`] on a series of clients (see
    /// [`start_following`](Self::start_following)), with a subscription
    /// made before the first read.
    pub fn start_node_following_with_events(
        self,
        clients: watch::Receiver<Client>,
    ) -> (NodeCache, CacheEvents) {
        let path = self.path.clone();
        let (inner, events) = TreeCacheBuilder {
            recursive: false,
            ..self
        }
        .start_following_with_events(clients);
        (NodeCache { inner, path }, events)
    }

    /// Like [`start_node`](Self::start_node), with a subscription made
    /// before the first read.
    pub fn start_node_with_events(self, client: &Client) -> (NodeCache, CacheEvents) {
        let path = self.path.clone();
        let (inner, events) = TreeCacheBuilder {
            recursive: false,
            ..self
        }
        .start_with_events(client);
        (NodeCache { inner, path }, events)
    }
}

/// Reads the map; a poisoned lock still holds consistent data (every write
/// replaces entries whole), so it is read through.
pub(crate) fn read(shared: &Shared) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, ChildData>> {
    shared
        .nodes
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

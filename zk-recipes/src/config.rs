//! Typed configuration: a JSON node parsed with serde, kept current by a
//! [`NodeCache`].
//!
//! [`TypedConfig::current`] is the last value that parsed; a value that does
//! not parse is reported ([`ConfigEvent::Invalid`], [`TypedConfig::last_error`])
//! and the last good value stays.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use tokio::sync::{broadcast, watch};
use zk_client::Client;

use crate::cache::{CacheEvent, CacheEvents, NodeCache};

/// A change of a [`TypedConfig`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigEvent<T> {
    /// A new value that parsed (also the initial one).
    Value(Arc<T>),
    /// The node holds a value that does not parse; the last good value stays.
    Invalid(String),
    /// The node does not exist (initially, or it was deleted); the last good
    /// value stays.
    Missing,
    /// The config stopped following the node (its session ended).
    Closed(zk_client::Error),
}

impl<T> Clone for ConfigEvent<T> {
    fn clone(&self) -> Self {
        match self {
            ConfigEvent::Value(v) => ConfigEvent::Value(v.clone()),
            ConfigEvent::Invalid(s) => ConfigEvent::Invalid(s.clone()),
            ConfigEvent::Missing => ConfigEvent::Missing,
            ConfigEvent::Closed(e) => ConfigEvent::Closed(e.clone()),
        }
    }
}

#[derive(Debug)]
struct State<T> {
    value: Option<Arc<T>>,
    error: Option<String>,
    /// The last event sent: a new subscriber starts with it.
    last: Option<ConfigEvent<T>>,
}

/// A typed view of a JSON config node (see the [module docs](self)).
#[derive(Debug)]
pub struct TypedConfig<T> {
    cache: Arc<NodeCache>,
    state: Arc<Mutex<State<T>>>,
    events: broadcast::Sender<ConfigEvent<T>>,
    ready: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
    _t: PhantomData<fn() -> T>,
}

impl<T> TypedConfig<T>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    /// Follows the node at `path` on `client` (until its session ends).
    pub fn start(client: &Client, path: &str) -> TypedConfig<T> {
        Self::from_cache(NodeCache::builder(path).start_node_with_events(client))
    }

    /// Follows the node at `path` on `session`, across new sessions.
    pub fn start_on(session: &crate::Session, path: &str) -> TypedConfig<T> {
        Self::from_cache(
            NodeCache::builder(path).start_node_following_with_events(session.clients()),
        )
    }

    fn from_cache((cache, cache_events): (NodeCache, CacheEvents)) -> TypedConfig<T> {
        let cache = Arc::new(cache);
        let state = Arc::new(Mutex::new(State {
            value: None,
            error: None,
            last: None,
        }));
        let (events, _) = broadcast::channel(256);
        let (ready_tx, ready) = watch::channel(false);
        let task = tokio::spawn(follow(
            cache.clone(),
            cache_events,
            state.clone(),
            events.clone(),
            ready_tx,
        ));
        TypedConfig {
            cache,
            state,
            events,
            ready,
            task,
            _t: PhantomData,
        }
    }

    /// The last value that parsed, if any.
    pub fn current(&self) -> Option<Arc<T>> {
        lock(&self.state).value.clone()
    }

    /// Why the node's present value does not parse (`None` when it does, or
    /// when the node is missing).
    pub fn last_error(&self) -> Option<String> {
        lock(&self.state).error.clone()
    }

    /// Waits for the first read of the node (which may find it missing or
    /// invalid). Errors when the session ended first.
    pub async fn initialized(&self) -> Result<(), zk_client::Error> {
        let mut ready = self.ready.clone();
        if ready.wait_for(|r| *r).await.is_ok() {
            return Ok(());
        }
        self.cache.initialized().await
    }

    /// The current state (once the first read is done: the value, why it
    /// does not parse, or the node's absence), then every change: each value
    /// that parses, each that does not, the node's absence. A subscriber
    /// that falls behind gets the current state again instead of what it
    /// missed.
    pub fn changes(&self) -> ConfigChanges<T> {
        let s = lock(&self.state);
        ConfigChanges {
            initial: s.last.clone(),
            rx: self.events.subscribe(),
            state: self.state.clone(),
        }
    }
}

impl<T> Drop for TypedConfig<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A subscription to a [`TypedConfig`]'s changes.
#[derive(Debug)]
pub struct ConfigChanges<T> {
    initial: Option<ConfigEvent<T>>,
    rx: broadcast::Receiver<ConfigEvent<T>>,
    state: Arc<Mutex<State<T>>>,
}

impl<T> ConfigChanges<T> {
    /// The next change; `None` once the config has stopped.
    pub async fn recv(&mut self) -> Option<ConfigEvent<T>> {
        if let Some(ev) = self.initial.take() {
            return Some(ev);
        }
        match self.rx.recv().await {
            Ok(ev) => Some(ev),
            Err(broadcast::error::RecvError::Lagged(_)) => lock(&self.state).last.clone(),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn follow<T: DeserializeOwned + Send + Sync + 'static>(
    cache: Arc<NodeCache>,
    mut events: CacheEvents,
    state: Arc<Mutex<State<T>>>,
    out: broadcast::Sender<ConfigEvent<T>>,
    ready: watch::Sender<bool>,
) {
    let parse = |data: &[u8]| -> ConfigEvent<T> {
        match serde_json::from_slice::<T>(data) {
            Ok(v) => {
                let v = Arc::new(v);
                let mut s = lock(&state);
                s.value = Some(v.clone());
                s.error = None;
                ConfigEvent::Value(v)
            }
            Err(e) => {
                let reason = format!("{e}");
                lock(&state).error = Some(reason.clone());
                ConfigEvent::Invalid(reason)
            }
        }
    };
    let missing = || {
        lock(&state).error = None;
        ConfigEvent::Missing
    };
    let mut last_data: Option<bytes::Bytes> = None;
    while let Some(ev) = events.recv().await {
        let out_ev = match ev {
            CacheEvent::Added(n) | CacheEvent::Updated { new: n, .. } => {
                // A stat-only change (a child, a rewrite of equal bytes) is no config change.
                if last_data.as_ref() == Some(&n.data) {
                    continue;
                }
                last_data = Some(n.data.clone());
                if *ready.borrow() {
                    parse(&n.data)
                } else {
                    // Reported with Initialized, once the read is complete.
                    continue;
                }
            }
            CacheEvent::Removed(_) => {
                last_data = None;
                if !*ready.borrow() {
                    continue;
                }
                missing()
            }
            // Initialized, or a lag's snapshot that skipped over it.
            CacheEvent::Initialized | CacheEvent::Snapshot(_)
                if !*ready.borrow() && cache.status().initialized =>
            {
                // The state first, then `ready`: whoever awaited `initialized()`
                // must find the first value in `current()`.
                let first = match cache.current() {
                    Some(n) => {
                        last_data = Some(n.data.clone());
                        parse(&n.data)
                    }
                    None => missing(),
                };
                let _ = ready.send(true);
                first
            }
            CacheEvent::Initialized => continue,
            CacheEvent::Lagged { .. } | CacheEvent::Resynced | CacheEvent::Snapshot(_) => {
                let now = cache.current().map(|n| n.data);
                if now == last_data || !*ready.borrow() {
                    continue;
                }
                last_data = now.clone();
                match now {
                    Some(d) => parse(&d),
                    None => missing(),
                }
            }
            CacheEvent::Closed(e) => ConfigEvent::Closed(e),
        };
        // Under the lock, so that a new subscriber gets either this event
        // as its first one or from its receiver, never both or neither.
        let mut s = lock(&state);
        s.last = Some(out_ev.clone());
        let _ = out.send(out_ev);
    }
}

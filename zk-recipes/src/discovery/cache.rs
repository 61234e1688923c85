//! A cache of one service's instances, and providers that pick one.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use zk_client::Client;

use super::instance::ServiceInstance;
use super::service_path;
use crate::cache::{CacheEvent, CacheEvents, TreeCache};

/// The instances of one service, kept current by a [`TreeCache`] on
/// `<base>/<name>` (Curator's `ServiceCache`).
#[derive(Debug)]
pub struct ServiceCache<P = serde_json::Value> {
    cache: Arc<TreeCache>,
    path: String,
    tx: Arc<watch::Sender<Vec<ServiceInstance<P>>>>,
    ready: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
    _p: PhantomData<fn() -> P>,
}

impl<P> ServiceCache<P>
where
    P: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Follows the instances of `name` under `base` on `client`.
    pub fn start(client: &Client, base: &str, name: &str) -> ServiceCache<P> {
        let path = service_path(base, name);
        let (cache, events) = TreeCache::builder(&path).start_with_events(client);
        Self::spawn(cache, events, path)
    }

    /// Follows the instances of `name` under `base` on the current client
    /// of `clients`, moving to each new one (see
    /// [`TreeCacheBuilder::start_following`](crate::cache::TreeCacheBuilder::start_following)).
    pub fn following(clients: watch::Receiver<Client>, base: &str, name: &str) -> ServiceCache<P> {
        let path = service_path(base, name);
        let (cache, events) = TreeCache::builder(&path).start_following_with_events(clients);
        Self::spawn(cache, events, path)
    }

    fn spawn(cache: TreeCache, events: CacheEvents, path: String) -> ServiceCache<P> {
        let cache = Arc::new(cache);
        let (tx, _) = watch::channel(Vec::new());
        let tx = Arc::new(tx);
        let (ready_tx, ready) = watch::channel(false);
        let task = tokio::spawn(follow(
            cache.clone(),
            events,
            path.clone(),
            tx.clone(),
            ready_tx,
        ));
        ServiceCache {
            cache,
            path,
            tx,
            ready,
            task,
            _p: PhantomData,
        }
    }

    /// The instances now, sorted by id. Nodes whose data does not parse as
    /// an instance are left out (and logged).
    pub fn instances(&self) -> Vec<ServiceInstance<P>> {
        self.tx.borrow().clone()
    }

    /// A receiver that sees the instance list each time it changes (after
    /// the first complete read).
    pub fn changes(&self) -> watch::Receiver<Vec<ServiceInstance<P>>> {
        self.tx.subscribe()
    }

    /// Waits for the first complete read.
    pub async fn initialized(&self) -> Result<(), zk_client::Error> {
        let mut ready = self.ready.clone();
        if ready.wait_for(|r| *r).await.is_ok() {
            return Ok(());
        }
        // The task ended before the first list: the cache says why.
        self.cache.initialized().await?;
        Err(zk_client::Error::Closed)
    }

    /// The service's path.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl<P> Drop for ServiceCache<P> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn list<P: DeserializeOwned>(cache: &TreeCache, path: &str) -> Vec<ServiceInstance<P>> {
    let mut out: Vec<ServiceInstance<P>> = cache
        .children(path)
        .into_iter()
        .filter_map(|name| {
            let node = cache.get(&format!("{path}/{name}"))?;
            match ServiceInstance::<P>::from_json(&node.data) {
                Ok(i) => Some(i),
                Err(e) => {
                    tracing::warn!(path = %node.path, error = %e, "discovery: not a service instance");
                    None
                }
            }
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

async fn follow<P: DeserializeOwned + Clone + Send + Sync + 'static>(
    cache: Arc<TreeCache>,
    mut events: CacheEvents,
    path: String,
    tx: Arc<watch::Sender<Vec<ServiceInstance<P>>>>,
    ready_tx: watch::Sender<bool>,
) {
    let mut ready = false;
    let mut last_ids: Vec<(String, bytes::Bytes)> = Vec::new();
    while let Some(ev) = events.recv().await {
        match ev {
            CacheEvent::Initialized => ready = true,
            // A lag's snapshot may have skipped over Initialized.
            CacheEvent::Snapshot(_) if cache.status().initialized => ready = true,
            CacheEvent::Closed(_) => break,
            _ => {}
        }
        if !ready {
            continue;
        }
        // Publish only when an instance node's data or the set changed.
        let now: Vec<(String, bytes::Bytes)> = cache
            .children(&path)
            .into_iter()
            .filter_map(|n| cache.get(&format!("{path}/{n}")).map(|d| (n, d.data)))
            .collect();
        if now == last_ids && !matches!(ev, CacheEvent::Initialized) {
            continue;
        }
        last_ids = now;
        let list = list::<P>(&cache, &path);
        tx.send_replace(list);
        ready_tx.send_replace(true);
    }
}

/// How a [`ServiceProvider`] picks an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProviderStrategy {
    /// Each in turn (the default).
    #[default]
    RoundRobin,
    /// Uniformly at random.
    Random,
    /// The same one for as long as it is there (then round robin).
    Sticky,
}

/// Picks instances of a service from a [`ServiceCache`] by a
/// [`ProviderStrategy`], skipping disabled instances and those marked down
/// by [`ServiceProvider::note_error`] (Curator's `ServiceProvider` with its
/// `DownInstancePolicy`: down for `down_for` after `error_threshold` errors).
#[derive(Debug)]
pub struct ServiceProvider<P = serde_json::Value> {
    cache: ServiceCache<P>,
    strategy: ProviderStrategy,
    down_for: Duration,
    error_threshold: u32,
    state: Mutex<ProviderState>,
}

#[derive(Debug, Default)]
struct ProviderState {
    next: usize,
    sticky: Option<String>,
    errors: HashMap<String, (u32, Instant)>,
    down: HashMap<String, Instant>,
}

impl<P> ServiceProvider<P>
where
    P: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// A provider over `cache` (down policy: 2 errors, down for 30 s, as
    /// Curator's defaults).
    pub fn new(cache: ServiceCache<P>, strategy: ProviderStrategy) -> Self {
        ServiceProvider {
            cache,
            strategy,
            down_for: Duration::from_secs(30),
            error_threshold: 2,
            state: Mutex::new(ProviderState::default()),
        }
    }

    /// Marks an instance down for `down_for` after `errors` noted errors.
    pub fn with_down_policy(mut self, down_for: Duration, errors: u32) -> Self {
        self.down_for = down_for;
        self.error_threshold = errors.max(1);
        self
    }

    /// The cache behind the provider.
    pub fn cache(&self) -> &ServiceCache<P> {
        &self.cache
    }

    /// Reports a failed call to `instance`; past the threshold it is
    /// skipped for a while.
    pub fn note_error(&self, instance: &ServiceInstance<P>) {
        let mut s = self.lock();
        let now = Instant::now();
        let entry = s.errors.entry(instance.id.clone()).or_insert((0, now));
        if now.duration_since(entry.1) > self.down_for {
            *entry = (0, now);
        }
        entry.0 += 1;
        if entry.0 >= self.error_threshold {
            s.errors.remove(&instance.id);
            s.down.insert(instance.id.clone(), now + self.down_for);
        }
    }

    /// The live, enabled instances not marked down.
    pub fn all_instances(&self) -> Vec<ServiceInstance<P>> {
        let now = Instant::now();
        let mut s = self.lock();
        s.down.retain(|_, until| *until > now);
        let down = s.down.clone();
        drop(s);
        self.cache
            .instances()
            .into_iter()
            .filter(|i| i.enabled && !down.contains_key(&i.id))
            .collect()
    }

    /// One instance by the strategy, `None` when there is none.
    pub fn get_instance(&self) -> Option<ServiceInstance<P>> {
        let all = self.all_instances();
        if all.is_empty() {
            return None;
        }
        let mut s = self.lock();
        match self.strategy {
            ProviderStrategy::Random => {
                let k = rand::rng().random_range(0..all.len());
                all.into_iter().nth(k)
            }
            ProviderStrategy::RoundRobin => {
                let k = s.next % all.len();
                s.next = s.next.wrapping_add(1);
                all.into_iter().nth(k)
            }
            ProviderStrategy::Sticky => {
                if let Some(id) = &s.sticky {
                    if let Some(i) = all.iter().find(|i| &i.id == id) {
                        return Some(i.clone());
                    }
                }
                let k = s.next % all.len();
                s.next = s.next.wrapping_add(1);
                let pick = all.into_iter().nth(k)?;
                s.sticky = Some(pick.id.clone());
                Some(pick)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ProviderState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

//! A subscriber's view of a cache's events.

use std::collections::BTreeMap;
use std::sync::Weak;

use tokio::sync::broadcast;

use super::{read, CacheEvent, ChildData, Shared};

/// A subscription to a cache's [`CacheEvent`]s, from
/// [`TreeCache::events`](super::TreeCache::events).
///
/// Bounded: at most the cache's event buffer
/// ([`TreeCacheBuilder::event_buffer`](super::TreeCacheBuilder::event_buffer))
/// of events are held for a subscriber ([`CacheEvents::behind`]). A subscriber
/// that falls further behind is resynced, never silently skipped: it gets
/// one [`CacheEvent::Lagged`] saying how many events it missed, then one
/// [`CacheEvent::Snapshot`] with the cache's whole contents, and then the
/// events that follow that snapshot exactly (none missed, none repeated).
/// A subscriber that applies `Snapshot` as "replace everything" and the
/// other events as they come always converges to the cache.
#[derive(Debug)]
pub struct CacheEvents {
    rx: broadcast::Receiver<CacheEvent>,
    /// The cache, to resync a lagging subscriber (weak: a subscription does
    /// not keep a dropped cache's channel open).
    shared: Weak<Shared>,
    /// The snapshot to hand out after a `Lagged`.
    snapshot: Option<BTreeMap<String, ChildData>>,
    done: bool,
}

impl CacheEvents {
    pub(crate) fn new(rx: broadcast::Receiver<CacheEvent>, shared: Weak<Shared>) -> Self {
        CacheEvents {
            rx,
            shared,
            snapshot: None,
            done: false,
        }
    }

    /// The next event; `None` after [`CacheEvent::Closed`] (or once the
    /// cache is dropped).
    pub async fn recv(&mut self) -> Option<CacheEvent> {
        if let Some(nodes) = self.snapshot.take() {
            return Some(CacheEvent::Snapshot(nodes));
        }
        if self.done {
            return None;
        }
        match self.rx.recv().await {
            Ok(ev) => {
                if matches!(ev, CacheEvent::Closed(_)) {
                    self.done = true;
                }
                Some(ev)
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                self.resync();
                Some(CacheEvent::Lagged { missed })
            }
            Err(broadcast::error::RecvError::Closed) => {
                self.done = true;
                None
            }
        }
    }

    /// After a lag: drops what is queued, takes a snapshot and subscribes
    /// again, under the cache's lock (the cache changes its contents and
    /// sends their events under the same lock, so the new subscription
    /// starts exactly after the snapshot). A dropped cache ends the stream.
    fn resync(&mut self) {
        let Some(shared) = self.shared.upgrade() else {
            self.done = true;
            return;
        };
        let nodes = read(&shared);
        self.rx = shared.events.subscribe();
        self.snapshot = Some(nodes.clone());
    }

    /// How many events were sent since this subscriber last read. Only the
    /// last [event buffer](super::TreeCacheBuilder::event_buffer)'s worth of
    /// them are held for it; the rest are already dropped and come back as
    /// [`CacheEvent::Lagged`]'s `missed`, then a [`CacheEvent::Snapshot`].
    pub fn behind(&self) -> usize {
        self.rx.len()
    }

    /// The events as a [`futures::Stream`].
    pub fn into_stream(self) -> impl futures::Stream<Item = CacheEvent> + Send + 'static {
        futures::stream::unfold(
            self,
            |mut ev| async move { ev.recv().await.map(|e| (e, ev)) },
        )
    }
}

//! A subscriber's view of a cache's events.

use tokio::sync::broadcast;

use super::CacheEvent;

/// A subscription to a cache's [`CacheEvent`]s, from
/// [`TreeCache::events`](super::TreeCache::events).
///
/// Bounded: a subscriber that falls behind by more than the cache's event
/// buffer gets one [`CacheEvent::Lagged`] for what it missed.
#[derive(Debug)]
pub struct CacheEvents {
    rx: broadcast::Receiver<CacheEvent>,
    done: bool,
}

impl CacheEvents {
    pub(crate) fn new(rx: broadcast::Receiver<CacheEvent>) -> Self {
        CacheEvents { rx, done: false }
    }

    /// The next event; `None` after [`CacheEvent::Closed`] (or once the
    /// cache is dropped).
    pub async fn recv(&mut self) -> Option<CacheEvent> {
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
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(CacheEvent::Lagged { missed }),
            Err(broadcast::error::RecvError::Closed) => {
                self.done = true;
                None
            }
        }
    }

    /// The events as a [`futures::Stream`].
    pub fn into_stream(self) -> impl futures::Stream<Item = CacheEvent> + Send + 'static {
        futures::stream::unfold(
            self,
            |mut ev| async move { ev.recv().await.map(|e| (e, ev)) },
        )
    }
}

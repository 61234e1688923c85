//! Persistent watches: streams of every event on a node or a subtree.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::{mpsc, oneshot};

use crate::error::Error;
use crate::event::PersistentEvent;
use crate::session::submit::{Shared, Work};

/// A persistent (or persistent-recursive) watch: a [`Stream`] of
/// [`PersistentEvent`]s, from
/// [`Client::watch_persistent`](crate::Client::watch_persistent) and
/// [`Client::watch_persistent_recursive`](crate::Client::watch_persistent_recursive).
///
/// - It never goes silent: after every reconnect it yields
///   [`PersistentEvent::Resync`] (events may have been missed), and when the
///   session ends it yields [`PersistentEvent::Closed`] and then ends.
/// - Events are buffered without bound until read; a consumer that stops
///   reading should drop the watch.
/// - Dropping it removes the watch: locally at once, and on the server
///   (removeWatches) unless another watch of this client still needs the
///   server-side registration. [`remove`](Self::remove) does the same and
///   waits for the server's answer.
#[must_use = "a persistent watch does nothing unless polled"]
pub struct PersistentWatch {
    rx: mpsc::UnboundedReceiver<PersistentEvent>,
    id: u64,
    path: String,
    recursive: bool,
    shared: Arc<Shared>,
    /// A terminal item was yielded: the stream is over.
    done: bool,
    /// Removal was already requested (by `remove`).
    removed: bool,
}

impl PersistentWatch {
    pub(crate) fn new(
        rx: mpsc::UnboundedReceiver<PersistentEvent>,
        id: u64,
        path: String,
        recursive: bool,
        shared: Arc<Shared>,
    ) -> Self {
        PersistentWatch {
            rx,
            id,
            path,
            recursive,
            shared,
            done: false,
            removed: false,
        }
    }

    /// The watched path (relative to the chroot).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the watch covers the whole subtree.
    pub fn is_recursive(&self) -> bool {
        self.recursive
    }

    /// Removes the watch and waits until the server has removed it too
    /// (when it had to: see the type's docs).
    ///
    /// Errors: `ConnectionLoss` when the connection dropped before the
    /// server answered (the watch is still gone locally and is not
    /// re-registered), the session's terminal error when it is over.
    pub fn remove(mut self) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        self.removed = true;
        self.shared.submit(Work::RemovePersistent {
            id: self.id,
            reply: Some(tx),
        });
        async move { rx.await.unwrap_or(Err(Error::Closed)) }
    }
}

impl fmt::Debug for PersistentWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistentWatch")
            .field("path", &self.path)
            .field("recursive", &self.recursive)
            .finish_non_exhaustive()
    }
}

impl Stream for PersistentWatch {
    type Item = PersistentEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<PersistentEvent>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(ev)) => {
                if matches!(ev, PersistentEvent::Closed(_)) {
                    self.done = true;
                }
                Poll::Ready(Some(ev))
            }
            // The session task is gone without a word: the client is closed.
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(Some(PersistentEvent::Closed(Error::Closed)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for PersistentWatch {
    fn drop(&mut self) {
        if !self.removed && !self.done {
            self.shared.submit(Work::RemovePersistent {
                id: self.id,
                reply: None,
            });
        }
    }
}

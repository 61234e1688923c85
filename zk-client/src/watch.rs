//! One-shot watches: futures that resolve to the next event on a node.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;
use zk_proto::EventType;

use crate::error::Error;

/// A node event delivered to a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchedEvent {
    /// What happened.
    pub event_type: EventType,
    /// The node's path, relative to the client's chroot.
    pub path: String,
    /// The zxid of the change (ZooKeeper 3.9+); −1 from older servers.
    pub zxid: i64,
}

/// The kind of a one-shot watch, which decides the events that trigger it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum WatchKind {
    /// Left by getData, or by exists on an existing node: fires on data
    /// change, delete (and create, for symmetry with Java).
    Data,
    /// Left by exists on a missing node: fires on create (and data change / delete).
    Exist,
    /// Left by getChildren: fires on child change and delete.
    Child,
}

impl WatchKind {
    /// The kinds an event of `event_type` triggers (as Java's `ZKWatchManager` does).
    pub(crate) fn triggered_by(event_type: EventType) -> &'static [WatchKind] {
        match event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                &[WatchKind::Data, WatchKind::Exist]
            }
            EventType::NodeDeleted => &[WatchKind::Data, WatchKind::Exist, WatchKind::Child],
            EventType::NodeChildrenChanged => &[WatchKind::Child],
            _ => &[],
        }
    }
}

pub(crate) type WatchSender = oneshot::Sender<Result<WatchedEvent, Error>>;

/// A one-shot watch: a future that resolves to the next event on the node.
///
/// Returned by the `*_watch` methods of [`Client`](crate::Client) together
/// with the read's result; the watch is registered only when the read
/// succeeds (for `exists`, also when the node is absent).
///
/// Resolves to:
/// - `Ok(event)` when the node changes;
/// - `Err(Error::SessionExpired)`, `Err(Error::AuthFailed)` or
///   `Err(Error::Closed)` when the session ends first, so it never hangs
///   past the session's life.
///
/// A watch survives connection loss: the client re-registers it on the
/// server after reconnecting within the session (SetWatches, with the last
/// zxid seen, so a change made while disconnected fires at once).
///
/// Dropping the future unsubscribes locally; the server-side watch (shared
/// by every watcher of that node and kind) stays until it fires, and the
/// client drops its bookkeeping then.
#[must_use = "a watch does nothing unless awaited"]
pub struct OneshotWatch {
    rx: oneshot::Receiver<Result<WatchedEvent, Error>>,
}

impl OneshotWatch {
    pub(crate) fn new(rx: oneshot::Receiver<Result<WatchedEvent, Error>>) -> Self {
        OneshotWatch { rx }
    }
}

impl fmt::Debug for OneshotWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneshotWatch").finish_non_exhaustive()
    }
}

impl Future for OneshotWatch {
    type Output = Result<WatchedEvent, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(r)) => Poll::Ready(r),
            // The session task is gone (the client was closed or dropped).
            Poll::Ready(Err(_)) => Poll::Ready(Err(Error::Closed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

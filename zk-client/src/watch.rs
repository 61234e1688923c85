//! One-shot watches: futures that resolve to the next event on a node.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::error::Error;
use crate::event::{WatchKind, WatchedEvent, WatcherKind};
use crate::session::submit::{Shared, Work};

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
/// **Removal.** Dropping the future unsubscribes locally; the server-side
/// watch (one per node and table, shared by every watcher of this client)
/// then stays until it fires, and is not set again after a reconnect. To
/// leave nothing on the server, call [`remove`](Self::remove), or make the
/// watch [`remove_on_drop`](Self::remove_on_drop) (a lock waiter that gives
/// up, a cancelled task): the server-side watch is then removed
/// (removeWatches) unless another live watcher of this client on the same
/// node and table still needs it.
///
/// ```no_run
/// # async fn demo(client: zk_client::Client) -> Result<(), zk_client::Error> {
/// use std::time::Duration;
///
/// let (_, watch) = client.exists_watch("/locks/lock-0000000007").await?;
/// let watch = watch.remove_on_drop();
/// // Gives up after 5 s: the timeout drops the watch, which removes it.
/// let _ = tokio::time::timeout(Duration::from_secs(5), watch).await;
/// # Ok(()) }
/// ```
#[must_use = "a watch does nothing unless awaited"]
pub struct OneshotWatch {
    rx: oneshot::Receiver<Result<WatchedEvent, Error>>,
    /// What to remove on the server: `None` for a watch that was never set.
    target: Option<Target>,
    remove_on_drop: bool,
    /// The watch resolved (or was removed): nothing is left to remove.
    done: bool,
}

struct Target {
    shared: Arc<Shared>,
    server_path: String,
    kind: WatcherKind,
}

impl OneshotWatch {
    pub(crate) fn new(
        rx: oneshot::Receiver<Result<WatchedEvent, Error>>,
        shared: Arc<Shared>,
        server_path: Option<String>,
        kind: WatchKind,
    ) -> Self {
        OneshotWatch {
            rx,
            target: server_path.map(|server_path| Target {
                shared,
                server_path,
                kind: kind.table(),
            }),
            remove_on_drop: false,
            done: false,
        }
    }

    /// Removes this watch: locally at once (it will not resolve), and on
    /// the server unless another live watcher of this client needs the
    /// same server-side watch (the same node, and data or child table).
    /// Resolves when the server has answered. A watch that already fired
    /// leaves nothing to remove; a connection lost or a session ended
    /// meanwhile took the server-side watch with it; both are `Ok`.
    ///
    /// Notable errors: those of removeWatches other than NOWATCHER
    /// (`Unimplemented` on servers before 3.5).
    pub fn remove(mut self) -> impl Future<Output = Result<(), Error>> + Send + 'static {
        let rx = self.start_removal(true);
        async move {
            match rx {
                Some(rx) => rx.await.unwrap_or(Ok(())),
                None => Ok(()),
            }
        }
    }

    /// Makes dropping this watch before it resolves remove it as
    /// [`remove`](Self::remove) does, in the background.
    pub fn remove_on_drop(mut self) -> Self {
        self.remove_on_drop = true;
        self
    }

    /// Closes the receiver (so the task sees this watcher gone) and, unless
    /// the watch already resolved, asks the task to remove it on the server.
    fn start_removal(&mut self, want_reply: bool) -> Option<oneshot::Receiver<Result<(), Error>>> {
        self.rx.close();
        if std::mem::replace(&mut self.done, true) {
            return None;
        }
        // Resolved already (fired, or the session ended): nothing to remove.
        if self.rx.try_recv().is_ok() {
            return None;
        }
        let target = self.target.take()?;
        let (tx, rx) = if want_reply {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        target.shared.submit(Work::DropWatch {
            server_path: target.server_path,
            kind: target.kind,
            reply: tx,
        });
        rx
    }
}

impl Drop for OneshotWatch {
    fn drop(&mut self) {
        if self.remove_on_drop {
            self.start_removal(false);
        }
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
        let r = match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(r)) => r,
            // The session task is gone (the client was closed or dropped).
            Poll::Ready(Err(_)) => Err(Error::Closed),
            Poll::Pending => return Poll::Pending,
        };
        self.done = true;
        Poll::Ready(r)
    }
}

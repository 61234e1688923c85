//! A barrier (Curator's `DistributedBarrier` layout): closed while its node
//! exists; waiters pass once it is removed.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;
use zk_client::{CreateMode, OneshotWatch, WatchedEvent};

use crate::error::{Error, Result};
use crate::protected::{create_with_container_parents, split};
use crate::session::Session;

/// A barrier at `path`: closed while the node exists, open once it is gone.
///
/// Layout (Curator's `DistributedBarrier`, so Java and Rust processes can
/// share one barrier): the node `path` itself, PERSISTENT, its parents
/// created as containers.
///
/// [`Barrier::wait`] reads the node again on every wake-up, so nothing but
/// its deletion lets a waiter through (a data change on it fires the watch
/// too). A connection loss is retried after a short pause, and the watch
/// survives reconnects. The node is persistent, so a wait goes on in the
/// [`Session`]'s next session after an expiry; it ends with
/// [`Error::Closed`] when the session is closed, so it never outlives it.
#[derive(Clone)]
pub struct Barrier {
    session: Session,
    path: String,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Barrier {
    /// A barrier at `path` (nothing is created until [`Barrier::set`]).
    ///
    /// Errors: [`Error::InvalidArgument`] for a path that is not absolute.
    pub fn new(session: &Session, path: &str) -> Result<Self> {
        split(path)?;
        Ok(Barrier {
            session: session.clone(),
            path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// The barrier's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Closes the barrier: creates its node (already closed is fine).
    pub async fn set(&self) -> Result<()> {
        let client = self.session.client();
        match create_with_container_parents(&client, &self.path, b"", CreateMode::Persistent).await
        {
            Ok(_) | Err(zk_client::Error::NodeExists) => Ok(()),
            Err(e) => Err(Error::from_client(e)),
        }
    }

    /// Opens the barrier: deletes its node (already open is fine).
    pub async fn remove(&self) -> Result<()> {
        match self.session.client().delete(&self.path, None).await {
            Ok(()) | Err(zk_client::Error::NoNode) => Ok(()),
            Err(e) => Err(Error::from_client(e)),
        }
    }

    /// Whether the barrier is closed now.
    pub async fn is_set(&self) -> Result<bool> {
        match self.session.client().exists(&self.path).await {
            Ok(stat) => Ok(stat.is_some()),
            Err(e) => Err(Error::from_client(e)),
        }
    }

    /// Waits, without a time limit, until the barrier is open.
    ///
    /// Errors: [`Error::Closed`] once the session is closed; a client error
    /// that is not transient (NOAUTH, for example).
    pub async fn wait(&self) -> Result<()> {
        // Without a deadline the wait never reports a timeout.
        self.wait_until(None).await.map(|_| ())
    }

    /// Waits at most `timeout`: `Ok(true)` once open, `Ok(false)` if still
    /// closed (or unreachable) at the deadline. A `timeout` past what the
    /// clock can represent (`Duration::MAX`) means no deadline.
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<bool> {
        self.wait_until(Instant::now().checked_add(timeout)).await
    }

    async fn wait_until(&self, deadline: Option<Instant>) -> Result<bool> {
        loop {
            if self.session.is_closed() {
                return Err(Error::Closed);
            }
            let client = self.session.client();
            let step = async {
                let (stat, watch) = client.exists_watch(&self.path).await?;
                if stat.is_none() {
                    return Ok(Some(true));
                }
                match until(watch, deadline).await {
                    // Whatever fired the watch, the node is read again.
                    Some(Ok(_)) => Ok(None),
                    Some(Err(e)) => Err(e),
                    None => Ok(Some(client.exists(&self.path).await?.is_none())),
                }
            };
            match step.await {
                Ok(Some(open)) => return Ok(open),
                Ok(None) => {}
                // The session ended: the node is persistent, so the wait
                // goes on with the session's next client.
                Err(e) if e.is_retriable() || e.is_terminal() => {
                    tracing::debug!(path = %self.path, error = %e, "barrier wait: retrying");
                    if !pause(deadline).await {
                        return Ok(false);
                    }
                }
                Err(e) => return Err(Error::from_client(e)),
            }
        }
    }
}

/// The watch's event (or its error), or `None` at the deadline.
pub(crate) async fn until(
    watch: OneshotWatch,
    deadline: Option<Instant>,
) -> Option<zk_client::Result<WatchedEvent>> {
    match deadline {
        None => Some(watch.await),
        Some(d) => tokio::time::timeout_at(d, watch).await.ok(),
    }
}

/// The pause after a transient failure; false if the deadline has passed.
pub(crate) async fn pause(deadline: Option<Instant>) -> bool {
    let wake = Instant::now() + Duration::from_millis(50);
    match deadline {
        Some(d) if d <= Instant::now() => false,
        Some(d) => {
            tokio::time::sleep_until(wake.min(d)).await;
            true
        }
        None => {
            tokio::time::sleep_until(wake).await;
            true
        }
    }
}

//! Guaranteed deletes: keep deleting in the background until the node is
//! gone or the session that owns it is.

use std::time::Duration;

use tokio::sync::watch;
use zk_client::Client;

use crate::session::Session;

/// How a guaranteed delete ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeleteOutcome {
    /// The delete succeeded.
    Deleted,
    /// The node was already gone.
    AlreadyGone,
    /// The owning client's session ended (expired or closed): an ephemeral
    /// node of that session is deleted by the server with it (at once on a
    /// close that reached the server, else when the server expires it).
    SessionEnded,
    /// The delete failed for good (for example NOAUTH or NOTEMPTY); the node
    /// remains.
    Failed(zk_client::Error),
}

/// A guaranteed delete in progress; see [`guaranteed_delete`].
///
/// Dropping the handle does not stop the delete.
#[derive(Debug, Clone)]
pub struct DeleteHandle {
    rx: watch::Receiver<Option<DeleteOutcome>>,
}

impl DeleteHandle {
    /// Waits until the delete has ended, and says how.
    pub async fn wait(mut self) -> DeleteOutcome {
        // An error means the task is gone (its runtime shut down).
        let _ = self.rx.wait_for(Option::is_some).await;
        let outcome = self.rx.borrow().clone();
        outcome.unwrap_or(DeleteOutcome::SessionEnded)
    }

    /// The outcome, if the delete has ended.
    pub fn outcome(&self) -> Option<DeleteOutcome> {
        self.rx.borrow().clone()
    }
}

/// Deletes `path` (any version) with `client`, retrying in the background
/// on every transient failure (with backoff up to 1 s) until it succeeds,
/// the node is gone, or `client`'s session has ended. For the ephemeral
/// nodes of the recipes, `client` must be the one whose session owns the
/// node: once that session is over, the server deletes the node itself.
///
/// Recipes never forget a node until this has ended (CURATOR-678): a
/// release that fails with ConnectionLoss keeps the node in the delete's
/// hands, and the recipe's state says "releasing", never "free".
pub fn guaranteed_delete(session: &Session, client: &Client, path: &str) -> DeleteHandle {
    let (tx, rx) = watch::channel(None);
    let client = client.clone();
    let path = path.to_owned();
    let session = session.clone();
    let run = async move {
        let outcome = delete_until_done(&session, &client, &path).await;
        tracing::debug!(path, ?outcome, "guaranteed delete done");
        tx.send_replace(Some(outcome));
    };
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn(run);
        }
        Err(_) => {
            tracing::warn!("guaranteed delete outside a tokio runtime: left to the session's end")
        }
    }
    DeleteHandle { rx }
}

async fn delete_until_done(session: &Session, client: &Client, path: &str) -> DeleteOutcome {
    let mut pause = Duration::from_millis(20);
    loop {
        match client.delete(path, None).await {
            Ok(()) => return DeleteOutcome::Deleted,
            Err(zk_client::Error::NoNode) => return DeleteOutcome::AlreadyGone,
            Err(e) if e.is_terminal() => return DeleteOutcome::SessionEnded,
            Err(e) if e.is_retriable() => {
                tracing::debug!(path, error = %e, "guaranteed delete: retrying");
            }
            Err(e) => {
                tracing::warn!(path, error = %e, "guaranteed delete failed");
                return DeleteOutcome::Failed(e);
            }
        }
        if session.is_closed() && client.state().is_terminal() {
            return DeleteOutcome::SessionEnded;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

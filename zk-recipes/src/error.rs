//! The recipes' one error type.

/// Everything a recipe can fail with.
///
/// Wraps [`zk_client::Error`] (kept as the source) and adds the recipe-level
/// outcomes. [`Error::is_retriable`] tells transient failures (trying again
/// may succeed) from the rest; [`Error::is_terminal`] the ones after which
/// the recipe object (or the whole [`Session`](crate::Session)) is done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A ZooKeeper operation failed.
    #[error(transparent)]
    Client(#[from] zk_client::Error),
    /// The session that held the recipe's node ended (expired, or declared
    /// lost locally at its timeout after the last contact with a server).
    /// Whatever the recipe held in it is gone, or about to be.
    #[error("the ZooKeeper session was lost: everything held in it is gone")]
    SessionLost,
    /// The lock (or leadership) is no longer held: its node was deleted or
    /// its session lost. A fenced write failed on its check for this reason.
    #[error("the lock or leadership is no longer held ({0})")]
    NotHeld(LossReason),
    /// The recipe or its [`Session`](crate::Session) was closed.
    #[error("the recipe or its session is closed")]
    Closed,
    /// A bad argument (a malformed recipe path, for example); nothing was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A protected create gave up after a connection loss: the node may
    /// have been created; a background find-and-delete removes it.
    #[error("the create's outcome is unknown (connection lost); a background cleanup removes any node it left")]
    OutcomeUnknown,
}

/// Why a held lock or leadership ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LossReason {
    /// The holder's own node was deleted (by someone else, or by an admin).
    NodeDeleted,
    /// The session was lost (server-side expiry, or the local deadline from
    /// the last server contact passed) or replaced by a new one.
    SessionLost,
    /// The connection was suspended and the recipe is configured to give up
    /// on suspension (the default for leadership).
    Suspended,
    /// The holder released it, or its recipe or session was closed.
    Released,
}

impl std::fmt::Display for LossReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LossReason::NodeDeleted => "its node was deleted",
            LossReason::SessionLost => "its session was lost",
            LossReason::Suspended => "the connection was suspended",
            LossReason::Released => "it was released or closed",
        })
    }
}

/// A shorthand for `Result<T, zk_recipes::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether trying the same call again may succeed (a transient client
    /// error, a lost session that [`Session`](crate::Session) replaces with a
    /// new one, an unknown create outcome).
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Client(e) => e.is_retriable(),
            Error::SessionLost | Error::OutcomeUnknown => true,
            Error::NotHeld(_) | Error::Closed | Error::InvalidArgument(_) => false,
        }
    }

    /// Whether the recipe (or session) can never work again: it was closed,
    /// or the client reports a terminal state outside a [`Session`](crate::Session).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Error::Closed | Error::Client(zk_client::Error::Closed)
        )
    }

    /// The client error underneath, if any.
    pub fn client_error(&self) -> Option<&zk_client::Error> {
        match self {
            Error::Client(e) => Some(e),
            _ => None,
        }
    }

    /// Maps the client's terminal session errors to [`Error::SessionLost`].
    pub(crate) fn from_client(e: zk_client::Error) -> Error {
        match e {
            zk_client::Error::SessionExpired | zk_client::Error::AuthFailed => Error::SessionLost,
            other => Error::Client(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(Error::Client(zk_client::Error::ConnectionLoss).is_retriable());
        assert!(Error::SessionLost.is_retriable());
        assert!(!Error::NotHeld(LossReason::NodeDeleted).is_retriable());
        assert!(Error::Closed.is_terminal());
        assert_eq!(
            Error::from_client(zk_client::Error::SessionExpired),
            Error::SessionLost
        );
        let e = Error::from(zk_client::Error::NoNode);
        assert_eq!(e.client_error(), Some(&zk_client::Error::NoNode));
    }
}

//! Recipe connection states.

use std::fmt;

/// The connection state of a [`Session`](crate::Session), as recipes see it.
///
/// Unlike Curator's, a new session is never reported as "reconnected": it is
/// [`NewSession`](ConnectionState::NewSession), and everything held in the
/// old one (ephemeral nodes, watches, locks, leadership) is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The first connection of the session's first client.
    Connected,
    /// The connection dropped; the client is reconnecting within the same
    /// session. Ephemeral nodes may still exist, or the session may be
    /// expiring on the server: a lock holder cannot be sure it still holds.
    Suspended,
    /// Connected again within the same session: its nodes and watches live.
    Reconnected,
    /// The session is gone: the server expired it, or no server was heard
    /// from for the session timeout (less a safety margin) counted from the
    /// **last contact with a server**, so the server may expire it any
    /// moment. Everything held in it must be considered lost. The session
    /// builds a new client next.
    Lost,
    /// A new client with a new session is connected (after `Lost`).
    NewSession,
    /// Connected to a read-only server: reads work, writes fail.
    ReadOnly,
    /// The session was closed ([`Session::close`](crate::Session::close)).
    Closed,
}

impl ConnectionState {
    /// Whether requests can be sent (`Connected`, `Reconnected`, `NewSession`).
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            ConnectionState::Connected | ConnectionState::Reconnected | ConnectionState::NewSession
        )
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectionState::Connected => "Connected",
            ConnectionState::Suspended => "Suspended",
            ConnectionState::Reconnected => "Reconnected",
            ConnectionState::Lost => "Lost",
            ConnectionState::NewSession => "NewSession",
            ConnectionState::ReadOnly => "ReadOnly",
            ConnectionState::Closed => "Closed",
        })
    }
}

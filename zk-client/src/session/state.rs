//! Session states, published through a `tokio::sync::watch` channel.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::watch;

/// The state of a client's session, as [`Client::state`](crate::Client::state)
/// reports it and [`Client::state_stream`](crate::Client::state_stream) streams it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionState {
    /// Connected to a read-write server; requests flow.
    Connected,
    /// Connected to a read-only server (only with
    /// [`ClientBuilder::read_only`](crate::ClientBuilder::read_only)): reads
    /// work, writes fail with [`Error::NotReadOnly`](crate::Error::NotReadOnly).
    ConnectedReadOnly,
    /// The connection is lost; the client is trying the servers again within
    /// the same session. Outstanding requests failed with
    /// [`Error::ConnectionLoss`](crate::Error::ConnectionLoss).
    Disconnected,
    /// The session expired. Terminal: build a new client.
    Expired,
    /// Authentication failed. Terminal.
    AuthFailed,
    /// The client was closed. Terminal.
    Closed,
}

impl SessionState {
    /// Whether the session can never be used again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SessionState::Expired | SessionState::AuthFailed | SessionState::Closed
        )
    }

    /// Whether requests can currently be sent.
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            SessionState::Connected | SessionState::ConnectedReadOnly
        )
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SessionState::Connected => "Connected",
            SessionState::ConnectedReadOnly => "ConnectedReadOnly",
            SessionState::Disconnected => "Disconnected",
            SessionState::Expired => "Expired",
            SessionState::AuthFailed => "AuthFailed",
            SessionState::Closed => "Closed",
        })
    }
}

/// What the session task publishes: the state, plus a connection counter so
/// that a subscriber can tell that a disconnection happened even if it only
/// woke up after the reconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StateInfo {
    pub(crate) state: SessionState,
    /// Incremented on every successful (re)connect.
    pub(crate) epoch: u64,
    pub(crate) session_id: i64,
    pub(crate) negotiated_timeout_ms: i32,
    /// The session password (for tests that expire the session on the server).
    pub(crate) passwd: [u8; zk_proto::PASSWORD_LEN],
}

impl StateInfo {
    pub(crate) fn initial() -> Self {
        StateInfo {
            state: SessionState::Disconnected,
            epoch: 0,
            session_id: 0,
            negotiated_timeout_ms: 0,
            passwd: [0; zk_proto::PASSWORD_LEN],
        }
    }
}

type BoxedStates = Pin<Box<dyn Stream<Item = SessionState> + Send>>;

/// A stream of session states: first the state when the stream was made,
/// then every change.
///
/// Built on a `watch` channel, so a slow reader may miss short-lived
/// intermediate states, but never a disconnection: if the reader last saw
/// a connected state and the client has since reconnected, it gets
/// `Disconnected` before the new connected state. The stream ends after a
/// terminal state (`Expired`, `AuthFailed`, `Closed`).
pub struct StateStream {
    inner: BoxedStates,
}

impl fmt::Debug for StateStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateStream").finish_non_exhaustive()
    }
}

struct Cursor {
    rx: watch::Receiver<StateInfo>,
    last: Option<StateInfo>,
    queued: Option<SessionState>,
}

impl StateStream {
    pub(crate) fn new(mut rx: watch::Receiver<StateInfo>) -> Self {
        // The first item is the state at creation, not at first poll.
        let now = *rx.borrow_and_update();
        let cursor = Cursor {
            rx,
            last: Some(now),
            queued: Some(now.state),
        };
        let inner = futures::stream::unfold(cursor, |mut c| async move {
            if let Some(s) = c.queued.take() {
                return Some((s, c));
            }
            let Some(last) = c.last else {
                let cur = *c.rx.borrow_and_update();
                c.last = Some(cur);
                return Some((cur.state, c));
            };
            if last.state.is_terminal() {
                return None;
            }
            loop {
                if c.rx.changed().await.is_err() {
                    // The task is gone without a terminal state: report Closed once.
                    c.last = Some(StateInfo {
                        state: SessionState::Closed,
                        ..last
                    });
                    return Some((SessionState::Closed, c));
                }
                let cur = *c.rx.borrow_and_update();
                if cur.state == last.state && cur.epoch == last.epoch {
                    continue;
                }
                c.last = Some(cur);
                if cur.state.is_connected() && last.state.is_connected() && cur.epoch != last.epoch
                {
                    c.queued = Some(cur.state);
                    return Some((SessionState::Disconnected, c));
                }
                return Some((cur.state, c));
            }
        });
        StateStream {
            inner: Box::pin(inner),
        }
    }
}

impl Stream for StateStream {
    type Item = SessionState;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SessionState>> {
        self.inner.as_mut().poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn info(state: SessionState, epoch: u64) -> StateInfo {
        StateInfo {
            state,
            epoch,
            ..StateInfo::initial()
        }
    }

    #[tokio::test]
    async fn never_hides_a_reconnect_and_ends_after_terminal() {
        let (tx, rx) = watch::channel(info(SessionState::Connected, 1));
        let mut s = StateStream::new(rx);
        assert_eq!(s.next().await, Some(SessionState::Connected));
        // Disconnect and reconnect before the reader looks.
        tx.send_replace(info(SessionState::Disconnected, 1));
        tx.send_replace(info(SessionState::Connected, 2));
        assert_eq!(s.next().await, Some(SessionState::Disconnected));
        assert_eq!(s.next().await, Some(SessionState::Connected));
        tx.send_replace(info(SessionState::Expired, 2));
        assert_eq!(s.next().await, Some(SessionState::Expired));
        assert_eq!(s.next().await, None);
    }
}

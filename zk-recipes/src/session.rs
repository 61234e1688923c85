//! The session context every recipe runs in: owns the current client,
//! rebuilds it after expiry and publishes recipe connection states.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::time::Instant;
use zk_client::{Client, ClientBuilder, SessionState};

use crate::error::{Error, Result};
use crate::state::ConnectionState;

/// The default share of the session timeout kept as a safety margin before
/// declaring [`ConnectionState::Lost`]: 10 %.
pub const DEFAULT_LOST_MARGIN: f64 = 0.1;

/// Builds a [`Session`]; see [`Session::builder`].
#[derive(Clone)]
pub struct SessionBuilder {
    client: ClientBuilder,
    lost_margin: f64,
}

impl fmt::Debug for SessionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionBuilder")
            .field("client", &self.client)
            .field("lost_margin", &self.lost_margin)
            .finish()
    }
}

impl SessionBuilder {
    /// The share of the negotiated session timeout (0.0 to 0.5) by which
    /// [`ConnectionState::Lost`] is declared **early**: Lost comes at
    /// `last contact + timeout × (1 − margin)`, so that a lock holder or
    /// leader stops before the server can expire the session (the server
    /// counts from the last packet it received, which is a little earlier
    /// than the last reply the client saw). Default [`DEFAULT_LOST_MARGIN`].
    pub fn lost_margin(mut self, margin: f64) -> Self {
        self.lost_margin = if margin.is_finite() {
            margin.clamp(0.0, 0.5)
        } else {
            DEFAULT_LOST_MARGIN
        };
        self
    }

    /// Connects the first client and starts watching its session.
    pub async fn connect(self) -> Result<Session> {
        let client = self.client.clone().connect().await?;
        let state = if client.state() == SessionState::ConnectedReadOnly {
            ConnectionState::ReadOnly
        } else {
            ConnectionState::Connected
        };
        let shared = Arc::new(Shared {
            builder: self.client,
            lost_margin: self.lost_margin,
            current: watch::Sender::new(client),
            state: watch::Sender::new(state),
            closing: AtomicBool::new(false),
        });
        let monitor = tokio::spawn(monitor(shared.clone()));
        Ok(Session {
            shared: shared.clone(),
            _handle: Arc::new(Handle { monitor }),
        })
    }
}

/// The session context of the recipes.
///
/// A ZooKeeper session ends for good when it expires; a [`Client`] then
/// fails every call. A `Session` owns the current client, watches it, and
/// after expiry builds a new one from the same [`ClientBuilder`], announced
/// as [`ConnectionState::NewSession`]. Recipes take a `&Session`, use
/// [`Session::client`] for each operation, and compare session ids to know
/// whether what they hold belongs to the current session.
///
/// It publishes the recipe [`ConnectionState`]s through a `watch` channel
/// ([`Session::states`]): Connected, Suspended (connection dropped),
/// Reconnected (same session), Lost, NewSession, ReadOnly, Closed. **Lost**
/// is declared when the server reports expiry, or locally when no server
/// was heard from for the session timeout (less [`SessionBuilder::lost_margin`])
/// counted from the last contact with a server, not from when the
/// disconnection was noticed (CURATOR-460): by then the server may expire
/// the session at any moment. The old client is then closed and a new one
/// built. The channel keeps only the latest state; a recipe that must not
/// miss a session change also compares [`Client::session_id`]s.
///
/// `Clone` is cheap; the monitor stops when the last clone is dropped or on
/// [`Session::close`].
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
    _handle: Arc<Handle>,
}

struct Shared {
    builder: ClientBuilder,
    lost_margin: f64,
    current: watch::Sender<Client>,
    state: watch::Sender<ConnectionState>,
    closing: AtomicBool,
}

/// Stops the monitor when the last [`Session`] handle goes.
struct Handle {
    monitor: tokio::task::JoinHandle<()>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.monitor.abort();
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field(
                "session_id",
                &format_args!("{:#x}", self.client().session_id()),
            )
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A builder for a session whose clients `client` builds.
    pub fn builder(client: ClientBuilder) -> SessionBuilder {
        SessionBuilder {
            client,
            lost_margin: DEFAULT_LOST_MARGIN,
        }
    }

    /// Connects to `connect_string` with default client settings.
    pub async fn connect(connect_string: impl Into<String>) -> Result<Session> {
        Session::builder(Client::builder(connect_string))
            .connect()
            .await
    }

    /// The current client (a cheap clone). After [`ConnectionState::Lost`]
    /// it may still be the old, dead one until the new one is connected.
    pub fn client(&self) -> Client {
        self.shared.current.borrow().clone()
    }

    /// The current recipe connection state.
    pub fn state(&self) -> ConnectionState {
        *self.shared.state.borrow()
    }

    /// A `watch` receiver of the recipe connection states (the latest state
    /// only: intermediate states may be skipped by a slow reader).
    pub fn states(&self) -> watch::Receiver<ConnectionState> {
        self.shared.state.subscribe()
    }

    /// A `watch` receiver of the current client: it changes when a new
    /// session replaces an expired or lost one.
    pub fn clients(&self) -> watch::Receiver<Client> {
        self.shared.current.subscribe()
    }

    /// Whether [`Session::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closing.load(Ordering::SeqCst)
    }

    /// Waits until a client is connected (read-write) and returns it.
    ///
    /// Errors: [`Error::Closed`] once the session is closed.
    pub async fn wait_connected(&self) -> Result<Client> {
        let mut states = self.states();
        loop {
            if self.is_closed() {
                return Err(Error::Closed);
            }
            let state = *states.borrow_and_update();
            let client = self.client();
            if state.is_connected() && client.state() == SessionState::Connected {
                return Ok(client);
            }
            if state == ConnectionState::Closed {
                return Err(Error::Closed);
            }
            // Wake on a recipe state change, or poll the client's own state
            // (it may reconnect between two recipe states).
            let _ = tokio::time::timeout(Duration::from_millis(50), states.changed()).await;
        }
    }

    /// Closes the session: the current client ends its ZooKeeper session
    /// (its ephemeral nodes go at once), the state becomes
    /// [`ConnectionState::Closed`], no new client is built, and recipes
    /// still running end with [`Error::Closed`].
    pub async fn close(&self) -> Result<()> {
        self.shared.closing.store(true, Ordering::SeqCst);
        let client = self.client();
        let result = client.close().await;
        self.shared.state.send_replace(ConnectionState::Closed);
        self._handle.monitor.abort();
        match result {
            Ok(()) | Err(zk_client::Error::Closed) | Err(zk_client::Error::SessionExpired) => {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn lost_after(timeout: Duration, margin: f64) -> Duration {
    timeout.mul_f64(1.0 - margin)
}

/// When the client last heard from a server.
fn last_contact(client: &Client) -> Instant {
    Instant::from_std(client.last_contact())
}

/// Watches the current client's states, publishes the recipe states, and
/// replaces the client after its session ends.
async fn monitor(shared: Arc<Shared>) {
    loop {
        let client = shared.current.borrow().clone();
        watch_one(&shared, &client).await;
        if shared.closing.load(Ordering::SeqCst) {
            shared.state.send_replace(ConnectionState::Closed);
            return;
        }
        shared.state.send_replace(ConnectionState::Lost);
        tracing::info!(
            session_id = format_args!("{:#x}", client.session_id()),
            "ZooKeeper session lost; building a new one"
        );
        // Ends the old session on the server if it can still be reached
        // (its ephemerals go at once); never waited for.
        let close = client.close();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), close).await;
        });
        drop(client);
        let mut attempt = 0u32;
        loop {
            if shared.closing.load(Ordering::SeqCst) {
                shared.state.send_replace(ConnectionState::Closed);
                return;
            }
            match shared.builder.clone().connect().await {
                Ok(c) => {
                    tracing::info!(
                        session_id = format_args!("{:#x}", c.session_id()),
                        "new ZooKeeper session"
                    );
                    shared.current.send_replace(c);
                    shared.state.send_replace(ConnectionState::NewSession);
                    break;
                }
                Err(e) => {
                    attempt = attempt.saturating_add(1);
                    let pause = Duration::from_millis(50)
                        .saturating_mul(1 << attempt.min(5))
                        .min(Duration::from_secs(1));
                    tracing::debug!(error = %e, attempt, "new session: connect failed");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

/// Follows one client until its session is over (expired, closed, or
/// locally lost at its deadline).
async fn watch_one(shared: &Shared, client: &Client) {
    let mut states = client.state_stream();
    // The first item is the state when the stream was made.
    let _ = states.next().await;
    let mut suspended = client.state() == SessionState::Disconnected;
    let mut deadline: Option<Instant> = None;
    if suspended {
        shared.state.send_replace(ConnectionState::Suspended);
    }
    loop {
        if suspended && deadline.is_none() {
            let timeout = client.negotiated_timeout();
            deadline = Some(last_contact(client) + lost_after(timeout, shared.lost_margin));
        }
        let next = match deadline {
            Some(at) => tokio::select! {
                s = states.next() => s,
                () = tokio::time::sleep_until(at) => {
                    tracing::warn!(
                        session_id = format_args!("{:#x}", client.session_id()),
                        "no server heard from for the session timeout: session lost"
                    );
                    return;
                }
            },
            None => states.next().await,
        };
        let Some(state) = next else { return };
        match state {
            SessionState::Connected => {
                deadline = None;
                if suspended {
                    suspended = false;
                    shared.state.send_replace(ConnectionState::Reconnected);
                }
            }
            SessionState::ConnectedReadOnly => {
                deadline = None;
                suspended = false;
                shared.state.send_replace(ConnectionState::ReadOnly);
            }
            SessionState::Disconnected => {
                if !suspended {
                    suspended = true;
                    shared.state.send_replace(ConnectionState::Suspended);
                }
            }
            // Expired, AuthFailed, Closed: this client is done.
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_comes_before_the_session_timeout_by_the_margin() {
        let t = Duration::from_secs(10);
        assert_eq!(lost_after(t, 0.1), Duration::from_secs(9));
        assert_eq!(lost_after(t, 0.0), t);
    }
}

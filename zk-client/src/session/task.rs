//! The background task that owns the socket.
//!
//! Shape: an outer session loop (connect, serve, on connection loss fail what
//! is in flight and hunt the servers again with the same session id, last
//! zxid and password) around an inner connection loop that is one hand-written
//! `poll` function: read and route frames, take work from the submission
//! line while fewer than `max_in_flight` requests are outstanding, ping when
//! idle, detect a silent server, flush.
//!
//! This file is the driver: the session loop and what ends a session. The
//! phases live beside it: [`super::hunt`] (finding a server),
//! [`super::handshake`] (a connection's setup) and [`super::live`] (a live
//! connection).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::seq::SliceRandom;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::debug;
use zk_proto::PASSWORD_LEN;

use super::persistent::Persistents;
use super::state::{SessionState, StateInfo};
use super::submit::Shared;
use super::watches::Watches;
use crate::chroot::Chroot;
use crate::config::HostPort;
use crate::error::Error;
use crate::transport::conn::BoxTransport;
use crate::transport::connect::Connector;
use crate::transport::sasl::SaslCredentials;

/// Everything the task needs to know from the builder.
pub(crate) struct SessionConfig {
    pub(crate) hosts: Vec<HostPort>,
    pub(crate) session_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_only: bool,
    /// Follow `/zookeeper/config` for the server list.
    pub(crate) follow_config: bool,
    pub(crate) max_frame: usize,
    /// The largest reply frame accepted (`max_frame` plus the reply overhead).
    pub(crate) max_reply: usize,
    pub(crate) chroot: Chroot,
    pub(crate) auths: Vec<(String, Bytes)>,
    /// Plain TCP or TLS, for every host.
    pub(crate) connector: Connector,
    /// SASL credentials, exchanged before anything else on every connection.
    pub(crate) sasl: Option<SaslCredentials>,
    /// With many requests in flight on plain TCP (Linux), let replies gather
    /// in the socket and read them many to a wakeup (`Builder::batch_reads`).
    pub(crate) batch_reads: bool,
    /// While replies gather, no reply for this long drops the low-water
    /// mark back to one byte ([`super::BATCH_QUIET`]; longer only in tests).
    pub(crate) batch_quiet: Duration,
}

/// Why a connection ended.
pub(super) enum End {
    /// The connection failed; the session may live on.
    Lost(Error),
    /// closeSession was answered.
    Closed,
    /// The server rejected our credentials.
    AuthFailed,
    /// The server answered a request with SESSIONEXPIRED.
    Expired,
    /// The client leaves this server for another (why); the session lives on.
    Moved(&'static str),
}

/// Why a connection attempt failed.
pub(super) enum AttemptError {
    /// Try another server.
    Retry(Error),
    /// The session is over.
    Terminal(SessionState, Error),
}

pub(crate) struct Task {
    pub(super) shared: Arc<Shared>,
    pub(super) cfg: SessionConfig,
    /// A pre-connected transport to use for the first attempt (`connect_raw`).
    pub(super) first_io: Option<BoxTransport>,
    pub(super) session_id: i64,
    pub(super) passwd: Bytes,
    pub(super) negotiated: Duration,
    pub(super) last_zxid: i64,
    /// Whether a read-write server ever accepted this session (a read-only
    /// session is local to its server and cannot be resumed elsewhere).
    pub(super) seen_rw: bool,
    pub(super) watches: Watches,
    pub(super) next_xid: i32,
    pub(super) next_host: usize,
    pub(super) epoch: u64,
    /// When we last heard from any server (for local session expiry).
    pub(super) last_heard: Instant,
    /// closeSession was sent: a lost connection ends the session instead of resuming it.
    pub(super) closing: bool,
    /// Persistent and persistent-recursive watches.
    pub(super) persistents: Persistents,
    /// The server of the current (or last) connection.
    pub(super) current_host: Option<HostPort>,
    /// Whether the current connection is to a read-only server.
    pub(super) read_only_now: bool,
    /// A read-write server found while on a read-only one: the next attempt goes there.
    pub(super) preferred_host: Option<HostPort>,
    /// Connections in a row that ended within [`CHURN_WINDOW`] of being
    /// established: the pause before reconnecting grows with it.
    pub(super) churn: u32,
    /// The current plain-TCP connection's receive low-water mark, when
    /// replies are read in batches (`SessionConfig::batch_reads`).
    #[cfg(target_os = "linux")]
    pub(super) low_water: Option<crate::transport::low_water::LowWater>,
}

/// A connection that ends sooner than this after its handshake counts as
/// churn (a server that accepts sessions and then breaks them).
pub(super) const CHURN_WINDOW: Duration = Duration::from_secs(1);

impl Task {
    pub(crate) fn new(
        shared: Arc<Shared>,
        mut cfg: SessionConfig,
        first_io: Option<BoxTransport>,
    ) -> Task {
        let auths = std::mem::take(&mut cfg.auths);
        let mut task = Task {
            shared,
            negotiated: cfg.session_timeout,
            cfg,
            first_io,
            session_id: 0,
            passwd: Bytes::from_static(&[0; PASSWORD_LEN]),
            last_zxid: 0,
            seen_rw: false,
            watches: Watches::default(),
            next_xid: 1,
            next_host: 0,
            epoch: 0,
            last_heard: Instant::now(),
            closing: false,
            persistents: Persistents::default(),
            current_host: None,
            read_only_now: false,
            preferred_host: None,
            churn: 0,
            #[cfg(target_os = "linux")]
            low_water: None,
        };
        task.cfg.auths = auths;
        // Spread clients over the ensemble: the list is shuffled once and
        // then walked round-robin, as Java's StaticHostProvider does.
        task.cfg.hosts.shuffle(&mut rand::rng());
        task
    }

    /// Takes a server list from `update_server_list`, if one was handed over.
    /// Returns `None` if none was, else whether the current server is no
    /// longer in the list.
    pub(super) fn apply_new_hosts(&mut self) -> Option<bool> {
        let mut hosts = self.shared.take_new_hosts()?;
        hosts.shuffle(&mut rand::rng());
        // Start the walk after the current server if it stays, so a
        // reconnect moves on, as before.
        self.next_host = match &self.current_host {
            Some(cur) => hosts.iter().position(|h| h == cur).map_or(0, |i| i + 1),
            None => 0,
        };
        debug!(hosts = ?hosts.iter().map(ToString::to_string).collect::<Vec<_>>(), "new server list");
        self.cfg.hosts = hosts;
        if self
            .preferred_host
            .as_ref()
            .is_some_and(|h| !self.cfg.hosts.contains(h))
        {
            self.preferred_host = None;
        }
        Some(
            self.current_host
                .as_ref()
                .is_some_and(|h| !self.cfg.hosts.contains(h)),
        )
    }

    /// Runs the session to its end. `ready` learns how the first connection went.
    pub(crate) async fn run(mut self, ready: oneshot::Sender<Result<(), Error>>) {
        let mut conn = match self.first_connect().await {
            Ok(conn) => {
                let _ = ready.send(Ok(()));
                conn
            }
            Err((state, err)) => {
                self.terminate(state, err.clone());
                let _ = ready.send(Err(err));
                return;
            }
        };
        loop {
            let established = Instant::now();
            let end = self.serve(&mut conn).await;
            drop(conn);
            // A connection that broke right after its handshake: pause
            // before the next one, more each time in a row. A connection
            // that lived resets it, so failing over from a server that
            // served us (or dies) goes to the next one at once.
            self.churn = if established.elapsed() < CHURN_WINDOW {
                self.churn.saturating_add(1)
            } else {
                0
            };
            match end {
                End::Closed => {
                    self.terminate(SessionState::Closed, Error::Closed);
                    return;
                }
                End::AuthFailed => {
                    self.terminate(SessionState::AuthFailed, Error::AuthFailed);
                    return;
                }
                End::Expired => {
                    self.terminate(SessionState::Expired, Error::SessionExpired);
                    return;
                }
                End::Lost(_) | End::Moved(_) if self.closing => {
                    debug!("connection lost while closing");
                    self.terminate(SessionState::Closed, Error::Closed);
                    return;
                }
                End::Lost(_) | End::Moved(_) => {
                    match &end {
                        End::Moved(why) => debug!(session_id = self.session_id, why, "moving"),
                        _ => {
                            debug!(session_id = self.session_id, reason = ?end_reason(&end), "connection lost")
                        }
                    }
                    conn = match self.reconnect().await {
                        Ok(c) => c,
                        Err((state, err)) => {
                            self.terminate(state, err);
                            return;
                        }
                    };
                }
            }
        }
    }

    pub(super) fn publish(&self, state: SessionState) {
        let info = StateInfo {
            state,
            epoch: self.epoch,
            session_id: self.session_id,
            negotiated_timeout_ms: i32::try_from(self.negotiated.as_millis()).unwrap_or(i32::MAX),
            passwd: {
                let mut p = [0; PASSWORD_LEN];
                if let Some(src) = self.passwd.get(..PASSWORD_LEN) {
                    p.copy_from_slice(src);
                }
                p
            },
        };
        // The server first, so that a reader woken by the new state sees it.
        let server = state
            .is_connected()
            .then(|| self.current_host.clone())
            .flatten();
        self.shared.set_server(server);
        // Said once: serve() publishes the end of a connection before it
        // fails what was in flight, terminate() the same state again.
        self.shared.state.send_if_modified(|cur| {
            let changed = *cur != info;
            *cur = info;
            changed
        });
    }

    /// Ends the session for good: refuses new work, publishes the terminal
    /// state, then fails everything waiting and every watch with `err` (so
    /// that whoever sees the error finds `state()` already terminal).
    pub(super) fn terminate(&mut self, state: SessionState, err: Error) {
        debug!(session_id = self.session_id, %state, "session over");
        self.shared.refuse(err.clone());
        self.shared.set_in_flight(0);
        self.publish(state);
        for w in self.shared.drain() {
            w.fail(err.clone());
        }
        self.watches.fail_all(&err);
        self.persistents.fail_all(&err);
    }

    pub(super) fn alloc_xid(&mut self) -> i32 {
        let x = self.next_xid;
        self.next_xid = if x == i32::MAX { 1 } else { x + 1 };
        x
    }
}

/// The error a connection ended with, for the log.
fn end_reason(end: &End) -> Option<&Error> {
    match end {
        End::Lost(e) => Some(e),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::submit::Shared;

    fn task() -> Task {
        let cfg = SessionConfig {
            hosts: vec![HostPort {
                host: "127.0.0.1".into(),
                port: 1,
            }],
            session_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(1),
            read_only: false,
            follow_config: false,
            max_frame: zk_proto::DEFAULT_MAX_FRAME,
            max_reply: zk_proto::DEFAULT_MAX_FRAME + 1024,
            chroot: Chroot::default(),
            auths: Vec::new(),
            connector: Connector::default(),
            sasl: None,
            batch_reads: true,
            batch_quiet: crate::session::BATCH_QUIET,
        };
        Task::new(Arc::new(Shared::new(10)), cfg, None)
    }

    /// ConnectFailed means "no server could be reached": one attempt with
    /// no server to go to fails as that attempt's own error, and only the
    /// end of hunting wraps it in ConnectFailed.
    #[tokio::test]
    async fn an_attempt_without_a_server_is_not_connect_failed() {
        let mut t = task();
        t.cfg.hosts.clear();
        match t.attempt(0, Duration::ZERO, Duration::from_secs(1)).await {
            Err(AttemptError::Retry(Error::Io { kind, .. })) => {
                assert_eq!(kind, std::io::ErrorKind::AddrNotAvailable);
            }
            Err(AttemptError::Retry(e)) => panic!("attempt failed with {e:?}"),
            Err(AttemptError::Terminal(s, e)) => panic!("terminal {s}: {e:?}"),
            Ok(_) => panic!("connected without a server"),
        }
        match t.first_connect().await {
            Err((_, Error::ConnectFailed { source, .. })) => {
                assert!(
                    matches!(source.as_deref(), Some(Error::Io { .. })),
                    "{source:?}"
                );
            }
            Err((_, e)) => panic!("first_connect failed with {e:?}"),
            Ok(_) => panic!("connected without a server"),
        }
    }

    #[tokio::test]
    async fn xids_start_at_one_and_wrap_to_one() {
        let mut t = task();
        assert_eq!(t.alloc_xid(), 1);
        assert_eq!(t.alloc_xid(), 2);
        t.next_xid = i32::MAX;
        assert_eq!(t.alloc_xid(), i32::MAX);
        assert_eq!(t.alloc_xid(), 1);
    }
}

//! Hunting: finding a server that takes the session (the first connect,
//! each server once; reconnects within the session, with jittered backoff,
//! until one takes the session back or it expires locally), one attempt at a
//! time, each bounded by its share of the timeouts.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;
use tracing::{debug, debug_span, warn, Instrument};

use super::state::SessionState;
use super::submit::Work;
use super::task::{AttemptError, Task};
use crate::config::HostPort;
use crate::error::Error;
use crate::transport::conn::Conn;

/// The pause before a reconnect attempt: random (full jitter) up to
/// 50 ms × 2^`n`, capped at 1 s; none for `n` = 0.
pub(super) fn jittered_backoff(n: u32) -> Duration {
    if n == 0 {
        return Duration::ZERO;
    }
    let cap = 1000u64.min(50u64.saturating_mul(1 << n.min(10)));
    Duration::from_millis(rand::rng().random_range(0..=cap))
}

impl Task {
    /// The first connection: each server once, in order; the first success wins.
    pub(super) async fn first_connect(&mut self) -> Result<Conn, (SessionState, Error)> {
        let mut last = None;
        // A TLS failure says more than the refusals of other hosts: keep it typed.
        let mut tls_failure = None;
        for _ in 0..self.cfg.hosts.len().max(1) {
            let timeout = self.cfg.connect_timeout;
            match self.attempt(0, Duration::ZERO, timeout).await {
                Ok(conn) => return Ok(conn),
                Err(AttemptError::Terminal(state, err)) => return Err((state, err)),
                Err(AttemptError::Retry(err @ Error::Tls { .. })) => {
                    tls_failure.get_or_insert(err);
                }
                Err(AttemptError::Retry(err)) => last = Some(err),
            }
        }
        let n = self.cfg.hosts.len();
        let err = tls_failure.unwrap_or_else(|| Error::ConnectFailed {
            reason: match &last {
                Some(e) => format!("{n} server(s) tried; the last: {e}"),
                None => "no servers".to_owned(),
            },
            source: last.map(Box::new),
        });
        Err((SessionState::Closed, err))
    }

    /// Hunts the servers again within the session, until one takes us back,
    /// the session is found expired (by a server, or locally after 4/3 of the
    /// negotiated timeout without hearing from any server), or the client is closed.
    pub(super) async fn reconnect(&mut self) -> Result<Conn, (SessionState, Error)> {
        let expiry = self.last_heard + self.negotiated * 4 / 3;
        let mut attempt: u32 = 0;
        let mut backoff = jittered_backoff(self.churn);
        if !backoff.is_zero() {
            debug!(
                churn = self.churn,
                backoff_ms = backoff.as_millis() as u64,
                "pausing before reconnecting"
            );
            tokio::time::sleep_until((Instant::now() + backoff).min(expiry)).await;
        }
        loop {
            // Java fails queued requests on every failed attempt; so do we, and
            // a close() waiting in the line ends the session here.
            if attempt > 0 {
                let mut close_requested = false;
                for w in self.shared.drain() {
                    match w {
                        Work::Close(_) => {
                            close_requested = true;
                            w.fail(Error::Closed);
                        }
                        // Removed here: the next connection does not set them.
                        Work::RemoveWatches {
                            server_path,
                            kind,
                            local: true,
                            reply,
                        } => {
                            let n = self
                                .watches
                                .remove_kind(&server_path, kind, &self.cfg.chroot);
                            let _ = reply.send(if n > 0 { Ok(()) } else { Err(Error::NoWatcher) });
                        }
                        w => w.fail(Error::ConnectionLoss),
                    }
                }
                if close_requested {
                    return Err((SessionState::Closed, Error::Closed));
                }
                // Exponential backoff with full jitter: a random pause up to
                // 50 ms × 2^attempt, capped at 1 s (Java pauses up to 1 s).
                backoff = jittered_backoff(attempt.saturating_add(self.churn));
                // Never sleep past the local expiry deadline.
                let until = (Instant::now() + backoff).min(expiry);
                tokio::time::sleep_until(until).await;
            }
            let now = Instant::now();
            if now >= expiry {
                warn!(
                    session_id = self.session_id,
                    "no server reached within 4/3 of the session timeout: session expired"
                );
                return Err((SessionState::Expired, Error::SessionExpired));
            }
            // Each attempt gets a share of the session timeout (Java: the
            // timeout divided by the number of hosts), so that one dead host
            // cannot use up the time left to reach a live one; but at least
            // 2 s (a loaded server may take a while to answer), and never
            // past local expiry.
            let n = u32::try_from(self.cfg.hosts.len().max(1)).unwrap_or(u32::MAX);
            let share = (self.negotiated / n).max(Duration::from_secs(2));
            let timeout = self.cfg.connect_timeout.min(share).min(expiry - now);
            match self.attempt(attempt, backoff, timeout).await {
                Ok(conn) => return Ok(conn),
                Err(AttemptError::Terminal(state, err)) => return Err((state, err)),
                Err(AttemptError::Retry(err)) => {
                    debug!(attempt, %err, "reconnect attempt failed");
                }
            }
            attempt = attempt.saturating_add(1);
        }
    }

    /// The server for the next attempt: a read-write server found by the
    /// read-only probe, else the next one of the (shuffled) list.
    fn next_host(&mut self) -> Option<HostPort> {
        self.apply_new_hosts();
        if let Some(h) = self.preferred_host.take() {
            return Some(h);
        }
        let n = self.cfg.hosts.len().max(1);
        let host = self.cfg.hosts.get(self.next_host % n).cloned();
        self.next_host = (self.next_host + 1) % n;
        host
    }

    /// One connection attempt to the next server: TCP, handshake, credentials, watches.
    pub(super) async fn attempt(
        &mut self,
        attempt: u32,
        backoff: Duration,
        timeout: Duration,
    ) -> Result<Conn, AttemptError> {
        let host = self.next_host();
        let span = debug_span!(
            "zk.connect",
            host = host.as_ref().map(|h| h.to_string()).unwrap_or_default(),
            attempt,
            backoff_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
            session_id = self.session_id,
            last_zxid = self.last_zxid,
        );
        self.current_host = host.clone();
        let result = tokio::time::timeout(timeout, self.handshake(host).instrument(span.clone()))
            .await
            .unwrap_or_else(|_| {
                Err(AttemptError::Retry(Error::io_kind(
                    std::io::ErrorKind::TimedOut,
                    format!("no session established within the connect timeout ({timeout:?})"),
                )))
            });
        let _enter = span.enter();
        match &result {
            Ok(_) => debug!(
                session_id = self.session_id,
                timeout_ms = self.negotiated.as_millis() as u64,
                "connected"
            ),
            Err(AttemptError::Retry(e)) => debug!(error = %e, "connect attempt failed"),
            Err(AttemptError::Terminal(s, e)) => debug!(state = %s, error = %e, "session refused"),
        }
        result
    }
}

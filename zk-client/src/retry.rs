//! Retry policies for operations that may fail transiently.
//!
//! ```
//! use std::time::Duration;
//! use zk_client::retry::{retry, ExponentialBackoff};
//!
//! # async fn demo(client: zk_client::Client) -> Result<(), zk_client::Error> {
//! let policy = ExponentialBackoff::new(Duration::from_millis(10), Duration::from_secs(1))
//!     .max_attempts(10)
//!     .max_elapsed(Duration::from_secs(30));
//! // A read is safe to repeat.
//! let (data, _stat) = retry(&policy, || client.get_data("/config")).await?;
//! # let _ = data;
//! # Ok(()) }
//! ```
//!
//! # What is retried
//!
//! Only errors for which [`Error::is_retriable`] holds (connection loss,
//! timeouts, throttling, a session move...). Terminal errors
//! ([`Error::is_terminal`]: the session expired, authentication failed, the
//! client closed) are **never** retried by any policy, custom ones included:
//! everything a session held (ephemerals, watches) is gone with it, and a
//! retry in a new session must be the caller's visible decision.
//!
//! # Writes: an unknown outcome stays unknown
//!
//! After [`Error::ConnectionLoss`] or [`Error::RequestTimeout`] the write
//! may have been applied. [`retry`] is for operations that are safe to
//! repeat. [`retry_write`] is for writes: once an attempt ended with an
//! unknown outcome, a later attempt's definite *failure* (NodeExists for a
//! create, BadVersion for a versioned set, NoNode for a delete) may be the
//! consequence of that earlier attempt, so it is reported as
//! [`Error::ConnectionLoss`] ("the request's outcome is unknown") instead.
//! A later success is reported as success; for a write that is not
//! idempotent (a sequential create, a versionless set) it may then have
//! been applied twice: use protected creates (zk-recipes) or versions.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::error::Error;

/// Decides whether, and after how long, a failed operation is tried again.
///
/// Implemented by [`ExponentialBackoff`], [`RetryNTimes`], [`NoRetry`], and
/// by any `Fn(u32, Duration, &Error) -> Option<Duration>` closure
/// (`retries so far`, `time since the first attempt`, `the error`).
/// [`retry`] consults a policy only for retriable, non-terminal errors.
pub trait RetryPolicy: Send + Sync {
    /// The pause before the next attempt, or `None` to give up.
    ///
    /// `retries` is the number of retries made so far (0 after the first
    /// attempt failed), `elapsed` the time since the first attempt started.
    fn next_delay(&self, retries: u32, elapsed: Duration, error: &Error) -> Option<Duration>;
}

impl<F> RetryPolicy for F
where
    F: Fn(u32, Duration, &Error) -> Option<Duration> + Send + Sync,
{
    fn next_delay(&self, retries: u32, elapsed: Duration, error: &Error) -> Option<Duration> {
        self(retries, elapsed, error)
    }
}

/// Exponential backoff with full jitter: before retry `n` (0-based) it
/// sleeps a random time in `[0, min(max_delay, base × 2^n)]`, bounded by a
/// number of attempts and by the time elapsed since the first attempt.
///
/// Defaults from [`ExponentialBackoff::default`]: base 10 ms, max delay
/// 1 s, 10 attempts in all, no elapsed-time bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExponentialBackoff {
    base: Duration,
    max_delay: Duration,
    max_attempts: Option<u32>,
    max_elapsed: Option<Duration>,
}

impl Default for ExponentialBackoff {
    fn default() -> Self {
        ExponentialBackoff::new(Duration::from_millis(10), Duration::from_secs(1)).max_attempts(10)
    }
}

impl ExponentialBackoff {
    /// Backoff from `base`, each pause capped at `max_delay`, with no bound
    /// on attempts or elapsed time (add them with the setters).
    pub fn new(base: Duration, max_delay: Duration) -> Self {
        ExponentialBackoff {
            base,
            max_delay,
            max_attempts: None,
            max_elapsed: None,
        }
    }

    /// At most `n` attempts in all (the first one included; 0 and 1 mean no retry).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// No retry starts later than `d` after the first attempt started (a
    /// pause that would end past it is not taken).
    pub fn max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = Some(d);
        self
    }

    /// The upper bound of the pause before retry `retries` (before jitter).
    fn ceiling(&self, retries: u32) -> Duration {
        let factor = 1u32.checked_shl(retries.min(31)).unwrap_or(u32::MAX);
        self.base
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

impl RetryPolicy for ExponentialBackoff {
    fn next_delay(&self, retries: u32, elapsed: Duration, _error: &Error) -> Option<Duration> {
        if let Some(max) = self.max_attempts {
            if retries.saturating_add(1) >= max {
                return None;
            }
        }
        let ceiling = self.ceiling(retries);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        let delay = Duration::from_nanos(rand::rng().random_range(0..=nanos));
        if let Some(limit) = self.max_elapsed {
            if elapsed.saturating_add(delay) > limit {
                return None;
            }
        }
        Some(delay)
    }
}

/// Retries up to `n` times (so `n + 1` attempts), with a fixed pause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNTimes {
    n: u32,
    delay: Duration,
}

impl RetryNTimes {
    /// `n` retries, `delay` apart.
    pub fn new(n: u32, delay: Duration) -> Self {
        RetryNTimes { n, delay }
    }
}

impl RetryPolicy for RetryNTimes {
    fn next_delay(&self, retries: u32, _elapsed: Duration, _error: &Error) -> Option<Duration> {
        (retries < self.n).then_some(self.delay)
    }
}

/// Never retries: the first error is the answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoRetry;

impl RetryPolicy for NoRetry {
    fn next_delay(&self, _: u32, _: Duration, _: &Error) -> Option<Duration> {
        None
    }
}

/// Whether an error leaves the outcome of a write unknown.
fn outcome_unknown(e: &Error) -> bool {
    matches!(e, Error::ConnectionLoss | Error::RequestTimeout)
}

/// Runs `op` until it succeeds, fails with an error that is not retriable
/// (or is terminal), or `policy` gives up; returns the last result.
///
/// For operations that are safe to repeat (reads, `sync`, checks); for
/// writes use [`retry_write`].
pub async fn retry<T, F, Fut>(policy: &(impl RetryPolicy + ?Sized), op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    run(policy, op, false).await
}

/// Like [`retry`], for a write: once an attempt ended with an unknown
/// outcome (ConnectionLoss, RequestTimeout), a later definite failure is
/// reported as [`Error::ConnectionLoss`], since the earlier attempt may have
/// been applied and caused it. See the [module docs](self).
pub async fn retry_write<T, F, Fut>(policy: &(impl RetryPolicy + ?Sized), op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    run(policy, op, true).await
}

async fn run<T, F, Fut>(
    policy: &(impl RetryPolicy + ?Sized),
    mut op: F,
    write: bool,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let start = Instant::now();
    let mut retries = 0u32;
    let mut unknown = false;
    loop {
        let error = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if error.is_terminal() {
            return Err(error);
        }
        if !error.is_retriable() {
            if write && unknown {
                tracing::debug!(%error, "write failed after an attempt of unknown outcome");
                return Err(Error::ConnectionLoss);
            }
            return Err(error);
        }
        unknown |= outcome_unknown(&error);
        match policy.next_delay(retries, start.elapsed(), &error) {
            None => return Err(error),
            Some(delay) => {
                tracing::debug!(%error, retries, delay_ms = delay.as_millis() as u64, "retrying");
                tokio::time::sleep(delay).await;
                retries = retries.saturating_add(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn scripted(
        script: Vec<Result<u32, Error>>,
    ) -> (
        std::sync::Arc<AtomicU32>,
        impl FnMut() -> std::future::Ready<Result<u32, Error>>,
    ) {
        let calls = std::sync::Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let op = move || {
            let i = c.fetch_add(1, Ordering::SeqCst) as usize;
            std::future::ready(script.get(i).cloned().unwrap_or(Err(Error::SystemError)))
        };
        (calls, op)
    }

    #[tokio::test]
    async fn retries_transient_errors_until_success() {
        let (calls, op) = scripted(vec![
            Err(Error::ConnectionLoss),
            Err(Error::ThrottledOp),
            Ok(7),
        ]);
        let p = RetryNTimes::new(5, Duration::ZERO);
        assert_eq!(retry(&p, op).await, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn never_retries_session_expired_even_with_a_permissive_custom_policy() {
        let (calls, op) = scripted(vec![Err(Error::SessionExpired), Ok(1)]);
        let always = |_: u32, _: Duration, _: &Error| Some(Duration::ZERO);
        assert_eq!(retry(&always, op).await, Err(Error::SessionExpired));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn does_not_retry_definite_failures() {
        let (calls, op) = scripted(vec![Err(Error::NoNode), Ok(1)]);
        let p = RetryNTimes::new(5, Duration::ZERO);
        assert_eq!(retry(&p, op).await, Err(Error::NoNode));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_write_after_connection_loss_reports_unknown_outcome() {
        // The first create was applied but its reply lost; the retry says NodeExists.
        let (_, op) = scripted(vec![Err(Error::ConnectionLoss), Err(Error::NodeExists)]);
        let p = RetryNTimes::new(5, Duration::ZERO);
        assert_eq!(retry_write(&p, op).await, Err(Error::ConnectionLoss));
        // Without a lost reply the answer is definite.
        let (_, op) = scripted(vec![Err(Error::ThrottledOp), Err(Error::NodeExists)]);
        assert_eq!(retry_write(&p, op).await, Err(Error::NodeExists));
        // For a repeatable operation the answer is passed on.
        let (_, op) = scripted(vec![Err(Error::ConnectionLoss), Err(Error::NoNode)]);
        assert_eq!(retry(&p, op).await, Err(Error::NoNode));
    }

    #[tokio::test]
    async fn gives_up_after_the_attempt_bound_with_the_last_error() {
        let (calls, op) = scripted(vec![Err(Error::ConnectionLoss); 10]);
        let p = ExponentialBackoff::new(Duration::from_millis(1), Duration::from_millis(2))
            .max_attempts(4);
        assert_eq!(retry(&p, op).await, Err(Error::ConnectionLoss));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        let (calls, op) = scripted(vec![Err(Error::ConnectionLoss); 10]);
        assert_eq!(retry(&NoRetry, op).await, Err(Error::ConnectionLoss));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_at_the_elapsed_bound() {
        let (calls, op) = scripted(vec![Err(Error::ConnectionLoss); 1000]);
        let p = ExponentialBackoff::new(Duration::from_millis(2), Duration::from_millis(2))
            .max_elapsed(Duration::from_millis(40));
        // It stops on the time bound, long before the script's 1000 errors
        // run out (which would end it with SystemError).
        assert_eq!(retry(&p, op).await, Err(Error::ConnectionLoss));
        assert!(calls.load(Ordering::SeqCst) < 1000);
        // A pause that would end past the bound is not taken.
        let e = Error::ConnectionLoss;
        assert_eq!(p.next_delay(0, Duration::from_millis(41), &e), None);
        assert!(p.next_delay(0, Duration::ZERO, &e).is_some());
    }

    #[test]
    fn backoff_grows_and_is_capped_with_jitter_below_the_ceiling() {
        let p = ExponentialBackoff::new(Duration::from_millis(10), Duration::from_millis(300));
        assert_eq!(p.ceiling(0), Duration::from_millis(10));
        assert_eq!(p.ceiling(1), Duration::from_millis(20));
        assert_eq!(p.ceiling(4), Duration::from_millis(160));
        assert_eq!(p.ceiling(5), Duration::from_millis(300));
        assert_eq!(p.ceiling(200), Duration::from_millis(300));
        for n in 0..40 {
            let d = p.next_delay(n, Duration::ZERO, &Error::ConnectionLoss);
            assert!(d.is_some_and(|d| d <= p.ceiling(n)));
        }
    }
}

//! A counting semaphore with leases, in Curator `InterProcessSemaphoreV2`'s
//! layout.

use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use zk_client::{Client, CreateMode};

use crate::error::{Error, Result};
use crate::guaranteed_delete::guaranteed_delete;
use crate::mutex::{Mutex, MutexGuard};
use crate::protected::{create_protected, default_policy, join, split};
use crate::session::Session;

/// The internal mutex's directory under the semaphore's path.
pub const LOCK_PARENT: &str = "locks";
/// The leases' directory under the semaphore's path.
pub const LEASE_PARENT: &str = "leases";
/// The name of lease nodes (before the sequence number): `lease-`.
pub const LEASE_NAME: &str = "lease-";

/// A counting semaphore: at most `max_leases` [`Lease`]s exist at a time,
/// across processes; interoperable with Curator's `InterProcessSemaphoreV2`
/// on the same path (with the same `max_leases`).
///
/// Layout: `<path>/locks/_c_<uuid>-lock-<seq>`, an internal [`Mutex`]; and
/// `<path>/leases/_c_<uuid>-lease-<seq>` (EPHEMERAL_SEQUENTIAL, protected,
/// container parents), one per lease.
///
/// **Acquire:** take the internal mutex; create a lease node; list the
/// leases (with a watch): our node among at most `max_leases` → ours;
/// otherwise wait for a change **while holding the mutex**, so only one
/// waiter watches the pool and no two count at once; release the mutex.
///
/// **Consistency of `max_leases`.** Nothing in Curator's layout records it;
/// we store it as the data of `<path>` (written by the first acquirer, under
/// the internal mutex) and an acquire with a different value fails with
/// [`Error::InvalidArgument`]. (A Curator process never writes or checks it.)
///
/// A lease is a [`MutexGuard`] underneath (through `Deref`): a fencing
/// token (the lease node's czxid), fenced transactions, loss reports;
/// dropping it returns it. A cancelled acquire leaves no node behind; an
/// acquire whose session is lost re-queues in the new session.
#[derive(Clone)]
pub struct Semaphore {
    session: Session,
    path: String,
    max_leases: usize,
    data: Vec<u8>,
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("path", &self.path)
            .field("max_leases", &self.max_leases)
            .finish_non_exhaustive()
    }
}

impl Semaphore {
    /// A semaphore on `path` with `max_leases` leases.
    ///
    /// Errors: [`Error::InvalidArgument`] for a path that is not absolute or
    /// `max_leases` of 0.
    pub fn new(session: &Session, path: &str, max_leases: usize) -> Result<Self> {
        split(path)?;
        if max_leases == 0 {
            return Err(Error::InvalidArgument(
                "a semaphore needs at least one lease".into(),
            ));
        }
        Ok(Semaphore {
            session: session.clone(),
            path: path.trim_end_matches('/').to_owned(),
            max_leases,
            data: Vec::new(),
        })
    }

    /// The data stored in this process's lease nodes.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// The semaphore's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The number of leases.
    pub fn max_leases(&self) -> usize {
        self.max_leases
    }

    /// The lease nodes now (names, unsorted).
    pub async fn leases(&self) -> Result<Vec<String>> {
        match self
            .session
            .client()
            .get_children(&join(&self.path, LEASE_PARENT))
            .await
        {
            Ok(c) => Ok(c),
            Err(zk_client::Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(Error::from_client(e)),
        }
    }

    /// Waits until a lease is ours.
    ///
    /// Errors: [`Error::InvalidArgument`] if `<path>` records another
    /// `max_leases`; [`Error::Closed`]; client errors that are not transient.
    pub async fn acquire(&self) -> Result<Lease> {
        loop {
            match self.attempt().await {
                Err(Error::SessionLost) | Err(Error::OutcomeUnknown) => continue,
                Err(Error::Client(e)) if e.is_retriable() => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(Error::NotHeld(_)) => continue,
                other => return other.map(|guard| Lease { guard }),
            }
        }
    }

    /// Waits at most `timeout` for a lease (`Ok(None)` if none in time; our
    /// lease node is then deleted).
    pub async fn try_acquire(&self, timeout: Duration) -> Result<Option<Lease>> {
        match tokio::time::timeout(timeout, self.acquire()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    async fn attempt(&self) -> Result<MutexGuard> {
        let mutex = Mutex::new(&self.session, &join(&self.path, LOCK_PARENT))?;
        let lock = mutex.acquire().await?;
        let result = self.under_lock(&lock).await;
        // The mutex goes whatever happened (its node by a guaranteed delete).
        let _ = lock.release().await;
        result
    }

    async fn under_lock(&self, lock: &MutexGuard) -> Result<MutexGuard> {
        let client = lock
            .client()
            .cloned()
            .ok_or(Error::NotHeld(crate::LossReason::Released))?;
        self.check_max(&client).await?;
        let dir = join(&self.path, LEASE_PARENT);
        let node = create_protected(
            &self.session,
            &join(&dir, LEASE_NAME),
            &self.data,
            CreateMode::EphemeralSequential,
            &default_policy(),
        )
        .await?;
        let mut pending = Pending {
            session: self.session.clone(),
            client: node.client.clone(),
            path: Some(node.path.clone()),
        };
        let (_, our_name) = split(&node.path)?;
        let mut states = self.session.states();
        let lost = lock.lost();
        tokio::pin!(lost);
        loop {
            if self.session.is_closed() {
                return Err(Error::Closed);
            }
            if node.client.state().is_terminal()
                || self.session.client().session_id() != node.client.session_id()
            {
                return Err(Error::SessionLost);
            }
            let (children, watch) = match node.client.get_children_watch(&dir).await {
                Ok(r) => r,
                Err(zk_client::Error::NoNode) => return Err(Error::SessionLost),
                Err(e) if e.is_terminal() => return Err(Error::SessionLost),
                Err(e) if e.is_retriable() => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                Err(e) => return Err(Error::Client(e)),
            };
            if !children.iter().any(|c| c == our_name) {
                return Err(Error::SessionLost);
            }
            if children.len() <= self.max_leases {
                break;
            }
            let watch = watch.remove_on_drop();
            tokio::select! {
                _ = watch => {}
                _ = states.changed() => {}
                // Without the mutex, counting is not ours alone any more.
                reason = &mut lost => return Err(Error::NotHeld(reason)),
            }
        }
        let path = pending.path.take().unwrap_or_default();
        Ok(MutexGuard::new(
            &self.session,
            node.client,
            path,
            node.stat.czxid,
        ))
    }

    /// Records `max_leases` as `<path>`'s data, or checks it against the
    /// recorded one.
    async fn check_max(&self, client: &Client) -> Result<()> {
        let ours = self.max_leases.to_string();
        loop {
            let (data, stat) = match client.get_data(&self.path).await {
                Ok(r) => r,
                Err(e) => return Err(Error::from_client(e)),
            };
            if data.is_empty() {
                match client
                    .set_data(&self.path, ours.as_bytes(), Some(stat.version))
                    .await
                {
                    Ok(_) => return Ok(()),
                    Err(zk_client::Error::BadVersion) => continue,
                    Err(e) => return Err(Error::from_client(e)),
                }
            }
            if data[..] == *ours.as_bytes() {
                return Ok(());
            }
            return Err(Error::InvalidArgument(format!(
                "the semaphore {} has {} leases, not {}",
                self.path,
                String::from_utf8_lossy(&data),
                self.max_leases
            )));
        }
    }
}

/// A lease node not yet handed to a [`Lease`]: deleted if dropped.
struct Pending {
    session: Session,
    client: Client,
    path: Option<String>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = guaranteed_delete(&self.session, &self.client, &path);
        }
    }
}

/// A held lease; dropping it (or [`Lease::release`]) returns it. Derefs to
/// its [`MutexGuard`] (fencing token, fenced writes, loss reports).
pub struct Lease {
    guard: MutexGuard,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Lease").field(&self.guard).finish()
    }
}

impl Deref for Lease {
    type Target = MutexGuard;
    fn deref(&self) -> &MutexGuard {
        &self.guard
    }
}

impl Lease {
    /// Returns the lease (see [`MutexGuard::release`]).
    pub async fn release(self) -> Result<()> {
        self.guard.release().await
    }
}

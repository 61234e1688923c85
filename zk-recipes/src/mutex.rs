//! A distributed mutex with Curator `InterProcessMutex`'s layout and
//! algorithm, a fencing token and loss notification.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use zk_client::{Client, CreateMode, EventType, OpResult, Transaction};

use crate::error::{Error, LossReason, Result};
use crate::guaranteed_delete::{guaranteed_delete, DeleteOutcome};
use crate::protected::{create_protected_and_list, default_policy, join, split};
use crate::queue::{place, Place};
use crate::session::Session;
use crate::state::ConnectionState;

/// The name of lock nodes (before the sequence number): `lock-`, as Curator's.
pub const LOCK_NAME: &str = "lock-";

/// A distributed mutex on a ZooKeeper path, interoperable with Curator's
/// `InterProcessMutex` on the same path.
///
/// Each contender creates `<path>/_c_<uuid>-lock-<seq>` (EPHEMERAL_SEQUENTIAL,
/// protected, container parents, data = [`Mutex::with_data`]); the lowest
/// sequence holds the lock; every other contender watches only its
/// immediate predecessor (with getData, so no watch is left on a missing
/// node) and re-checks when it goes.
///
/// - [`Mutex::acquire`] waits; [`Mutex::try_acquire`] waits at most a given
///   time. Dropping an acquire future at any point deletes its node (in the
///   background if need be) and leaves no watch.
/// - A contender whose session is lost (expired, or locally past its
///   deadline) re-queues in the new session at the back; a node of another
///   session is never treated as ours.
/// - Re-entrancy is explicit: [`MutexGuard::reenter`] gives another guard on
///   the same hold; the node is deleted when the last one is released.
#[derive(Clone)]
pub struct Mutex {
    session: Session,
    path: String,
    data: Vec<u8>,
}

impl fmt::Debug for Mutex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Mutex {
    /// A mutex on `path` (its nodes are `path`'s children).
    ///
    /// Errors: [`Error::InvalidArgument`] for a path that is not absolute.
    pub fn new(session: &Session, path: &str) -> Result<Mutex> {
        split(path)?;
        Ok(Mutex {
            session: session.clone(),
            path: path.trim_end_matches('/').to_owned(),
            data: Vec::new(),
        })
    }

    /// The data stored in this process's lock nodes (Curator's
    /// LeaderSelector stores the participant id).
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// The lock's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Waits until the lock is held.
    ///
    /// Errors: [`Error::Closed`] when the session is closed, or a client
    /// error that is not transient (NOAUTH on the path, for example).
    pub async fn acquire(&self) -> Result<MutexGuard> {
        loop {
            match self.attempt().await {
                Err(Error::SessionLost) | Err(Error::OutcomeUnknown) => continue,
                Err(Error::Client(e)) if e.is_retriable() => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                other => return other,
            }
        }
    }

    /// Waits at most `timeout` for the lock: `Ok(None)` if it was not
    /// acquired in time; the contender node is then deleted (in the
    /// background, after a reconnect if need be).
    pub async fn try_acquire(&self, timeout: Duration) -> Result<Option<MutexGuard>> {
        match tokio::time::timeout(timeout, self.acquire()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// One contender node, in one session: create it, wait for its turn.
    async fn attempt(&self) -> Result<MutexGuard> {
        // The first listing of the lock's children rides with the create.
        let (node, listing) = create_protected_and_list(
            &self.session,
            &join(&self.path, LOCK_NAME),
            &self.data,
            CreateMode::EphemeralSequential,
            &default_policy(),
            true,
        )
        .await?;
        let mut pending = Contender {
            session: self.session.clone(),
            client: node.client.clone(),
            path: Some(node.path.clone()),
        };
        wait_first(
            &self.session,
            &node.client,
            &self.path,
            &node.path,
            LOCK_NAME,
            listing,
        )
        .await?;
        let path = pending.path.take().unwrap_or_default();
        Ok(MutexGuard::new(
            &self.session,
            node.client,
            path,
            node.stat.czxid,
        ))
    }
}

/// A contender node not yet handed to a guard: deleted if dropped.
struct Contender {
    session: Session,
    client: Client,
    path: Option<String>,
}

impl Drop for Contender {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = guaranteed_delete(&self.session, &self.client, &path);
        }
    }
}

/// Waits until `ours` (a child of `dir` named `…name<seq>`) is first,
/// watching only its predecessor.
///
/// Errors: [`Error::SessionLost`] when the node is gone or its session is
/// over (the caller re-queues), [`Error::Closed`], or a client error.
pub(crate) async fn wait_first(
    session: &Session,
    client: &Client,
    dir: &str,
    ours: &str,
    name: &str,
    mut listing: Option<Vec<String>>,
) -> Result<()> {
    let (_, our_name) = split(ours)?;
    let mut states = session.states();
    loop {
        if session.is_closed() {
            return Err(Error::Closed);
        }
        if client.state().is_terminal() || session.client().session_id() != client.session_id() {
            return Err(Error::SessionLost);
        }
        // A listing made after our create (see create_protected_and_list)
        // serves the first round.
        let prefetched = listing
            .take()
            .filter(|c| c.iter().any(|n| n.as_str() == our_name));
        let children = match prefetched {
            Some(c) => c,
            None => match client.get_children(dir).await {
                Ok(c) => c,
                Err(zk_client::Error::NoNode) => return Err(Error::SessionLost),
                Err(e) => {
                    transient(e)?;
                    transient_pause().await;
                    continue;
                }
            },
        };
        let predecessor = match place(children, our_name, name) {
            Place::First => return Ok(()),
            // Deleted behind our back, or our session's end is underway.
            Place::Missing => return Err(Error::SessionLost),
            Place::Behind(p) => join(dir, &p),
        };
        let watch = match client.get_data_watch(&predecessor).await {
            // Removed from the server if we stop waiting (timeout, cancel).
            Ok((_, _, watch)) => watch.remove_on_drop(),
            Err(zk_client::Error::NoNode) => continue,
            Err(e) => {
                transient(e)?;
                transient_pause().await;
                continue;
            }
        };
        tokio::select! {
            _ = watch => {}
            _ = states.changed() => {}
        }
    }
}

/// Passes a transient error (after a short pause), fails on the others.
async fn transient_pause() {
    tokio::time::sleep(Duration::from_millis(20)).await;
}

fn transient(e: zk_client::Error) -> Result<()> {
    if e.is_terminal() {
        Err(Error::SessionLost)
    } else if e.is_retriable() {
        Ok(())
    } else {
        Err(Error::Client(e))
    }
}

/// Whether a lock (or leadership) is still held, as far as its holder knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HoldState {
    /// Held: the node exists and its session is connected.
    Held,
    /// The connection is suspended: the node may still exist, or the
    /// server may be expiring the session. Fenced writes decide.
    Uncertain,
    /// No longer held, and why.
    Lost(LossReason),
}

/// A held lock. Dropping it (or [`MutexGuard::release`]) deletes the node
/// once no [re-entered](MutexGuard::reenter) guard is left.
pub struct MutexGuard {
    held: Option<Arc<Held>>,
}

struct Held {
    session: Session,
    client: Client,
    path: String,
    token: i64,
    status: watch::Sender<HoldState>,
    monitor: tokio::task::JoinHandle<()>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.monitor.abort();
        self.status
            .send_replace(HoldState::Lost(LossReason::Released));
        if !self.path.is_empty() {
            let _ = guaranteed_delete(&self.session, &self.client, &self.path);
        }
    }
}

impl fmt::Debug for MutexGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("MutexGuard");
        if let Some(h) = &self.held {
            d.field("path", &h.path)
                .field("fencing_token", &h.token)
                .field("state", &*h.status.borrow());
        }
        d.finish()
    }
}

impl MutexGuard {
    pub(crate) fn new(session: &Session, client: Client, path: String, token: i64) -> MutexGuard {
        let (status, _) = watch::channel(HoldState::Held);
        let monitor = tokio::spawn(monitor(
            session.clone(),
            client.clone(),
            path.clone(),
            status.clone(),
        ));
        MutexGuard {
            held: Some(Arc::new(Held {
                session: session.clone(),
                client,
                path,
                token,
                status,
                monitor,
            })),
        }
    }

    fn held(&self) -> Result<&Held> {
        self.held
            .as_deref()
            .ok_or(Error::NotHeld(LossReason::Released))
    }

    /// The fencing token: the lock node's czxid. Every later holder's token
    /// is greater; a resource that remembers the greatest token it has seen
    /// can refuse a stale holder.
    pub fn fencing_token(&self) -> i64 {
        self.held.as_ref().map_or(0, |h| h.token)
    }

    /// The lock node's path.
    pub fn node_path(&self) -> &str {
        self.held.as_ref().map_or("", |h| h.path.as_str())
    }

    /// The client whose session holds the lock.
    pub fn client(&self) -> Option<&Client> {
        self.held.as_ref().map(|h| &h.client)
    }

    /// The current hold state.
    pub fn state(&self) -> HoldState {
        self.held
            .as_ref()
            .map_or(HoldState::Lost(LossReason::Released), |h| {
                *h.status.borrow()
            })
    }

    /// A `watch` receiver of the hold state.
    pub fn states(&self) -> Option<watch::Receiver<HoldState>> {
        self.held.as_ref().map(|h| h.status.subscribe())
    }

    /// Resolves when the lock is lost (own node deleted, session lost),
    /// with the reason; select on it beside the work done under the lock.
    pub fn lost(&self) -> impl std::future::Future<Output = LossReason> + Send + 'static {
        let rx = self.states();
        async move {
            let Some(mut rx) = rx else {
                return LossReason::Released;
            };
            let reason = match rx.wait_for(|s| matches!(s, HoldState::Lost(_))).await {
                Ok(s) => match *s {
                    HoldState::Lost(r) => r,
                    _ => LossReason::Released,
                },
                Err(_) => LossReason::Released,
            };
            reason
        }
    }

    /// Another guard on the same hold (explicit re-entrancy): the node is
    /// deleted when the last of them is released or dropped.
    pub fn reenter(&self) -> MutexGuard {
        MutexGuard {
            held: self.held.clone(),
        }
    }

    /// Commits the transaction `build` makes, with a check on the lock node
    /// first, so that it applies only while this lock is held (the node
    /// exists in the session that holds it). Returns the results of the
    /// ops `build` added.
    ///
    /// Errors: [`Error::NotHeld`] if the lock is known lost or the check
    /// failed; other errors as the transaction's.
    pub async fn fenced(
        &self,
        build: impl FnOnce(Transaction) -> Transaction,
    ) -> Result<Vec<OpResult>> {
        let held = self.held()?;
        if let HoldState::Lost(r) = *held.status.borrow() {
            return Err(Error::NotHeld(r));
        }
        fenced(&held.client, &held.path, &held.status, build).await
    }

    /// Releases the lock (if this is the last guard of the hold): deletes
    /// the node and waits until it is gone, or its session is. If the
    /// delete cannot be sent now it goes on in the background; the future
    /// can be dropped safely.
    pub async fn release(mut self) -> Result<()> {
        let Some(held) = self.held.take() else {
            return Ok(());
        };
        let Ok(mut held) = Arc::try_unwrap(held) else {
            return Ok(());
        };
        held.monitor.abort();
        held.status
            .send_replace(HoldState::Lost(LossReason::Released));
        let path = std::mem::take(&mut held.path);
        let handle = guaranteed_delete(&held.session, &held.client, &path);
        // `held` (now with an empty path) must not delete again.
        drop(held);
        match handle.wait().await {
            DeleteOutcome::Failed(e) => Err(Error::Client(e)),
            _ => Ok(()),
        }
    }
}

/// A fenced transaction on `client`: `check(path)` first.
pub(crate) async fn fenced(
    client: &Client,
    path: &str,
    status: &watch::Sender<HoldState>,
    build: impl FnOnce(Transaction) -> Transaction,
) -> Result<Vec<OpResult>> {
    let txn = build(client.transaction().check(path, -1));
    match txn.commit().await {
        Ok(results) => Ok(results.into_iter().skip(1).collect()),
        Err(zk_client::Error::MultiFailed { index: 0, .. }) => {
            status.send_replace(HoldState::Lost(LossReason::NodeDeleted));
            Err(Error::NotHeld(LossReason::NodeDeleted))
        }
        Err(e) if e.is_terminal() => {
            status.send_replace(HoldState::Lost(LossReason::SessionLost));
            Err(Error::NotHeld(LossReason::SessionLost))
        }
        Err(e) => Err(Error::Client(e)),
    }
}

/// Watches a held node and the session, and publishes the hold state.
pub(crate) async fn monitor(
    session: Session,
    client: Client,
    path: String,
    status: watch::Sender<HoldState>,
) {
    let mut states = session.states();
    let lost = |reason| {
        status.send_replace(HoldState::Lost(reason));
    };
    loop {
        let state = *states.borrow_and_update();
        if client.state().is_terminal()
            || session.client().session_id() != client.session_id()
            || matches!(state, ConnectionState::Lost | ConnectionState::Closed)
        {
            return lost(LossReason::SessionLost);
        }
        if state == ConnectionState::Suspended {
            status.send_replace(HoldState::Uncertain);
            let _ = states.changed().await;
            continue;
        }
        let watch = tokio::select! {
            r = client.get_data_watch(&path) => r,
            _ = states.changed() => continue,
        };
        match watch {
            Ok((_, _, watch)) => {
                let watch = watch.remove_on_drop();
                status.send_if_modified(|s| {
                    let changed = *s != HoldState::Held;
                    *s = HoldState::Held;
                    changed
                });
                tokio::select! {
                    ev = watch => match ev {
                        Ok(ev) if ev.event_type == EventType::NodeDeleted => {
                            return lost(LossReason::NodeDeleted);
                        }
                        Ok(_) => {}
                        Err(e) if e.is_terminal() => return lost(LossReason::SessionLost),
                        Err(_) => transient_pause().await,
                    },
                    _ = states.changed() => {}
                }
            }
            Err(zk_client::Error::NoNode) => return lost(LossReason::NodeDeleted),
            Err(e) if e.is_terminal() => return lost(LossReason::SessionLost),
            Err(_) => transient_pause().await,
        }
    }
}

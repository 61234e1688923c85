//! A distributed read-write lock with Curator `InterProcessReadWriteLock`'s
//! layout, fencing tokens and write-to-read downgrade.

use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use zk_client::{Client, CreateMode, CreateOptions};

use crate::error::{Error, Result};
use crate::guaranteed_delete::guaranteed_delete;
use crate::mutex::MutexGuard;
use crate::protected::{create_protected, default_policy, join, protected_prefix, split};
use crate::session::Session;

/// The marker of read nodes: `_c_<uuid>-__READ__<seq>`, as Curator's.
pub const READ_NAME: &str = "__READ__";
/// The marker of write nodes: `_c_<uuid>-__WRIT__<seq>`, as Curator's.
pub const WRITE_NAME: &str = "__WRIT__";

/// A distributed read-write lock on a ZooKeeper path, interoperable with
/// Curator's `InterProcessReadWriteLock` on the same path.
///
/// Every contender creates a node in `path` (EPHEMERAL_SEQUENTIAL,
/// protected, container parents): `_c_<uuid>-__WRIT__<seq>` for writing,
/// `_c_<uuid>-__READ__<seq>` for reading; the nodes sort by sequence.
///
/// - A **writer** holds the lock when its node is first; it watches only
///   its immediate predecessor (of either kind).
/// - A **reader** holds it when no write node is ahead of its own; it
///   watches the nearest write node ahead (Curator watches the first one;
///   either is correct, the nearest wakes fewer readers).
/// - **Downgrade** ([`WriteGuard::downgrade`]): while holding the write
///   lock, a read node named with the write node's sequence
///   (`_c_<uuid>-__READ__<same seq>`, EPHEMERAL, created in a transaction
///   that checks the write node) sorts right beside it, so when the write
///   node goes no writer queued behind can slip in: the reader holds on
///   without a gap (Curator's layout since CURATOR-621). Upgrading is not
///   possible.
///
/// Guards are [`MutexGuard`]s underneath (through `Deref`): a fencing token
/// (the node's czxid), fenced transactions, loss reports; dropping one
/// releases it. Acquires can be cancelled by dropping their future (no
/// node left behind) and re-queue in a new session after a session loss,
/// as [`Mutex::acquire`](crate::Mutex::acquire) does.
#[derive(Clone)]
pub struct ReadWriteLock {
    session: Session,
    path: String,
    data: Vec<u8>,
}

impl fmt::Debug for ReadWriteLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadWriteLock")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Which side of the lock a node is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Read,
    Write,
}

impl Side {
    fn marker(self) -> &'static str {
        match self {
            Side::Read => READ_NAME,
            Side::Write => WRITE_NAME,
        }
    }
}

impl ReadWriteLock {
    /// A read-write lock on `path` (its nodes are `path`'s children).
    ///
    /// Errors: [`Error::InvalidArgument`] for a path that is not absolute.
    pub fn new(session: &Session, path: &str) -> Result<Self> {
        split(path)?;
        Ok(ReadWriteLock {
            session: session.clone(),
            path: path.trim_end_matches('/').to_owned(),
            data: Vec::new(),
        })
    }

    /// The data stored in this process's lock nodes.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// The lock's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Waits until the write lock is held.
    ///
    /// Errors: [`Error::Closed`] when the session is closed, or a client
    /// error that is not transient.
    pub async fn write(&self) -> Result<WriteGuard> {
        Ok(WriteGuard {
            guard: self.acquire(Side::Write).await?,
            lock: self.clone(),
        })
    }

    /// Waits at most `timeout` for the write lock (`Ok(None)` if not held
    /// in time; the node is then deleted).
    pub async fn try_write(&self, timeout: Duration) -> Result<Option<WriteGuard>> {
        match tokio::time::timeout(timeout, self.write()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Waits until a read lock is held.
    ///
    /// Errors: as [`ReadWriteLock::write`].
    pub async fn read(&self) -> Result<ReadGuard> {
        Ok(ReadGuard {
            guard: self.acquire(Side::Read).await?,
        })
    }

    /// Waits at most `timeout` for a read lock (`Ok(None)` if not held in
    /// time; the node is then deleted).
    pub async fn try_read(&self, timeout: Duration) -> Result<Option<ReadGuard>> {
        match tokio::time::timeout(timeout, self.read()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    async fn acquire(&self, side: Side) -> Result<MutexGuard> {
        loop {
            match self.attempt(side).await {
                Err(Error::SessionLost) | Err(Error::OutcomeUnknown) => continue,
                Err(Error::Client(e)) if e.is_retriable() => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => return other,
            }
        }
    }

    /// One contender node, in one session: create it, wait for its turn.
    async fn attempt(&self, side: Side) -> Result<MutexGuard> {
        let node = create_protected(
            &self.session,
            &join(&self.path, side.marker()),
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
        self.wait_turn(&node.client, &node.path, side).await?;
        let path = pending.path.take().unwrap_or_default();
        Ok(MutexGuard::new(
            &self.session,
            node.client,
            path,
            node.stat.czxid,
        ))
    }

    /// Waits until `ours` may hold the lock on `side`, watching one node.
    async fn wait_turn(&self, client: &Client, ours: &str, side: Side) -> Result<()> {
        let (_, our_name) = split(ours)?;
        let mut states = self.session.states();
        loop {
            if self.session.is_closed() {
                return Err(Error::Closed);
            }
            if client.state().is_terminal()
                || self.session.client().session_id() != client.session_id()
            {
                return Err(Error::SessionLost);
            }
            let children = match client.get_children(&self.path).await {
                Ok(c) => c,
                Err(zk_client::Error::NoNode) => return Err(Error::SessionLost),
                Err(e) => {
                    transient(e)?;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let watch_node = match blocker(children, our_name, side) {
                Turn::Ours => return Ok(()),
                // Deleted behind our back, or our session's end is underway.
                Turn::Missing => return Err(Error::SessionLost),
                Turn::After(node) => join(&self.path, &node),
            };
            let watch = match client.get_data_watch(&watch_node).await {
                Ok((_, _, watch)) => watch.remove_on_drop(),
                Err(zk_client::Error::NoNode) => continue,
                Err(e) => {
                    transient(e)?;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            tokio::select! {
                _ = watch => {}
                _ = states.changed() => {}
            }
        }
    }
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

/// The sort key of a lock node: the text after its `__READ__` or
/// `__WRIT__` marker (Curator's `SortingLockInternalsDriver`).
pub(crate) fn sort_key(name: &str) -> &str {
    let after = |marker: &str| {
        name.rfind(marker)
            .and_then(|i| name.get(i + marker.len()..))
    };
    match (after(READ_NAME), after(WRITE_NAME)) {
        (Some(r), Some(w)) => {
            if r.len() < w.len() {
                r
            } else {
                w
            }
        }
        (Some(k), None) | (None, Some(k)) => k,
        (None, None) => name,
    }
}

fn is_write(name: &str) -> bool {
    name.contains(WRITE_NAME)
}

/// What our node waits for.
#[derive(Debug, PartialEq, Eq)]
enum Turn {
    /// It may hold the lock now.
    Ours,
    /// It must wait until this node is gone.
    After(String),
    /// It is not among the children.
    Missing,
}

/// The node `ours` waits for among `children` (unsorted), on `side`.
fn blocker(children: Vec<String>, ours: &str, side: Side) -> Turn {
    let mut nodes: Vec<String> = children
        .into_iter()
        .filter(|c| c.contains(READ_NAME) || c.contains(WRITE_NAME))
        .collect();
    // Equal keys (a downgrade's read node beside its write node): the
    // write node first, so that the pair sorts as one.
    nodes.sort_by(|a, b| {
        sort_key(a)
            .cmp(sort_key(b))
            .then_with(|| is_write(b).cmp(&is_write(a)))
    });
    let Some(i) = nodes.iter().position(|c| c == ours) else {
        return Turn::Missing;
    };
    let ahead = nodes.get(..i).unwrap_or_default();
    let wait_for = match side {
        Side::Write => ahead.last(),
        Side::Read => ahead.iter().rev().find(|n| is_write(n)),
    };
    match wait_for {
        None => Turn::Ours,
        Some(n) => Turn::After(n.clone()),
    }
}

/// A contender node not yet handed to a guard: deleted if dropped.
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

/// A held write lock; dropping it (or [`WriteGuard::release`]) releases it.
/// Derefs to its [`MutexGuard`] (fencing token, fenced writes, loss).
pub struct WriteGuard {
    guard: MutexGuard,
    lock: ReadWriteLock,
}

impl fmt::Debug for WriteGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WriteGuard").field(&self.guard).finish()
    }
}

impl Deref for WriteGuard {
    type Target = MutexGuard;
    fn deref(&self) -> &MutexGuard {
        &self.guard
    }
}

impl WriteGuard {
    /// Releases the write lock (see [`MutexGuard::release`]).
    pub async fn release(self) -> Result<()> {
        self.guard.release().await
    }

    /// Turns the write lock into a read lock without letting a writer in
    /// between: creates a read node beside our write node (in a
    /// transaction that checks the write node, so only while we hold it),
    /// then releases the write lock. The read guard's fencing token is the
    /// read node's czxid.
    ///
    /// Errors: [`Error::NotHeld`] if the write lock was lost (the write
    /// guard is then released); client errors. On an error the write lock
    /// is released too.
    pub async fn downgrade(self) -> Result<ReadGuard> {
        let client = self
            .guard
            .client()
            .cloned()
            .ok_or(Error::NotHeld(crate::LossReason::Released))?;
        let (dir, name) = split(self.guard.node_path())?;
        let seq = name
            .rfind(WRITE_NAME)
            .and_then(|i| name.get(i + WRITE_NAME.len()..))
            .ok_or_else(|| Error::InvalidArgument(format!("{name} is not a write lock node")))?;
        let read_path = join(
            dir,
            &format!(
                "{}{READ_NAME}{seq}",
                protected_prefix(&uuid::Uuid::new_v4())
            ),
        );
        let session = self.lock.session.clone();
        let made = create_beside(&self.guard, &client, &read_path).await;
        // Delete a half-made read node if anything below fails.
        let mut pending = Pending {
            session: session.clone(),
            client: client.clone(),
            path: Some(read_path.clone()),
        };
        let token = match made {
            Ok(token) => token,
            Err(e) => {
                drop(pending);
                let _ = self.guard.release().await;
                return Err(e);
            }
        };
        self.guard.release().await?;
        pending.path = None;
        Ok(ReadGuard {
            guard: MutexGuard::new(&session, client, read_path, token),
        })
    }
}

/// Creates the downgrade's read node under a check of the write node;
/// returns its czxid. A retry after an unknown outcome adopts a node of
/// that name owned by our session.
async fn create_beside(guard: &MutexGuard, client: &Client, read_path: &str) -> Result<i64> {
    let mut unknown = false;
    for _ in 0..20 {
        let made = guard
            .fenced(|t| t.create(read_path, b"", CreateOptions::new(CreateMode::Ephemeral)))
            .await;
        match made {
            Ok(_) => {}
            Err(Error::Client(zk_client::Error::MultiFailed { source, .. }))
                if unknown && *source == zk_client::Error::NodeExists => {}
            Err(Error::Client(e)) if e.is_retriable() => {
                unknown = true;
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Err(e) => return Err(e),
        }
        return match client.exists(read_path).await {
            Ok(Some(stat)) if stat.ephemeral_owner == client.session_id() => Ok(stat.czxid),
            Ok(_) => Err(Error::NotHeld(crate::LossReason::NodeDeleted)),
            Err(e) => Err(Error::from_client(e)),
        };
    }
    Err(Error::OutcomeUnknown)
}

/// A held read lock; dropping it (or [`ReadGuard::release`]) releases it.
/// Derefs to its [`MutexGuard`] (fencing token, fenced writes, loss).
pub struct ReadGuard {
    guard: MutexGuard,
}

impl fmt::Debug for ReadGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReadGuard").field(&self.guard).finish()
    }
}

impl Deref for ReadGuard {
    type Target = MutexGuard;
    fn deref(&self) -> &MutexGuard {
        &self.guard
    }
}

impl ReadGuard {
    /// Releases the read lock (see [`MutexGuard::release`]).
    pub async fn release(self) -> Result<()> {
        self.guard.release().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn readers_share_and_writers_wait() {
        let ch = names(&[
            "_c_b-__READ__0000000002",
            "_c_a-__WRIT__0000000001",
            "_c_c-__READ__0000000003",
            "_c_d-__WRIT__0000000004",
            "_c_e-__READ__0000000005",
        ]);
        let w1 = "_c_a-__WRIT__0000000001".to_owned();
        let w4 = "_c_d-__WRIT__0000000004".to_owned();
        assert_eq!(blocker(ch.clone(), &w1, Side::Write), Turn::Ours);
        assert_eq!(
            blocker(ch.clone(), "_c_b-__READ__0000000002", Side::Read),
            Turn::After(w1.clone())
        );
        assert_eq!(
            blocker(ch.clone(), "_c_c-__READ__0000000003", Side::Read),
            Turn::After(w1)
        );
        assert_eq!(
            blocker(ch.clone(), "_c_d-__WRIT__0000000004", Side::Write),
            Turn::After("_c_c-__READ__0000000003".into())
        );
        assert_eq!(
            blocker(ch.clone(), "_c_e-__READ__0000000005", Side::Read),
            Turn::After(w4)
        );
        assert_eq!(
            blocker(ch, "_c_x-__READ__0000000009", Side::Read),
            Turn::Missing
        );
        let readers = names(&["_c_b-__READ__0000000002", "_c_c-__READ__0000000003"]);
        assert_eq!(
            blocker(readers, "_c_c-__READ__0000000003", Side::Read),
            Turn::Ours
        );
    }

    #[test]
    fn a_downgraded_reader_sorts_beside_its_writer() {
        // Write node 1 downgraded: read node with seq 1; writer 2 queued.
        let ch = names(&[
            "_c_w2-__WRIT__0000000002",
            "_c_r1-__READ__0000000001",
            "_c_w1-__WRIT__0000000001",
        ]);
        assert_eq!(
            blocker(ch.clone(), "_c_w2-__WRIT__0000000002", Side::Write),
            Turn::After("_c_r1-__READ__0000000001".into())
        );
        // Once the write node is gone the read node holds on, and writer 2
        // still waits for it.
        let ch: Vec<String> = ch.into_iter().filter(|c| !c.contains("w1")).collect();
        assert_eq!(
            blocker(ch.clone(), "_c_r1-__READ__0000000001", Side::Read),
            Turn::Ours
        );
        assert_eq!(
            blocker(ch, "_c_w2-__WRIT__0000000002", Side::Write),
            Turn::After("_c_r1-__READ__0000000001".into())
        );
    }
}

//! Shared counters: Curator's `DistributedAtomicLong` (8-byte big-endian
//! value) and `SharedCount` (4-byte big-endian int) layouts.
//!
//! Every update is an optimistic read + `setData(version)`. Unlike Curator
//! and kazoo, a lost reply never leads to a second application: after a
//! connection loss the counter syncs, reads again and retries only when the
//! node's version proves the write did not happen. When the version moved
//! and the write may have been ours, the answer is
//! [`Outcome::Unknown`], never a success or a failure.

use std::time::Duration;

use tokio::sync::watch;
use zk_client::{Client, CreateMode, CreateOptions, Stat};

use crate::error::{Error, Result};

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome<T> {
    /// Applied exactly once: the value went from `pre` to `post`.
    Applied {
        /// The value the update replaced.
        pre: T,
        /// The value it wrote.
        post: T,
    },
    /// The write of `attempted` over `pre` was sent, its reply was lost, and
    /// the node has changed since in a way that may or may not include it.
    /// It was not retried.
    Unknown {
        /// The value the write meant to replace.
        pre: T,
        /// The value it tried to write.
        attempted: T,
    },
}

impl<T> Outcome<T> {
    /// Whether the update is known to have been applied.
    pub fn succeeded(&self) -> bool {
        matches!(self, Outcome::Applied { .. })
    }
}

/// How many optimistic rounds an update tries before giving up.
const MAX_ROUNDS: usize = 1000;

/// Where a counter's clients come from.
#[derive(Debug, Clone)]
struct Clients {
    rx: watch::Receiver<Client>,
    _fixed: Option<std::sync::Arc<watch::Sender<Client>>>,
}

impl Clients {
    fn fixed(client: &Client) -> Self {
        let (tx, rx) = watch::channel(client.clone());
        Clients {
            rx,
            _fixed: Some(std::sync::Arc::new(tx)),
        }
    }

    fn session(session: &crate::Session) -> Self {
        Clients {
            rx: session.clients(),
            _fixed: None,
        }
    }

    fn current(&self) -> Client {
        self.rx.borrow().clone()
    }
}

/// Whether a write's error leaves its outcome open.
fn outcome_open(e: &zk_client::Error) -> bool {
    matches!(
        e,
        zk_client::Error::ConnectionLoss
            | zk_client::Error::RequestTimeout
            | zk_client::Error::SessionExpired
            | zk_client::Error::Closed
    )
}

/// What a re-read after a write with an open outcome shows.
enum Resolved {
    /// The write did not happen (and cannot happen later): try again.
    NotApplied,
    /// It may have happened.
    Unknown,
}

/// Reads the node after a lost reply, once the client is connected again
/// and has synced (so an earlier request of ours that the leader still
/// held is ordered before the read).
async fn resolve(
    clients: &Clients,
    path: &str,
    expected_version: Option<i32>,
    ours: &[u8],
) -> Resolved {
    for attempt in 0..100u32 {
        let client = clients.current();
        let read = async {
            client.sync(path).await?;
            client.get_data(path).await
        };
        match read.await {
            Ok((data, stat)) => {
                return match expected_version {
                    // A set at `v` applied iff the version moved past `v`.
                    Some(v) if stat.version == v => Resolved::NotApplied,
                    Some(v) if stat.version == v.wrapping_add(1) && data[..] != *ours => {
                        // One write happened since, and it was not our value: not ours.
                        Resolved::NotApplied
                    }
                    // A create: someone else's node with other data (and untouched since).
                    None if stat.version == 0 && data[..] != *ours => Resolved::NotApplied,
                    _ => Resolved::Unknown,
                };
            }
            Err(zk_client::Error::NoNode) => {
                return match expected_version {
                    // Our create did not happen.
                    None => Resolved::NotApplied,
                    // Deleted since: whatever we did is gone with it.
                    Some(_) => Resolved::Unknown,
                };
            }
            Err(e) if e.is_retriable() => {
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt.min(10) + 1)))
                    .await;
            }
            Err(_) => {
                // A new session may be on its way (Session): wait for it a bit.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    Resolved::Unknown
}

/// A 64-bit counter with Curator's `DistributedAtomicLong` layout: the node
/// holds the value as 8 bytes, big-endian; a missing node reads as 0.
#[derive(Debug, Clone)]
pub struct AtomicLong {
    clients: Clients,
    path: String,
}

impl AtomicLong {
    /// The counter at `path`, on `client`.
    pub fn new(client: &Client, path: &str) -> Self {
        AtomicLong {
            clients: Clients::fixed(client),
            path: path.to_string(),
        }
    }

    /// The counter at `path`, on `session`'s current client.
    pub fn on_session(session: &crate::Session, path: &str) -> Self {
        AtomicLong {
            clients: Clients::session(session),
            path: path.to_string(),
        }
    }

    /// The counter's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The value now (0 when the node does not exist).
    pub async fn get(&self) -> Result<i64> {
        match self.clients.current().get_data(&self.path).await {
            Ok((data, _)) => decode_long(&self.path, &data),
            Err(zk_client::Error::NoNode) => Ok(0),
            Err(e) => Err(Error::from(e)),
        }
    }

    /// Adds 1.
    pub async fn increment(&self) -> Result<Outcome<i64>> {
        self.add(1).await
    }

    /// Subtracts 1.
    pub async fn decrement(&self) -> Result<Outcome<i64>> {
        self.add(-1).await
    }

    /// Adds `delta` (wrapping).
    pub async fn add(&self, delta: i64) -> Result<Outcome<i64>> {
        self.update(|v| Some(v.wrapping_add(delta)))
            .await
            .and_then(|o| o.ok_or_else(|| Error::InvalidArgument("no update".into())))
    }

    /// Sets the value to `new` if it is `expected`; `Ok(None)` when it is not.
    pub async fn compare_and_set(&self, expected: i64, new: i64) -> Result<Option<Outcome<i64>>> {
        self.update(|v| (v == expected).then_some(new)).await
    }

    /// Sets the value unconditionally.
    pub async fn set(&self, new: i64) -> Result<Outcome<i64>> {
        self.update(|_| Some(new))
            .await
            .and_then(|o| o.ok_or_else(|| Error::InvalidArgument("no update".into())))
    }

    /// The optimistic loop: read, compute, write at the read version.
    /// `f` returning `None` stops without writing (`Ok(None)`).
    async fn update(&self, f: impl Fn(i64) -> Option<i64>) -> Result<Option<Outcome<i64>>> {
        for _ in 0..MAX_ROUNDS {
            let client = self.clients.current();
            let (pre, version) = match client.get_data(&self.path).await {
                Ok((data, stat)) => (decode_long(&self.path, &data)?, Some(stat.version)),
                Err(zk_client::Error::NoNode) => (0, None),
                Err(e) if e.is_retriable() => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                Err(e) => return Err(Error::from(e)),
            };
            let Some(post) = f(pre) else { return Ok(None) };
            let bytes = post.to_be_bytes();
            let r = match version {
                Some(v) => client
                    .set_data(&self.path, &bytes, Some(v))
                    .await
                    .map(|_| ()),
                None => create_with_parents(&client, &self.path, &bytes).await,
            };
            match r {
                Ok(()) => return Ok(Some(Outcome::Applied { pre, post })),
                Err(zk_client::Error::BadVersion) | Err(zk_client::Error::NodeExists) => continue,
                Err(e) if outcome_open(&e) => {
                    match resolve(&self.clients, &self.path, version, &bytes).await {
                        Resolved::NotApplied => continue,
                        Resolved::Unknown => {
                            return Ok(Some(Outcome::Unknown {
                                pre,
                                attempted: post,
                            }))
                        }
                    }
                }
                Err(e) => return Err(Error::from(e)),
            }
        }
        Err(Error::InvalidArgument(format!(
            "{}: no update won in {MAX_ROUNDS} rounds of contention",
            self.path
        )))
    }
}

fn decode_long(path: &str, data: &[u8]) -> Result<i64> {
    let arr: [u8; 8] = data.try_into().map_err(|_| {
        Error::InvalidArgument(format!(
            "{path} holds {} bytes, not an 8-byte DistributedAtomicLong",
            data.len()
        ))
    })?;
    Ok(i64::from_be_bytes(arr))
}

async fn create_with_parents(
    client: &Client,
    path: &str,
    data: &[u8],
) -> std::result::Result<(), zk_client::Error> {
    loop {
        match client
            .create(path, data, &CreateOptions::new(CreateMode::Persistent))
            .await
        {
            Ok(_) => return Ok(()),
            Err(zk_client::Error::NoNode) => {
                let mut parents = Vec::new();
                let mut p = zk_proto::parent(path);
                while let Some(q) = p.filter(|q| *q != "/") {
                    parents.push(q.to_string());
                    p = zk_proto::parent(q);
                }
                for q in parents.iter().rev() {
                    match client.create(q, b"", &CreateOptions::default()).await {
                        Ok(_) | Err(zk_client::Error::NodeExists) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// A value with the node version it was read at, for
/// [`SharedCount::try_set`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionedValue<T> {
    /// The value.
    pub value: T,
    /// The node's data version when it was read.
    pub version: i32,
    /// The node's mzxid when it was read (orders values across version wraps).
    pub mzxid: i64,
}

/// The result of a [`SharedCount::try_set`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetOutcome {
    /// Written.
    Set,
    /// Not written: the node changed since the read, or a write whose reply
    /// was lost was proven not applied. Read again and retry.
    Conflict,
    /// The reply was lost and the node moved on: it may have been written.
    Unknown,
}

/// A shared 32-bit count with Curator's `SharedCount` layout (4 bytes,
/// big-endian) and versioned compare-and-set.
#[derive(Debug, Clone)]
pub struct SharedCount {
    clients: Clients,
    path: String,
    seed: i32,
}

impl SharedCount {
    /// The count at `path` on `client`; a missing node is created with `seed`.
    pub fn new(client: &Client, path: &str, seed: i32) -> Self {
        SharedCount {
            clients: Clients::fixed(client),
            path: path.to_string(),
            seed,
        }
    }

    /// The count at `path` on `session`'s current client.
    pub fn on_session(session: &crate::Session, path: &str, seed: i32) -> Self {
        SharedCount {
            clients: Clients::session(session),
            path: path.to_string(),
            seed,
        }
    }

    /// The count and its version, creating the node with the seed if missing.
    pub async fn get(&self) -> Result<VersionedValue<i32>> {
        let client = self.clients.current();
        loop {
            match client.get_data(&self.path).await {
                Ok((data, stat)) => return versioned(&self.path, &data, &stat),
                Err(zk_client::Error::NoNode) => {
                    match create_with_parents(&client, &self.path, &self.seed.to_be_bytes()).await {
                        Ok(()) | Err(zk_client::Error::NodeExists) => continue,
                        Err(e) => return Err(Error::from(e)),
                    }
                }
                Err(e) => return Err(Error::from(e)),
            }
        }
    }

    /// Writes `new` if the node is still at `prev`'s version.
    pub async fn try_set(&self, prev: &VersionedValue<i32>, new: i32) -> Result<SetOutcome> {
        let bytes = new.to_be_bytes();
        match self
            .clients
            .current()
            .set_data(&self.path, &bytes, Some(prev.version))
            .await
        {
            Ok(_) => Ok(SetOutcome::Set),
            Err(zk_client::Error::BadVersion) => Ok(SetOutcome::Conflict),
            Err(e) if outcome_open(&e) => Ok(
                match resolve(&self.clients, &self.path, Some(prev.version), &bytes).await {
                    Resolved::NotApplied => SetOutcome::Conflict,
                    Resolved::Unknown => SetOutcome::Unknown,
                },
            ),
            Err(e) => Err(Error::from(e)),
        }
    }
}

fn versioned(path: &str, data: &[u8], stat: &Stat) -> Result<VersionedValue<i32>> {
    let arr: [u8; 4] = data.try_into().map_err(|_| {
        Error::InvalidArgument(format!(
            "{path} holds {} bytes, not a 4-byte SharedCount",
            data.len()
        ))
    })?;
    Ok(VersionedValue {
        value: i32::from_be_bytes(arr),
        version: stat.version,
        mzxid: stat.mzxid,
    })
}

//! A reliable queue in Curator's `DistributedQueue` layout (lock-safe mode):
//! items are `<path>/queue-<seq>` (persistent sequential); a consumer takes
//! one by creating the ephemeral `<lock path>/<item name>`, processes it, and
//! acknowledges by deleting the item and its lock in one transaction.
//!
//! - **At least once**: an item leaves the queue only when acknowledged.
//! - **Never to two live consumers**: holding an item means holding its
//!   ephemeral lock, which one live session at a time can own.
//! - **Redelivery when a consumer dies**: its session ends, its locks go, and
//!   waiting consumers take the items again. Its late acknowledgement fails
//!   (it is sent on the dead session), so it can tell the item was not
//!   consumed by it.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use zk_client::{Client, CreateMode, CreateOptions};

use crate::error::{Error, Result};

/// The item name prefix (Curator's `QUEUE_ITEM_NAME`).
pub const ITEM_PREFIX: &str = "queue-";

/// A queue at a path, with its lock path (Curator: `lockPath`).
#[derive(Debug, Clone)]
pub struct DistributedQueue {
    clients: watch::Receiver<Client>,
    _fixed: Option<std::sync::Arc<watch::Sender<Client>>>,
    path: String,
    lock_path: String,
}

/// One taken item: process it, then [`ack`](Message::ack) it (or
/// [`release`](Message::release) it for another consumer).
#[derive(Debug)]
pub struct Message {
    /// The item's path.
    pub path: String,
    /// The item's data.
    pub data: Bytes,
    lock: String,
    /// The client (session) that holds the lock: the ack must come from it.
    client: Client,
}

impl DistributedQueue {
    /// The queue at `path` (locks under `lock_path`) on `client`.
    pub fn new(client: &Client, path: &str, lock_path: &str) -> Self {
        let (tx, rx) = watch::channel(client.clone());
        DistributedQueue {
            clients: rx,
            _fixed: Some(std::sync::Arc::new(tx)),
            path: path.trim_end_matches('/').to_string(),
            lock_path: lock_path.trim_end_matches('/').to_string(),
        }
    }

    /// The queue on `session` (after an expiry, takes continue in the new session).
    pub fn on_session(session: &crate::Session, path: &str, lock_path: &str) -> Self {
        DistributedQueue {
            clients: session.clients(),
            _fixed: None,
            path: path.trim_end_matches('/').to_string(),
            lock_path: lock_path.trim_end_matches('/').to_string(),
        }
    }

    fn client(&self) -> Client {
        self.clients.borrow().clone()
    }

    /// Adds an item; returns its path. Parents are created as needed.
    ///
    /// A lost reply is retried, so an item may (rarely) be added twice:
    /// the queue is at-least-once.
    pub async fn put(&self, data: &[u8]) -> Result<String> {
        let item = format!("{}/{ITEM_PREFIX}", self.path);
        let mut attempt = 0u32;
        loop {
            let client = self.client();
            match client
                .create(
                    &item,
                    data,
                    &CreateOptions::new(CreateMode::PersistentSequential),
                )
                .await
            {
                Ok((p, _)) => return Ok(p),
                Err(zk_client::Error::NoNode) => ensure_path(&client, &self.path).await?,
                Err(e) if e.is_retriable() && attempt < 20 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                }
                Err(e) => return Err(Error::from(e)),
            }
        }
    }

    /// Takes the oldest item no live consumer holds, waiting for one.
    pub async fn take(&self) -> Result<Message> {
        loop {
            if let Some(m) = self.try_take().await? {
                return Ok(m);
            }
            // Wait for a change of the items or of the locks (a consumer
            // died), or a while (a watch armed before a reconnect).
            let client = self.client();
            let items = client.get_children_watch(&self.path);
            let locks = client.get_children_watch(&self.lock_path);
            let (items, locks) = (items.await, locks.await);
            let wait_items = async {
                match items {
                    Ok((_, w)) => {
                        let _ = w.await;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            };
            let wait_locks = async {
                match locks {
                    Ok((_, w)) => {
                        let _ = w.await;
                    }
                    Err(_) => futures::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait_items => {}
                () = wait_locks => {}
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    }

    /// Takes the oldest free item, or `None` when every item is held or the
    /// queue is empty.
    pub async fn try_take(&self) -> Result<Option<Message>> {
        let client = self.client();
        let mut items = match client.get_children(&self.path).await {
            Ok(v) => v,
            Err(zk_client::Error::NoNode) => return Ok(None),
            Err(e) if e.is_retriable() => return Ok(None),
            Err(e) => return Err(Error::from(e)),
        };
        items.retain(|n| n.starts_with(ITEM_PREFIX));
        items.sort();
        for name in items {
            let lock = format!("{}/{name}", self.lock_path);
            if !self.lock(&client, &lock).await? {
                continue;
            }
            let path = format!("{}/{name}", self.path);
            match client.get_data(&path).await {
                Ok((data, _)) => {
                    return Ok(Some(Message {
                        path,
                        data,
                        lock,
                        client,
                    }))
                }
                // Consumed meanwhile: drop our lock.
                Err(zk_client::Error::NoNode) => {
                    let _ = client.delete(&lock, None).await;
                }
                Err(e) => {
                    let _ = client.delete(&lock, None).await;
                    if e.is_retriable() {
                        return Ok(None);
                    }
                    return Err(Error::from(e));
                }
            }
        }
        Ok(None)
    }

    /// Creates the item's ephemeral lock; true when ours.
    async fn lock(&self, client: &Client, lock: &str) -> Result<bool> {
        loop {
            match client
                .create(lock, b"", &CreateOptions::new(CreateMode::Ephemeral))
                .await
            {
                Ok(_) => return Ok(true),
                Err(zk_client::Error::NodeExists) => return Ok(false),
                Err(zk_client::Error::NoNode) => ensure_path(client, &self.lock_path).await?,
                Err(e) if e.is_retriable() => {
                    // The reply was lost: ours iff our session owns it.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    match client.exists(lock).await {
                        Ok(Some(s)) => return Ok(s.ephemeral_owner == client.session_id()),
                        Ok(None) => continue,
                        Err(e) if e.is_retriable() => return Ok(false),
                        Err(e) => return Err(Error::from(e)),
                    }
                }
                Err(e) => return Err(Error::from(e)),
            }
        }
    }
}

impl Message {
    /// Consumes the item: deletes it and its lock in one transaction, on
    /// the session that took it. Fails (and the item stays for another
    /// consumer) when that session is gone.
    pub async fn ack(self) -> Result<()> {
        for attempt in 0..50u32 {
            let r = self
                .client
                .transaction()
                .delete(&self.lock, None)
                .delete(&self.path, None)
                .commit()
                .await;
            match r {
                Ok(_) => return Ok(()),
                Err(e) if e.is_retriable() => {
                    // Lost reply: done iff our lock is gone (it goes only with the item).
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt.min(10) + 1)))
                        .await;
                    match self.client.exists(&self.lock).await {
                        Ok(None) => return Ok(()),
                        Ok(Some(s)) if s.ephemeral_owner == self.client.session_id() => continue,
                        // Someone else's lock now: the item went to another consumer.
                        Ok(Some(_)) => return Err(Error::NotHeld(crate::LossReason::NodeDeleted)),
                        Err(e) if e.is_retriable() => continue,
                        Err(e) => return Err(Error::from(e)),
                    }
                }
                Err(e) => return Err(Error::from(e)),
            }
        }
        Err(Error::Client(zk_client::Error::ConnectionLoss))
    }

    /// Gives the item back (deletes our lock) for another consumer.
    pub async fn release(self) -> Result<()> {
        match self.client.delete(&self.lock, None).await {
            Ok(()) | Err(zk_client::Error::NoNode) => Ok(()),
            Err(e) => Err(Error::from(e)),
        }
    }
}

async fn ensure_path(client: &Client, path: &str) -> Result<()> {
    let mut parts = Vec::new();
    let mut p = Some(path);
    while let Some(q) = p.filter(|q| *q != "/") {
        parts.push(q.to_string());
        p = zk_proto::parent(q);
    }
    for q in parts.iter().rev() {
        match client.create(q, b"", &CreateOptions::default()).await {
            Ok(_) | Err(zk_client::Error::NodeExists) => {}
            Err(e) => return Err(Error::from(e)),
        }
    }
    Ok(())
}

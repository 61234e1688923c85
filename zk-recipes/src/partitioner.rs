//! A set partitioner (kazoo's `SetPartitioner` layout): members join
//! `<path>/party` (ephemeral), and each member owns the items assigned to
//! it by holding the ephemeral lock `<path>/locks/<item>`.
//!
//! - Items are sorted and dealt round robin over the sorted members.
//! - **No item owned twice**: an item is owned only through its lock; on any
//!   membership change every member releases all its locks before the
//!   new assignment is acquired.
//! - **Every item owned once the group is stable**: after the membership
//!   has not changed for the settle time, each member acquires its share
//!   and reports [`PartitionState::Acquired`].

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::watch;
use zk_client::{Client, CreateMode, CreateOptions};

use crate::error::Error;

/// Where a member of a [`SetPartitioner`] stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PartitionState {
    /// Membership is changing or locks are being taken: own nothing.
    Allocating,
    /// These items are ours (their locks held) until the state changes.
    Acquired(Vec<String>),
    /// The partitioner stopped (its session series ended).
    Failed(Error),
}

/// A member of a set partition (see the [module docs](self)).
#[derive(Debug)]
pub struct SetPartitioner {
    state: watch::Receiver<PartitionState>,
    task: tokio::task::JoinHandle<()>,
}

impl SetPartitioner {
    /// Joins the partition of `items` at `path` on `session`; the
    /// membership must be unchanged for `settle` before items are taken.
    pub fn start(session: &crate::Session, path: &str, items: &[&str], settle: Duration) -> Self {
        Self::following(session.clients(), path, items, settle)
    }

    /// As [`start`](Self::start), on a series of clients.
    pub fn following(
        clients: watch::Receiver<Client>,
        path: &str,
        items: &[&str],
        settle: Duration,
    ) -> Self {
        let (tx, state) = watch::channel(PartitionState::Allocating);
        let items: BTreeSet<String> = items.iter().map(|s| s.to_string()).collect();
        let task = tokio::spawn(run(
            clients,
            path.trim_end_matches('/').to_string(),
            items.into_iter().collect(),
            settle,
            tx,
        ));
        SetPartitioner { state, task }
    }

    /// The state now.
    pub fn state(&self) -> PartitionState {
        self.state.borrow().clone()
    }

    /// A receiver of state changes.
    pub fn states(&self) -> watch::Receiver<PartitionState> {
        self.state.clone()
    }
}

impl Drop for SetPartitioner {
    fn drop(&mut self) {
        // The locks and the party node are ephemeral; the owner of the
        // session closes it, or another partitioner deletes nothing of ours.
        self.task.abort();
    }
}

async fn ensure_path(client: &Client, path: &str) -> Result<(), zk_client::Error> {
    let mut parts = Vec::new();
    let mut p = Some(path);
    while let Some(q) = p.filter(|q| *q != "/") {
        parts.push(q.to_string());
        p = zk_proto::parent(q);
    }
    for q in parts.iter().rev() {
        match client.create(q, b"", &CreateOptions::default()).await {
            Ok(_) | Err(zk_client::Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn run(
    mut clients: watch::Receiver<Client>,
    path: String,
    items: Vec<String>,
    settle: Duration,
    state: watch::Sender<PartitionState>,
) {
    let party = format!("{path}/party");
    let locks = format!("{path}/locks");
    let me = uuid::Uuid::new_v4().simple().to_string();
    loop {
        let client = clients.borrow_and_update().clone();
        state.send_replace(PartitionState::Allocating);
        let r = session_round(&client, &party, &locks, &me, &items, settle, &state).await;
        state.send_replace(PartitionState::Allocating);
        if let Err(e) = r {
            tracing::debug!(%path, error = %e, "partitioner: round ended");
            if e.is_terminal() || matches!(e, zk_client::Error::SessionExpired) {
                // Wait for the next session, if any.
                if clients.changed().await.is_err() {
                    state.send_replace(PartitionState::Failed(Error::from(e)));
                    return;
                }
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// One session's life: join, then allocate on every settled membership.
async fn session_round(
    client: &Client,
    party: &str,
    locks: &str,
    me: &str,
    items: &[String],
    settle: Duration,
    state: &watch::Sender<PartitionState>,
) -> Result<(), zk_client::Error> {
    ensure_path(client, party).await?;
    ensure_path(client, locks).await?;
    // Locks left by an earlier round of this session (a failed release).
    release_ours(client, locks, me).await?;
    let my_node = format!("{party}/{me}");
    match client
        .create(&my_node, b"", &CreateOptions::new(CreateMode::Ephemeral))
        .await
    {
        Ok(_) | Err(zk_client::Error::NodeExists) => {}
        Err(e) => return Err(e),
    }
    let mut held: Vec<String> = Vec::new();
    loop {
        // Settle: the membership must stay the same for `settle`.
        let members = loop {
            let (before, watch) = client.get_children_watch(party).await?;
            match tokio::time::timeout(settle, watch).await {
                Err(_) => break before,
                Ok(_) => continue,
            }
        };
        let mut members = members;
        members.sort();
        let Some(index) = members.iter().position(|m| m == me) else {
            // Our party node is gone (deleted by hand): join again.
            client
                .create(&my_node, b"", &CreateOptions::new(CreateMode::Ephemeral))
                .await?;
            continue;
        };
        let mine: Vec<String> = items
            .iter()
            .enumerate()
            .filter(|(i, _)| i % members.len() == index)
            .map(|(_, s)| s.clone())
            .collect();
        // Acquire, watching the party: a change means release everything.
        let (_, mut party_watch) = client.get_children_watch(party).await?;
        let mut changed = false;
        for item in &mine {
            let lock = format!("{locks}/{item}");
            loop {
                match client
                    .create(
                        &lock,
                        me.as_bytes(),
                        &CreateOptions::new(CreateMode::Ephemeral),
                    )
                    .await
                {
                    Ok(_) => {
                        held.push(lock.clone());
                        break;
                    }
                    Err(zk_client::Error::NodeExists) => {
                        let (data, stat) = match client.get_data(&lock).await {
                            Ok(r) => r,
                            Err(zk_client::Error::NoNode) => continue,
                            Err(e) => return Err(e),
                        };
                        if stat.ephemeral_owner == client.session_id() && &data[..] == me.as_bytes()
                        {
                            held.push(lock.clone());
                            break;
                        }
                        // Held by the previous owner until it sees the change: wait.
                        let (exists, gone) = client.exists_watch(&lock).await?;
                        if exists.is_none() {
                            continue;
                        }
                        tokio::select! {
                            _ = gone => continue,
                            _ = &mut party_watch => { changed = true; break; }
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            if changed {
                break;
            }
        }
        if !changed {
            state.send_replace(PartitionState::Acquired(mine.clone()));
            let _ = party_watch.await;
        }
        // Membership changed: own nothing, release every lock, allocate again.
        state.send_replace(PartitionState::Allocating);
        for lock in held.drain(..) {
            match client.delete(&lock, None).await {
                Ok(()) | Err(zk_client::Error::NoNode) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Deletes every lock under `locks` that this member holds in this session.
async fn release_ours(client: &Client, locks: &str, me: &str) -> Result<(), zk_client::Error> {
    for name in client.get_children(locks).await? {
        let lock = format!("{locks}/{name}");
        match client.get_data(&lock).await {
            Ok((data, stat))
                if stat.ephemeral_owner == client.session_id() && &data[..] == me.as_bytes() =>
            {
                match client.delete(&lock, None).await {
                    Ok(()) | Err(zk_client::Error::NoNode) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(_) | Err(zk_client::Error::NoNode) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

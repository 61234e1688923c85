//! A node that stays: created, watched, and created again when it is deleted
//! or its session ends (Curator's `PersistentNode`, usually EPHEMERAL).
//!
//! Unlike Curator, an existing node is adopted only when our current
//! session owns it (or, for a persistent mode, always): a node left by
//! another client or by our previous session is waited out (its deletion
//! watched), never taken over.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use zk_client::{Client, CreateMode, CreateOptions, EventType};

use crate::error::{Error, Result};

/// Where a [`PersistentNode`] stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NodeState {
    /// Our node exists in the current session (as far as we last saw).
    pub exists: bool,
    /// Times the node was (re)created by us.
    pub creations: u64,
    /// The session id that owns it (0 when it does not exist).
    pub session_id: i64,
}

enum Command {
    SetData(Bytes),
}

/// A node kept alive across deletions and sessions (see the
/// [module docs](self)). Dropping it stops the task; [`close`](Self::close)
/// also deletes the node.
#[derive(Debug)]
pub struct PersistentNode {
    path: String,
    state: watch::Receiver<NodeState>,
    commands: mpsc::UnboundedSender<Command>,
    clients: watch::Receiver<Client>,
    task: tokio::task::JoinHandle<()>,
}

impl PersistentNode {
    /// Keeps the node at `path` with `data` and `mode` on `session`
    /// (parents are created as containers).
    pub fn start(session: &crate::Session, path: &str, mode: CreateMode, data: &[u8]) -> Self {
        Self::following(session.clients(), path, mode, data)
    }

    /// As [`start`](Self::start), on a series of clients.
    pub fn following(
        clients: watch::Receiver<Client>,
        path: &str,
        mode: CreateMode,
        data: &[u8],
    ) -> Self {
        let (state_tx, state) = watch::channel(NodeState::default());
        let (commands, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(keep(
            clients.clone(),
            path.to_string(),
            mode,
            Bytes::copy_from_slice(data),
            state_tx,
            rx,
        ));
        PersistentNode {
            path: path.to_string(),
            state,
            commands,
            clients,
            task,
        }
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where the node stands now.
    pub fn state(&self) -> NodeState {
        self.state.borrow().clone()
    }

    /// A receiver of state changes.
    pub fn states(&self) -> watch::Receiver<NodeState> {
        self.state.clone()
    }

    /// Waits until the node exists (created or adopted) in the current
    /// session, up to `timeout`; false on timeout.
    pub async fn wait_for_creation(&self, timeout: Duration) -> bool {
        let mut rx = self.state.clone();
        let clients = self.clients.clone();
        tokio::time::timeout(
            timeout,
            rx.wait_for(|s| s.exists && s.session_id == clients.borrow().session_id()),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }

    /// Changes the node's data (now, and for every re-creation).
    pub fn set_data(&self, data: &[u8]) -> Result<()> {
        self.commands
            .send(Command::SetData(Bytes::copy_from_slice(data)))
            .map_err(|_| Error::Closed)
    }

    /// Stops keeping the node and deletes it (retrying transient failures
    /// for a while; a connection loss whose delete did apply is fine).
    pub async fn close(self) -> Result<()> {
        self.task.abort();
        // Transient failures are retried (on the newest client) for a while.
        let mut attempt = 0u32;
        loop {
            let client = self.clients.borrow().clone();
            match client.delete(&self.path, None).await {
                Ok(()) | Err(zk_client::Error::NoNode) => return Ok(()),
                Err(e) if e.is_retriable() && attempt < 50 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt.min(10))))
                        .await;
                }
                // An expired session's ephemeral is gone with it; a
                // persistent node waits for the next session to delete it.
                Err(zk_client::Error::SessionExpired) if attempt < 50 => {
                    attempt += 1;
                    let mut next = self.clients.clone();
                    let _ = tokio::time::timeout(Duration::from_secs(1), next.changed()).await;
                }
                Err(e) => return Err(Error::from(e)),
            }
        }
    }
}

impl Drop for PersistentNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn create_parents(client: &Client, path: &str) -> std::result::Result<(), zk_client::Error> {
    let mut parents = Vec::new();
    let mut p = zk_proto::parent(path);
    while let Some(q) = p.filter(|q| *q != "/") {
        parents.push(q.to_string());
        p = zk_proto::parent(q);
    }
    for q in parents.iter().rev() {
        match client
            .create(q, b"", &CreateOptions::new(CreateMode::Container))
            .await
        {
            Ok(_) | Err(zk_client::Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What one attempt to hold the node found.
enum Held {
    /// Ours now.
    Ours,
    /// Someone else's (or an old session's): wait for it to go.
    Foreign,
}

async fn ensure(
    client: &Client,
    path: &str,
    mode: CreateMode,
    data: &[u8],
) -> std::result::Result<Held, zk_client::Error> {
    loop {
        match client.create(path, data, &CreateOptions::new(mode)).await {
            Ok(_) => return Ok(Held::Ours),
            Err(zk_client::Error::NoNode) => create_parents(client, path).await?,
            Err(zk_client::Error::NodeExists) => {
                let Some(stat) = client.exists(path).await? else {
                    continue;
                };
                let ephemeral = matches!(
                    mode,
                    CreateMode::Ephemeral | CreateMode::EphemeralSequential
                );
                if !ephemeral || stat.ephemeral_owner == client.session_id() {
                    // Ours (a create whose reply was lost, or a persistent node): set our data.
                    client.set_data(path, data, None).await?;
                    return Ok(Held::Ours);
                }
                return Ok(Held::Foreign);
            }
            Err(e) => return Err(e),
        }
    }
}

async fn keep(
    mut clients: watch::Receiver<Client>,
    path: String,
    mode: CreateMode,
    mut data: Bytes,
    state: watch::Sender<NodeState>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let mut failures = 0u32;
    loop {
        let client = clients.borrow_and_update().clone();
        let held = match ensure(&client, &path, mode, &data).await {
            Ok(h) => {
                failures = 0;
                h
            }
            Err(e) => {
                tracing::debug!(%path, error = %e, "persistent node: create failed, retrying");
                state.send_modify(|s| s.exists = false);
                failures += 1;
                let pause = Duration::from_millis(20u64 << failures.min(5));
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    r = clients.changed() => if r.is_err() { return },
                }
                continue;
            }
        };
        if matches!(held, Held::Ours) {
            state.send_modify(|s| {
                s.exists = true;
                s.creations += 1;
                s.session_id = client.session_id();
            });
        } else {
            state.send_modify(|s| s.exists = false);
        }
        // Watch the node until it goes, the session changes, or data changes.
        loop {
            let watch = match client.exists_watch(&path).await {
                // Gone already: create it again (or, if foreign, it went).
                Ok((None, _)) => break,
                Ok((Some(_), w)) => w,
                Err(e) if e.is_retriable() => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    break;
                }
                Err(_) => {
                    // The session is over: wait for the next one.
                    if clients.changed().await.is_err() {
                        return;
                    }
                    break;
                }
            };
            tokio::select! {
                ev = watch => match ev {
                    Ok(ev) if ev.event_type == EventType::NodeDeleted => break,
                    Ok(_) => continue,
                    Err(_) => {
                        if clients.changed().await.is_err() {
                            return;
                        }
                        break;
                    }
                },
                r = clients.changed() => {
                    if r.is_err() {
                        return;
                    }
                    break;
                }
                cmd = commands.recv() => match cmd {
                    Some(Command::SetData(d)) => {
                        data = d;
                        if matches!(held, Held::Ours) {
                            if let Err(e) = client.set_data(&path, &data, None).await {
                                tracing::debug!(%path, error = %e, "persistent node: set_data failed; rewritten on re-creation");
                            }
                        }
                        continue;
                    }
                    None => return,
                },
            }
        }
        state.send_modify(|s| s.exists = false);
    }
}

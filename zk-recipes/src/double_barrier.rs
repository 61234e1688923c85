//! A double barrier (Curator's `DistributedDoubleBarrier` layout): members
//! enter together once enough have arrived, and leave together once all are
//! done.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;
use zk_client::{Client, CreateMode, CreateOptions};

use crate::barrier::{pause, until};
use crate::error::{Error, Result};
use crate::guaranteed_delete::guaranteed_delete;
use crate::protected::{create_with_container_parents, join, split};
use crate::session::Session;

/// The name of the node that opens the barrier: `<path>/ready`.
pub const READY_NODE: &str = "ready";

/// A double barrier at `path`, for (at least) `member_qty` members.
///
/// Layout (Curator's `DistributedDoubleBarrier`, so Java and Rust members can
/// share one barrier):
/// - each member: `<path>/<uuid>`, EPHEMERAL (the parents are created as
///   containers);
/// - `<path>/ready`, PERSISTENT, created by the member that finds at least
///   `member_qty` members; its existence lets everyone in.
///
/// **Enter** waits until `ready` exists. `member_qty` is a threshold, not a
/// limit: a member arriving while `ready` exists enters at once. Only member
/// nodes (children named like a UUID) count, so a stray child does not open
/// the barrier, and every wake-up re-reads the count: no spurious wake-up or
/// reconnect lets a member in early (Curator GH-1290).
///
/// **Leave** deletes our node and waits until no member node is left (each
/// leaver watches the highest remaining one, as Curator does); whoever finds
/// the barrier empty deletes `ready`.
///
/// **Faults.** A transient failure (connection loss) is retried after a
/// short pause with every condition read again, until the deadline; the
/// watches survive reconnects within the session. Our node belongs to one
/// session: if it ends (expiry, or lost locally) an `enter` or `leave`
/// fails with [`Error::SessionLost`] (and [`Error::Closed`] once the
/// [`Session`] is closed), so no wait outlives the session that holds our
/// node. A dropped (cancelled) `enter` or `leave` deletes our node in the
/// background.
pub struct DoubleBarrier {
    session: Session,
    path: String,
    member_qty: usize,
    our_name: String,
    ready_path: String,
    /// The client whose session holds our node, while we are in.
    entered: Option<Client>,
}

impl fmt::Debug for DoubleBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoubleBarrier")
            .field("path", &self.path)
            .field("member_qty", &self.member_qty)
            .field("member", &self.our_name)
            .field("entered", &self.entered.is_some())
            .finish_non_exhaustive()
    }
}

impl DoubleBarrier {
    /// A double barrier at `path` that opens once `member_qty` members
    /// (including us) are in.
    ///
    /// Errors: [`Error::InvalidArgument`] when `member_qty` is 0 or `path`
    /// is not absolute.
    pub fn new(session: &Session, path: &str, member_qty: usize) -> Result<Self> {
        if member_qty == 0 {
            return Err(Error::InvalidArgument(
                "a double barrier needs at least one member".into(),
            ));
        }
        split(path)?;
        let path = path.trim_end_matches('/').to_owned();
        let ready_path = join(&path, READY_NODE);
        Ok(DoubleBarrier {
            session: session.clone(),
            path,
            member_qty,
            our_name: uuid::Uuid::new_v4().to_string(),
            ready_path,
            entered: None,
        })
    }

    /// The barrier's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Our member node's path (`<path>/<uuid>`).
    pub fn member_path(&self) -> String {
        join(&self.path, &self.our_name)
    }

    /// Whether we are in (entered and not yet left).
    pub fn is_entered(&self) -> bool {
        self.entered.is_some()
    }

    /// Enters and waits, without a time limit, until `member_qty` members
    /// are in.
    ///
    /// Errors: [`Error::SessionLost`] if the session ends meanwhile (our
    /// node is gone with it), [`Error::Closed`], or a client error that is
    /// not transient.
    pub async fn enter(&mut self) -> Result<()> {
        // Without a deadline the wait never reports a timeout.
        self.enter_until(None).await.map(|_| ())
    }

    /// Enters and waits at most `timeout`: `Ok(true)` when in, `Ok(false)`
    /// when the time ran out first (our node is then deleted again). A
    /// `timeout` the clock cannot represent (`Duration::MAX`) means no deadline.
    pub async fn enter_timeout(&mut self, timeout: Duration) -> Result<bool> {
        self.enter_until(Instant::now().checked_add(timeout)).await
    }

    async fn enter_until(&mut self, deadline: Option<Instant>) -> Result<bool> {
        if self.entered.is_some() {
            return Ok(true);
        }
        let client = self.session.wait_connected().await?;
        // Until we are in, dropping this guard (a cancelled enter, an error,
        // a timeout) deletes our node in the background.
        let guard = MemberGuard {
            session: self.session.clone(),
            client: Some(client.clone()),
            path: self.member_path(),
        };
        let mut created = false;
        loop {
            if self.session.is_closed() {
                return Err(Error::Closed);
            }
            match self.enter_step(&client, &mut created, deadline).await {
                Ok(Some(true)) => {
                    guard.keep();
                    self.entered = Some(client);
                    return Ok(true);
                }
                Ok(Some(false)) => return Ok(false),
                Ok(None) => {}
                Err(e) if e.is_retriable() => {
                    tracing::debug!(path = %self.path, error = %e, "double barrier enter: retrying");
                    if !pause(deadline).await {
                        return Ok(false);
                    }
                }
                Err(e) => return Err(session_error(&self.session, e)),
            }
        }
    }

    /// One pass: `Some(true)` in, `Some(false)` timed out, `None` look again.
    async fn enter_step(
        &self,
        c: &Client,
        created: &mut bool,
        deadline: Option<Instant>,
    ) -> zk_client::Result<Option<bool>> {
        // Watch `ready` before counting, so its creation after our count
        // wakes us.
        let (ready, watch) = c.exists_watch(&self.ready_path).await?;
        if !*created {
            match create_with_container_parents(c, &self.member_path(), b"", CreateMode::Ephemeral)
                .await
            {
                // NodeExists: an earlier attempt whose reply was lost; the
                // name is ours alone (a fresh UUID in this session).
                Ok(_) | Err(zk_client::Error::NodeExists) => *created = true,
                Err(e) => return Err(e),
            }
        }
        if ready.is_some() {
            return Ok(Some(true));
        }
        let children = c.get_children(&self.path).await?;
        let members = children.iter().filter(|n| is_member_name(n)).count();
        if members >= self.member_qty {
            match c
                .create(&self.ready_path, b"", &CreateOptions::default())
                .await
            {
                Ok(_) | Err(zk_client::Error::NodeExists) => return Ok(Some(true)),
                Err(e) => return Err(e),
            }
        }
        match until(watch, deadline).await {
            // Whatever woke us (the creation of `ready`, anything else),
            // everything is read again.
            Some(Ok(_)) => Ok(None),
            Some(Err(e)) => Err(e),
            None => {
                // Timed out: last look, then give up (the guard deletes our node).
                Ok(Some(c.exists(&self.ready_path).await?.is_some()))
            }
        }
    }

    /// Leaves and waits, without a time limit, until every member has left.
    ///
    /// Errors: [`Error::InvalidArgument`] if we are not in; otherwise as
    /// [`DoubleBarrier::enter`].
    pub async fn leave(&mut self) -> Result<()> {
        // Without a deadline the wait never reports a timeout.
        self.leave_until(None).await.map(|_| ())
    }

    /// Leaves and waits at most `timeout` for the others: `Ok(true)` when
    /// all have left, `Ok(false)` when the time ran out first (our node is
    /// deleted either way). A `timeout` the clock cannot represent
    /// (`Duration::MAX`) means no deadline.
    pub async fn leave_timeout(&mut self, timeout: Duration) -> Result<bool> {
        self.leave_until(Instant::now().checked_add(timeout)).await
    }

    async fn leave_until(&mut self, deadline: Option<Instant>) -> Result<bool> {
        let Some(client) = self.entered.take() else {
            return Err(Error::InvalidArgument(format!(
                "leave without enter on the double barrier {}",
                self.path
            )));
        };
        // From here on our node is going; a cancelled leave still deletes it.
        let mut guard = MemberGuard {
            session: self.session.clone(),
            client: Some(client.clone()),
            path: self.member_path(),
        };
        let mut ours_gone = false;
        loop {
            if self.session.is_closed() {
                return Err(Error::Closed);
            }
            let step = self.leave_step(&client, &mut ours_gone, deadline).await;
            if ours_gone {
                guard.client = None;
            }
            match step {
                Ok(Some(done)) => return Ok(done),
                Ok(None) => {}
                Err(e) if e.is_retriable() => {
                    tracing::debug!(path = %self.path, error = %e, "double barrier leave: retrying");
                    if !pause(deadline).await {
                        return Ok(false);
                    }
                }
                Err(e) => return Err(session_error(&self.session, e)),
            }
        }
    }

    async fn leave_step(
        &self,
        c: &Client,
        ours_gone: &mut bool,
        deadline: Option<Instant>,
    ) -> zk_client::Result<Option<bool>> {
        let mut members: Vec<String> = match c.get_children(&self.path).await {
            Ok(children) => children.into_iter().filter(|n| is_member_name(n)).collect(),
            Err(zk_client::Error::NoNode) => Vec::new(),
            Err(e) => return Err(e),
        };
        members.sort();
        let others: Vec<&String> = members.iter().filter(|n| **n != self.our_name).collect();
        if !*ours_gone {
            match c.delete(&self.member_path(), None).await {
                Ok(()) | Err(zk_client::Error::NoNode) => *ours_gone = true,
                Err(e) => return Err(e),
            }
        }
        let Some(highest) = others.last() else {
            // Everyone is out: close the barrier behind us.
            match c.delete(&self.ready_path, None).await {
                Ok(()) | Err(zk_client::Error::NoNode) | Err(zk_client::Error::NotEmpty) => {}
                Err(e) => return Err(e),
            }
            return Ok(Some(true));
        };
        let (stat, watch) = c.exists_watch(&join(&self.path, highest)).await?;
        if stat.is_none() {
            return Ok(None);
        }
        match until(watch, deadline).await {
            Some(Ok(_)) => Ok(None),
            Some(Err(e)) => Err(e),
            None => Ok(Some(false)),
        }
    }
}

/// The error for a failed step: the end of our node's session is
/// [`Error::SessionLost`] (or [`Error::Closed`] once the [`Session`] is
/// closed), whichever way the client reports it.
fn session_error(session: &Session, e: zk_client::Error) -> Error {
    if session.is_closed() {
        Error::Closed
    } else if e.is_terminal() {
        Error::SessionLost
    } else {
        Error::from_client(e)
    }
}

/// Whether a child of the barrier is a member node: named like a UUID
/// (`8-4-4-4-12` hex digits), as Curator's and ours are.
fn is_member_name(name: &str) -> bool {
    uuid::Uuid::try_parse(name).is_ok() && name.len() == 36
}

/// Deletes a member node (guaranteed, in the background) when dropped,
/// unless kept.
struct MemberGuard {
    session: Session,
    client: Option<Client>,
    path: String,
}

impl MemberGuard {
    fn keep(mut self) {
        self.client = None;
    }
}

impl Drop for MemberGuard {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = guaranteed_delete(&self.session, &client, &self.path);
        }
    }
}

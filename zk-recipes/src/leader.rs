//! Leader latch (Curator `LeaderLatch` layout) and leader election
//! (Curator `LeaderSelector` style: run a future while leader).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use zk_client::{Client, CreateMode, EventType, OpResult, Transaction};

use crate::error::{Error, LossReason, Result};
use crate::guaranteed_delete::guaranteed_delete;
use crate::mutex::{HoldState, Mutex, MutexGuard, LOCK_NAME};
use crate::protected::{create_protected, default_policy, join, split};
use crate::queue::{place, sorted, Place};
use crate::session::Session;
use crate::state::ConnectionState;

/// The name of latch nodes (before the sequence number): `latch-`, as Curator's.
pub const LATCH_NAME: &str = "latch-";

/// Whether this participant leads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Leadership {
    /// Not the leader (or not sure: suspended, with the default policy).
    Follower,
    /// The leader: our node is first and owned by our live session.
    Leader {
        /// The fencing token: our node's czxid (greater for every later leader).
        fencing_token: i64,
        /// Our node's path.
        node: String,
        /// The session that owns our node (writes made as leader must go
        /// through this session's client, [`Session::client`] while it is
        /// current, or better through [`LeaderLatch::fenced`]).
        session_id: i64,
    },
}

impl Leadership {
    /// Whether this is [`Leadership::Leader`].
    pub fn is_leader(&self) -> bool {
        matches!(self, Leadership::Leader { .. })
    }

    /// The fencing token while leader.
    pub fn fencing_token(&self) -> Option<i64> {
        match self {
            Leadership::Leader { fencing_token, .. } => Some(*fencing_token),
            Leadership::Follower => None,
        }
    }
}

/// A committed fenced transaction of a [`LeaderLatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fenced {
    /// The fencing token of the leadership it was committed under.
    pub fencing_token: i64,
    /// The results of the ops after the check.
    pub results: Vec<OpResult>,
}

/// A participant of a latch or election, as read from its node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Participant {
    /// Its id (the node's data, UTF-8; lossy for other bytes).
    pub id: String,
    /// Whether its node is first, i.e. it is (or is about to be) the leader.
    pub is_leader: bool,
    /// Its node's name.
    pub node: String,
}

/// The participants of the latch or election at `dir`, whose nodes are
/// named `…name<seq>`, in order (the leader first).
async fn participants(client: &Client, dir: &str, name: &str) -> Result<Vec<Participant>> {
    let children = match client.get_children(dir).await {
        Ok(c) => c,
        Err(zk_client::Error::NoNode) => return Ok(Vec::new()),
        Err(e) => return Err(Error::from_client(e)),
    };
    let mut out = Vec::new();
    for node in sorted(children, name) {
        match client.get_data(&join(dir, &node)).await {
            Ok((data, _)) => out.push(Participant {
                id: String::from_utf8_lossy(&data).into_owned(),
                is_leader: out.is_empty(),
                node,
            }),
            Err(zk_client::Error::NoNode) => {}
            Err(e) => return Err(Error::from_client(e)),
        }
    }
    Ok(out)
}

/// Builds a [`LeaderLatch`]; see [`LeaderLatch::builder`].
#[derive(Debug, Clone)]
pub struct LeaderLatchBuilder {
    session: Session,
    path: String,
    id: String,
    step_down_on_suspended: bool,
}

impl LeaderLatchBuilder {
    /// Whether to stop leading as soon as the connection is suspended
    /// (default `true`, Curator's default error policy). With `false`
    /// leadership lasts through a suspension until the session is declared
    /// lost (at the session timeout, less a margin, after the last server
    /// contact) — the node may then still be first on the server, so
    /// writes must be fenced.
    pub fn step_down_on_suspended(mut self, on: bool) -> Self {
        self.step_down_on_suspended = on;
        self
    }

    /// Joins the latch: creates our node in the background and starts
    /// following leadership.
    pub fn start(self) -> LeaderLatch {
        let (leadership, _) = watch::channel(Leadership::Follower);
        let (closed, _) = watch::channel(false);
        let shared = Arc::new(LatchShared {
            session: self.session,
            path: self.path,
            id: self.id,
            step_down_on_suspended: self.step_down_on_suspended,
            leadership,
            closed,
            node: std::sync::Mutex::new(None),
        });
        let task = tokio::spawn(run_latch(shared.clone()));
        LeaderLatch {
            shared,
            task: Some(task),
        }
    }
}

/// A leader latch, interoperable with Curator's `LeaderLatch` on one path.
///
/// Every participant creates `<path>/_c_<uuid>-latch-<seq>` (EPHEMERAL_SEQUENTIAL,
/// protected, container parents, data = its id); the first node leads.
/// This participant leads only while its node is first **and** owned by
/// its current session (CURATOR-696): it watches its predecessor (getData)
/// and its own node (an external delete ends leadership at once,
/// CURATOR-171), steps down on Suspended (by default) and always on Lost,
/// and re-joins with a new node in a new session. A reconnect in the same
/// session keeps the node (CURATOR-644/645).
///
/// Leadership is a `watch` channel ([`LeaderLatch::leadership`]) carrying a
/// fencing token; [`LeaderLatch::fenced`] makes a write conditional on
/// still leading. [`LeaderLatch::close`] relinquishes at once.
pub struct LeaderLatch {
    shared: Arc<LatchShared>,
    task: Option<tokio::task::JoinHandle<()>>,
}

struct LatchShared {
    session: Session,
    path: String,
    id: String,
    step_down_on_suspended: bool,
    leadership: watch::Sender<Leadership>,
    closed: watch::Sender<bool>,
    /// Our node and the client of its session, while it may exist.
    node: std::sync::Mutex<Option<(Client, String)>>,
}

impl LatchShared {
    fn set(&self, l: Leadership) {
        self.leadership.send_if_modified(|cur| {
            let changed = *cur != l;
            if changed {
                tracing::debug!(
                    path = self.path,
                    id = self.id,
                    leader = l.is_leader(),
                    "leadership"
                );
                *cur = l;
            }
            changed
        });
    }

    fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    fn take_node(&self) -> Option<(Client, String)> {
        self.node.lock().ok().and_then(|mut n| n.take())
    }

    fn set_node(&self, node: Option<(Client, String)>) {
        if let Ok(mut n) = self.node.lock() {
            *n = node;
        }
    }
}

impl fmt::Debug for LeaderLatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaderLatch")
            .field("path", &self.shared.path)
            .field("id", &self.shared.id)
            .field("leadership", &*self.shared.leadership.borrow())
            .finish()
    }
}

impl LeaderLatch {
    /// A builder for a latch at `path` with participant `id`.
    ///
    /// Errors: [`Error::InvalidArgument`] for a path that is not absolute.
    pub fn builder(session: &Session, path: &str, id: &str) -> Result<LeaderLatchBuilder> {
        split(path)?;
        Ok(LeaderLatchBuilder {
            session: session.clone(),
            path: path.trim_end_matches('/').to_owned(),
            id: id.to_owned(),
            step_down_on_suspended: true,
        })
    }

    /// Starts a latch with the default options.
    pub fn start(session: &Session, path: &str, id: &str) -> Result<LeaderLatch> {
        Ok(LeaderLatch::builder(session, path, id)?.start())
    }

    /// A `watch` receiver of this participant's leadership.
    pub fn leadership(&self) -> watch::Receiver<Leadership> {
        self.shared.leadership.subscribe()
    }

    /// Whether this participant leads now.
    pub fn is_leader(&self) -> bool {
        self.shared.leadership.borrow().is_leader()
    }

    /// This participant's id.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// Waits until this participant leads; returns the fencing token.
    ///
    /// Errors: [`Error::Closed`] if the latch or session closes first.
    pub async fn wait_leader(&self) -> Result<i64> {
        let mut rx = self.leadership();
        let mut states = self.shared.session.states();
        let mut closed = self.shared.closed.subscribe();
        loop {
            if let Some(t) = rx.borrow_and_update().fencing_token() {
                return Ok(t);
            }
            if self.shared.is_closed() || self.shared.session.is_closed() {
                return Err(Error::Closed);
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() { return Err(Error::Closed) },
                _ = states.changed() => {}
                _ = closed.changed() => {}
            }
        }
    }

    /// The participants in order, the current leader first.
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        participants(&self.shared.session.client(), &self.shared.path, LATCH_NAME).await
    }

    /// The current leader, if any.
    pub async fn leader(&self) -> Result<Option<Participant>> {
        Ok(self.participants().await?.into_iter().next())
    }

    /// Commits the transaction `build` makes, with a check on our latch
    /// node first: it applies only while our node exists in its session.
    /// Returns the fencing token it was made under and the results of the
    /// ops `build` added.
    ///
    /// Errors: [`Error::NotHeld`] when not leading, or when the check failed.
    pub async fn fenced(&self, build: impl FnOnce(Transaction) -> Transaction) -> Result<Fenced> {
        let (node, fencing_token) = match &*self.shared.leadership.borrow() {
            Leadership::Leader {
                node,
                fencing_token,
                ..
            } => (node.clone(), *fencing_token),
            Leadership::Follower => return Err(Error::NotHeld(LossReason::Released)),
        };
        let client = self
            .shared
            .node
            .lock()
            .ok()
            .and_then(|n| {
                n.as_ref()
                    .filter(|(_, p)| *p == node)
                    .map(|(c, _)| c.clone())
            })
            .ok_or(Error::NotHeld(LossReason::Released))?;
        let txn = build(client.transaction().check(&node, -1));
        match txn.commit().await {
            Ok(results) => Ok(Fenced {
                fencing_token,
                results: results.into_iter().skip(1).collect(),
            }),
            Err(zk_client::Error::MultiFailed { index: 0, .. }) => {
                Err(Error::NotHeld(LossReason::NodeDeleted))
            }
            Err(e) if e.is_terminal() => Err(Error::NotHeld(LossReason::SessionLost)),
            Err(e) => Err(Error::Client(e)),
        }
    }

    /// Leaves the latch: leadership ends at once (the channel says
    /// Follower before anything is sent), then our node is deleted; waits
    /// until it is gone or its session is (the delete goes on in the
    /// background if this future is dropped).
    pub async fn close(mut self) -> Result<()> {
        let handle = self.shutdown();
        if let Some(h) = handle {
            h.wait().await;
        }
        Ok(())
    }

    fn shutdown(&mut self) -> Option<crate::guaranteed_delete::DeleteHandle> {
        self.shared.closed.send_replace(true);
        self.shared.set(Leadership::Follower);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.shared
            .take_node()
            .map(|(client, path)| guaranteed_delete(&self.shared.session, &client, &path))
    }
}

impl Drop for LeaderLatch {
    fn drop(&mut self) {
        if self.task.is_some() {
            let _ = self.shutdown();
        }
    }
}

/// What ended one node's life in the latch.
enum NodeEnd {
    /// Make a new node (ours is gone, or its session is).
    Reset,
    /// The latch was closed.
    Closed,
}

async fn run_latch(shared: Arc<LatchShared>) {
    let session = shared.session.clone();
    let mut closed = shared.closed.subscribe();
    loop {
        if shared.is_closed() {
            return;
        }
        let node_path = join(&shared.path, LATCH_NAME);
        let policy = default_policy();
        let created = tokio::select! {
            r = create_protected(
                &session,
                &node_path,
                shared.id.as_bytes(),
                CreateMode::EphemeralSequential,
                &policy,
            ) => r,
            _ = closed.wait_for(|c| *c) => return,
        };
        let node = match created {
            Ok(node) => node,
            Err(Error::Closed) => return,
            Err(e) => {
                tracing::debug!(error = %e, path = shared.path, "latch: create failed; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        shared.set_node(Some((node.client.clone(), node.path.clone())));
        let end = follow(&shared, &node.client, &node.path).await;
        shared.set(Leadership::Follower);
        if let Some((client, path)) = shared.take_node() {
            // Gone already, or its session is: make sure.
            let _ = guaranteed_delete(&session, &client, &path);
        }
        if let NodeEnd::Closed = end {
            return;
        }
    }
}

/// One look at the queue.
enum Step {
    /// Our node is gone or not ours: make a new one.
    Reset,
    /// Look again at once.
    Again,
    /// Wait for an event on our node (or the predecessor's).
    Wait(zk_client::OneshotWatch, Option<zk_client::OneshotWatch>),
}

/// Follows leadership for one node until it must be replaced.
async fn follow(shared: &LatchShared, client: &Client, ours: &str) -> NodeEnd {
    let session = &shared.session;
    let mut states = session.states();
    let mut closed = shared.closed.subscribe();
    let Ok((_, our_name)) = split(ours) else {
        return NodeEnd::Reset;
    };
    // The pause after a failed look at the queue: short for a transient
    // error, growing for one that repeats as long as nothing changes (a
    // listing over the client's limit, a missing permission).
    let mut pause = Duration::ZERO;
    loop {
        if shared.is_closed() || session.is_closed() {
            return NodeEnd::Closed;
        }
        let state = *states.borrow_and_update();
        // A node of an older session is never ours (NewSession, as a state,
        // says nothing about a node made in the new session).
        if client.state().is_terminal()
            || session.client().session_id() != client.session_id()
            || state == ConnectionState::Lost
        {
            return NodeEnd::Reset;
        }
        if state == ConnectionState::Closed {
            return NodeEnd::Closed;
        }
        if state == ConnectionState::Suspended {
            if shared.step_down_on_suspended {
                shared.set(Leadership::Follower);
            }
            tokio::select! {
                _ = states.changed() => {}
                _ = closed.changed() => {}
            }
            continue;
        }
        let step = async {
            let children = client.get_children(&shared.path).await?;
            match place(children, our_name, LATCH_NAME) {
                Place::Missing => Ok(Step::Reset),
                Place::First => {
                    let (_, stat, own) = client.get_data_watch(ours).await?;
                    let own = own.remove_on_drop();
                    if stat.ephemeral_owner != client.session_id() {
                        return Ok(Step::Reset);
                    }
                    shared.set(Leadership::Leader {
                        fencing_token: stat.czxid,
                        node: ours.to_owned(),
                        session_id: client.session_id(),
                    });
                    Ok(Step::Wait(own, None))
                }
                Place::Behind(pred) => {
                    shared.set(Leadership::Follower);
                    let (_, _, own) = client.get_data_watch(ours).await?;
                    let own = own.remove_on_drop();
                    match client.get_data_watch(&join(&shared.path, &pred)).await {
                        Ok((_, _, w)) => Ok(Step::Wait(own, Some(w.remove_on_drop()))),
                        // Gone meanwhile: look again at once (CURATOR-645).
                        Err(zk_client::Error::NoNode) => Ok(Step::Again),
                        Err(e) => Err(e),
                    }
                }
            }
        };
        let step: zk_client::Result<_> = tokio::select! {
            r = step => r,
            _ = states.changed() => continue,
            _ = closed.changed() => continue,
        };
        if step.is_ok() {
            pause = Duration::ZERO;
        }
        match step {
            Ok(Step::Reset) => return NodeEnd::Reset,
            Ok(Step::Again) => {}
            Ok(Step::Wait(own, pred)) => {
                let pred = async move {
                    match pred {
                        Some(w) => {
                            let _ = w.await;
                        }
                        None => futures::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    ev = own => match ev {
                        Ok(ev) if ev.event_type == EventType::NodeDeleted => {
                            shared.set(Leadership::Follower);
                            return NodeEnd::Reset;
                        }
                        Ok(_) => {}
                        Err(e) if e.is_terminal() => return NodeEnd::Reset,
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    },
                    () = pred => {}
                    _ = states.changed() => {}
                    _ = closed.changed() => {}
                }
            }
            // Our node is gone, or the directory is (CURATOR-724).
            Err(zk_client::Error::NoNode) => {
                if client.exists(ours).await.ok().flatten().is_none() {
                    shared.set(Leadership::Follower);
                    return NodeEnd::Reset;
                }
            }
            Err(e) if e.is_terminal() => return NodeEnd::Reset,
            Err(e) => {
                pause = retry_pause(pause, e.is_retriable());
                if !e.is_retriable() {
                    tracing::warn!(
                        path = %shared.path,
                        error = %e,
                        retry_in_ms = pause.as_millis() as u64,
                        "leader latch: cannot read the queue; still a follower"
                    );
                }
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    _ = closed.changed() => {}
                }
            }
        }
    }
}

/// The pause before the next look at the queue after a failed one: 20 ms
/// after a transient error; after one that will not pass by itself,
/// doubling from there up to 5 s, so the latch never polls the server in
/// a tight loop.
fn retry_pause(previous: Duration, retriable: bool) -> Duration {
    const FIRST: Duration = Duration::from_millis(20);
    const MAX: Duration = Duration::from_secs(5);
    if retriable {
        FIRST
    } else {
        previous.saturating_mul(2).clamp(FIRST, MAX)
    }
}

#[cfg(test)]
mod retry_pause_tests {
    use super::*;

    #[test]
    fn a_lasting_error_backs_off_to_five_seconds_and_a_transient_one_stays_short() {
        let mut pause = Duration::ZERO;
        let mut seen = Vec::new();
        for _ in 0..12 {
            pause = retry_pause(pause, false);
            seen.push(pause.as_millis());
        }
        assert_eq!(
            seen,
            [20, 40, 80, 160, 320, 640, 1280, 2560, 5000, 5000, 5000, 5000]
        );
        assert_eq!(retry_pause(pause, true), Duration::from_millis(20));
    }
}

/// Leader election in Curator `LeaderSelector` style: contenders queue on
/// a [`Mutex`] (`<path>/_c_<uuid>-lock-<seq>`, data = id); the holder runs
/// a future while it leads.
#[derive(Debug, Clone)]
pub struct LeaderElection {
    mutex: Mutex,
    session: Session,
    step_down_on_suspended: bool,
}

/// What the leading future gets: the fencing token, fenced writes, and
/// the loss of leadership to select on.
#[derive(Debug)]
pub struct LeaderContext {
    guard: MutexGuard,
}

impl LeaderContext {
    /// The fencing token (our lock node's czxid).
    pub fn fencing_token(&self) -> i64 {
        self.guard.fencing_token()
    }

    /// A transaction conditional on still leading; see [`MutexGuard::fenced`].
    pub async fn fenced(
        &self,
        build: impl FnOnce(Transaction) -> Transaction,
    ) -> Result<Vec<OpResult>> {
        self.guard.fenced(build).await
    }

    /// The current hold state.
    pub fn state(&self) -> HoldState {
        self.guard.state()
    }
}

impl LeaderElection {
    /// An election at `path` with participant `id`.
    ///
    /// Errors: [`Error::InvalidArgument`] for a path that is not absolute.
    pub fn new(session: &Session, path: &str, id: &str) -> Result<LeaderElection> {
        Ok(LeaderElection {
            mutex: Mutex::new(session, path)?.with_data(id.as_bytes().to_vec()),
            session: session.clone(),
            step_down_on_suspended: true,
        })
    }

    /// Whether a suspended connection ends the leading future (default
    /// `true`); it always ends when the session is lost or our node is deleted.
    pub fn step_down_on_suspended(mut self, on: bool) -> Self {
        self.step_down_on_suspended = on;
        self
    }

    /// Waits for leadership, then runs `lead` until it finishes (leadership
    /// is then relinquished: our node is deleted) or leadership is lost
    /// (the future is dropped at its next await point). Re-enter the
    /// election by calling `run` again.
    ///
    /// Returns the future's output, or [`Error::NotHeld`] with the reason
    /// leadership was lost first.
    pub async fn run<F, Fut, T>(&self, lead: F) -> Result<T>
    where
        F: FnOnce(Arc<LeaderContext>) -> Fut,
        Fut: Future<Output = T>,
    {
        let guard = self.mutex.acquire().await?;
        let mut states = guard.states().ok_or(Error::NotHeld(LossReason::Released))?;
        let ctx = Arc::new(LeaderContext { guard });
        let step_down = self.step_down_on_suspended;
        let lost = async {
            loop {
                match *states.borrow_and_update() {
                    HoldState::Lost(r) => return r,
                    HoldState::Uncertain if step_down => return LossReason::Suspended,
                    _ => {}
                }
                if states.changed().await.is_err() {
                    return LossReason::Released;
                }
            }
        };
        let outcome = tokio::select! {
            out = lead(ctx.clone()) => Ok(out),
            reason = lost => Err(Error::NotHeld(reason)),
        };
        match Arc::try_unwrap(ctx) {
            Ok(ctx) => {
                let _ = ctx.guard.release().await;
            }
            // The future kept a clone: dropping it last deletes the node.
            Err(ctx) => drop(ctx),
        }
        outcome
    }

    /// The participants in order, the current leader first.
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        participants(&self.session.client(), self.mutex.path(), LOCK_NAME).await
    }
}

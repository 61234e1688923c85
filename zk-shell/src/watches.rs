//! The shell's watches and how their events are printed.
//!
//! One task owns every watch the shell has set (one-shot watches from
//! `ls -w`, `get -w`, `stat -w`; persistent ones from `addWatch`) and the
//! session's state stream, and prints what they report as zkCli's watcher
//! does: a blank line, `WATCHER::`, a blank line, `WatchedEvent state:..
//! type:.. path:..`.
//!
//! zkCli registers one watcher object everywhere, and Java delivers an event
//! to a watcher once however many of its registrations it triggers. The
//! shell does the same: one notification printed once, whichever of the
//! shell's watches it reaches.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::{mpsc, oneshot, Mutex};
use zk_client::{
    EventType, OneshotWatch, PersistentEvent, PersistentWatch, SessionState, StateStream,
    WatchedEvent,
};

/// Where event text goes: the terminal while a line is being edited
/// (rustyline's external printer), or stdout.
pub trait EventSink: Send + 'static {
    /// Prints `text` (which ends in a newline).
    fn print(&mut self, text: &str);
}

/// Prints to stdout, flushing after each event.
#[derive(Debug, Default)]
pub struct StdoutSink;

impl EventSink for StdoutSink {
    fn print(&mut self, text: &str) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // A closed stdout leaves nobody to tell.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// The kind of a watch the shell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A one-shot data (or exists) watch.
    Data,
    /// A one-shot child watch.
    Child,
    /// A persistent watch on one node.
    Persistent,
    /// A persistent watch on a subtree.
    Recursive,
}

impl Kind {
    /// Whether a watch of this kind on `path` receives an event of type
    /// `t` on `event_path`.
    fn covers(self, path: &str, t: EventType, event_path: &str) -> bool {
        match self {
            Kind::Data => {
                event_path == path
                    && matches!(
                        t,
                        EventType::NodeCreated
                            | EventType::NodeDeleted
                            | EventType::NodeDataChanged
                    )
            }
            Kind::Child => {
                event_path == path
                    && matches!(t, EventType::NodeDeleted | EventType::NodeChildrenChanged)
            }
            Kind::Persistent => event_path == path,
            Kind::Recursive => t != EventType::NodeChildrenChanged && is_under(event_path, path),
        }
    }
}

/// Whether `path` is `root` or below it.
fn is_under(path: &str, root: &str) -> bool {
    root == "/"
        || path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Which watches `removewatches` removes (its `-c`, `-d`, `-a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveKind {
    /// Child watches (`-c`).
    Children,
    /// Data and exists watches (`-d`).
    Data,
    /// Every watch on the path, persistent ones included (`-a`, the default).
    Any,
}

impl RemoveKind {
    fn removes(self, kind: Kind) -> bool {
        match self {
            RemoveKind::Children => kind == Kind::Child,
            RemoveKind::Data => kind == Kind::Data,
            RemoveKind::Any => true,
        }
    }
}

/// What a removal selected: the kinds of the shell's watches found, and
/// the persistent ones, taken out (for the caller to remove on the server).
/// One-shot watches stay until the client resolves them with their
/// `*WatchRemoved` event, which is printed as any event.
#[derive(Debug, Default)]
pub(crate) struct Removed {
    /// Kinds found.
    pub(crate) kinds: Vec<Kind>,
    /// Persistent watches, taken out.
    pub(crate) persistent: Vec<PersistentWatch>,
}

enum Source {
    Oneshot(OneshotWatch),
    Stream(PersistentWatch),
}

struct Entry {
    path: String,
    kind: Kind,
    source: Source,
    /// Events this (persistent) watch will also report, already printed.
    skip: Vec<(EventType, String)>,
}

enum Msg {
    Add(Entry),
    States(StateStream),
    Remove {
        path: String,
        kind: RemoveKind,
        reply: oneshot::Sender<Removed>,
    },
    Clear,
    PrintWatches(bool),
    Flush(oneshot::Sender<()>),
    StatesEnd(oneshot::Sender<()>),
}

/// The shell's handle on its watch task.
#[derive(Clone)]
pub(crate) struct Watches {
    tx: mpsc::UnboundedSender<Msg>,
}

impl Watches {
    /// Starts the task on the current runtime. `console` is held by whoever
    /// prints command output; events wait for it.
    pub(crate) fn start(sink: Box<dyn EventSink>, console: Arc<Mutex<()>>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(rx, sink, console));
        Watches { tx }
    }

    fn send(&self, msg: Msg) {
        // The task lives as long as the runtime; a send after that has no
        // one to print for.
        let _ = self.tx.send(msg);
    }

    /// Adds a one-shot watch unless an equal one (same path and kind) is
    /// pending: Java keeps one registration per watcher, path and kind.
    pub(crate) fn add_oneshot(&self, path: &str, kind: Kind, watch: OneshotWatch) {
        self.send(Msg::Add(Entry {
            path: path.to_owned(),
            kind,
            source: Source::Oneshot(watch),
            skip: Vec::new(),
        }));
    }

    /// Adds a persistent watch.
    pub(crate) fn add_persistent(&self, path: &str, watch: PersistentWatch) {
        let kind = if watch.is_recursive() {
            Kind::Recursive
        } else {
            Kind::Persistent
        };
        self.send(Msg::Add(Entry {
            path: path.to_owned(),
            kind,
            source: Source::Stream(watch),
            skip: Vec::new(),
        }));
    }

    /// Follows a session's states (printed as `type:None path:null` events).
    pub(crate) fn follow_states(&self, states: StateStream) {
        self.send(Msg::States(states));
    }

    /// Takes the watches on `path` that `kind` selects.
    pub(crate) async fn remove(&self, path: &str, kind: RemoveKind) -> Removed {
        let (reply, rx) = oneshot::channel();
        self.send(Msg::Remove {
            path: path.to_owned(),
            kind,
            reply,
        });
        rx.await.unwrap_or_default()
    }

    /// Forgets every watch and state stream (the session is gone).
    pub(crate) fn clear(&self) {
        self.send(Msg::Clear);
    }

    /// Turns printing on or off (zkCli's `printwatches`).
    pub(crate) fn print_watches(&self, on: bool) {
        self.send(Msg::PrintWatches(on));
    }

    /// Waits until the session's state stream has ended (after a close:
    /// its last state is printed).
    pub(crate) async fn states_end(&self) {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::StatesEnd(tx));
        let _ = rx.await;
    }

    /// Waits until every event that has already arrived is printed.
    pub(crate) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Flush(tx));
        let _ = rx.await;
    }
}

/// One thing a source reported.
enum Item {
    Event(usize, WatchedEvent),
    /// The source is done (fired, closed, or the session ended).
    Done(usize),
    /// Nothing to print (a resync notice).
    Quiet,
    State(SessionState),
    StatesDone,
}

struct State {
    entries: Vec<Option<Entry>>,
    states: Option<StateStream>,
    /// Waiting for `states` to end.
    states_waiters: Vec<oneshot::Sender<()>>,
    print: bool,
    sink: Box<dyn EventSink>,
}

impl State {
    /// The first ready item of any source.
    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Item> {
        if let Some(states) = self.states.as_mut() {
            if let Poll::Ready(s) = Pin::new(states).poll_next(cx) {
                return Poll::Ready(match s {
                    Some(s) => Item::State(s),
                    None => Item::StatesDone,
                });
            }
        }
        for (i, slot) in self.entries.iter_mut().enumerate() {
            let Some(entry) = slot else { continue };
            match &mut entry.source {
                Source::Oneshot(w) => {
                    if let Poll::Ready(r) = Pin::new(w).poll(cx) {
                        return Poll::Ready(match r {
                            Ok(ev) => Item::Event(i, ev),
                            Err(_) => Item::Done(i),
                        });
                    }
                }
                Source::Stream(s) => {
                    if let Poll::Ready(r) = Pin::new(s).poll_next(cx) {
                        return Poll::Ready(match r {
                            Some(PersistentEvent::Node(ev)) => Item::Event(i, ev),
                            Some(PersistentEvent::Closed(_)) | None => Item::Done(i),
                            Some(_) => Item::Quiet,
                        });
                    }
                }
            }
        }
        Poll::Pending
    }

    async fn handle(&mut self, item: Item, console: &Mutex<()>) {
        let text = match item {
            Item::Quiet => return,
            Item::StatesDone => {
                self.states = None;
                for w in self.states_waiters.drain(..) {
                    let _ = w.send(());
                }
                return;
            }
            Item::Done(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    *slot = None;
                }
                return;
            }
            Item::State(s) => event_text(state_name(s), EventType::None, None),
            Item::Event(i, ev) => {
                if !self.take_event(i, &ev) {
                    return;
                }
                event_text("SyncConnected", ev.event_type, Some(&ev.path))
            }
        };
        self.entries.retain(Option::is_some);
        if self.print {
            let _guard = console.lock().await;
            self.sink.print(&text);
        }
    }

    /// Accounts for `ev` reported by entry `i`; false if it was already
    /// printed for another of the shell's watches.
    fn take_event(&mut self, i: usize, ev: &WatchedEvent) -> bool {
        let key = (ev.event_type, ev.path.clone());
        let Some(slot) = self.entries.get_mut(i) else {
            return false;
        };
        match slot {
            None => return false,
            Some(Entry {
                source: Source::Oneshot(_),
                ..
            }) => *slot = None,
            Some(entry) => {
                if let Some(pos) = entry.skip.iter().position(|k| *k == key) {
                    entry.skip.remove(pos);
                    return false;
                }
            }
        }
        // Every other watch this notification reached reports it too.
        for slot in self.entries.iter_mut() {
            let Some(other) = slot else { continue };
            if !other.kind.covers(&other.path, ev.event_type, &ev.path) {
                continue;
            }
            match other.source {
                Source::Oneshot(_) => *slot = None,
                Source::Stream(_) => other.skip.push(key.clone()),
            }
        }
        true
    }

    fn remove(&mut self, path: &str, kind: RemoveKind) -> Removed {
        let mut removed = Removed::default();
        for slot in self.entries.iter_mut() {
            let Some(entry) = slot.as_ref() else { continue };
            if entry.path != path || !kind.removes(entry.kind) {
                continue;
            }
            if !removed.kinds.contains(&entry.kind) {
                removed.kinds.push(entry.kind);
            }
            if let Some(Entry {
                source: Source::Stream(w),
                ..
            }) = slot.take_if(|e| matches!(e.source, Source::Stream(_)))
            {
                removed.persistent.push(w);
            }
        }
        self.entries.retain(Option::is_some);
        removed
    }

    /// Whether a one-shot watch of `kind` on `path` is already held.
    fn holds(&self, path: &str, kind: Kind) -> bool {
        self.entries
            .iter()
            .flatten()
            .any(|e| e.path == path && e.kind == kind && matches!(e.source, Source::Oneshot(_)))
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Msg>,
    sink: Box<dyn EventSink>,
    console: Arc<Mutex<()>>,
) {
    let mut state = State {
        entries: Vec::new(),
        states: None,
        states_waiters: Vec::new(),
        print: true,
        sink,
    };
    loop {
        let next = {
            let msg = rx.recv();
            tokio::pin!(msg);
            std::future::poll_fn(|cx| {
                if let Poll::Ready(m) = msg.as_mut().poll(cx) {
                    return Poll::Ready(Err(m));
                }
                state.poll_item(cx).map(Ok)
            })
            .await
        };
        match next {
            Ok(item) => state.handle(item, &console).await,
            Err(None) => return,
            Err(Some(msg)) => match msg {
                Msg::Add(entry) => {
                    let dup = matches!(entry.source, Source::Oneshot(_))
                        && state.holds(&entry.path, entry.kind);
                    if !dup {
                        state.entries.push(Some(entry));
                    }
                }
                Msg::States(s) => state.states = Some(s),
                Msg::Remove { path, kind, reply } => {
                    let _ = reply.send(state.remove(&path, kind));
                }
                Msg::Clear => {
                    state.entries.clear();
                    state.states = None;
                    for w in state.states_waiters.drain(..) {
                        let _ = w.send(());
                    }
                }
                Msg::PrintWatches(on) => state.print = on,
                Msg::StatesEnd(ack) => {
                    if state.states.is_some() {
                        state.states_waiters.push(ack);
                    } else {
                        let _ = ack.send(());
                    }
                }
                Msg::Flush(ack) => {
                    // Print everything already arrived, then acknowledge.
                    loop {
                        let ready = std::future::poll_fn(|cx| {
                            Poll::Ready(match state.poll_item(cx) {
                                Poll::Ready(item) => Some(item),
                                Poll::Pending => None,
                            })
                        })
                        .await;
                        match ready {
                            Some(item) => state.handle(item, &console).await,
                            None => break,
                        }
                    }
                    let _ = ack.send(());
                }
            },
        }
    }
}

/// zkCli's name for a session state (Java's `KeeperState`).
pub(crate) fn state_name(state: SessionState) -> &'static str {
    match state {
        SessionState::Connected => "SyncConnected",
        SessionState::ConnectedReadOnly => "ConnectedReadOnly",
        SessionState::Disconnected => "Disconnected",
        SessionState::Expired => "Expired",
        SessionState::AuthFailed => "AuthFailed",
        SessionState::Closed => "Closed",
        _ => "Unknown",
    }
}

/// An event as zkCli's watcher prints it (`printMessage` twice).
pub(crate) fn event_text(state: &str, event_type: EventType, path: Option<&str>) -> String {
    format!(
        "\nWATCHER::\n\nWatchedEvent state:{state} type:{event_type} path:{}\n",
        path.unwrap_or("null")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_cover_what_java_delivers_to_them() {
        assert!(Kind::Data.covers("/a", EventType::NodeDeleted, "/a"));
        assert!(!Kind::Data.covers("/a", EventType::NodeChildrenChanged, "/a"));
        assert!(Kind::Child.covers("/a", EventType::NodeDeleted, "/a"));
        assert!(Kind::Recursive.covers("/a", EventType::NodeCreated, "/a/b"));
        assert!(!Kind::Recursive.covers("/a", EventType::NodeCreated, "/ab"));
        assert!(!Kind::Recursive.covers("/a", EventType::NodeChildrenChanged, "/a"));
        assert!(Kind::Recursive.covers("/", EventType::NodeCreated, "/x"));
        assert!(!Kind::Persistent.covers("/a", EventType::NodeCreated, "/a/b"));
    }

    #[test]
    fn events_print_as_zkcli_prints_them() {
        assert_eq!(
            event_text("SyncConnected", EventType::NodeDataChanged, Some("/a")),
            "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/a\n"
        );
        assert_eq!(
            event_text("SyncConnected", EventType::None, None),
            "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n"
        );
    }
}

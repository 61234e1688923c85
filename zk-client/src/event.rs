//! What watches deliver, and the kinds of watches: the vocabulary the
//! session (which routes events) and the handles (which hand them out) share.

use tokio::sync::{mpsc, oneshot};
use zk_proto::EventType;

use crate::error::Error;

/// A node event delivered to a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchedEvent {
    /// What happened.
    pub event_type: EventType,
    /// The node's path, relative to the client's chroot.
    pub path: String,
    /// The zxid of the change (ZooKeeper 3.9+); −1 from older servers.
    pub zxid: i64,
}

/// The kind of a one-shot watch, which decides the events that trigger it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum WatchKind {
    /// Left by getData, or by exists on an existing node: fires on data
    /// change, delete (and create, for symmetry with Java).
    Data,
    /// Left by exists on a missing node: fires on create (and data change / delete).
    Exist,
    /// Left by getChildren: fires on child change and delete.
    Child,
}

impl WatchKind {
    /// The server's watch table this kind lives in: getData and exists
    /// watches share the data table, getChildren watches have their own.
    pub(crate) fn table(self) -> WatcherKind {
        match self {
            WatchKind::Data | WatchKind::Exist => WatcherKind::Data,
            WatchKind::Child => WatcherKind::Children,
        }
    }

    /// Whether removing watches of `kind` removes this one.
    pub(crate) fn removed_by(self, kind: WatcherKind) -> bool {
        kind == WatcherKind::Any || self.table() == kind
    }

    /// The event a watcher of this kind gets when it is removed.
    pub(crate) fn removed_event(self) -> EventType {
        match self.table() {
            WatcherKind::Children => EventType::ChildWatchRemoved,
            _ => EventType::DataWatchRemoved,
        }
    }

    /// The kinds an event of `event_type` triggers (as Java's `ZKWatchManager` does).
    pub(crate) fn triggered_by(event_type: EventType) -> &'static [WatchKind] {
        match event_type {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                &[WatchKind::Data, WatchKind::Exist]
            }
            EventType::NodeDeleted => &[WatchKind::Data, WatchKind::Exist, WatchKind::Child],
            EventType::NodeChildrenChanged => &[WatchKind::Child],
            _ => &[],
        }
    }
}

/// Which one-shot watches [`Client::remove_watches`](crate::Client::remove_watches)
/// removes (ZooKeeper's `WatcherType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WatcherKind {
    /// Watches left by `get_data_watch` and `exists_watch`.
    Data,
    /// Watches left by `get_children_watch` and `get_children_with_stat_watch`.
    Children,
    /// Both.
    Any,
}

impl WatcherKind {
    /// The wire code (removeWatches' `type`).
    pub(crate) fn code(self) -> i32 {
        match self {
            WatcherKind::Children => zk_proto::WatcherType::Children.code(),
            WatcherKind::Data => zk_proto::WatcherType::Data.code(),
            WatcherKind::Any => zk_proto::WatcherType::Any.code(),
        }
    }
}

pub(crate) type WatchSender = oneshot::Sender<Result<WatchedEvent, Error>>;

/// What a [`PersistentWatch`](crate::PersistentWatch) yields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PersistentEvent {
    /// A change on the watched node (or, for a recursive watch, anywhere in
    /// its subtree).
    Node(WatchedEvent),
    /// The client reconnected after a connection loss. The server cannot
    /// replay what a persistent watch missed while the client was away
    /// (ZOOKEEPER-4698), so **events may have been missed: re-read the state
    /// you derive from this watch.** The watch itself is active again; this
    /// item comes before any event from the new connection.
    Resync,
    /// The watch is over: the session ended (`SessionExpired`, `AuthFailed`,
    /// `Closed`) or the server refused the watch. The stream ends after it.
    Closed(Error),
}

pub(crate) type PersistentSender = mpsc::UnboundedSender<PersistentEvent>;

//! The task's registry of one-shot watches, keyed by server path and kind.

use std::collections::HashMap;

use zk_proto::{EventType, SetWatches};

use crate::chroot::Chroot;
use crate::error::Error;
use crate::watch::{WatchKind, WatchSender, WatchedEvent};

/// Java's `SET_WATCHES_MAX_LENGTH`: path bytes per SetWatches batch.
const SET_WATCHES_MAX_LENGTH: usize = 128 * 1024;

#[derive(Default)]
struct PathWatches {
    data: Vec<WatchSender>,
    exist: Vec<WatchSender>,
    child: Vec<WatchSender>,
}

impl PathWatches {
    fn slot(&mut self, kind: WatchKind) -> &mut Vec<WatchSender> {
        match kind {
            WatchKind::Data => &mut self.data,
            WatchKind::Exist => &mut self.exist,
            WatchKind::Child => &mut self.child,
        }
    }

    fn prune(&mut self) {
        for v in [&mut self.data, &mut self.exist, &mut self.child] {
            v.retain(|tx| !tx.is_closed());
        }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty() && self.exist.is_empty() && self.child.is_empty()
    }
}

/// Every one-shot watch the session holds (server paths, chroot included).
#[derive(Default)]
pub(crate) struct Watches {
    by_path: HashMap<String, PathWatches>,
}

impl Watches {
    /// Registers a watcher; several watchers of one path and kind all fire.
    pub(crate) fn add(&mut self, kind: WatchKind, server_path: String, tx: WatchSender) {
        if tx.is_closed() {
            return;
        }
        let slot = self.by_path.entry(server_path).or_default().slot(kind);
        // Lazily forget watchers whose futures were dropped.
        slot.retain(|t| !t.is_closed());
        slot.push(tx);
    }

    /// Delivers a node event to the watchers it triggers, and forgets them.
    pub(crate) fn fire(
        &mut self,
        event_type: EventType,
        server_path: &str,
        zxid: i64,
        chroot: &Chroot,
    ) -> usize {
        let Some(entry) = self.by_path.get_mut(server_path) else {
            return 0;
        };
        let mut fired = 0;
        let path = chroot.strip(server_path.to_owned());
        for &kind in WatchKind::triggered_by(event_type) {
            for tx in entry.slot(kind).drain(..) {
                let ev = WatchedEvent {
                    event_type,
                    path: path.clone(),
                    zxid,
                };
                if tx.send(Ok(ev)).is_ok() {
                    fired += 1;
                }
            }
        }
        if entry.is_empty() {
            self.by_path.remove(server_path);
        }
        fired
    }

    /// Ends every watch with `err` (the session is over).
    pub(crate) fn fail_all(&mut self, err: &Error) {
        for (_, mut w) in self.by_path.drain() {
            for v in [&mut w.data, &mut w.exist, &mut w.child] {
                for tx in v.drain(..) {
                    let _ = tx.send(Err(err.clone()));
                }
            }
        }
    }

    /// The SetWatches batches that re-arm every live watch on a new
    /// connection, each at most 128 KiB of paths (as Java batches them).
    pub(crate) fn set_watches(&mut self, relative_zxid: i64) -> Vec<SetWatches> {
        self.by_path.retain(|_, w| {
            w.prune();
            !w.is_empty()
        });
        let mut batches = Vec::new();
        let mut cur = SetWatches {
            relative_zxid,
            ..SetWatches::default()
        };
        let mut size = 0;
        for (path, w) in &self.by_path {
            for (kind, present) in [
                (WatchKind::Data, !w.data.is_empty()),
                (WatchKind::Exist, !w.exist.is_empty()),
                (WatchKind::Child, !w.child.is_empty()),
            ] {
                if !present {
                    continue;
                }
                if size + path.len() > SET_WATCHES_MAX_LENGTH && size > 0 {
                    batches.push(std::mem::replace(
                        &mut cur,
                        SetWatches {
                            relative_zxid,
                            ..SetWatches::default()
                        },
                    ));
                    size = 0;
                }
                size += path.len();
                match kind {
                    WatchKind::Data => cur.data_watches.push(path.clone()),
                    WatchKind::Exist => cur.exist_watches.push(path.clone()),
                    WatchKind::Child => cur.child_watches.push(path.clone()),
                }
            }
        }
        if size > 0 {
            batches.push(cur);
        }
        batches
    }

    /// Number of live watchers (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_path
            .values()
            .map(|w| w.data.len() + w.exist.len() + w.child.len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    #[test]
    fn fires_by_kind_and_batches() {
        let mut w = Watches::default();
        let chroot = Chroot::new(Some("/r"));
        let (d1, mut d1r) = oneshot::channel();
        let (d2, mut d2r) = oneshot::channel();
        let (c1, mut c1r) = oneshot::channel();
        let (dropped, dropped_rx) = oneshot::channel();
        w.add(WatchKind::Data, "/r/a".into(), d1);
        w.add(WatchKind::Data, "/r/a".into(), d2);
        w.add(WatchKind::Child, "/r/a".into(), c1);
        w.add(WatchKind::Exist, "/r/b".into(), dropped);
        drop(dropped_rx);
        assert_eq!(w.fire(EventType::NodeDataChanged, "/r/a", -1, &chroot), 2);
        let ev = d1r.try_recv().unwrap().unwrap();
        assert_eq!(ev.path, "/a");
        assert!(d2r.try_recv().unwrap().is_ok());
        assert!(c1r.try_recv().is_err());
        let batches = w.set_watches(7);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].child_watches, vec!["/r/a".to_owned()]);
        assert!(batches[0].exist_watches.is_empty());
        assert_eq!(w.len(), 1);
        w.fail_all(&Error::SessionExpired);
        assert_eq!(c1r.try_recv().unwrap(), Err(Error::SessionExpired));
    }

    #[test]
    fn batches_split_at_128k() {
        let mut w = Watches::default();
        let mut keep = Vec::new();
        for i in 0..300 {
            let (tx, rx) = oneshot::channel();
            keep.push(rx);
            w.add(WatchKind::Data, format!("/{i:01000}"), tx);
        }
        let batches = w.set_watches(1);
        assert_eq!(batches.len(), 3);
        assert_eq!(
            batches.iter().map(|b| b.data_watches.len()).sum::<usize>(),
            300
        );
    }
}

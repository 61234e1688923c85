//! Runs one seeded sequence against two targets and compares everything a
//! client can see, step by step.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use zk_proto::{MultiResult, Request, Response, SetWatches2, Stat, WatcherEvent};

use super::gen::{Generator, Step, SLOTS, USERS};
use super::target::{Outcome, Target};

/// One side of the comparison, with what is needed to normalise its answers.
struct Side {
    target: Target,
    /// zxid → canonical ordinal (the same on both sides when they agree).
    to_canon: BTreeMap<i64, usize>,
    from_canon: Vec<i64>,
    /// canonical zxid → the time its txn carried (ctime/mtime consistency).
    times: BTreeMap<usize, i64>,
    /// session id → the index of the session in the run (0, 1, 2, …).
    sessions: BTreeMap<i64, usize>,
    /// A broken invariant of this side's own answers.
    violation: Option<String>,
}

impl Side {
    fn new(target: Target) -> Self {
        let mut to_canon = BTreeMap::new();
        to_canon.insert(0, 0);
        Side {
            target,
            to_canon,
            from_canon: vec![0],
            times: BTreeMap::new(),
            sessions: BTreeMap::new(),
            violation: None,
        }
    }

    fn canon(&self, zxid: i64) -> i64 {
        match self.to_canon.get(&zxid) {
            Some(c) => *c as i64,
            // Unknown zxids stay visibly distinct.
            None => -1_000_000 - zxid,
        }
    }

    fn check_time(&mut self, zxid: i64, time: i64, what: &str) {
        let c = self.canon(zxid);
        if c < 0 {
            return;
        }
        let c = c as usize;
        match self.times.get(&c) {
            Some(t) if *t != time => {
                self.violation.get_or_insert(format!(
                    "{what} {time} of zxid {zxid:#x} differs from {t} seen before"
                ));
            }
            Some(_) => {}
            None => {
                self.times.insert(c, time);
            }
        }
    }

    fn norm_stat(&mut self, s: &mut Stat) {
        self.check_time(s.czxid, s.ctime, "ctime");
        self.check_time(s.mzxid, s.mtime, "mtime");
        s.czxid = self.canon(s.czxid);
        s.mzxid = self.canon(s.mzxid);
        s.pzxid = self.canon(s.pzxid);
        s.ctime = 0;
        s.mtime = 0;
        if s.ephemeral_owner != 0 {
            if let Some(k) = self.sessions.get(&s.ephemeral_owner) {
                s.ephemeral_owner = 1000 + *k as i64;
            }
        }
    }

    /// The outcome as text, with zxids, times and session ids normalised.
    fn norm(&mut self, o: &Outcome) -> String {
        let mut body = o.body.clone();
        if let Some(b) = body.as_mut() {
            for s in stats_mut(b) {
                self.norm_stat(s);
            }
        }
        let body = match body {
            None | Some(Response::Empty) => "-".to_owned(),
            Some(b) => format!("{b:?}"),
        };
        format!("{:?} {body}", o.err)
    }
}

/// Every Stat inside a response.
fn stats_mut(r: &mut Response) -> Vec<&mut Stat> {
    match r {
        Response::Create2(c) => vec![&mut c.stat],
        Response::Stat(s) => vec![&mut s.stat],
        Response::GetData(d) => vec![&mut d.stat],
        Response::GetAcl(a) => vec![&mut a.stat],
        Response::GetChildren2(c) => vec![&mut c.stat],
        Response::Multi(m) => m
            .results
            .iter_mut()
            .filter_map(|res| match res {
                MultiResult::Create2(c) => Some(&mut c.stat),
                MultiResult::SetData(s) => Some(&mut s.stat),
                MultiResult::GetData(d) => Some(&mut d.stat),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Paths a reply says were created.
fn created(r: &Response) -> Vec<String> {
    match r {
        Response::Create(c) => vec![c.path.clone()],
        Response::Create2(c) => vec![c.path.clone()],
        Response::Multi(m) => m
            .results
            .iter()
            .filter_map(|res| match res {
                MultiResult::Create(c) => Some(c.path.clone()),
                MultiResult::Create2(c) => Some(c.path.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The comparison of two targets over one seeded sequence.
pub struct Run {
    a: Side,
    b: Side,
    seed: u64,
    log: Vec<String>,
    /// How many sessions have been opened (normalised session numbers).
    opened: usize,
    /// Steps executed.
    pub steps: usize,
    /// Notifications compared.
    pub notifications: usize,
}

/// A difference between the two targets (or a broken invariant).
pub type Mismatch = String;

impl Run {
    /// `a` is the reference (e.g. a real ZooKeeper), `b` the subject.
    pub fn new(a: Target, b: Target, seed: u64) -> Self {
        Run {
            a: Side::new(a),
            b: Side::new(b),
            seed,
            log: Vec::new(),
            opened: 0,
            steps: 0,
            notifications: 0,
        }
    }

    fn fail(&self, what: String) -> Mismatch {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "differential mismatch ({} vs {}), seed {} (rerun with ZK_SIM_SEED={}):\n{what}",
            self.a.target.name(),
            self.b.target.name(),
            self.seed,
            self.seed
        );
        let _ = writeln!(out, "last steps:");
        let tail = std::env::var("ZK_SIM_LOG")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(25);
        for l in self.log.iter().rev().take(tail).rev() {
            let _ = writeln!(out, "  {l}");
        }
        out
    }

    /// Maps the two sides' zxids for the same event onto one ordinal.
    fn align(&mut self, za: i64, zb: i64) -> Result<(), Mismatch> {
        let ca = self.a.to_canon.get(&za).copied();
        let cb = self.b.to_canon.get(&zb).copied();
        match (ca, cb) {
            (None, None) => {
                let c = self.a.from_canon.len();
                self.a.to_canon.insert(za, c);
                self.a.from_canon.push(za);
                self.b.to_canon.insert(zb, c);
                self.b.from_canon.push(zb);
                Ok(())
            }
            (Some(x), Some(y)) if x == y => Ok(()),
            _ => Err(self.fail(format!(
                "reply zxids do not line up: {za:#x} ({ca:?}) vs {zb:#x} ({cb:?})"
            ))),
        }
    }

    async fn open(&mut self, slot: usize) -> Result<(), Mismatch> {
        let ia = self
            .a
            .target
            .open(slot)
            .await
            .map_err(|e| self.fail(format!("open a: {e}")))?;
        let ib = self
            .b
            .target
            .open(slot)
            .await
            .map_err(|e| self.fail(format!("open b: {e}")))?;
        self.a.sessions.insert(ia, self.opened);
        self.b.sessions.insert(ib, self.opened);
        self.opened += 1;
        self.log.push(format!("open slot {slot}"));
        // Learn the createSession zxid from a ping's header.
        self.exec(slot, &Request::Ping, true).await?;
        if slot == 1 {
            let auth = Request::Auth(zk_proto::AuthPacket {
                auth_type: 0,
                scheme: "digest".into(),
                auth: USERS[0].into(),
            });
            self.exec(slot, &auth, false).await?;
        }
        Ok(())
    }

    /// Sends `req` to both and compares the replies.
    async fn exec(&mut self, slot: usize, req: &Request, align: bool) -> Result<(), Mismatch> {
        let oa = self.a.target.request(slot, req).await;
        let ob = self.b.target.request(slot, req).await;
        let (oa, ob) = match (oa, ob) {
            (Ok(a), Ok(b)) => (a, b),
            (a, b) => {
                return Err(self.fail(format!(
                    "transport error on {req:?}: a {:?}, b {:?}",
                    a.err(),
                    b.err()
                )))
            }
        };
        self.compare(req, &oa, &ob, align)
    }

    fn compare(
        &mut self,
        req: &Request,
        oa: &Outcome,
        ob: &Outcome,
        align: bool,
    ) -> Result<(), Mismatch> {
        if align {
            self.align(oa.zxid, ob.zxid)?;
        }
        let na = self.a.norm(oa);
        let nb = self.b.norm(ob);
        if let Some(v) = self.a.violation.take().or_else(|| self.b.violation.take()) {
            return Err(self.fail(format!("invariant broken after {req:?}: {v}")));
        }
        if na != nb {
            return Err(self.fail(format!(
                "different replies to {req:?}\n  a: {na}\n  b: {nb}"
            )));
        }
        if let Some(body) = &oa.body {
            for p in created(body) {
                if !self_known_contains(&self.log, &p) {
                    self.log.push(format!("  (created {p})"));
                }
            }
        }
        Ok(())
    }

    async fn compare_notifications(&mut self, live: &[bool]) -> Result<(), Mismatch> {
        for (slot, alive) in live.iter().enumerate() {
            if !alive {
                continue;
            }
            let na = self.a.target.notifications(slot).await;
            let nb = self.b.target.notifications(slot).await;
            let (na, nb) = match (na, nb) {
                (Ok(a), Ok(b)) => (a, b),
                (a, b) => {
                    return Err(self.fail(format!(
                        "notification read failed: {:?} / {:?}",
                        a.err(),
                        b.err()
                    )))
                }
            };
            let fa = fmt_events(&na);
            let fb = fmt_events(&nb);
            if fa != fb {
                return Err(self.fail(format!(
                    "different notifications for slot {slot}\n  a: {fa}\n  b: {fb}"
                )));
            }
            self.notifications += na.len();
            if !na.is_empty() {
                self.log.push(format!("  slot {slot} notified: {fa}"));
            }
        }
        Ok(())
    }

    /// Runs `ops` generated steps.
    pub async fn run(&mut self, ops: usize) -> Result<(), Mismatch> {
        let mut gen = Generator::new(self.seed);
        let mut live = [false; SLOTS];
        for (slot, l) in live.iter_mut().enumerate() {
            self.open(slot).await?;
            *l = true;
        }
        for i in 0..ops {
            let step = gen.next();
            self.steps = i + 1;
            match step {
                Step::Req { slot, req } => {
                    self.log.push(format!("#{i} slot {slot}: {req:?}"));
                    let no_align = matches!(req, Request::Auth(_));
                    let oa = self.a.target.request(slot, &req).await;
                    let ob = self.b.target.request(slot, &req).await;
                    let (oa, ob) = match (oa, ob) {
                        (Ok(a), Ok(b)) => (a, b),
                        (a, b) => {
                            return Err(self.fail(format!(
                                "transport error: a {:?}, b {:?}",
                                a.err(),
                                b.err()
                            )))
                        }
                    };
                    self.compare(&req, &oa, &ob, !no_align)?;
                    if let Some(body) = &oa.body {
                        for p in created(body) {
                            if !gen.known.contains(&p) && gen.known.len() < 60 {
                                gen.known.push(p);
                            }
                        }
                    }
                }
                Step::SetWatches {
                    slot,
                    rel,
                    data,
                    exist,
                    child,
                    persistent,
                    recursive,
                } => {
                    let c = rel % self.a.from_canon.len();
                    let mk = |z: i64| {
                        Request::SetWatches2(SetWatches2 {
                            relative_zxid: z,
                            data_watches: data.clone(),
                            exist_watches: exist.clone(),
                            child_watches: child.clone(),
                            persistent_watches: persistent.clone(),
                            persistent_recursive_watches: recursive.clone(),
                        })
                    };
                    let ra = mk(self.a.from_canon[c]);
                    let rb = mk(self.b.from_canon[c]);
                    self.log
                        .push(format!("#{i} slot {slot}: {rb:?} (canonical zxid {c})"));
                    let oa = self.a.target.request(slot, &ra).await;
                    let ob = self.b.target.request(slot, &rb).await;
                    let (oa, ob) = match (oa, ob) {
                        (Ok(a), Ok(b)) => (a, b),
                        (a, b) => {
                            return Err(self.fail(format!(
                                "transport error: a {:?}, b {:?}",
                                a.err(),
                                b.err()
                            )))
                        }
                    };
                    self.compare(&rb, &oa, &ob, false)?;
                }
                Step::Reopen { slot } => {
                    self.log.push(format!("#{i} slot {slot}: close and reopen"));
                    let oa = self.a.target.close(slot).await;
                    let ob = self.b.target.close(slot).await;
                    let (oa, ob) = match (oa, ob) {
                        (Ok(a), Ok(b)) => (a, b),
                        (a, b) => {
                            return Err(self.fail(format!(
                                "close failed: a {:?}, b {:?}",
                                a.err(),
                                b.err()
                            )))
                        }
                    };
                    live[slot] = false;
                    self.compare(&Request::CloseSession, &oa, &ob, true)?;
                    self.compare_notifications(&live).await?;
                    self.open(slot).await?;
                    live[slot] = true;
                }
            }
            self.compare_notifications(&live).await?;
        }
        Ok(())
    }
}

fn self_known_contains(log: &[String], p: &str) -> bool {
    log.iter().rev().take(5).any(|l| l.contains(p))
}

fn fmt_events(events: &[WatcherEvent]) -> String {
    let parts: Vec<String> = events
        .iter()
        .map(|e| format!("{}:{}:{}", e.event_type, e.state, e.path))
        .collect();
    format!("[{}]", parts.join(", "))
}

//! Runs one seeded sequence against several targets and compares everything
//! a client can see, step by step, with the first target (the reference).
//!
//! Multi-server targets: each session may sit on a different server, and a
//! server may lag behind a change made through another one (ZooKeeper
//! reads are not linearizable). After a step that changed replicated state,
//! every other session issues a `sync` before its notifications are
//! compared, as a real client must before it relies on seeing another
//! client's write; so every later read of that session is as fresh as the
//! single-copy reference. The syncs are compared like any other request.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use zk_proto::{MultiOp, MultiResult, Request, Response, SetWatches2, Stat, WatcherEvent};

use super::gen::{Generator, Step, SLOTS, USERS};
use super::target::{Handshake, Outcome, Target};

/// The session timeouts the runner asks for, in turn (per session opened or
/// resumed): one inside the servers' bounds and one above the maximum, which
/// every target must clamp the same way. (One below the minimum, 4 s, is
/// left to the reaping test: a session that short could expire while a
/// loaded real server stalls a step.)
const REQUESTED_TIMEOUTS_MS: [i32; 2] = [30_000, 600_000];

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
    /// The highest reply zxid seen on any session.
    latest: i64,
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
            latest: 0,
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
        // zxid 0 is no txn: the built-in nodes carry it with time 0, and a
        // quorum member's /zookeeper/config with its own clock.
        if c <= 0 {
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
    fn norm(&mut self, req: &Request, o: &Outcome) -> String {
        let mut body = o.body.clone();
        if let Some(b) = body.as_mut() {
            if let Err(v) = membership(req, b) {
                self.violation.get_or_insert(v);
            }
            for s in stats_mut(b) {
                self.norm_stat(s);
            }
        }
        if !o.answered {
            return "no reply".to_owned();
        }
        let body = match body {
            None | Some(Response::Empty) => "-".to_owned(),
            Some(b) => format!("{b:?}"),
        };
        format!("{:?} {body}", o.err)
    }
}

/// What `/zookeeper/config`'s data becomes before comparison.
const MEMBERSHIP: &[u8] = b"<ensemble membership>";

/// A quorum member's `/zookeeper/config` holds its ensemble's membership
/// (`server.N=host:ports…` lines, then `version=…`), whose addresses differ
/// between any two ensembles: non-empty config data is checked for that
/// shape, then replaced (data and `dataLength`) by a placeholder. A
/// standalone server's config node is empty and compared as is, and so is
/// data a client wrote there.
fn membership(req: &Request, body: &mut Response) -> Result<(), String> {
    let on_config = |p: &str| p == "/zookeeper/config";
    let fix = |data: Option<&mut zk_proto::Data>, stat: &mut Stat| -> Result<(), String> {
        // Version -1 marks the server's own setData of the membership; a
        // client's setData (a super user may) makes it 0 or more, and
        // whatever the client wrote is compared as is.
        if stat.data_length <= 0 || stat.version != -1 {
            return Ok(());
        }
        if let Some(d) = data {
            let text = String::from_utf8_lossy(d).into_owned();
            let lines: Vec<&str> = text.lines().collect();
            let servers = lines.len().saturating_sub(1);
            let shaped = servers > 0
                && lines[..servers]
                    .iter()
                    .enumerate()
                    .all(|(i, l)| l.starts_with(&format!("server.{}=", i + 1)) && l.contains(';'))
                && lines[servers].starts_with("version=");
            if !shaped || text.len() != stat.data_length as usize {
                return Err(format!("/zookeeper/config holds {text:?}"));
            }
            *d = MEMBERSHIP.into();
        }
        stat.data_length = MEMBERSHIP.len() as i32;
        Ok(())
    };
    match (req, body) {
        (Request::GetData(r), Response::GetData(d)) if on_config(&r.path) => {
            fix(Some(&mut d.data), &mut d.stat)
        }
        (Request::Exists(r), Response::Stat(s)) if on_config(&r.path) => fix(None, &mut s.stat),
        (Request::SetData(r), Response::Stat(s)) if on_config(&r.path) => fix(None, &mut s.stat),
        (Request::SetAcl(r), Response::Stat(s)) if on_config(&r.path) => fix(None, &mut s.stat),
        (Request::GetAcl(r), Response::GetAcl(a)) if on_config(&r.path) => fix(None, &mut a.stat),
        (Request::GetChildren2(r), Response::GetChildren2(c)) if on_config(&r.path) => {
            fix(None, &mut c.stat)
        }
        (Request::Multi(m) | Request::MultiRead(m), Response::Multi(res)) => {
            for (op, res) in m.ops.iter().zip(res.results.iter_mut()) {
                match (op, res) {
                    (MultiOp::GetData(r), MultiResult::GetData(d)) if on_config(&r.path) => {
                        fix(Some(&mut d.data), &mut d.stat)?
                    }
                    (MultiOp::SetData(r), MultiResult::SetData(s)) if on_config(&r.path) => {
                        fix(None, &mut s.stat)?
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        _ => Ok(()),
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

/// The comparison of several targets over one seeded sequence: the first
/// is the reference, every other one must answer exactly as it does.
pub struct Run {
    sides: Vec<Side>,
    seed: u64,
    log: Vec<String>,
    /// How many sessions have been opened (normalised session numbers).
    opened: usize,
    /// Handshakes made (picks the requested timeout).
    handshakes: usize,
    /// Steps executed.
    pub steps: usize,
    /// Notifications compared (counted on the reference).
    pub notifications: usize,
}

/// A difference between the targets (or a broken invariant).
pub type Mismatch = String;

/// Every target's answer to one request, or the first transport error.
type Answers = Result<Vec<Outcome>, String>;

impl Run {
    /// The first target is the reference (e.g. a real ZooKeeper); each
    /// other one is compared with it.
    pub fn new(targets: Vec<Target>, seed: u64) -> Self {
        Run {
            sides: targets.into_iter().map(Side::new).collect(),
            seed,
            log: Vec::new(),
            opened: 0,
            handshakes: 0,
            steps: 0,
            notifications: 0,
        }
    }

    /// The targets' names, reference first.
    pub fn names(&self) -> Vec<String> {
        self.sides.iter().map(|s| s.target.name()).collect()
    }

    /// The names of the targets whose server left a request unanswered
    /// within its timeout (a hang, not a different answer).
    pub fn timed_out(&self) -> Vec<String> {
        self.sides
            .iter()
            .filter(|s| s.target.timed_out())
            .map(|s| s.target.name())
            .collect()
    }

    /// The timeout to ask for in the next handshake.
    fn next_timeout(&mut self) -> i32 {
        let t = REQUESTED_TIMEOUTS_MS[self.handshakes % REQUESTED_TIMEOUTS_MS.len()];
        self.handshakes += 1;
        t
    }

    /// Compares the targets' handshake answers (session ids as "the n-th
    /// session of the run"), after `what` asked for `requested` ms.
    fn compare_handshakes(
        &mut self,
        what: &str,
        requested: i32,
        hs: &[Handshake],
    ) -> Result<(), Mismatch> {
        let norms: Vec<String> = self
            .sides
            .iter()
            .zip(hs)
            .map(|(side, h)| {
                let session = match side.sessions.get(&h.session_id) {
                    Some(n) => format!("session #{n}"),
                    None => format!("unknown session {:#x}", h.session_id),
                };
                format!(
                    "{session}, protocol {}, timeout {} ms, password of {} bytes, read-only {:?}",
                    h.protocol_version, h.timeout, h.passwd_len, h.read_only
                )
            })
            .collect();
        self.log
            .push(format!("  {what} (asked for {requested} ms): {}", norms[0]));
        let names = self.names();
        for (i, n) in norms.iter().enumerate().skip(1) {
            if *n != norms[0] {
                return Err(self.fail(format!(
                    "different ConnectResponses to {what} asking for {requested} ms\n  {}: {}\n  {}: {n}",
                    names[0], norms[0], names[i]
                )));
            }
        }
        Ok(())
    }

    fn fail(&self, what: String) -> Mismatch {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "differential mismatch ({}), seed {} (rerun with ZK_SIM_SEED={}):\n{what}",
            self.names().join(" vs "),
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

    /// Maps the targets' zxids for the same event onto one ordinal.
    fn align(&mut self, zxids: &[i64]) -> Result<(), Mismatch> {
        let canon: Vec<Option<usize>> = self
            .sides
            .iter()
            .zip(zxids)
            .map(|(s, z)| s.to_canon.get(z).copied())
            .collect();
        if canon.iter().all(Option::is_none) {
            let c = self.sides[0].from_canon.len();
            for (s, z) in self.sides.iter_mut().zip(zxids) {
                s.to_canon.insert(*z, c);
                s.from_canon.push(*z);
            }
            return Ok(());
        }
        if canon.iter().all(|c| c.is_some() && *c == canon[0]) {
            return Ok(());
        }
        let list: Vec<String> = zxids
            .iter()
            .zip(&canon)
            .zip(self.names())
            .map(|((z, c), n)| format!("{n}: {z:#x} ({c:?})"))
            .collect();
        Err(self.fail(format!("reply zxids do not line up: {}", list.join(", "))))
    }

    /// Sends one request per target (`reqs[i]` to target `i`).
    async fn send_each(&mut self, slot: usize, reqs: &[Request]) -> Answers {
        let mut outs = Vec::with_capacity(self.sides.len());
        for (side, req) in self.sides.iter_mut().zip(reqs) {
            match side.target.request(slot, req).await {
                Ok(o) => outs.push(o),
                Err(e) => return Err(format!("{}: {e}", side.target.name())),
            }
        }
        Ok(outs)
    }

    /// Sends the same request to every target.
    async fn send(&mut self, slot: usize, req: &Request) -> Answers {
        let reqs = vec![req.clone(); self.sides.len()];
        self.send_each(slot, &reqs).await
    }

    async fn open(&mut self, slot: usize) -> Result<(), Mismatch> {
        let requested = self.next_timeout();
        let mut hs = Vec::with_capacity(self.sides.len());
        for i in 0..self.sides.len() {
            let h = match self.sides[i].target.open(slot, requested).await {
                Ok(h) => h,
                Err(e) => {
                    let name = self.sides[i].target.name();
                    return Err(self.fail(format!("open on {name}: {e}")));
                }
            };
            self.sides[i].sessions.insert(h.session_id, self.opened);
            hs.push(h);
        }
        self.opened += 1;
        self.log.push(format!("open slot {slot}"));
        self.compare_handshakes(&format!("opening slot {slot}"), requested, &hs)?;
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

    /// Sends `req` to every target and compares the replies.
    async fn exec(&mut self, slot: usize, req: &Request, align: bool) -> Result<(), Mismatch> {
        let outs = self
            .send(slot, req)
            .await
            .map_err(|e| self.fail(format!("transport error on {req:?}: {e}")))?;
        self.compare(req, &outs, align)
    }

    fn compare(&mut self, req: &Request, outs: &[Outcome], align: bool) -> Result<(), Mismatch> {
        if align {
            let zxids: Vec<i64> = outs.iter().map(|o| o.zxid).collect();
            self.align(&zxids)?;
        }
        for (side, o) in self.sides.iter_mut().zip(outs) {
            side.latest = side.latest.max(o.zxid);
        }
        let norms: Vec<String> = self
            .sides
            .iter_mut()
            .zip(outs)
            .map(|(s, o)| s.norm(req, o))
            .collect();
        if let Some(v) = self.sides.iter_mut().find_map(|s| s.violation.take()) {
            return Err(self.fail(format!("invariant broken after {req:?}: {v}")));
        }
        let names = self.names();
        for (i, n) in norms.iter().enumerate().skip(1) {
            if *n != norms[0] {
                return Err(self.fail(format!(
                    "different replies to {req:?}\n  {}: {}\n  {}: {n}",
                    names[0], norms[0], names[i]
                )));
            }
        }
        if let Some(body) = outs.first().and_then(|o| o.body.as_ref()) {
            for p in created(body) {
                if !self_known_contains(&self.log, &p) {
                    self.log.push(format!("  (created {p})"));
                }
            }
        }
        Ok(())
    }

    /// Compares what each live session has been notified of. A session that
    /// may lag behind another session's last change (on a multi-server
    /// target its server may not have applied it yet, which ZooKeeper
    /// allows) first issues a `sync`, as a client must to observe another
    /// client's write; the sync's reply is compared too. The others ping.
    async fn compare_notifications(
        &mut self,
        live: &[bool],
        lagging: &mut [bool],
    ) -> Result<(), Mismatch> {
        for (slot, alive) in live.iter().enumerate() {
            if !alive {
                continue;
            }
            if lagging[slot] {
                lagging[slot] = false;
                let sync = Request::Sync(zk_proto::SyncRequest { path: "/".into() });
                self.log.push(format!("  slot {slot}: sync"));
                let outs = self.barrier(slot, &sync).await?;
                self.compare(&sync, &outs, true)?;
            }
            let mut all = Vec::with_capacity(self.sides.len());
            for side in &mut self.sides {
                match side.target.notifications(slot).await {
                    Ok(n) => all.push(n),
                    Err(e) => {
                        let name = side.target.name();
                        return Err(self.fail(format!("notification read on {name} failed: {e}")));
                    }
                }
            }
            let formatted: Vec<String> = all.iter().map(|n| fmt_events(n)).collect();
            let names = self.names();
            for (i, f) in formatted.iter().enumerate().skip(1) {
                if *f != formatted[0] {
                    return Err(self.fail(format!(
                        "different notifications for slot {slot}\n  {}: {}\n  {}: {f}",
                        names[0], formatted[0], names[i]
                    )));
                }
            }
            self.notifications += all[0].len();
            if !all[0].is_empty() {
                self.log
                    .push(format!("  slot {slot} notified: {}", formatted[0]));
            }
        }
        Ok(())
    }

    /// Syncs `slot` on every target until its server has applied every
    /// change any session has seen (the reply's zxid reaches the highest
    /// one seen). One sync is enough on a follower (the leader answers it
    /// after its earlier commits), but a 3.8 leader serves a sync as a plain
    /// read, which may overtake a commit the leader has already sent to the
    /// followers but not applied itself; a client that must see such a
    /// write waits for the zxid, as this does.
    async fn barrier(&mut self, slot: usize, sync: &Request) -> Result<Vec<Outcome>, Mismatch> {
        const ATTEMPTS: usize = 1000;
        let mut outs = Vec::with_capacity(self.sides.len());
        for i in 0..self.sides.len() {
            let mut tries = 0;
            loop {
                tries += 1;
                let side = &mut self.sides[i];
                let o = match side.target.request(slot, sync).await {
                    Ok(o) => o,
                    Err(e) => {
                        let name = side.target.name();
                        return Err(self.fail(format!("sync on {name} failed: {e}")));
                    }
                };
                if o.zxid >= side.latest || tries >= ATTEMPTS {
                    outs.push(o);
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
        Ok(outs)
    }

    /// Runs `ops` generated steps.
    pub async fn run(&mut self, ops: usize) -> Result<(), Mismatch> {
        let mut gen = Generator::new(self.seed);
        gen.standalone_check = self.sides.iter().all(|s| s.target.servers() == 1);
        let mut live = [false; SLOTS];
        // Whether a slot's server may not have seen another session's
        // latest change yet.
        let mut lagging = [false; SLOTS];
        for (slot, l) in live.iter_mut().enumerate() {
            self.open(slot).await?;
            *l = true;
        }
        lagging.iter_mut().for_each(|l| *l = true);
        self.compare_notifications(&live, &mut lagging).await?;
        for i in 0..ops {
            let step = gen.next();
            self.steps = i + 1;
            let changes_state = match &step {
                Step::Req { req, .. } => is_write(req),
                Step::SetWatches { .. } => false,
                Step::Reopen { .. } => true,
                Step::Reconnect { .. } => false,
                Step::Pipeline { reqs, .. } => reqs.iter().any(is_write),
            };
            let acting = match &step {
                Step::Req { slot, .. }
                | Step::SetWatches { slot, .. }
                | Step::Reopen { slot }
                | Step::Reconnect { slot }
                | Step::Pipeline { slot, .. } => *slot,
            };
            match step {
                Step::Req { slot, req } => {
                    self.log.push(format!("#{i} slot {slot}: {req:?}"));
                    let no_align = matches!(req, Request::Auth(_));
                    let outs = self
                        .send(slot, &req)
                        .await
                        .map_err(|e| self.fail(format!("transport error: {e}")))?;
                    self.compare(&req, &outs, !no_align)?;
                    if let Some(body) = outs.first().and_then(|o| o.body.as_ref()) {
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
                    let c = rel % self.sides[0].from_canon.len();
                    let reqs: Vec<Request> = self
                        .sides
                        .iter()
                        .map(|s| {
                            Request::SetWatches2(SetWatches2 {
                                relative_zxid: s.from_canon[c],
                                data_watches: data.clone(),
                                exist_watches: exist.clone(),
                                child_watches: child.clone(),
                                persistent_watches: persistent.clone(),
                                persistent_recursive_watches: recursive.clone(),
                            })
                        })
                        .collect();
                    self.log.push(format!(
                        "#{i} slot {slot}: {:?} (canonical zxid {c})",
                        reqs[0]
                    ));
                    let outs = self
                        .send_each(slot, &reqs)
                        .await
                        .map_err(|e| self.fail(format!("transport error: {e}")))?;
                    self.compare(&reqs[0], &outs, false)?;
                }
                Step::Pipeline { slot, reqs } => {
                    self.log
                        .push(format!("#{i} slot {slot}: pipeline of {}", reqs.len()));
                    for r in &reqs {
                        self.log.push(format!("    {r:?}"));
                    }
                    let mut all = Vec::with_capacity(self.sides.len());
                    for side in &mut self.sides {
                        match side.target.pipeline(slot, &reqs).await {
                            Ok(o) => all.push(o),
                            Err(e) => {
                                let name = side.target.name();
                                return Err(self.fail(format!("pipeline on {name} failed: {e}")));
                            }
                        }
                    }
                    for (j, req) in reqs.iter().enumerate() {
                        let outs: Vec<Outcome> = all.iter().map(|o| o[j].clone()).collect();
                        self.compare(req, &outs, true)?;
                        if let Some(body) = outs.first().and_then(|o| o.body.as_ref()) {
                            for p in created(body) {
                                if !gen.known.contains(&p) && gen.known.len() < 60 {
                                    gen.known.push(p);
                                }
                            }
                        }
                    }
                }
                Step::Reconnect { slot } => {
                    self.log
                        .push(format!("#{i} slot {slot}: reconnect to the next server"));
                    let requested = self.next_timeout();
                    let mut hs = Vec::with_capacity(self.sides.len());
                    for k in 0..self.sides.len() {
                        let name = self.sides[k].target.name();
                        match self.sides[k].target.reconnect(slot, requested).await {
                            Ok(h) => hs.push(h),
                            Err(e) => {
                                return Err(self.fail(format!("reconnect on {name} failed: {e}")))
                            }
                        }
                    }
                    self.compare_handshakes(
                        &format!("resuming slot {slot} on the next server"),
                        requested,
                        &hs,
                    )?;
                    // The new server may not have applied everything yet.
                    lagging[slot] = true;
                }
                Step::Reopen { slot } => {
                    self.log.push(format!("#{i} slot {slot}: close and reopen"));
                    let mut outs = Vec::with_capacity(self.sides.len());
                    for side in &mut self.sides {
                        match side.target.close(slot).await {
                            Ok(o) => outs.push(o),
                            Err(e) => {
                                let name = side.target.name();
                                return Err(self.fail(format!("close on {name} failed: {e}")));
                            }
                        }
                    }
                    live[slot] = false;
                    self.compare(&Request::CloseSession, &outs, true)?;
                    // The close deleted the session's ephemerals.
                    mark_others(&mut lagging, slot);
                    self.compare_notifications(&live, &mut lagging).await?;
                    self.open(slot).await?;
                    live[slot] = true;
                }
            }
            if changes_state {
                mark_others(&mut lagging, acting);
            }
            self.compare_notifications(&live, &mut lagging).await?;
        }
        Ok(())
    }
}

/// Whether `req` goes through the leader and takes a zxid (failed writes
/// too), so that other servers learn of it only when they apply it.
fn is_write(req: &Request) -> bool {
    matches!(
        req,
        Request::Create(_)
            | Request::Create2(_)
            | Request::CreateContainer(_)
            | Request::CreateTtl(_)
            | Request::Delete(_)
            | Request::DeleteContainer(_)
            | Request::SetData(_)
            | Request::SetAcl(_)
            | Request::Check(_)
            | Request::Multi(_)
            | Request::Reconfig(_)
            | Request::CloseSession
    )
}

/// Every slot but `acting` may now be behind `acting`'s last change.
fn mark_others(lagging: &mut [bool], acting: usize) {
    for (slot, l) in lagging.iter_mut().enumerate() {
        if slot != acting {
            *l = true;
        }
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

//! Seeded random operation sequences over a small path universe.

use bytes::Bytes;
use zk_proto::{
    Acl, AddWatchMode, AddWatchRequest, AuthPacket, CheckVersionRequest, CheckWatchesRequest,
    CreateRequest, CreateTtlRequest, DeleteContainerRequest, DeleteRequest, ExistsRequest,
    GetAclRequest, GetAllChildrenNumberRequest, GetChildrenRequest, GetDataRequest,
    GetEphemeralsRequest, Id, MultiOp, MultiRequest, Perms, RemoveWatchesRequest, Request,
    SetAclRequest, SetDataRequest, SyncRequest, MAX_TTL_MS,
};
use zk_server_sim::tree::auth::digest_id;

use super::rng::Rng;

/// Number of concurrent sessions the sequences use.
pub const SLOTS: usize = 3;

/// The digest credentials a session may authenticate with.
pub const USERS: [&str; 2] = ["u1:p1", "u2:p2"];

/// The super user's credentials; the reference server is started with
/// `zookeeper.DigestAuthenticationProvider.superDigest` = digest of these.
pub const SUPER: &str = "super:test";

/// One step of a sequence.
#[derive(Debug, Clone)]
pub enum Step {
    /// A request on the session in `slot`.
    Req { slot: usize, req: Request },
    /// SetWatches2 on a live connection; `rel` is a canonical zxid ordinal the
    /// runner translates for each target.
    SetWatches {
        slot: usize,
        rel: usize,
        data: Vec<String>,
        exist: Vec<String>,
        child: Vec<String>,
        persistent: Vec<String>,
        recursive: Vec<String>,
    },
    /// Close the session in `slot` and open a new one there (with the slot's auth).
    Reopen { slot: usize },
    /// Drop the connection of the session in `slot` (no closeSession) and
    /// resume the session on the next server, as a client does after a
    /// disconnect. Auth is per connection: it is not sent again.
    Reconnect { slot: usize },
    /// Several requests on the session in `slot` sent at once, before any
    /// reply (replies must come in order, reads behind writes see them).
    Pipeline { slot: usize, reqs: Vec<Request> },
}

/// Draws steps; `known` holds paths the reference server created (sequential names).
#[derive(Debug)]
pub struct Generator {
    rng: Rng,
    pub known: Vec<String>,
    /// Whether standalone `check` requests are drawn. A successful one gets
    /// no reply from 3.8, and in a multi-server ensemble its txn (type 13)
    /// makes every follower fail ("Unsupported Txn with type=%d13") and
    /// drop out of the quorum: only single-server targets get them.
    pub standalone_check: bool,
}

const L1: [&str; 3] = ["a", "b", "c"];
// Non-ASCII names check Java's UTF-16 String.hashCode (children order) and the codec.
const L2: [&str; 4] = ["x", "y", "x", "\u{e9}t\u{e9}"];
const L3: [&str; 2] = ["p", "\u{65e5}\u{672c}"];
const WEIRD: [&str; 12] = [
    "/",
    "/zookeeper",
    "/zookeeper/config",
    "/zookeeper/quota",
    "/a/",
    "//a",
    "a",
    "/a/./x",
    "/a/../b",
    "",
    "/a\u{0}b",
    "/nope/x",
];

impl Generator {
    pub fn new(seed: u64) -> Self {
        Generator {
            rng: Rng::new(seed),
            known: Vec::new(),
            standalone_check: true,
        }
    }

    /// A path: mostly from the universe, some created names, a few weird ones.
    fn path(&mut self) -> String {
        let r = self.rng.below(100);
        if r < 6 {
            return (*self.rng.pick(&WEIRD)).to_owned();
        }
        if r < 22 && !self.known.is_empty() {
            let k = self.rng.below(self.known.len());
            return self.known[k].clone();
        }
        let mut p = format!("/{}", self.rng.pick(&L1));
        if self.rng.chance(60) {
            p.push('/');
            let name: &&str = self.rng.pick(&L2);
            p.push_str(name);
            if self.rng.chance(35) {
                p.push('/');
                let name: &&str = self.rng.pick(&L3);
                p.push_str(name);
            }
        }
        p
    }

    fn data(&mut self) -> Bytes {
        let len = self.rng.below(6);
        (0..len)
            .map(|_| b'a' + self.rng.below(26) as u8)
            .collect::<Vec<u8>>()
            .into()
    }

    /// A path to delete: created names (mostly leaves) half the time.
    fn delete_path(&mut self) -> String {
        if self.rng.chance(50) && !self.known.is_empty() {
            let k = self.rng.below(self.known.len());
            return self.known[k].clone();
        }
        self.path()
    }

    /// Versions in a multi are mostly "any", so that more multis succeed.
    fn multi_version(&mut self) -> i32 {
        if self.rng.chance(85) {
            -1
        } else {
            self.rng.below(3) as i32
        }
    }

    fn version(&mut self) -> i32 {
        if self.rng.chance(70) {
            -1
        } else {
            self.rng.below(3) as i32
        }
    }

    fn acl(&mut self) -> Vec<Acl> {
        match self.rng.below(24) {
            0..=13 => Acl::open_unsafe(),
            14 => Acl::read_unsafe(),
            15 => Acl::creator_all(),
            16 => vec![
                Acl::new(Perms::ALL, digest_id(USERS[0])),
                Acl::new(Perms::READ, Id::anyone()),
            ],
            17 => vec![Acl::new(Perms::ALL, digest_id(USERS[1]))],
            18 => vec![Acl::new(Perms::ALL, Id::new("ip", "127.0.0.1"))],
            19 => vec![
                Acl::new(Perms::READ | Perms::CREATE, Id::new("ip", "10.0.0.0/8")),
                Acl::new(Perms::ADMIN | Perms::DELETE, Id::anyone()),
            ],
            20 => Vec::new(),
            21 => vec![Acl::new(Perms::ALL, Id::new("world", "someone"))],
            22 => vec![Acl::new(Perms::ALL, Id::new("digest", "nocolon"))],
            _ => vec![
                Acl::new(Perms::WRITE | Perms::READ, Id::anyone()),
                Acl::new(Perms::WRITE | Perms::READ, Id::anyone()),
                Acl::new(Perms::CREATE | Perms::DELETE, Id::new("ip", "127.0.0.0/24")),
            ],
        }
    }

    fn ttl(&mut self) -> i64 {
        match self.rng.below(10) {
            0 => 0,
            1 => MAX_TTL_MS + 1,
            2 => MAX_TTL_MS,
            3 => -1,
            _ => 600_000 + self.rng.below(1000) as i64,
        }
    }

    /// A create as a top-level request: opcode and flags drawn together so
    /// the server never reaches upstream's unchecked failure paths.
    fn create(&mut self) -> Request {
        let path = self.path();
        let path = if self.rng.chance(25) && !path.ends_with('/') {
            // A sequential prefix such as /a/s-.
            format!("{path}/s-")
        } else {
            path
        };
        let data = self.data();
        let acl = self.acl();
        match self.rng.below(20) {
            0..=5 => Request::Create(CreateRequest {
                path,
                data: data.into(),
                acl,
                flags: self.create_flags(),
            }),
            6..=12 => Request::Create2(CreateRequest {
                path,
                data: data.into(),
                acl,
                flags: self.create_flags(),
            }),
            13..=15 => Request::CreateContainer(CreateRequest {
                path,
                data: data.into(),
                acl,
                flags: if self.rng.chance(80) { 4 } else { 0 },
            }),
            _ => {
                let (flags, ttl) = if self.rng.chance(90) {
                    (5 + self.rng.below(2) as i32, self.ttl())
                } else {
                    // A non-TTL mode with a ttl: BADARGUMENTS.
                    (self.rng.below(3) as i32, 1000)
                };
                let ttl = if (0..5).contains(&flags) && ttl < 0 {
                    1000
                } else {
                    ttl
                };
                Request::CreateTtl(CreateTtlRequest {
                    path,
                    data: data.into(),
                    acl,
                    flags,
                    ttl,
                })
            }
        }
    }

    /// Flags for create/create2: every mode but TTL (which needs opcode 21), a
    /// container flag (plain node with these opcodes) and an invalid one.
    fn create_flags(&mut self) -> i32 {
        match self.rng.below(20) {
            0..=6 => 0,
            7..=10 => 1,
            11..=13 => 2,
            14..=16 => 3,
            17 => 4,
            18 => 5,
            _ => 7,
        }
    }

    fn multi_op(&mut self) -> MultiOp {
        match self.rng.below(10) {
            0..=3 => {
                let path = self.path();
                let path = if self.rng.chance(20) {
                    format!("{path}/m-")
                } else {
                    path
                };
                let req = CreateRequest {
                    path,
                    data: self.data().into(),
                    acl: if self.rng.chance(90) {
                        Acl::open_unsafe()
                    } else {
                        self.acl()
                    },
                    flags: *self.rng.pick(&[0, 0, 1, 2, 3, 4]),
                };
                match self.rng.below(3) {
                    0 => MultiOp::Create(req),
                    1 => MultiOp::Create2(req),
                    _ => MultiOp::CreateContainer(req),
                }
            }
            4 => MultiOp::CreateTtl(CreateTtlRequest {
                path: self.path(),
                data: self.data().into(),
                acl: Acl::open_unsafe(),
                flags: 5 + self.rng.below(2) as i32,
                ttl: self.ttl().clamp(1, MAX_TTL_MS),
            }),
            5..=6 => MultiOp::Delete(DeleteRequest {
                path: self.delete_path(),
                version: self.multi_version(),
            }),
            7..=8 => MultiOp::SetData(SetDataRequest {
                path: self.path(),
                data: self.data().into(),
                version: self.multi_version(),
            }),
            _ => MultiOp::Check(CheckVersionRequest {
                path: self.path(),
                version: self.multi_version(),
            }),
        }
    }

    fn watch(&mut self) -> bool {
        self.rng.chance(50)
    }

    /// The next step.
    pub fn next(&mut self) -> Step {
        let slot = self.rng.below(SLOTS);
        let roll = self.rng.below(1000);
        let req = match roll {
            0..=239 => self.create(),
            240..=339 => Request::Delete(DeleteRequest {
                path: self.delete_path(),
                version: self.version(),
            }),
            340..=449 => Request::SetData(SetDataRequest {
                path: self.path(),
                data: self.data().into(),
                version: self.version(),
            }),
            450..=489 => Request::SetAcl(SetAclRequest {
                path: self.path(),
                acl: self.acl(),
                version: self.version(),
            }),
            // A standalone check: 3.8 answers only when it fails.
            560..=564 if self.standalone_check => Request::Check(CheckVersionRequest {
                path: self.path(),
                version: self.version(),
            }),
            560..=564 => Request::Exists(ExistsRequest {
                path: self.path(),
                watch: false,
            }),
            // A client-sent deleteContainer: always BADARGUMENTS in 3.8.
            565..=569 => Request::DeleteContainer(DeleteContainerRequest {
                path: self.delete_path(),
            }),
            490..=559 => {
                let n = if self.rng.chance(5) {
                    0
                } else {
                    1 + self.rng.below(3)
                };
                Request::Multi(MultiRequest {
                    ops: (0..n).map(|_| self.multi_op()).collect(),
                })
            }
            570..=599 => {
                let n = 1 + self.rng.below(3);
                Request::MultiRead(MultiRequest {
                    ops: (0..n)
                        .map(|_| {
                            let path = self.path();
                            let watch = self.rng.chance(30);
                            if self.rng.chance(50) {
                                MultiOp::GetData(GetDataRequest { path, watch })
                            } else {
                                MultiOp::GetChildren(GetChildrenRequest { path, watch })
                            }
                        })
                        .collect(),
                })
            }
            600..=669 => Request::Exists(ExistsRequest {
                path: self.path(),
                watch: self.watch(),
            }),
            670..=739 => Request::GetData(GetDataRequest {
                path: self.path(),
                watch: self.watch(),
            }),
            740..=789 => Request::GetChildren(GetChildrenRequest {
                path: self.path(),
                watch: self.watch(),
            }),
            790..=839 => Request::GetChildren2(GetChildrenRequest {
                path: self.path(),
                watch: self.watch(),
            }),
            840..=864 => Request::GetAcl(GetAclRequest { path: self.path() }),
            865..=879 => {
                Request::GetAllChildrenNumber(GetAllChildrenNumberRequest { path: self.path() })
            }
            880..=894 => Request::GetEphemerals(GetEphemeralsRequest {
                prefix_path: if self.rng.chance(30) {
                    "/".into()
                } else {
                    self.path()
                },
            }),
            895..=899 => Request::WhoAmI,
            900..=909 => Request::Sync(SyncRequest { path: self.path() }),
            910..=934 => Request::AddWatch(AddWatchRequest {
                path: self.path(),
                mode: if self.rng.chance(50) {
                    AddWatchMode::Persistent.code()
                } else {
                    AddWatchMode::PersistentRecursive.code()
                },
            }),
            935..=949 => Request::RemoveWatches(RemoveWatchesRequest {
                path: self.path(),
                watcher_type: 1 + self.rng.below(3) as i32,
            }),
            950..=959 => Request::CheckWatches(CheckWatchesRequest {
                path: self.path(),
                watcher_type: 1 + self.rng.below(3) as i32,
            }),
            960..=974 => {
                let list = |g: &mut Self| -> Vec<String> {
                    (0..g.rng.below(3))
                        .map(|_| g.path())
                        .filter(|p| p.starts_with('/'))
                        .collect()
                };
                let data = list(self);
                let exist = list(self);
                let child = list(self);
                let (persistent, recursive) = if self.rng.chance(30) {
                    (list(self), list(self))
                } else {
                    (Vec::new(), Vec::new())
                };
                return Step::SetWatches {
                    slot,
                    rel: self.rng.next_u64() as usize,
                    data,
                    exist,
                    child,
                    persistent,
                    recursive,
                };
            }
            975..=979 => return Step::Reopen { slot },
            980..=984 => return Step::Reconnect { slot },
            // An ip auth packet succeeds and adds the peer's address, which
            // every connection holds already.
            985 => Request::Auth(AuthPacket {
                auth_type: 0,
                scheme: "ip".into(),
                auth: Bytes::from_static(b"ignored"),
            }),
            986..=989 => Request::Auth(AuthPacket {
                auth_type: 0,
                scheme: "digest".into(),
                auth: Bytes::from(if self.rng.chance(10) {
                    SUPER
                } else {
                    *self.rng.pick(&USERS)
                }),
            }),
            990 => Request::Ping,
            991..=994 => {
                let n = 2 + self.rng.below(4);
                let mut reqs = Vec::with_capacity(n);
                while reqs.len() < n {
                    // Auth is answered out of line, a successful standalone
                    // check not at all: neither goes in a pipeline. setACL
                    // goes in only as the last request: what 3.8 answers to
                    // a request pipelined behind it is a race between its
                    // apply and the next request's prep (pinned by
                    // a_write_pipelined_behind_a_set_acl_sees_the_old_or_new_acl_on_3_8_and_the_new_on_the_simulator).
                    if let Step::Req { req, .. } = self.next() {
                        if !matches!(req, Request::Auth(_) | Request::Check(_)) {
                            let last = matches!(req, Request::SetAcl(_));
                            reqs.push(req);
                            if last {
                                break;
                            }
                        }
                    }
                }
                return Step::Pipeline { slot, reqs };
            }
            _ => Request::Reconfig(zk_proto::ReconfigRequest {
                joining_servers: String::new(),
                leaving_servers: String::new(),
                new_members: String::new(),
                cur_config_id: -1,
            }),
        };
        Step::Req { slot, req }
    }
}

//! A minimal in-process "server" around DataTree + WatchManager for unit tests.

use std::collections::BTreeMap;

use bytes::Bytes;
use zk_proto::{
    Acl, CreateRequest, CreateTtlRequest, DeleteRequest, ErrorCode, ExistsRequest,
    GetChildrenRequest, GetDataRequest, Id, Request, Response, SetAclRequest, SetDataRequest, Stat,
    WatcherEvent,
};
use zk_server_sim::tree::auth::ip_id;
use zk_server_sim::tree::{ConnId, Ctx, DataTree, Txn, TxnResult, WatchManager};

/// One client: a session on a connection, with its ids.
#[derive(Debug, Clone)]
pub struct Client {
    pub session: i64,
    pub conn: ConnId,
    pub auth: Vec<Id>,
}

/// A leader-and-only server: prepare, apply with the next zxid, fire watches.
#[derive(Debug)]
pub struct Server {
    pub tree: DataTree,
    pub watches: WatchManager,
    pub now: i64,
    pub extended_types: bool,
    pub notes: BTreeMap<ConnId, Vec<WatcherEvent>>,
    next_conn: ConnId,
}

impl Server {
    pub fn new() -> Self {
        Server {
            tree: DataTree::new(),
            watches: WatchManager::default(),
            now: 1_000,
            extended_types: true,
            notes: BTreeMap::new(),
            next_conn: 0,
        }
    }

    /// Connects a client with a new session (a createSession txn).
    pub fn connect(&mut self) -> Client {
        self.next_conn += 1;
        let session = 0x0100_0000_0000_0000 + self.next_conn as i64;
        self.apply(&Txn::CreateSession {
            session_id: session,
            timeout_ms: 10_000,
        });
        let auth = vec![ip_id("127.0.0.1")];
        self.watches.set_auth(self.next_conn, &auth);
        Client {
            session,
            conn: self.next_conn,
            auth,
        }
    }

    /// Adds a digest identity to a client.
    pub fn add_digest(&mut self, c: &mut Client, user_password: &str) {
        let id = zk_server_sim::tree::auth::authenticate("digest", user_password.as_bytes())
            .expect("digest auth");
        c.auth.push(id);
        self.watches.set_auth(c.conn, &c.auth);
    }

    pub fn ctx<'a>(&self, c: &'a Client) -> Ctx<'a> {
        Ctx {
            session_id: c.session,
            auth: &c.auth,
            now_ms: self.now,
            extended_types: self.extended_types,
        }
    }

    /// Applies a txn at the next zxid and routes its notifications.
    pub fn apply(&mut self, txn: &Txn) -> TxnResult {
        self.now += 10;
        let zxid = self.tree.last_zxid() + 1;
        let r = self.tree.apply(zxid, self.now, txn);
        for (conn, ev) in self.watches.trigger(&r.events) {
            self.notes.entry(conn).or_default().push(ev);
        }
        r
    }

    /// A write from `c`: prepare, apply, route.
    pub fn write(&mut self, c: &Client, req: &Request) -> Result<Response, ErrorCode> {
        self.now += 10;
        let txn = self.tree.prepare(&self.ctx(c), req);
        self.apply(&txn).response
    }

    /// A read from `c`, registering its watch.
    pub fn read(&mut self, c: &Client, req: &Request) -> Result<Response, ErrorCode> {
        let r = self.tree.read(&self.ctx(c), req);
        self.watches.register_after_read(c.conn, req, &r);
        r
    }

    /// Takes the notifications `c` got so far, as (type, path).
    pub fn take(&mut self, c: &Client) -> Vec<(i32, String)> {
        self.notes
            .remove(&c.conn)
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.event_type, e.path))
            .collect()
    }

    pub fn stat(&self, path: &str) -> Stat {
        self.tree
            .stat(path)
            .unwrap_or_else(|| panic!("{path} exists"))
    }

    pub fn close(&mut self, c: &Client) -> TxnResult {
        let r = self.apply(&Txn::CloseSession {
            session_id: c.session,
        });
        self.watches.remove_connection(c.conn);
        r
    }
}

// Request builders.

pub fn create(path: &str, data: &str, flags: i32) -> Request {
    Request::Create(CreateRequest {
        path: path.into(),
        data: Bytes::copy_from_slice(data.as_bytes()).into(),
        acl: Acl::open_unsafe(),
        flags,
    })
}

pub fn create2(path: &str, data: &str, flags: i32) -> Request {
    Request::Create2(CreateRequest {
        path: path.into(),
        data: Bytes::copy_from_slice(data.as_bytes()).into(),
        acl: Acl::open_unsafe(),
        flags,
    })
}

pub fn create_acl(path: &str, acl: Vec<Acl>) -> Request {
    Request::Create2(CreateRequest {
        path: path.into(),
        data: Bytes::new().into(),
        acl,
        flags: 0,
    })
}

pub fn container(path: &str) -> Request {
    Request::CreateContainer(CreateRequest {
        path: path.into(),
        data: Bytes::new().into(),
        acl: Acl::open_unsafe(),
        flags: 4,
    })
}

pub fn ttl(path: &str, flags: i32, ttl: i64) -> Request {
    Request::CreateTtl(CreateTtlRequest {
        path: path.into(),
        data: Bytes::new().into(),
        acl: Acl::open_unsafe(),
        flags,
        ttl,
    })
}

pub fn delete(path: &str, version: i32) -> Request {
    Request::Delete(DeleteRequest {
        path: path.into(),
        version,
    })
}

pub fn set_data(path: &str, data: &str, version: i32) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Bytes::copy_from_slice(data.as_bytes()).into(),
        version,
    })
}

pub fn set_acl(path: &str, acl: Vec<Acl>, version: i32) -> Request {
    Request::SetAcl(SetAclRequest {
        path: path.into(),
        acl,
        version,
    })
}

pub fn exists(path: &str, watch: bool) -> Request {
    Request::Exists(ExistsRequest {
        path: path.into(),
        watch,
    })
}

pub fn get_data(path: &str, watch: bool) -> Request {
    Request::GetData(GetDataRequest {
        path: path.into(),
        watch,
    })
}

pub fn get_children(path: &str, watch: bool) -> Request {
    Request::GetChildren(GetChildrenRequest {
        path: path.into(),
        watch,
    })
}

/// The Stat in a reply.
pub fn stat_of(r: &Result<Response, ErrorCode>) -> Stat {
    match r {
        Ok(Response::Create2(c)) => c.stat.clone(),
        Ok(Response::Stat(s)) => s.stat.clone(),
        Ok(Response::GetData(d)) => d.stat.clone(),
        Ok(Response::GetChildren2(c)) => c.stat.clone(),
        Ok(Response::GetAcl(a)) => a.stat.clone(),
        other => panic!("no stat in {other:?}"),
    }
}

/// The created path in a reply.
pub fn path_of(r: &Result<Response, ErrorCode>) -> String {
    match r {
        Ok(Response::Create(c)) => c.path.clone(),
        Ok(Response::Create2(c)) => c.path.clone(),
        other => panic!("no path in {other:?}"),
    }
}

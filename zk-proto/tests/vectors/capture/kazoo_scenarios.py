#!/usr/bin/python3
"""kazoo 2.8 scenarios for the zk-proto test vectors.

usage: kazoo_scenarios.py <scenario> <proxy host:port> <proxy control port>
scenarios: basic, auth

Every connection through the proxy is recorded; each scenario labels its
connections via the proxy control port first.

kazoo quirks worth knowing when reading the vectors:
  * kazoo's write_string() encodes an EMPTY string as -1 (null), so these
    scenarios never pass "" for a path, ACL id or scheme.
  * data is always passed as bytes (b"" rather than None), so buffers are
    never -1.
  * kazoo always appends the readOnly byte (0) to ConnectRequest.
"""

import sys
import threading
import time

sys.path.insert(0, "/usr/lib/python3/dist-packages")

from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import (BadVersionError, NoAuthError, NodeExistsError,  # noqa: E402
                              NoNodeError, NotEmptyError, RolledBackError)
from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE, Permissions, make_digest_acl  # noqa: E402

import proxy as proxyctl  # noqa: E402


def ctl(port, cmd):
    reply = proxyctl.ctl(port, cmd)
    print("[kazoo] ctl %s -> %s" % (cmd, reply), flush=True)
    if not reply.startswith("OK"):
        raise SystemExit("proxy control failed")


class Events:
    def __init__(self):
        self.cond = threading.Condition()
        self.seen = []

    def cb(self, ev):
        print("[kazoo] watch event %s" % (ev,), flush=True)
        with self.cond:
            self.seen.append((ev.type, ev.path))
            self.cond.notify_all()

    def wait(self, typ, path, timeout=10):
        with self.cond:
            ok = self.cond.wait_for(lambda: (typ, path) in self.seen, timeout)
        if not ok:
            raise SystemExit("timed out waiting for %s %s; seen %s" % (typ, path, self.seen))


def expect(exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc as e:
        print("[kazoo] got expected %r" % (e,), flush=True)
        return
    raise SystemExit("expected %s" % exc.__name__)


def basic(hostport, ctlport):
    ctl(ctlport, "LABEL kazoo_basic kazoo 2.8 client: create/create2 (persistent, ephemeral, sequential),"
                 " exists (present/absent) + getData + getChildren with watches and their notifications,"
                 " setData, getChildren2, getACL/setACL, sync, multi ok + failing, NONODE/NODEEXISTS/BADVERSION/NOTEMPTY,"
                 " ping, closeSession")
    zk = KazooClient(hosts=hostport, timeout=4.0)
    zk.start()
    ev = Events()
    zk.create("/kz", b"root")                                   # create (1)
    zk.create("/kz/a", b"hello")                                # create (1)
    zk.create("/kz/b", b"", include_data=True)                  # create2 (15)
    zk.create("/kz/eph", b"e", ephemeral=True)                  # create (1) flags 1
    zk.create("/kz/seq-", b"", sequence=True)                   # create (1) flags 2
    zk.exists("/kz/a", watch=ev.cb)                             # exists (3), present, watch
    zk.exists("/kz/new", watch=ev.cb)                           # exists (3), absent -> NONODE, watch set
    zk.get("/kz/a", watch=ev.cb)                                # getData (4) with watch
    zk.get_children("/kz", watch=ev.cb)                         # getChildren (8) with watch
    zk.get_children("/kz", include_data=True)                   # getChildren2 (12)
    zk.set("/kz/a", b"world")                                   # setData (5) -> NodeDataChanged
    ev.wait("CHANGED", "/kz/a")
    zk.create("/kz/new", b"")                                   # -> NodeCreated + NodeChildrenChanged
    ev.wait("CREATED", "/kz/new")
    ev.wait("CHILD", "/kz")
    zk.get("/kz/new", watch=ev.cb)
    zk.delete("/kz/new")                                        # delete (2) -> NodeDeleted
    ev.wait("DELETED", "/kz/new")
    zk.get_acls("/kz/a")                                        # getACL (6)
    zk.set_acls("/kz/a", [ACL(Permissions.ALL, Id("world", "anyone")),
                          ACL(Permissions.READ, Id("ip", "127.0.0.1"))], version=0)  # setACL (7)
    zk.get_acls("/kz/a")
    zk.sync("/kz")                                              # sync (9)

    t = zk.transaction()                                        # multi (14), succeeds
    t.create("/kz/t1", b"1")
    t.set_data("/kz/b", b"2", version=0)
    t.check("/kz/a", 1)
    t.delete("/kz/t1")
    print("[kazoo] multi ok ->", t.commit(), flush=True)

    t = zk.transaction()                                        # multi (14), fails on op 2
    t.create("/kz/t2", b"")
    t.check("/kz/a", 99)
    t.set_data("/kz/b", b"3")
    res = t.commit()
    print("[kazoo] multi failing ->", res, flush=True)
    assert isinstance(res[0], RolledBackError) and isinstance(res[1], BadVersionError), res

    expect(NoNodeError, zk.get, "/kz/missing")                  # NONODE
    expect(NodeExistsError, zk.create, "/kz/a", b"")            # NODEEXISTS
    expect(BadVersionError, zk.set, "/kz/a", b"x", version=42)  # BADVERSION
    expect(NotEmptyError, zk.delete, "/kz")                     # NOTEMPTY
    expect(NoNodeError, zk.delete, "/kz/missing")               # NONODE on delete
    expect(NoNodeError, zk.set_acls, "/kz/missing", OPEN_ACL_UNSAFE)

    time.sleep(2.2)                                             # idle -> ping(s)
    zk.stop()                                                   # closeSession (-11)
    zk.close()


def auth(hostport, ctlport):
    ctl(ctlport, "LABEL kazoo_auth kazoo 2.8 client with digest auth_data: auth (100, xid -4) right after the"
                 " handshake, create with a digest ACL, a second auth at run time, getACL")
    zk = KazooClient(hosts=hostport, timeout=4.0, auth_data=[("digest", "alice:alicepw")])
    zk.start()
    acl = make_digest_acl("alice", "alicepw", all=True)
    zk.create("/kzauth", b"secret", acl=[acl])
    zk.add_auth("digest", "bob:bobpw")                          # auth (100) after the handshake
    print("[kazoo] acls", zk.get_acls("/kzauth"), flush=True)
    zk.get("/kzauth")

    ctl(ctlport, "LABEL kazoo_noauth kazoo 2.8 client without credentials touching a digest-ACL node:"
                 " NOAUTH on getData, setData, create child, setACL, delete of a child it cannot see")
    anon = KazooClient(hosts=hostport, timeout=4.0)
    anon.start()
    expect(NoAuthError, anon.get, "/kzauth")                    # NOAUTH (read)
    expect(NoAuthError, anon.set, "/kzauth", b"x")              # NOAUTH (write)
    expect(NoAuthError, anon.create, "/kzauth/child", b"")      # NOAUTH (create)
    expect(NoAuthError, anon.set_acls, "/kzauth", OPEN_ACL_UNSAFE)  # NOAUTH (admin)
    print("[kazoo] exists works without auth:", anon.exists("/kzauth"), flush=True)
    anon.stop()
    anon.close()
    zk.stop()
    zk.close()


def main():
    scenario, hostport, ctlport = sys.argv[1], sys.argv[2], int(sys.argv[3])
    {"basic": basic, "auth": auth}[scenario](hostport, ctlport)
    print("[kazoo] scenario %s done" % scenario, flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Raw-socket scenarios (stdlib only) for frames no library client sends.

usage: raw_scenarios.py <proxy host:port> <proxy control port>

Every frame is built by hand with zkwire.py, so these connections show:
  * a ConnectRequest WITHOUT the trailing readOnly byte (and the server's
    ConnectResponse without it), and one with readOnly = 1;
  * standalone check (13), checkWatches (17) / removeWatches (18) incl. NOWATCHER,
    an explicit ping, a create2 (15) sub-op inside multi;
  * session resumption, a connect for a closed session (timeOut 0 answer),
    a connect with lastZxidSeen ahead of the server (no answer at all),
    an auth with an unknown scheme (AUTHFAILED, then the server closes).
"""

import socket
import struct
import sys
import time

import proxy as proxyctl
from zkwire import OPEN_ACL_UNSAFE, Reader, Writer, errname, multi_request, request


def ctl(port, cmd):
    reply = proxyctl.ctl(port, cmd)
    print("[raw] ctl %s -> %s" % (cmd, reply), flush=True)
    if not reply.startswith("OK"):
        raise SystemExit("proxy control failed")


class Raw:
    def __init__(self, hostport):
        host, port = hostport.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=10)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def recv_exact(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                return None
            b += c
        return b

    def recv_frame(self):
        h = self.recv_exact(4)
        if h is None:
            return None
        n = struct.unpack(">i", h)[0]
        return self.recv_exact(n)

    def connect(self, readonly=None, session_id=0, passwd=b"\0" * 16, last_zxid=0, timeout=10000):
        w = Writer().int(0).long(last_zxid).int(timeout).long(session_id).buffer(passwd)
        if readonly is not None:
            w.bool(readonly)
        self.s.sendall(w.frame())
        body = self.recv_frame()
        if body is None:
            print("[raw] connect: server closed without a ConnectResponse", flush=True)
            return None
        r = Reader(body)
        resp = r.record("ConnectResponse")
        resp["readOnly"] = r.bool() if r.left() else "(absent)"
        print("[raw] connect -> %r" % resp, flush=True)
        return resp

    def call(self, frame, expect_xid=None):
        """Send one request frame and read frames until the reply with its xid."""
        xid = struct.unpack(">i", frame[4:8])[0] if expect_xid is None else expect_xid
        self.s.sendall(frame)
        while True:
            body = self.recv_frame()
            if body is None:
                print("[raw] xid %d: connection closed" % xid, flush=True)
                return None
            rx, zxid, err = struct.unpack(">iqi", body[:16])
            if rx == -1:
                print("[raw] notification %s" % body[16:].hex(), flush=True)
                continue
            print("[raw] xid %d -> zxid %d err %s body %s" % (rx, zxid, errname(err), body[16:].hex()), flush=True)
            if rx != xid:
                raise SystemExit("unexpected xid %d (wanted %d)" % (rx, xid))
            return err, body[16:], zxid

    def close(self):
        self.s.close()


def main():
    hostport, ctlport = sys.argv[1], int(sys.argv[2])

    # 1 -------------------------------------------------------------------
    ctl(ctlport, "LABEL raw_no_readonly raw socket client: ConnectRequest WITHOUT the readOnly byte (the response"
                 " has none either), create, exists with watch, checkWatches/removeWatches (17/18) ok + NOWATCHER,"
                 " standalone check (13) BADVERSION/NONODE, explicit ping, createTTL with ttl 0 (BADARGUMENTS), multi with a create2 sub-op, closeSession")
    c = Raw(hostport)
    c.connect(readonly=None)
    c.call(request(1, 1, {"path": "/raw", "data": b"r", "acl": OPEN_ACL_UNSAFE, "flags": 0}))
    c.call(request(2, 3, {"path": "/raw", "watch": True}))                   # exists + data watch
    c.call(request(3, 17, {"path": "/raw", "type": 2}))                      # checkWatches Data -> OK
    c.call(request(4, 18, {"path": "/raw", "type": 2}))                      # removeWatches Data -> OK
    c.call(request(5, 17, {"path": "/raw", "type": 3}))                      # checkWatches Any -> NOWATCHER
    c.call(request(6, 18, {"path": "/raw", "type": 1}))                      # removeWatches Children -> NOWATCHER
    c.call(request(7, 13, {"path": "/raw", "version": 5}))                   # check -> BADVERSION
    c.call(request(8, 13, {"path": "/raw/missing", "version": 0}))           # check -> NONODE
    c.call(request(-2, 11))                                                  # ping
    c.call(request(9, 21, {"path": "/raw/ttl", "data": b"", "acl": OPEN_ACL_UNSAFE, "flags": 5,
                            "ttl": 0}))                                      # createTTL ttl 0 -> BADARGUMENTS
    c.call(multi_request(10, 14, [
        (15, "CreateRequest", {"path": "/raw/m", "data": b"", "acl": OPEN_ACL_UNSAFE, "flags": 0}),
        (13, "CheckVersionRequest", {"path": "/raw", "version": 0}),
        (5, "SetDataRequest", {"path": "/raw/m", "data": b"m", "version": 0}),
    ]))
    c.call(request(11, -11))                                                 # closeSession
    c.close()

    # 2 -------------------------------------------------------------------
    ctl(ctlport, "LABEL raw_check_standalone raw socket client: a standalone check (13) that SUCCEEDS gets NO reply"
                 " from a 3.8 server (NPE serialising SetDataResponse with a null stat, logged as 'Unexpected"
                 " exception. Destruction averted.'); later requests on the connection are still answered")
    c = Raw(hostport)
    c.connect(readonly=False)
    c.s.sendall(request(1, 13, {"path": "/raw", "version": 0}))              # check, matching version
    c.call(request(2, 3, {"path": "/raw", "watch": False}), expect_xid=2)    # next reply is xid 2, not 1
    c.call(request(3, -11))
    c.close()

    # 3 -------------------------------------------------------------------
    ctl(ctlport, "LABEL raw_readonly_true raw socket client: ConnectRequest with readOnly = 1 on a read-write"
                 " server (answer readOnly = 0), create an ephemeral, then drop TCP without closeSession")
    c = Raw(hostport)
    resp = c.connect(readonly=True, timeout=30000)
    c.call(request(1, 15, {"path": "/raw/eph", "data": b"", "acl": OPEN_ACL_UNSAFE, "flags": 1}))
    _, _, zxid_seen = c.call(request(2, 3, {"path": "/raw", "watch": False}))
    c.close()
    time.sleep(0.3)

    ctl(ctlport, "LABEL raw_session_resume raw socket client: resumes the previous session (sessionId + passwd +"
                 " lastZxidSeen); the ephemeral is still there; closeSession")
    c = Raw(hostport)
    c.connect(readonly=False, session_id=resp["sessionId"], passwd=resp["passwd"], last_zxid=zxid_seen,
              timeout=30000)
    c.call(request(1, 3, {"path": "/raw/eph", "watch": False}))
    c.call(request(2, -11))
    c.close()
    time.sleep(0.3)

    ctl(ctlport, "LABEL raw_session_expired raw socket client: reconnect to the session just closed ->"
                 " ConnectResponse with timeOut 0, sessionId 0, zero passwd, then the server closes")
    c = Raw(hostport)
    c.connect(readonly=False, session_id=resp["sessionId"], passwd=resp["passwd"], last_zxid=zxid_seen)
    tail = c.recv_frame()
    print("[raw] after expired response:", tail, flush=True)
    c.close()

    ctl(ctlport, "LABEL raw_zxid_ahead raw socket client: lastZxidSeen far ahead of the server -> the server closes"
                 " the connection without any ConnectResponse (only the C frame exists)")
    c = Raw(hostport)
    c.connect(readonly=False, last_zxid=0x7fff00000000)
    c.close()

    ctl(ctlport, "LABEL raw_authfailed raw socket client: auth (100) with an unknown scheme -> AUTHFAILED reply"
                 " (xid -4), then the server closes the connection")
    c = Raw(hostport)
    c.connect(readonly=False)
    c.call(Writer().int(-4).int(100).int(0).ustring("nosuchscheme").buffer(b"x:y").frame())
    tail = c.recv_frame()
    print("[raw] after AUTHFAILED:", tail, flush=True)
    c.close()
    print("[raw] done", flush=True)


if __name__ == "__main__":
    main()

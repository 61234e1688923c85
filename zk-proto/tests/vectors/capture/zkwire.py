"""Minimal jute encoder/decoder for the ZooKeeper client protocol (stdlib only).

Used by raw_scenarios.py (to craft requests a library client will not send) and
by check.py (to decode and sanity-check every captured frame).  It follows
/work/shared/reference/protocol.md (zookeeper.jute, ZooDefs.OpCode).
"""

import struct

OPCODES = {
    0: "notification", 1: "create", 2: "delete", 3: "exists", 4: "getData",
    5: "setData", 6: "getACL", 7: "setACL", 8: "getChildren", 9: "sync",
    11: "ping", 12: "getChildren2", 13: "check", 14: "multi", 15: "create2",
    16: "reconfig", 17: "checkWatches", 18: "removeWatches",
    19: "createContainer", 20: "deleteContainer", 21: "createTTL",
    22: "multiRead", 100: "auth", 101: "setWatches", 102: "sasl",
    103: "getEphemerals", 104: "getAllChildrenNumber", 105: "setWatches2",
    106: "addWatch", 107: "whoAmI", -10: "createSession", -11: "closeSession",
    -1: "error",
}

ERRORS = {
    0: "OK", -1: "SYSTEMERROR", -2: "RUNTIMEINCONSISTENCY", -3: "DATAINCONSISTENCY",
    -4: "CONNECTIONLOSS", -5: "MARSHALLINGERROR", -6: "UNIMPLEMENTED",
    -7: "OPERATIONTIMEOUT", -8: "BADARGUMENTS", -12: "UNKNOWNSESSION",
    -13: "NEWCONFIGNOQUORUM", -14: "RECONFIGINPROGRESS", -100: "APIERROR",
    -101: "NONODE", -102: "NOAUTH", -103: "BADVERSION",
    -108: "NOCHILDRENFOREPHEMERALS", -110: "NODEEXISTS", -111: "NOTEMPTY",
    -112: "SESSIONEXPIRED", -113: "INVALIDCALLBACK", -114: "INVALIDACL",
    -115: "AUTHFAILED", -118: "SESSIONMOVED", -119: "NOTREADONLY",
    -120: "EPHEMERALONLOCALSESSION", -121: "NOWATCHER", -122: "REQUESTTIMEOUT",
    -123: "RECONFIGDISABLED", -124: "SESSIONCLOSEDREQUIRESASLAUTH",
    -125: "QUOTAEXCEEDED", -127: "THROTTLEDOP",
}

EVENT_TYPES = {-1: "None", 1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged",
               4: "NodeChildrenChanged", 5: "DataWatchRemoved", 6: "ChildWatchRemoved",
               7: "PersistentWatchRemoved"}
KEEPER_STATES = {-1: "Unknown", 0: "Disconnected", 1: "NoSyncConnected", 3: "SyncConnected",
                 4: "AuthFailed", 5: "ConnectedReadOnly", 6: "SaslAuthenticated",
                 -112: "Expired", 7: "Closed"}


def opname(code):
    return OPCODES.get(code, "op%d" % code)


def errname(code):
    return ERRORS.get(code, "err%d" % code)


# ---------------------------------------------------------------- records ---
# field types: int long bool byte ustring buffer, a record name, ("vector", T)
RECORDS = {
    "Id": [("scheme", "ustring"), ("id", "ustring")],
    "ACL": [("perms", "int"), ("id", "Id")],
    "Stat": [("czxid", "long"), ("mzxid", "long"), ("ctime", "long"), ("mtime", "long"),
             ("version", "int"), ("cversion", "int"), ("aversion", "int"),
             ("ephemeralOwner", "long"), ("dataLength", "int"), ("numChildren", "int"),
             ("pzxid", "long")],
    "ClientInfo": [("authScheme", "ustring"), ("user", "ustring")],
    "RequestHeader": [("xid", "int"), ("type", "int")],
    "ReplyHeader": [("xid", "int"), ("zxid", "long"), ("err", "int")],
    "MultiHeader": [("type", "int"), ("done", "bool"), ("err", "int")],
    "ConnectRequest": [("protocolVersion", "int"), ("lastZxidSeen", "long"), ("timeOut", "int"),
                       ("sessionId", "long"), ("passwd", "buffer")],
    "ConnectResponse": [("protocolVersion", "int"), ("timeOut", "int"), ("sessionId", "long"),
                        ("passwd", "buffer")],
    "CreateRequest": [("path", "ustring"), ("data", "buffer"), ("acl", ("vector", "ACL")),
                      ("flags", "int")],
    "CreateTTLRequest": [("path", "ustring"), ("data", "buffer"), ("acl", ("vector", "ACL")),
                         ("flags", "int"), ("ttl", "long")],
    "CreateResponse": [("path", "ustring")],
    "Create2Response": [("path", "ustring"), ("stat", "Stat")],
    "DeleteRequest": [("path", "ustring"), ("version", "int")],
    "ExistsRequest": [("path", "ustring"), ("watch", "bool")],
    "ExistsResponse": [("stat", "Stat")],
    "GetDataRequest": [("path", "ustring"), ("watch", "bool")],
    "GetDataResponse": [("data", "buffer"), ("stat", "Stat")],
    "SetDataRequest": [("path", "ustring"), ("data", "buffer"), ("version", "int")],
    "SetDataResponse": [("stat", "Stat")],
    "GetACLRequest": [("path", "ustring")],
    "GetACLResponse": [("acl", ("vector", "ACL")), ("stat", "Stat")],
    "SetACLRequest": [("path", "ustring"), ("acl", ("vector", "ACL")), ("version", "int")],
    "SetACLResponse": [("stat", "Stat")],
    "GetChildrenRequest": [("path", "ustring"), ("watch", "bool")],
    "GetChildrenResponse": [("children", ("vector", "ustring"))],
    "GetChildren2Request": [("path", "ustring"), ("watch", "bool")],
    "GetChildren2Response": [("children", ("vector", "ustring")), ("stat", "Stat")],
    "SyncRequest": [("path", "ustring")],
    "SyncResponse": [("path", "ustring")],
    "CheckVersionRequest": [("path", "ustring"), ("version", "int")],
    "ReconfigRequest": [("joiningServers", "ustring"), ("leavingServers", "ustring"),
                        ("newMembers", "ustring"), ("curConfigId", "long")],
    "CheckWatchesRequest": [("path", "ustring"), ("type", "int")],
    "RemoveWatchesRequest": [("path", "ustring"), ("type", "int")],
    "AuthPacket": [("type", "int"), ("scheme", "ustring"), ("auth", "buffer")],
    "GetSASLRequest": [("token", "buffer")],
    "SetSASLResponse": [("token", "buffer")],
    "SetWatches": [("relativeZxid", "long"), ("dataWatches", ("vector", "ustring")),
                   ("existWatches", ("vector", "ustring")), ("childWatches", ("vector", "ustring"))],
    "SetWatches2": [("relativeZxid", "long"), ("dataWatches", ("vector", "ustring")),
                    ("existWatches", ("vector", "ustring")), ("childWatches", ("vector", "ustring")),
                    ("persistentWatches", ("vector", "ustring")),
                    ("persistentRecursiveWatches", ("vector", "ustring"))],
    "GetEphemeralsRequest": [("prefixPath", "ustring")],
    "GetEphemeralsResponse": [("ephemerals", ("vector", "ustring"))],
    "GetAllChildrenNumberRequest": [("path", "ustring")],
    "GetAllChildrenNumberResponse": [("totalNumber", "int")],
    "AddWatchRequest": [("path", "ustring"), ("mode", "int")],
    "WhoAmIResponse": [("clientInfo", ("vector", "ClientInfo"))],
    "WatcherEvent": [("type", "int"), ("state", "int"), ("path", "ustring")],
    "ErrorResponse": [("err", "int")],
}

# opcode -> (request record, response record); None = no body; "MULTI" = multi framing
OPS = {
    1: ("CreateRequest", "CreateResponse"),
    2: ("DeleteRequest", None),
    3: ("ExistsRequest", "ExistsResponse"),
    4: ("GetDataRequest", "GetDataResponse"),
    5: ("SetDataRequest", "SetDataResponse"),
    6: ("GetACLRequest", "GetACLResponse"),
    7: ("SetACLRequest", "SetACLResponse"),
    8: ("GetChildrenRequest", "GetChildrenResponse"),
    9: ("SyncRequest", "SyncResponse"),
    11: (None, None),
    12: ("GetChildren2Request", "GetChildren2Response"),
    13: ("CheckVersionRequest", "SetDataResponse"),
    14: ("MULTI", "MULTI"),
    15: ("CreateRequest", "Create2Response"),
    16: ("ReconfigRequest", "GetDataResponse"),
    17: ("CheckWatchesRequest", None),
    18: ("RemoveWatchesRequest", None),
    19: ("CreateRequest", "Create2Response"),
    21: ("CreateTTLRequest", "Create2Response"),
    22: ("MULTI", "MULTI"),
    100: ("AuthPacket", None),
    101: ("SetWatches", None),
    102: ("GetSASLRequest", "SetSASLResponse"),
    103: ("GetEphemeralsRequest", "GetEphemeralsResponse"),
    104: ("GetAllChildrenNumberRequest", "GetAllChildrenNumberResponse"),
    105: ("SetWatches2", None),
    106: ("AddWatchRequest", "ErrorResponse"),
    107: (None, "WhoAmIResponse"),
    -11: (None, None),
}

# result bodies inside a multi / multiRead response, by MultiHeader.type
MULTI_RESULT = {1: "CreateResponse", 15: "Create2Response", 19: "Create2Response",
                21: "Create2Response", 2: None, 13: None, 5: "SetDataResponse",
                4: "GetDataResponse", 8: "GetChildrenResponse", -1: "ErrorResponse"}


# ---------------------------------------------------------------- writer ----
class Writer:
    def __init__(self):
        self.b = bytearray()

    def int(self, v):
        self.b += struct.pack(">i", v)
        return self

    def long(self, v):
        self.b += struct.pack(">q", v)
        return self

    def bool(self, v):
        self.b += b"\x01" if v else b"\x00"
        return self

    def ustring(self, s):
        if s is None:
            return self.int(-1)
        d = s.encode("utf-8")
        self.int(len(d))
        self.b += d
        return self

    def buffer(self, d):
        if d is None:
            return self.int(-1)
        self.int(len(d))
        self.b += d
        return self

    def record(self, name, value):
        for fname, ftype in RECORDS[name]:
            self.field(ftype, value[fname])
        return self

    def field(self, ftype, v):
        if isinstance(ftype, tuple):
            if v is None:
                return self.int(-1)
            self.int(len(v))
            for e in v:
                self.field(ftype[1], e)
            return self
        if ftype in ("int", "long", "bool", "ustring", "buffer"):
            return getattr(self, ftype)(v)
        return self.record(ftype, v)

    def frame(self):
        return struct.pack(">i", len(self.b)) + bytes(self.b)


OPEN_ACL_UNSAFE = [{"perms": 31, "id": {"scheme": "world", "id": "anyone"}}]


def request(xid, op, body=None, record=None):
    """Build a complete request frame (length prefix included)."""
    w = Writer().int(xid).int(op)
    if body is not None:
        w.record(record or OPS[op][0], body)
    return w.frame()


def multi_request(xid, op, subops):
    """subops: list of (opcode, record-name, value)."""
    w = Writer().int(xid).int(op)
    for code, rec, val in subops:
        w.int(code).bool(False).int(-1)
        w.record(rec, val)
    w.int(-1).bool(True).int(-1)
    return w.frame()


# ---------------------------------------------------------------- reader ----
class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.d = bytes(data)
        self.o = 0
        self.nulls = []  # dotted field names that were encoded with length -1

    def left(self):
        return len(self.d) - self.o

    def _take(self, n):
        if n < 0 or self.o + n > len(self.d):
            raise DecodeError("need %d bytes at offset %d, have %d" % (n, self.o, self.left()))
        v = self.d[self.o:self.o + n]
        self.o += n
        return v

    def int(self, name=""):
        return struct.unpack(">i", self._take(4))[0]

    def long(self, name=""):
        return struct.unpack(">q", self._take(8))[0]

    def bool(self, name=""):
        b = self._take(1)[0]
        if b not in (0, 1):
            raise DecodeError("bool byte %d" % b)
        return bool(b)

    def ustring(self, name=""):
        n = self.int()
        if n == -1:
            self.nulls.append(name)
            return None
        raw = self._take(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", "surrogateescape")

    def buffer(self, name=""):
        n = self.int()
        if n == -1:
            self.nulls.append(name)
            return None
        return self._take(n)

    def record(self, rname, name=""):
        out = {}
        for fname, ftype in RECORDS[rname]:
            out[fname] = self.field(ftype, (name + "." if name else "") + fname)
        return out

    def field(self, ftype, name):
        if isinstance(ftype, tuple):
            n = self.int()
            if n == -1:
                self.nulls.append(name)
                return None
            if n < 0 or n > 1000000:
                raise DecodeError("bad vector count %d for %s" % (n, name))
            return [self.field(ftype[1], "%s[%d]" % (name, i)) for i in range(n)]
        if ftype in ("int", "long", "bool", "ustring", "buffer"):
            return getattr(self, ftype)(name)
        return self.record(ftype, name)


def split_frame(frame):
    n = struct.unpack(">i", frame[:4])[0]
    if n != len(frame) - 4:
        raise DecodeError("length prefix %d but %d payload bytes" % (n, len(frame) - 4))
    return frame[4:]


def decode_multi_request(r):
    ops = []
    while True:
        h = r.record("MultiHeader", "hdr")
        if h["done"]:
            return ops
        code = h["type"]
        rec = {1: "CreateRequest", 15: "CreateRequest", 19: "CreateRequest",
               21: "CreateTTLRequest", 2: "DeleteRequest", 5: "SetDataRequest",
               13: "CheckVersionRequest", 4: "GetDataRequest",
               8: "GetChildrenRequest"}.get(code)
        if rec is None:
            raise DecodeError("unknown multi sub-op %d" % code)
        ops.append((code, h, r.record(rec, "op%d" % len(ops))))


def decode_multi_response(r):
    res = []
    while True:
        h = r.record("MultiHeader", "hdr")
        if h["done"]:
            return res
        rec = MULTI_RESULT.get(h["type"], "?")
        if rec == "?":
            raise DecodeError("unknown multi result type %d" % h["type"])
        body = r.record(rec, "res%d" % len(res)) if rec else None
        res.append((h, body))

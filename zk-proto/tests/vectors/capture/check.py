#!/usr/bin/python3
"""Parse, decode and pair every frame of the zk-proto vector files.

usage: check.py [--strict] [-q] FILE...      (default: ../*.txt)

For every file: the connect handshake, then one line per request with the
reply it got (paired by xid, FIFO among equal xids such as -8), notifications
(xid -1) in between, and every field that was encoded as a -1 (null) length.
At the end: opcode -> files/reply codes coverage, notification types, nulls.

Each frame body is decoded with zkwire.py's record layouts and must be
consumed exactly; --strict exits 1 if any frame fails to decode (unanswered
requests are reported but are not an error: some are expected).
"""

import collections
import glob
import os
import struct
import sys

from zkwire import (EVENT_TYPES, KEEPER_STATES, OPS, DecodeError, Reader, decode_multi_request,
                    decode_multi_response, errname, opname, split_frame)

SPECIAL_XIDS = {-1: "notification", -2: "ping", -4: "auth", -8: "setWatches"}


def read_vector(path):
    frames = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            d, _, hx = line.partition(" ")
            if d not in ("C", "S"):
                raise DecodeError("%s:%d: bad direction %r" % (path, n, d))
            frames.append((d, bytes.fromhex(hx), n))
    return frames


def short(v, limit=60):
    s = repr(v)
    return s if len(s) <= limit else s[:limit - 3] + "..."


def describe_request(op, body):
    if body is None:
        return ""
    if op in (14, 22):
        return "[" + ", ".join("%s %s" % (opname(c), b.get("path", "")) for c, _, b in body) + "]"
    parts = []
    for k in ("path", "prefixPath", "scheme", "version", "watch", "flags", "ttl", "mode", "type"):
        if k in body and body[k] is not None:
            v = body[k]
            if k == "watch" and not v:
                continue
            parts.append(v if k == "path" else "%s=%s" % (k, v))
    if op in (101, 105):
        for k in ("relativeZxid", "dataWatches", "existWatches", "childWatches",
                  "persistentWatches", "persistentRecursiveWatches"):
            if k in body:
                parts.append("%s=%s" % (k, hex(body[k]) if k == "relativeZxid" else body[k]))
    if op == 16:
        parts.append("newMembers=%s curConfigId=%s" % (short(body["newMembers"], 40), body["curConfigId"]))
    if op == 100:
        parts.append("auth=%r" % body["auth"])
    return " ".join(str(p) for p in parts)


def describe_response(op, body):
    if body is None:
        return ""
    if op in (14, 22):
        out = []
        for h, b in body:
            if h["type"] == -1:
                out.append("error(%s)" % errname(b["err"]))
            else:
                extra = ""
                if b and "path" in b:
                    extra = " " + b["path"]
                out.append("%s%s" % (opname(h["type"]), extra))
        return "[" + ", ".join(out) + "]"
    for k in ("path", "children", "ephemerals", "totalNumber", "clientInfo", "acl", "err"):
        if k in body:
            return "%s=%s" % (k, short(body[k], 90))
    if "data" in body:
        return "data=%s" % short(body["data"], 70)
    if "stat" in body:
        return "stat.version=%d" % body["stat"]["version"]
    return ""


def decode_request_body(op, r):
    rec = OPS.get(op, ("?", "?"))[0]
    if rec == "?":
        raise DecodeError("unknown opcode %d" % op)
    if rec == "MULTI":
        return decode_multi_request(r)
    if rec is None:
        return None
    return r.record(rec)


def decode_response_body(op, err, r):
    rec = OPS.get(op, ("?", "?"))[1]
    if rec == "MULTI":
        return decode_multi_response(r)
    if err != 0 or rec is None:
        return None
    return r.record(rec)


class FileReport:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.lines = []
        self.problems = []
        self.nulls = []
        self.coverage = collections.defaultdict(set)  # opcode -> {reply err names}
        self.events = collections.Counter()
        self.subops = collections.defaultdict(set)

    def problem(self, msg):
        self.problems.append(msg)
        self.lines.append("  !! " + msg)

    def note_nulls(self, where, r):
        for n in r.nulls:
            self.nulls.append("%s line %d: %s" % (self.name, where, n))

    def run(self):
        frames = read_vector(self.path)
        nC = sum(1 for d, _, _ in frames if d == "C")
        self.lines.append("== %s: %d frames (%d C, %d S)" % (self.name, len(frames), nC, len(frames) - nC))
        pending = collections.deque()  # (xid, op, desc, line)
        seen_c = seen_s = False
        for d, frame, ln in frames:
            try:
                payload = split_frame(frame)
                r = Reader(payload)
                if d == "C" and not seen_c:
                    seen_c = True
                    cr = r.record("ConnectRequest")
                    ro = ("readOnly=%d" % r.bool()) if r.left() else "NO readOnly byte"
                    self.lines.append("  C connect len=%d proto=%d lastZxidSeen=%s timeOut=%d sessionId=%s %s"
                                      % (len(payload), cr["protocolVersion"], hex(cr["lastZxidSeen"]),
                                         cr["timeOut"], hex(cr["sessionId"]), ro))
                    self.coverage["connect" + ("" if "NO" not in ro else " (no readOnly byte)")].add("sent")
                elif d == "S" and not seen_s:
                    seen_s = True
                    cr = r.record("ConnectResponse")
                    ro = ("readOnly=%d" % r.bool()) if r.left() else "NO readOnly byte"
                    self.lines.append("  S connect len=%d proto=%d timeOut=%d sessionId=%s passwd=%d bytes %s"
                                      % (len(payload), cr["protocolVersion"], cr["timeOut"],
                                         hex(cr["sessionId"]), len(cr["passwd"] or b""), ro))
                    self.coverage["connect response" + ("" if "NO" not in ro else " (no readOnly byte)")].add(
                        "timeOut=%s" % ("0 (expired)" if cr["timeOut"] <= 0 else "ok"))
                elif d == "C":
                    h = r.record("RequestHeader")
                    body = decode_request_body(h["type"], r)
                    if h["type"] in (14, 22):
                        for code, _, _ in body:
                            self.subops[h["type"]].add(opname(code))
                    pending.append((h["xid"], h["type"], describe_request(h["type"], body), ln))
                elif d == "S":
                    h = r.record("ReplyHeader")
                    if h["xid"] == -1:
                        ev = r.record("WatcherEvent")
                        et = EVENT_TYPES.get(ev["type"], str(ev["type"]))
                        self.events[et] += 1
                        self.coverage["notification (xid -1)"].add(et)
                        self.lines.append("  S   notification %s %s %s (zxid %s)"
                                          % (et, KEEPER_STATES.get(ev["state"], ev["state"]), ev["path"],
                                             h["zxid"]))
                    else:
                        match = None
                        for i, p in enumerate(pending):
                            if p[0] == h["xid"]:
                                match = p
                                del pending[i]
                                break
                        if match is None:
                            self.problem("line %d: reply xid %d matches no request" % (ln, h["xid"]))
                            continue
                        xid, op, desc, cln = match
                        body = decode_response_body(op, h["err"], r)
                        self.coverage["%s (%d)" % (opname(op), op)].add(errname(h["err"]))
                        if op in (14, 22) and body:
                            for mh, mb in body:
                                if mh["type"] == -1:
                                    self.coverage["%s (%d)" % (opname(op), op)].add("sub:" + errname(mb["err"]))
                        self.lines.append("  xid %-4d %-22s %s -> %s zxid=%s %s"
                                          % (xid, "%s(%d)" % (opname(op), op), desc, errname(h["err"]),
                                             hex(h["zxid"]), describe_response(op, body)))
                if r.left():
                    self.problem("line %d: %d undecoded trailing bytes: %s" % (ln, r.left(), r.d[r.o:].hex()))
                self.note_nulls(ln, r)
            except (DecodeError, struct.error, KeyError, UnicodeDecodeError) as e:
                self.problem("line %d (%s): cannot decode: %s" % (ln, d, e))
        for xid, op, desc, ln in pending:
            self.lines.append("  xid %-4d %-22s %s -> NO REPLY (line %d)" % (xid, "%s(%d)" % (opname(op), op), desc, ln))
            self.coverage["%s (%d)" % (opname(op), op)].add("NO REPLY")
        for n in self.nulls:
            self.lines.append("  null (-1 length): " + n)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    strict = "--strict" in sys.argv
    quiet = "-q" in sys.argv
    if not args:
        here = os.path.dirname(os.path.abspath(__file__))
        args = sorted(glob.glob(os.path.join(here, "..", "*.txt")))
    reports = []
    for p in args:
        rep = FileReport(p)
        rep.run()
        reports.append(rep)
        if not quiet:
            print("\n".join(rep.lines))
            print()

    cov = collections.defaultdict(lambda: collections.defaultdict(set))
    for rep in reports:
        for op, errs in rep.coverage.items():
            cov[op][rep.name.replace(".txt", "")] |= errs

    def opkey(k):
        try:
            return (0, int(k.rsplit("(", 1)[1].rstrip(")")))
        except (IndexError, ValueError):
            return (-1, k)

    print("==== coverage: opcode -> replies seen [files]")
    for op in sorted(cov, key=opkey):
        errs = set()
        for e in cov[op].values():
            errs |= e
        print("%-30s %-55s [%s]" % (op, ",".join(sorted(errs)), ", ".join(sorted(cov[op]))))
    subops = collections.defaultdict(set)
    for rep in reports:
        for k, v in rep.subops.items():
            subops[k] |= v
    for k in sorted(subops):
        print("%-30s sub-ops sent: %s" % (opname(k) + " (%d)" % k, ", ".join(sorted(subops[k]))))
    ev = collections.Counter()
    for rep in reports:
        ev.update(rep.events)
    print("==== notifications: " + ", ".join("%s x%d" % kv for kv in sorted(ev.items())))
    nulls = [n for rep in reports for n in rep.nulls]
    print("==== frames with -1 (null) lengths: %d" % len(nulls))
    for n in nulls:
        print("  " + n)
    problems = [(rep.name, p) for rep in reports for p in rep.problems]
    print("==== decode problems: %d" % len(problems))
    for name, p in problems:
        print("  %s: %s" % (name, p))
    total = sum(os.path.getsize(p) for p in args)
    print("==== %d files, %d bytes" % (len(args), total))
    if strict and problems:
        sys.exit(1)


if __name__ == "__main__":
    main()

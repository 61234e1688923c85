#!/usr/bin/python3
"""Recording TCP proxy for the ZooKeeper client protocol (stdlib only).

Listens on 127.0.0.1:<listen-port>, forwards every accepted connection to
127.0.0.1:<target-port>, and records every frame in both directions, split on
the 4-byte big-endian length prefix.  Each proxied TCP connection becomes one
vector file:

    # comment lines (header)
    C <hex of one complete client->server frame, length prefix included>
    S <hex of one complete server->client frame, length prefix included>

Frames are written in the order the proxy saw them complete.  A frame is
recorded *before* its last byte is forwarded, so a reply can never be recorded
ahead of the request that caused it.

If the first 4 bytes a client sends are four ASCII lower-case letters, the
connection is a four-letter-word command: it is relayed but not recorded.

A control port (127.0.0.1:<control-port>, one text command per connection,
reply "OK ..." or "ERR ...") lets scenario drivers steer the proxy:

    LABEL <name> [free text description]
        Connections accepted from now on are recorded to <out-dir>/<name>.txt
        (<name>_2.txt, <name>_3.txt ... if that name was already used).
    KILL
        Abruptly close every live proxied connection (both sockets), as if the
        network dropped.  Clients then reconnect (new connection, new file).
    BLOCK / UNBLOCK
        While blocked, new client connections are accepted and closed at once
        without contacting the server and without being recorded.
    WAITIDLE [seconds]
        Reply once no proxied connection is live (or after the timeout).
    STATUS
        Show live connections.
    QUIT
        Stop the proxy (live connections are closed and their files written).

Client side of the control protocol:  proxy.py ctl <control-port> <command...>
"""

import argparse
import datetime
import os
import re
import socket
import struct
import sys
import threading
import time

FOURLW = re.compile(rb"^[a-z]{4}$")


class Recording:
    def __init__(self, proxy, label, desc, conn_no, peer):
        self.proxy = proxy
        self.label = label
        self.desc = desc
        self.conn_no = conn_no
        self.peer = peer
        self.lines = []
        self.lock = threading.Lock()
        self.bufs = {"C": bytearray(), "S": bytearray()}
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.is_4lw = None  # unknown until the first 4 client bytes arrive

    def feed(self, direction, data):
        """Called with each chunk *before* it is forwarded."""
        with self.lock:
            buf = self.bufs[direction]
            buf.extend(data)
            if self.is_4lw is None and direction == "C" and len(buf) >= 4:
                self.is_4lw = bool(FOURLW.match(bytes(buf[:4])))
            if self.is_4lw:
                buf.clear()
                return
            if self.is_4lw is None:
                return  # wait for 4 client bytes first (S never speaks first)
            while len(buf) >= 4:
                (n,) = struct.unpack(">i", bytes(buf[:4]))
                if n < 0:
                    self.lines.append("# %s: negative frame length %d, rest not parsed: %s"
                                      % (direction, n, bytes(buf).hex()))
                    buf.clear()
                    return
                if len(buf) < 4 + n:
                    return
                frame = bytes(buf[:4 + n])
                del buf[:4 + n]
                self.lines.append("%s %s" % (direction, frame.hex()))

    def finish(self, how):
        with self.lock:
            if self.is_4lw:
                return None
            for d, buf in self.bufs.items():
                if buf:
                    self.lines.append("# %s: %d trailing bytes of an incomplete frame: %s"
                                      % (d, len(buf), bytes(buf).hex()))
            if not self.lines:
                return None
            return self.proxy.write_file(self, how)


class Conn:
    def __init__(self, proxy, csock, rec):
        self.proxy = proxy
        self.csock = csock
        self.ssock = None
        self.rec = rec
        self.closed = threading.Event()
        self.killed = False
        self.done = 0
        self.lock = threading.Lock()

    def start(self):
        try:
            self.ssock = socket.create_connection(("127.0.0.1", self.proxy.target_port), timeout=10)
            self.ssock.settimeout(None)
            self.ssock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as e:
            self.proxy.log("connect to server failed: %s" % e)
            self.csock.close()
            self.proxy.remove(self)
            return
        self.csock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=self.pump, args=(self.csock, self.ssock, "C"), daemon=True).start()
        threading.Thread(target=self.pump, args=(self.ssock, self.csock, "S"), daemon=True).start()

    def pump(self, src, dst, direction):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self.rec.feed(direction, data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # half-close towards the other side so it sees EOF too
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            with self.lock:
                self.done += 1
                last = self.done == 2
            if last:
                self.close_all()

    def kill(self):
        self.killed = True
        for s in (self.csock, self.ssock):
            if s is None:
                continue
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close_all(self):
        for s in (self.csock, self.ssock):
            try:
                s.close()
            except OSError:
                pass
        how = "killed by the proxy (KILL)" if self.killed else "closed by a peer"
        path = self.rec.finish(how)
        if path:
            self.proxy.log("wrote %s (%d lines)" % (path, len(self.rec.lines)))
        self.proxy.remove(self)
        self.closed.set()


class Proxy:
    def __init__(self, args):
        self.listen_port = args.listen_port
        self.target_port = args.target_port
        self.control_port = args.control_port
        self.out_dir = args.out_dir
        self.server_version = args.server_version
        self.regen = args.regen
        self.label = None
        self.desc = ""
        self.blocked = False
        self.conns = []
        self.used_names = set()
        self.conn_no = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        os.makedirs(self.out_dir, exist_ok=True)

    def log(self, msg):
        sys.stderr.write("[proxy %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
        sys.stderr.flush()

    def remove(self, conn):
        with self.lock:
            if conn in self.conns:
                self.conns.remove(conn)

    def write_file(self, rec, how):
        with self.lock:
            base = rec.label or "unlabeled"
            name = base
            i = 2
            while name in self.used_names:
                name = "%s_%d" % (base, i)
                i += 1
            self.used_names.add(name)
        path = os.path.join(self.out_dir, name + ".txt")
        hdr = [
            "# ZooKeeper client-protocol test vector: one TCP connection, both directions.",
            "# scenario: %s%s" % (rec.label or "unlabeled", (" -- " + rec.desc) if rec.desc else ""),
            "# server: %s" % self.server_version,
            "# captured: %s (UTC) by capture/proxy.py; connection %s, %s"
            % (rec.started.strftime("%Y-%m-%d %H:%M:%S"), rec.conn_no, how),
            "# format: 'C <hex>' client->server, 'S <hex>' server->client; each hex is one",
            "#         complete frame including its 4-byte big-endian length prefix, in wire order.",
            "# regenerate: %s" % self.regen,
        ]
        with open(path, "w") as f:
            f.write("\n".join(hdr + rec.lines) + "\n")
        return path

    def control(self, line):
        parts = line.strip().split(None, 2)
        if not parts:
            return "ERR empty"
        cmd = parts[0].upper()
        if cmd == "LABEL":
            if len(parts) < 2:
                return "ERR LABEL needs a name"
            self.label = parts[1]
            self.desc = parts[2] if len(parts) > 2 else ""
            return "OK label=%s" % self.label
        if cmd == "KILL":
            with self.lock:
                conns = list(self.conns)
            for c in conns:
                c.kill()
            for c in conns:
                c.closed.wait(5)
            return "OK killed %d" % len(conns)
        if cmd == "BLOCK":
            self.blocked = True
            return "OK blocked"
        if cmd == "UNBLOCK":
            self.blocked = False
            return "OK unblocked"
        if cmd == "WAITIDLE":
            timeout = float(parts[1]) if len(parts) > 1 else 10.0
            deadline = time.time() + timeout
            while time.time() < deadline:
                with self.lock:
                    if not self.conns:
                        return "OK idle"
                time.sleep(0.05)
            return "ERR still %d live" % len(self.conns)
        if cmd == "STATUS":
            with self.lock:
                return "OK label=%s blocked=%s live=%s" % (
                    self.label, self.blocked, [c.rec.label for c in self.conns])
        if cmd == "QUIT":
            self.stop.set()
            return "OK bye"
        return "ERR unknown command"

    def serve_control(self, lsock):
        while not self.stop.is_set():
            try:
                s, _ = lsock.accept()
            except OSError:
                break
            with s:
                f = s.makefile("rwb")
                line = f.readline().decode("utf-8", "replace")
                reply = self.control(line)
                self.log("control %r -> %s" % (line.strip(), reply))
                f.write((reply + "\n").encode())
                f.flush()

    def run(self):
        lsock = socket.socket()
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", self.listen_port))
        lsock.listen(64)
        csock = socket.socket()
        csock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        csock.bind(("127.0.0.1", self.control_port))
        csock.listen(16)
        threading.Thread(target=self.serve_control, args=(csock,), daemon=True).start()
        lsock.settimeout(0.2)
        self.log("listening on 127.0.0.1:%d -> 127.0.0.1:%d, control 127.0.0.1:%d, out %s"
                 % (self.listen_port, self.target_port, self.control_port, self.out_dir))
        while not self.stop.is_set():
            try:
                s, peer = lsock.accept()
            except socket.timeout:
                continue
            s.settimeout(None)
            if self.blocked:
                self.log("blocked: dropping connection from %s:%d" % peer)
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
                s.close()
                continue
            with self.lock:
                self.conn_no += 1
                rec = Recording(self, self.label, self.desc, self.conn_no, peer)
                conn = Conn(self, s, rec)
                self.conns.append(conn)
            self.log("accepted %s:%d as #%d label=%s" % (peer[0], peer[1], self.conn_no, self.label))
            conn.start()
        # shutting down: close what is left so files get written
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            c.kill()
        for c in conns:
            c.closed.wait(5)
        lsock.close()
        csock.close()


def ctl(port, command, timeout=30.0):
    with socket.create_connection(("127.0.0.1", int(port)), timeout=timeout) as s:
        s.sendall((command.strip() + "\n").encode())
        f = s.makefile("rb")
        return f.readline().decode().strip()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "ctl":
        reply = ctl(sys.argv[2], " ".join(sys.argv[3:]))
        print(reply)
        sys.exit(0 if reply.startswith("OK") else 1)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen-port", type=int, required=True)
    ap.add_argument("--target-port", type=int, required=True)
    ap.add_argument("--control-port", type=int, required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--server-version", default="unknown")
    ap.add_argument("--regen", default="zk-proto/tests/vectors/capture/capture.sh")
    Proxy(ap.parse_args()).run()


if __name__ == "__main__":
    main()

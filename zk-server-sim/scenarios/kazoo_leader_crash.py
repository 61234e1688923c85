#!/usr/bin/python3
"""A kazoo scenario around a leader crash, driven by the test harness.

Usage: /usr/bin/python3 kazoo_leader_crash.py HOST:PORT[,HOST:PORT...]

Prints "ready" once its state is set up, then waits for a line on stdin:
the harness kills the ensemble's leader, waits for a new one and writes
"go". Every server drops its clients during the election, so the client
sees SUSPENDED then CONNECTED, and its session, ephemeral node and watches
survive. The transcript printed at the end must be the same on the
simulator and on real ZooKeeper 3.8.
"""
import sys
import threading

from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState

OUT = []


def main():
    hosts = sys.argv[1]
    states = []
    reconnected = threading.Event()

    def listener(state):
        if not states or states[-1] != state:
            states.append(state)
        if state == KazooState.CONNECTED and len(states) > 1:
            reconnected.set()

    zk = KazooClient(hosts=hosts, timeout=10.0)
    zk.add_listener(listener)
    zk.start(timeout=20)
    base = "/crash"
    if zk.exists(base):
        zk.delete(base, recursive=True)
    zk.create(base, b"1")
    zk.create(base + "/eph", b"", ephemeral=True)
    session = zk.client_id[0]
    events = []
    fired = threading.Event()

    def watch(ev):
        events.append("%s %s" % (ev.type, ev.path))
        fired.set()

    zk.get(base, watch=watch)
    print("ready", flush=True)
    sys.stdin.readline()

    OUT.append("reconnected %s" % reconnected.wait(60))
    OUT.append("states %s" % ",".join(states))
    OUT.append("same session %s" % (zk.client_id[0] == session))
    OUT.append("ephemeral survives %s" % (zk.exists(base + "/eph") is not None))
    OUT.append("data %s" % zk.get(base)[0])
    zk.set(base, b"2")
    OUT.append("watch fired %s" % fired.wait(20))
    OUT.append("events %s" % events)
    zk.delete(base, recursive=True)
    zk.stop()
    zk.close()
    print("\n".join(OUT))


if __name__ == "__main__":
    main()

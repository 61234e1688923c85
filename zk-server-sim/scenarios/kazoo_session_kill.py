#!/usr/bin/python3
"""Server-side session expiry with the duplicate-session trick (ZooKeeper FAQ).

Usage: /usr/bin/python3 kazoo_session_kill.py HOST:PORT[,HOST:PORT...]

A second handle opens the first one's session (same id and password) on
another server and closes it: the server ends the session for both, deletes its ephemerals and
fires their watches; the first handle sees SUSPENDED then LOST. The
transcript must be the same on the simulator and on real ZooKeeper 3.8.
"""
import sys
import threading

from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState

OUT = []


def main():
    # Fixed servers: a duplicate on the victim's own server would close the
    # victim's connection at once (CLIENT_RECONNECT), on another it does not.
    hosts = sys.argv[1].split(",")
    states = []
    lost = threading.Event()

    def listener(state):
        if not states or states[-1] != state:
            states.append(state)
        if state == KazooState.LOST:
            lost.set()

    victim = KazooClient(hosts=hosts[0], timeout=10.0)
    victim.add_listener(listener)
    victim.start(timeout=20)
    observer = KazooClient(hosts=hosts[-1], timeout=10.0)
    observer.start(timeout=20)
    base = "/killed"
    if observer.exists(base):
        observer.delete(base, recursive=True)
    observer.create(base, b"")
    victim.create(base + "/eph", b"mine", ephemeral=True)
    observer.sync(base)
    deleted = threading.Event()
    observer.exists(base + "/eph", watch=lambda ev: deleted.set())

    dup = KazooClient(hosts=hosts[1 % len(hosts)], timeout=10.0, client_id=victim.client_id)
    dup.start(timeout=20)
    OUT.append("duplicate shares the session %s" % (dup.client_id[0] == victim.client_id[0]))
    dup.stop()
    dup.close()

    OUT.append("ephemeral deletion fired %s" % deleted.wait(30))
    OUT.append("victim lost %s" % lost.wait(30))
    OUT.append("victim states %s" % ",".join(states))
    # (kazoo starts a new session after LOST, so later requests may succeed.)
    observer.sync(base)
    OUT.append("ephemeral after %s" % observer.exists(base + "/eph"))
    observer.delete(base, recursive=True)
    victim.stop()
    victim.close()
    observer.stop()
    observer.close()
    print("\n".join(OUT))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A scripted kazoo scenario that prints a deterministic transcript.

Usage: /usr/bin/python3 kazoo_scenario.py HOST:PORT[,HOST:PORT...]

Run against the simulator and against real ZooKeeper 3.8; the transcripts
must be equal. Only values that do not depend on timing or on server
identity are printed (no zxids, times or session ids).
"""
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import (BadVersionError, NoNodeError, NodeExistsError,
                              NotEmptyError, NoChildrenForEphemeralsError)
from kazoo.protocol.states import EventType

OUT = []


def say(*parts):
    OUT.append(" ".join(str(p) for p in parts))


def stat_line(stat):
    return "version=%d cversion=%d aversion=%d dataLength=%d numChildren=%d ephemeral=%s" % (
        stat.version, stat.cversion, stat.aversion, stat.dataLength,
        stat.numChildren, stat.ephemeralOwner != 0)


def main():
    hosts = sys.argv[1]
    zk = KazooClient(hosts=hosts, timeout=10.0)
    zk.start(timeout=20)
    other = KazooClient(hosts=hosts, timeout=10.0)
    other.start(timeout=20)
    base = "/kazoo"
    if zk.exists(base):
        zk.delete(base, recursive=True)

    # create / get / set / versions
    say("create", zk.create(base, b"root"))
    data, stat = zk.get(base)
    say("get", data, stat_line(stat))
    stat = zk.set(base, b"v1", version=0)
    say("set", stat_line(stat))
    try:
        zk.set(base, b"v2", version=0)
    except BadVersionError:
        say("set stale version -> BadVersionError")
    try:
        zk.create(base, b"")
    except NodeExistsError:
        say("create again -> NodeExistsError")
    try:
        zk.get(base + "/missing")
    except NoNodeError:
        say("get missing -> NoNodeError")
    say("exists missing", zk.exists(base + "/missing"))

    # sequential nodes (suffix = parent cversion)
    for i in range(3):
        say("seq", zk.create(base + "/s-", b"", sequence=True))
    zk.create(base + "/plain", b"")
    say("seq after plain", zk.create(base + "/s-", b"", sequence=True))
    say("children", sorted(zk.get_children(base)))
    _, stat = zk.get(base)
    say("parent", stat_line(stat))

    # ephemerals
    eph = zk.create(base + "/eph", b"e", ephemeral=True)
    say("ephemeral", eph, stat_line(zk.exists(eph)))
    try:
        zk.create(eph + "/child", b"")
    except NoChildrenForEphemeralsError:
        say("child of ephemeral -> NoChildrenForEphemeralsError")
    try:
        zk.delete(base)
    except NotEmptyError:
        say("delete non-empty -> NotEmptyError")

    # watches: data and child watches fired by another session
    events = []
    cond = threading.Condition()

    def record(kind):
        def cb(ev):
            with cond:
                events.append("%s %s %s" % (kind, ev.type, ev.path))
                cond.notify_all()
        return cb

    zk.get(base + "/plain", watch=record("data"))
    zk.get_children(base, watch=record("child"))
    zk.exists(base + "/later", watch=record("exists"))
    other.sync(base)
    other.set(base + "/plain", b"changed")
    other.create(base + "/later", b"")
    with cond:
        cond.wait_for(lambda: len(events) >= 3, timeout=20)
    for e in sorted(events):
        say("event", e)

    # multi: success and failure
    t = zk.transaction()
    t.create(base + "/m1", b"1")
    t.set_data(base + "/m1", b"2")
    t.check(base + "/plain", 1)
    say("multi ok", [type(r).__name__ if not isinstance(r, str) else r for r in t.commit()])
    t = zk.transaction()
    t.create(base + "/m2", b"")
    t.delete(base + "/nope")
    t.create(base + "/m3", b"")
    say("multi fail", [type(r).__name__ for r in t.commit()])
    say("m2 exists", zk.exists(base + "/m2") is not None)

    # a lock recipe, contended by two sessions
    lock_a = zk.Lock(base + "/lock", "a")
    lock_b = other.Lock(base + "/lock", "b")
    say("a acquires", lock_a.acquire(timeout=10))
    say("b try", lock_b.acquire(blocking=False))
    say("contenders", lock_a.contenders())
    lock_a.release()
    say("b acquires", lock_b.acquire(timeout=10))
    lock_b.release()

    # ephemeral disappears when its session closes; a watcher sees it
    gone = threading.Event()
    other.exists(eph, watch=lambda ev: gone.set())
    zk.stop()
    zk.close()
    say("ephemeral deleted event", gone.wait(20))
    other.sync(base)
    say("ephemeral after close", other.exists(eph))
    other.delete(base, recursive=True)
    say("cleaned", other.exists(base))
    other.stop()
    other.close()
    print("\n".join(OUT))


if __name__ == "__main__":
    main()

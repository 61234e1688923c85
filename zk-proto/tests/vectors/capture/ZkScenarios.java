// Java-client scenarios for the zk-proto test vectors.
//
// Compiled and run by capture.sh against the Debian ZooKeeper 3.8 jars:
//   javac -cp /usr/share/java/zookeeper.jar -d $TMP ZkScenarios.java
//   java  -cp $TMP:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
//         ZkScenarios <scenario> <proxyHostPort> <directHostPort> <proxyControlPort> [extra]
//
// Every connection made to <proxyHostPort> is recorded by proxy.py; each scenario
// sends "LABEL <file-name> <description>" to the proxy's control port before it
// opens (or re-opens) a recorded connection.  Helper sessions that must NOT be
// recorded connect to <directHostPort> (the server itself).
//
// All data payloads are non-null (new byte[0] rather than null) so that no -1
// (null) buffer lengths appear in the Java-produced frames.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.admin.ZooKeeperAdmin;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Stat;

public class ZkScenarios {
    static String proxy;
    static String direct;
    static int ctlPort;
    static final List<ACL> OPEN = Ids.OPEN_ACL_UNSAFE;
    static final byte[] EMPTY = new byte[0];

    static void log(String s) {
        System.out.println("[java] " + s);
        System.out.flush();
    }

    static String ctl(String cmd) throws Exception {
        try (Socket s = new Socket("127.0.0.1", ctlPort)) {
            OutputStream o = s.getOutputStream();
            o.write((cmd + "\n").getBytes(StandardCharsets.UTF_8));
            o.flush();
            BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            String reply = r.readLine();
            log("ctl " + cmd + " -> " + reply);
            if (reply == null || !reply.startsWith("OK")) {
                throw new IllegalStateException("proxy control failed: " + cmd + " -> " + reply);
            }
            return reply;
        }
    }

    /** Records every event; lets the scenario wait for specific ones. */
    static class Events implements Watcher {
        final String name;
        final LinkedBlockingQueue<WatchedEvent> q = new LinkedBlockingQueue<>();

        Events(String name) {
            this.name = name;
        }

        @Override
        public void process(WatchedEvent e) {
            log(name + " event: " + e);
            q.add(e);
        }

        WatchedEvent await(Event.EventType type, Event.KeeperState state, String path) throws Exception {
            long deadline = System.currentTimeMillis() + 15000;
            while (true) {
                long left = deadline - System.currentTimeMillis();
                WatchedEvent e = q.poll(Math.max(left, 0), TimeUnit.MILLISECONDS);
                if (e == null) {
                    throw new IllegalStateException(name + ": timed out waiting for " + type + " " + state + " " + path);
                }
                if (e.getType() == type && e.getState() == state && (path == null || path.equals(e.getPath()))) {
                    return e;
                }
            }
        }

        WatchedEvent await(Event.EventType type, String path) throws Exception {
            return await(type, Event.KeeperState.SyncConnected, path);
        }

        void awaitConnected() throws Exception {
            await(Event.EventType.None, Event.KeeperState.SyncConnected, null);
        }
    }

    static ZooKeeperAdmin open(String cs, int timeoutMs, Events ev) throws Exception {
        ZooKeeperAdmin zk = new ZooKeeperAdmin(cs, timeoutMs, ev);
        ev.awaitConnected();
        return zk;
    }

    static void expect(KeeperException.Code want, ThrowingRunnable r) throws Exception {
        try {
            r.run();
            throw new IllegalStateException("expected " + want + " but succeeded");
        } catch (KeeperException e) {
            if (e.code() != want) {
                throw new IllegalStateException("expected " + want + " got " + e.code(), e);
            }
            log("got expected " + e.code() + " " + (e.getResults() != null ? e.getResults() : ""));
        }
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        String scenario = args[0];
        proxy = args[1];
        direct = args[2];
        ctlPort = Integer.parseInt(args[3]);
        String extra = args.length > 4 ? args[4] : "";
        switch (scenario) {
            case "ops":
                ops(extra);
                break;
            case "setwatches":
                setWatches();
                break;
            case "setwatches2":
                setWatches2();
                break;
            case "reconfig":
                reconfig(extra);
                break;
            default:
                throw new IllegalArgumentException("unknown scenario " + scenario);
        }
        log("scenario " + scenario + " done");
        System.exit(0);
    }

    // ------------------------------------------------------------------ ops
    static void ops(String members) throws Exception {
        ctl("LABEL java_ops Java 3.8 client: auth, whoAmI, create2/createContainer/createTTL, getEphemerals,"
                + " getAllChildrenNumber, addWatch (persistent + recursive) and their events, checkWatches/removeWatches,"
                + " multiRead, multi (ok + failing, with container/TTL sub-ops), reconfig on standalone, getConfig, ping, closeSession");
        Events ev = new Events("ops");
        ZooKeeperAdmin zk = open(proxy, 4000, ev);
        Stat st = new Stat();

        zk.addAuthInfo("digest", "carol:carolpw".getBytes(StandardCharsets.UTF_8)); // auth, xid -4
        List<ClientInfo> who = zk.whoAmI(); // 107
        log("whoAmI " + who);

        zk.create("/j", "j".getBytes(StandardCharsets.UTF_8), OPEN, CreateMode.PERSISTENT, st); // 15
        zk.create("/j/c", EMPTY, OPEN, CreateMode.CONTAINER); // 19
        zk.create("/j/c/x", EMPTY, OPEN, CreateMode.PERSISTENT); // 1
        zk.create("/j/ttl", "t".getBytes(StandardCharsets.UTF_8), OPEN, CreateMode.PERSISTENT_WITH_TTL, st, 60000); // 21/5
        zk.create("/j/ttlseq-", EMPTY, OPEN, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, st, 3600000); // 21/6
        zk.create("/j/e1", EMPTY, OPEN, CreateMode.EPHEMERAL, st); // 15/1
        zk.create("/j/eseq-", EMPTY, OPEN, CreateMode.EPHEMERAL_SEQUENTIAL); // 1/3
        zk.create("/j/mine", EMPTY, Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT); // ACL auth:"" -> digest
        log("getACL /j/mine " + zk.getACL("/j/mine", st));

        log("getEphemerals " + zk.getEphemerals()); // 103, prefix "/"
        log("getEphemerals /j/e " + zk.getEphemerals("/j/e")); // 103, prefix
        log("getAllChildrenNumber /j " + zk.getAllChildrenNumber("/j")); // 104

        // persistent and persistent-recursive watches (106) and the events they produce
        Events pw = new Events("persistent");
        Events rw = new Events("recursive");
        zk.addWatch("/j/p", pw, AddWatchMode.PERSISTENT);
        zk.addWatch("/j", rw, AddWatchMode.PERSISTENT_RECURSIVE);
        zk.create("/j/p", EMPTY, OPEN, CreateMode.PERSISTENT);
        pw.await(Watcher.Event.EventType.NodeCreated, "/j/p");
        zk.setData("/j/p", "v1".getBytes(StandardCharsets.UTF_8), -1);
        pw.await(Watcher.Event.EventType.NodeDataChanged, "/j/p");
        zk.create("/j/p/q", EMPTY, OPEN, CreateMode.PERSISTENT);
        pw.await(Watcher.Event.EventType.NodeChildrenChanged, "/j/p");
        rw.await(Watcher.Event.EventType.NodeCreated, "/j/p/q");
        zk.delete("/j/p/q", -1);
        pw.await(Watcher.Event.EventType.NodeChildrenChanged, "/j/p");
        rw.await(Watcher.Event.EventType.NodeDeleted, "/j/p/q");

        // one-shot watches removed on the server: checkWatches (17) and removeWatches (18)
        Events dw = new Events("data");
        Events cw = new Events("child");
        zk.getData("/j/ttl", dw, st);
        zk.getChildren("/j/c", cw);
        zk.exists("/j/c/x", true); // default watcher, stays armed
        zk.removeWatches("/j/ttl", dw, Watcher.WatcherType.Data, false); // 17
        zk.removeAllWatches("/j/c", Watcher.WatcherType.Children, false); // 18
        zk.removeAllWatches("/j/p", Watcher.WatcherType.Any, false); // 18, drops the persistent watch
        expect(KeeperException.Code.NOWATCHER, () ->
                zk.removeAllWatches("/j/c", Watcher.WatcherType.Children, false)); // 18, nothing left

        // multiRead (22): Java sends it when every op is a read
        List<OpResult> rr = zk.multi(Arrays.asList(
                Op.getData("/j/p"), Op.getChildren("/j/c"), Op.getData("/j/missing"), Op.getChildren("/j/missing")));
        log("multiRead " + rr);

        // multi (14) that succeeds; container/TTL sub-ops show how the server reports their results
        List<OpResult> mr = zk.multi(Arrays.asList(
                Op.create("/j/m1", EMPTY, OPEN, CreateMode.PERSISTENT),
                Op.create("/j/mc", EMPTY, OPEN, CreateMode.CONTAINER),
                Op.create("/j/mt", EMPTY, OPEN, CreateMode.PERSISTENT_WITH_TTL, 60000),
                Op.setData("/j/p", "v2".getBytes(StandardCharsets.UTF_8), -1),
                Op.check("/j/ttl", 0),
                Op.delete("/j/m1", -1)));
        log("multi " + mr);
        // multi that fails on its second op: NONODE, then RUNTIMEINCONSISTENCY
        expect(KeeperException.Code.NONODE, () -> zk.multi(Arrays.asList(
                Op.create("/j/m2", EMPTY, OPEN, CreateMode.PERSISTENT),
                Op.delete("/j/missing", -1),
                Op.setData("/j/p", EMPTY, -1))));

        // reconfig on a standalone server without reconfigEnabled -> RECONFIGDISABLED
        expect(KeeperException.Code.RECONFIGDISABLED, () -> zk.reconfigure("", "", members, -1, st));
        // getConfig = getData /zookeeper/config (empty data on a standalone server)
        byte[] cfg = zk.getConfig(false, st);
        log("getConfig '" + new String(cfg, StandardCharsets.UTF_8) + "' " + st);

        // fire the default-watcher exists watch
        zk.delete("/j/c/x", -1);
        ev.await(Watcher.Event.EventType.NodeDeleted, "/j/c/x");

        Thread.sleep(2200); // idle: the client sends ping(s)
        zk.close(); // closeSession
    }

    // ----------------------------------------------------------- setWatches
    static void setWatches() throws Exception {
        Events hev = new Events("helper");
        ZooKeeper helper = new ZooKeeper(direct, 10000, hev); // not recorded
        hev.awaitConnected();
        helper.create("/w", EMPTY, OPEN, CreateMode.PERSISTENT);
        helper.create("/w/d", "d0".getBytes(StandardCharsets.UTF_8), OPEN, CreateMode.PERSISTENT);
        helper.create("/w/gone", EMPTY, OPEN, CreateMode.PERSISTENT);
        helper.create("/w/keep", EMPTY, OPEN, CreateMode.PERSISTENT);

        ctl("LABEL java_setwatches Java 3.8 client arms one-shot watches (data, exist, child), then the proxy kills the connection");
        Events ev = new Events("sw");
        ZooKeeper zk = open(proxy, 10000, ev);
        Stat st = new Stat();
        Events d = new Events("d");
        Events later = new Events("later");
        Events gone = new Events("gone");
        Events kids = new Events("kids");
        Events keep = new Events("keep");
        Events never = new Events("never");
        zk.getData("/w/d", d, st);
        zk.exists("/w/later", later);
        zk.getData("/w/gone", gone, st);
        zk.getChildren("/w", kids);
        zk.getData("/w/keep", keep, st);
        zk.exists("/w/never", never);

        ctl("LABEL java_setwatches_reconnect Java 3.8 client resumes its session (sessionId+passwd+lastZxidSeen)"
                + " and re-registers watches with setWatches (101); changes made while it was away fire at once");
        ctl("BLOCK");
        ctl("KILL");
        ev.await(Watcher.Event.EventType.None, Watcher.Event.KeeperState.Disconnected, null);
        helper.setData("/w/d", "d1".getBytes(StandardCharsets.UTF_8), -1);
        helper.create("/w/later", EMPTY, OPEN, CreateMode.PERSISTENT);
        helper.delete("/w/gone", -1);
        ctl("UNBLOCK");
        ev.awaitConnected();
        d.await(Watcher.Event.EventType.NodeDataChanged, "/w/d");
        later.await(Watcher.Event.EventType.NodeCreated, "/w/later");
        gone.await(Watcher.Event.EventType.NodeDeleted, "/w/gone");
        kids.await(Watcher.Event.EventType.NodeChildrenChanged, "/w");
        // re-armed watches still work
        zk.setData("/w/keep", "k1".getBytes(StandardCharsets.UTF_8), -1);
        keep.await(Watcher.Event.EventType.NodeDataChanged, "/w/keep");
        zk.create("/w/never", EMPTY, OPEN, CreateMode.PERSISTENT);
        never.await(Watcher.Event.EventType.NodeCreated, "/w/never");
        zk.close();
        helper.close();
    }

    // ---------------------------------------------------------- setWatches2
    static void setWatches2() throws Exception {
        Events hev = new Events("helper");
        ZooKeeper helper = new ZooKeeper(direct, 10000, hev); // not recorded
        hev.awaitConnected();
        helper.create("/w2", EMPTY, OPEN, CreateMode.PERSISTENT);
        helper.create("/w2/d", EMPTY, OPEN, CreateMode.PERSISTENT);
        helper.create("/w2/p", EMPTY, OPEN, CreateMode.PERSISTENT);

        ctl("LABEL java_setwatches2 Java 3.8 client with digest auth arms persistent, persistent-recursive and"
                + " one-shot watches, then the proxy kills the connection");
        Events ev = new Events("sw2");
        ZooKeeper zk = open(proxy, 10000, ev);
        zk.addAuthInfo("digest", "dave:davepw".getBytes(StandardCharsets.UTF_8));
        Stat st = new Stat();
        Events rec = new Events("recursive");
        Events per = new Events("persistent");
        Events d = new Events("d");
        zk.addWatch("/w2", rec, AddWatchMode.PERSISTENT_RECURSIVE);
        zk.addWatch("/w2/p", per, AddWatchMode.PERSISTENT);
        zk.getData("/w2/d", d, st);

        ctl("LABEL java_setwatches2_reconnect Java 3.8 client resumes its session: auth (xid -4) is replayed,"
                + " then setWatches2 (105) carries the persistent and recursive watches");
        ctl("BLOCK");
        ctl("KILL");
        ev.await(Watcher.Event.EventType.None, Watcher.Event.KeeperState.Disconnected, null);
        helper.setData("/w2/d", "x".getBytes(StandardCharsets.UTF_8), -1); // one-shot: fires at re-registration
        helper.create("/w2/x", EMPTY, OPEN, CreateMode.PERSISTENT); // recursive: no catch-up event
        ctl("UNBLOCK");
        ev.awaitConnected();
        d.await(Watcher.Event.EventType.NodeDataChanged, "/w2/d");
        zk.setData("/w2/p", "y".getBytes(StandardCharsets.UTF_8), -1);
        per.await(Watcher.Event.EventType.NodeDataChanged, "/w2/p");
        rec.await(Watcher.Event.EventType.NodeDataChanged, "/w2/p");
        zk.create("/w2/p/z", EMPTY, OPEN, CreateMode.PERSISTENT);
        rec.await(Watcher.Event.EventType.NodeCreated, "/w2/p/z");
        zk.close();
        helper.close();
    }

    // ------------------------------------------------------------- reconfig
    static void reconfig(String newMembers) throws Exception {
        ctl("LABEL java_reconfig Java 3.8 ZooKeeperAdmin on a one-member ensemble (standaloneEnabled=false,"
                + " reconfigEnabled=true): getConfig with watch, NOAUTH reconfig, super auth, reconfig adding an observer,"
                + " the config-change notification, BADVERSION reconfig");
        Events ev = new Events("reconfig");
        ZooKeeperAdmin zk = open(proxy, 4000, ev);
        Stat st = new Stat();
        byte[] cfg = zk.getConfig(true, st); // getData /zookeeper/config with watch
        log("config v" + Long.toHexString(st.getMzxid()) + ":\n" + new String(cfg, StandardCharsets.UTF_8));
        expect(KeeperException.Code.NOAUTH, () -> zk.reconfigure("", "", newMembers, -1, new Stat()));
        zk.addAuthInfo("digest", "super:superpw".getBytes(StandardCharsets.UTF_8));
        Stat st2 = new Stat();
        byte[] now = zk.reconfigure("", "", newMembers, -1, st2); // non-incremental; no null strings
        log("reconfig -> " + new String(now, StandardCharsets.UTF_8) + " " + st2);
        ev.await(Watcher.Event.EventType.NodeDataChanged, "/zookeeper/config");
        cfg = zk.getConfig(false, st);
        log("config now:\n" + new String(cfg, StandardCharsets.UTF_8));
        expect(KeeperException.Code.BADVERSION, () -> zk.reconfigure("", "", newMembers, 0x12345, new Stat()));
        zk.close();
    }
}

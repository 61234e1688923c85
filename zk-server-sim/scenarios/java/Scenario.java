// A scripted scenario for the official ZooKeeper Java client and Curator
// (an InterProcessMutex and a LeaderLatch) that prints a deterministic
// transcript. Usage: java Scenario HOST:PORT[,HOST:PORT...]
//
// Run against the simulator and against real ZooKeeper 3.8; the transcripts
// must be equal. Nothing timing- or identity-dependent is printed.

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

public class Scenario {
    static final List<String> OUT = new ArrayList<>();

    static void say(String s) {
        OUT.add(s);
    }

    static String stat(Stat s) {
        return "version=" + s.getVersion() + " cversion=" + s.getCversion() + " aversion=" + s.getAversion()
                + " dataLength=" + s.getDataLength() + " numChildren=" + s.getNumChildren()
                + " ephemeral=" + (s.getEphemeralOwner() != 0) + " mzxid==czxid=" + (s.getMzxid() == s.getCzxid());
    }

    static ZooKeeper connect(String cs) throws Exception {
        CountDownLatch up = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(cs, 10000, e -> {
            if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                up.countDown();
            }
        });
        if (!up.await(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("no connection");
        }
        return zk;
    }

    static String code(Runnable r) {
        return "";
    }

    interface Call {
        void run() throws Exception;
    }

    static String expect(Call c) {
        try {
            c.run();
            return "OK";
        } catch (KeeperException e) {
            return e.code().name();
        } catch (Exception e) {
            return e.getClass().getSimpleName();
        }
    }

    public static void main(String[] args) throws Exception {
        String cs = args[0];
        ZooKeeper zk = connect(cs);
        ZooKeeper other = connect(cs);
        String base = "/java";

        // --- official client ---
        say("create " + zk.create(base, "root".getBytes(), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
        Stat st = new Stat();
        say("get " + new String(zk.getData(base, false, st)) + " " + stat(st));
        say("set " + stat(zk.setData(base, "v1".getBytes(), 0)));
        say("stale set " + expect(() -> zk.setData(base, "x".getBytes(), 0)));
        say("create again " + expect(() -> zk.create(base, null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT)));
        say("get missing " + expect(() -> zk.getData(base + "/missing", false, null)));
        say("exists missing " + zk.exists(base + "/missing", false));
        say("bad acl " + expect(() -> zk.create(base + "/acl", null, Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT)));
        for (int i = 0; i < 3; i++) {
            say("seq " + zk.create(base + "/s-", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL));
        }
        String eph = zk.create(base + "/eph", "e".getBytes(), Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        say("ephemeral " + eph + " " + stat(zk.exists(eph, false)));
        say("child of ephemeral " + expect(() -> zk.create(eph + "/c", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT)));
        say("ephemerals " + zk.getEphemerals(base));
        say("all children " + zk.getAllChildrenNumber(base));
        List<String> kids = zk.getChildren(base, false);
        Collections.sort(kids);
        say("children " + kids);
        say("delete non-empty " + expect(() -> zk.delete(base, -1)));

        // Watches fired by another session, including a persistent recursive one.
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        Watcher w = (WatchedEvent e) -> events.add(e.getType() + " " + e.getPath());
        zk.getData(base + "/s-0000000000", w, null);
        zk.getChildren(base, w);
        zk.exists(base + "/later", w);
        zk.addWatch(base + "/tree", e -> events.add("recursive " + e.getType() + " " + e.getPath()),
                AddWatchMode.PERSISTENT_RECURSIVE);
        syncPath(other, base);
        other.setData(base + "/s-0000000000", "changed".getBytes(), -1);
        other.create(base + "/later", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        other.create(base + "/tree", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        other.create(base + "/tree/a", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String e = events.poll(30, TimeUnit.SECONDS);
            seen.add(e);
        }
        Collections.sort(seen);
        for (String e : seen) {
            say("event " + e);
        }

        // multi
        List<OpResult> ok = zk.multi(Arrays.asList(
                Op.create(base + "/m1", "1".getBytes(), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
                Op.setData(base + "/m1", "2".getBytes(), 0),
                Op.check(base, 1)));
        List<String> types = new ArrayList<>();
        for (OpResult r : ok) {
            types.add(r.getClass().getSimpleName());
        }
        say("multi ok " + types);
        try {
            zk.multi(Arrays.asList(
                    Op.create(base + "/m2", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
                    Op.delete(base + "/nope", -1),
                    Op.create(base + "/m3", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT)));
        } catch (KeeperException e) {
            List<String> errs = new ArrayList<>();
            for (OpResult r : e.getResults()) {
                errs.add(KeeperException.Code.get(((OpResult.ErrorResult) r).getErr()).name());
            }
            say("multi fail " + e.code().name() + " " + errs);
        }
        say("m2 exists " + (zk.exists(base + "/m2", false) != null));

        // closing a session removes its ephemeral; another session sees it go
        CountDownLatch gone = new CountDownLatch(1);
        other.exists(eph, e -> gone.countDown());
        zk.close();
        say("ephemeral deleted event " + gone.await(30, TimeUnit.SECONDS));
        syncPath(other, base);
        say("ephemeral after close " + other.exists(eph, false));

        // --- Curator: a mutex and a leader latch over two clients ---
        CuratorFramework c1 = CuratorFrameworkFactory.newClient(cs, 10000, 10000, new RetryNTimes(3, 100));
        CuratorFramework c2 = CuratorFrameworkFactory.newClient(cs, 10000, 10000, new RetryNTimes(3, 100));
        c1.start();
        c2.start();
        say("curator connected " + c1.blockUntilConnected(30, TimeUnit.SECONDS) + " "
                + c2.blockUntilConnected(30, TimeUnit.SECONDS));
        InterProcessMutex m1 = new InterProcessMutex(c1, "/curator/lock");
        InterProcessMutex m2 = new InterProcessMutex(c2, "/curator/lock");
        say("mutex 1 acquire " + m1.acquire(30, TimeUnit.SECONDS));
        say("mutex 2 try " + m2.acquire(200, TimeUnit.MILLISECONDS));
        say("mutex participants " + m1.getParticipantNodes().size());
        m1.release();
        say("mutex 2 acquire " + m2.acquire(30, TimeUnit.SECONDS));
        m2.release();

        LeaderLatch l1 = new LeaderLatch(c1, "/curator/latch", "one");
        LeaderLatch l2 = new LeaderLatch(c2, "/curator/latch", "two");
        l1.start();
        say("latch one leads " + l1.await(30, TimeUnit.SECONDS));
        l2.start();
        while (l2.getParticipants().size() < 2) {
            Thread.sleep(20);
        }
        say("latch leader id " + l2.getLeader().getId());
        say("latch two leads " + l2.hasLeadership());
        l1.close();
        say("latch two takes over " + l2.await(30, TimeUnit.SECONDS));
        say("latch leader id " + l2.getLeader().getId());
        l2.close();
        c1.close();
        c2.close();

        // cleanup (sync first: other's server may lag behind Curator's writes)
        syncPath(other, "/");
        deleteAll(other, base);
        deleteAll(other, "/curator");
        say("cleaned " + other.exists(base, false));
        other.close();
        for (String line : OUT) {
            System.out.println(line);
        }
        System.exit(0);
    }

    static void syncPath(ZooKeeper zk, String path) throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        zk.sync(path, (rc, p, ctx) -> done.countDown(), null);
        done.await(30, TimeUnit.SECONDS);
    }

    static void deleteAll(ZooKeeper zk, String path) throws Exception {
        for (String c : zk.getChildren(path, false)) {
            deleteAll(zk, path + "/" + c);
        }
        zk.delete(path, -1);
    }
}

// The zk-client bench workload (examples/src/bin/bench.rs) run by the official Java client.
//
// Build and run (Debian's ZooKeeper 3.8 jar; its manifest's Class-Path brings the rest):
//   CP=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar
//   javac -cp "$CP" -d /tmp/javabench examples/bench-peers/JavaBench.java
//   java -cp "$CP:/tmp/javabench" JavaBench --connect 127.0.0.1:2181
// or run.sh beside this file, which runs it and the Rust bench in one sitting.
//
// Prints `NAME OPS_PER_SEC` lines, like the Rust bench. Pipelined workloads use the
// asynchronous API with at most 1,000 requests outstanding (a semaphore).
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public class JavaBench {
    static final int IN_FLIGHT = 1000;

    static void report(String name, int ops, long startNanos) {
        double secs = (System.nanoTime() - startNanos) / 1e9;
        System.out.printf("%s %.0f%n", name, ops / secs);
    }

    interface Issue {
        void issue(AsyncCallback cb);
    }

    static void pipelined(int n, Issue issue) throws Exception {
        Semaphore permits = new Semaphore(IN_FLIGHT);
        CountDownLatch done = new CountDownLatch(n);
        AtomicInteger failures = new AtomicInteger();
        AsyncCallback.DataCallback dataCb = (rc, path, ctx, data, stat) -> {
            if (rc != 0) failures.incrementAndGet();
            permits.release();
            done.countDown();
        };
        AsyncCallback.StatCallback statCb = (rc, path, ctx, stat) -> {
            if (rc != 0) failures.incrementAndGet();
            permits.release();
            done.countDown();
        };
        for (int i = 0; i < n; i++) {
            permits.acquire();
            issue.issue(new Both(dataCb, statCb));
        }
        done.await();
        if (failures.get() > 0) throw new IllegalStateException(failures.get() + " requests failed");
    }

    // One object that is both kinds of callback, so one Issue lambda shape serves get and set.
    static final class Both implements AsyncCallback.DataCallback, AsyncCallback.StatCallback {
        final AsyncCallback.DataCallback d;
        final AsyncCallback.StatCallback s;
        Both(AsyncCallback.DataCallback d, AsyncCallback.StatCallback s) { this.d = d; this.s = s; }
        public void processResult(int rc, String path, Object ctx, byte[] data, org.apache.zookeeper.data.Stat stat) { d.processResult(rc, path, ctx, data, stat); }
        public void processResult(int rc, String path, Object ctx, org.apache.zookeeper.data.Stat stat) { s.processResult(rc, path, ctx, stat); }
    }

    public static void main(String[] args) throws Exception {
        String connect = null;
        for (int i = 0; i + 1 < args.length; i++) if (args[i].equals("--connect")) connect = args[i + 1];
        if (connect == null) { System.err.println("usage: JavaBench --connect HOSTS"); System.exit(2); }
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(connect, 30000, e -> {
            if (e.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
        });
        connected.await();
        String parent = "/java-bench-" + ProcessHandle.current().pid() + "-" + System.currentTimeMillis();
        byte[] data = new byte[100];
        java.util.Arrays.fill(data, (byte) 'x');
        zk.create(parent, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        String node = parent + "/node";
        zk.create(node, data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        try {
            for (int i = 0; i < 2000; i++) zk.getData(node, false, null);
            long t = System.nanoTime();
            for (int i = 0; i < 10000; i++) zk.getData(node, false, null);
            report("get_sequential", 10000, t);

            t = System.nanoTime();
            for (int i = 0; i < 2000; i++) zk.setData(node, data, -1);
            report("set_sequential", 2000, t);

            t = System.nanoTime();
            pipelined(200000, cb -> zk.getData(node, false, (AsyncCallback.DataCallback) cb, null));
            report("get_pipelined", 200000, t);

            t = System.nanoTime();
            pipelined(50000, cb -> zk.setData(node, data, -1, (AsyncCallback.StatCallback) cb, null));
            report("set_pipelined", 50000, t);

            t = System.nanoTime();
            for (int i = 0; i < 5000; i++) {
                String p = zk.create(parent + "/e-", data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL_SEQUENTIAL);
                zk.delete(p, -1);
            }
            report("create_delete_ephemeral_seq_pairs", 5000, t);
        } finally {
            try { zk.delete(node, -1); } catch (KeeperException e) { /* already gone */ }
            try { zk.delete(parent, -1); } catch (KeeperException e) { /* already gone */ }
            zk.close();
        }
    }
}

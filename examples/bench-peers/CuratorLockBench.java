// The lock workloads of examples/bench (lock_cycle, lock_contended_4) run by
// Apache Curator's InterProcessMutex, for comparison in one sitting
// (lock-vs-curator.sh beside this file runs both).
//
// Build and run (Debian's jars; their manifests' Class-Path bring the rest):
//   CP=/usr/share/java/curator-recipes.jar:/usr/share/java/slf4j-nop.jar
//   javac -cp "$CP" -d /tmp/lockbench examples/bench-peers/CuratorLockBench.java
//   java -cp "$CP:/tmp/lockbench" CuratorLockBench --connect 127.0.0.1:2181
//
// Prints `NAME OPS_PER_SEC` lines, like the Rust bench:
//   lock_cycle        one client: 500 untimed warm-up cycles, then 3,000 timed
//                     acquire+release cycles
//   lock_contended_4  four clients (four sessions) on one lock: 100 untimed
//                     warm-up cycles each, then 500 timed cycles each; the rate
//                     is total cycles per second from the common start to the
//                     last client's finish
// Each workload uses its own lock path under a unique parent, removed at the end.

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class CuratorLockBench {
    static final int CYCLE_WARMUP = 500;
    static final int CYCLE_TIMED = 3000;
    static final int CONTENDERS = 4;
    static final int CONTENDED_WARMUP = 100;
    static final int CONTENDED_TIMED = 500;

    static CuratorFramework client(String connect) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.newClient(connect, 30000, 15000,
                new ExponentialBackoffRetry(100, 3));
        c.start();
        c.blockUntilConnected();
        return c;
    }

    static void cycles(InterProcessMutex m, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            m.acquire();
            m.release();
        }
    }

    static void report(String name, long ops, long startNanos) {
        double secs = (System.nanoTime() - startNanos) / 1e9;
        System.out.printf("%s %.0f%n", name, ops / secs);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !args[0].equals("--connect")) {
            System.err.println("usage: CuratorLockBench --connect HOST:PORT[,HOST:PORT...]");
            System.exit(2);
        }
        String connect = args[1];
        String parent = "/curator-lock-bench-" + ProcessHandle.current().pid() + "-" + System.currentTimeMillis();
        CuratorFramework main = client(connect);
        try {
            // lock_cycle
            InterProcessMutex m = new InterProcessMutex(main, parent + "/lock_cycle");
            cycles(m, CYCLE_WARMUP);
            long start = System.nanoTime();
            cycles(m, CYCLE_TIMED);
            report("lock_cycle", CYCLE_TIMED, start);

            // lock_contended_4
            String path = parent + "/lock_contended_4";
            List<CuratorFramework> clients = new ArrayList<>();
            for (int i = 0; i < CONTENDERS; i++) {
                clients.add(client(connect));
            }
            CyclicBarrier warm = new CyclicBarrier(CONTENDERS + 1);
            CyclicBarrier go = new CyclicBarrier(CONTENDERS + 1);
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = new ArrayList<>();
            for (CuratorFramework c : clients) {
                Thread t = new Thread(() -> {
                    try {
                        InterProcessMutex mine = new InterProcessMutex(c, path);
                        cycles(mine, CONTENDED_WARMUP);
                        warm.await();
                        go.await();
                        cycles(mine, CONTENDED_TIMED);
                    } catch (Throwable e) {
                        synchronized (failures) {
                            failures.add(e);
                        }
                        warm.reset();
                        go.reset();
                    }
                });
                t.start();
                threads.add(t);
            }
            warm.await();
            start = System.nanoTime();
            go.await();
            for (Thread t : threads) {
                t.join();
            }
            if (!failures.isEmpty()) {
                throw new RuntimeException("a contender failed", failures.get(0));
            }
            report("lock_contended_4", (long) CONTENDERS * CONTENDED_TIMED, start);
            for (CuratorFramework c : clients) {
                c.close();
            }
        } finally {
            try {
                main.delete().deletingChildrenIfNeeded().forPath(parent);
            } catch (Exception e) {
                System.err.println("cleanup: " + e);
            }
            main.close();
        }
    }
}

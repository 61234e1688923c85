// A Curator InterProcessMutex contender for the interop tests.
//
// Usage: java CuratorMutex HOSTS LOCK_PATH COUNTER_PATH CYCLES HOLD_MS
//
// Prints "<micros> ready" once connected, then per cycle "<micros> acquired"
// right after acquire() returns and "<micros> released" right before
// release(), and finally "<micros> done". While holding it increments the
// decimal counter at COUNTER_PATH with an unconditional read-sleep-write, so
// two overlapping holders lose an update (the test compares the final count
// with the number of cycles).

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class CuratorMutex {
    static synchronized void say(String what) {
        long micros = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
        System.out.println(micros + " " + what);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        String hosts = args[0];
        String lockPath = args[1];
        String counter = args[2];
        int cycles = Integer.parseInt(args[3]);
        long holdMs = Long.parseLong(args[4]);
        try (CuratorFramework c = CuratorFrameworkFactory.newClient(hosts, 10000, 10000,
                new ExponentialBackoffRetry(100, 10))) {
            c.start();
            c.blockUntilConnected();
            InterProcessMutex mutex = new InterProcessMutex(c, lockPath);
            say("ready");
            for (int i = 0; i < cycles; i++) {
                mutex.acquire();
                say("acquired");
                byte[] raw = c.getData().forPath(counter);
                long n = Long.parseLong(new String(raw, StandardCharsets.UTF_8).trim());
                Thread.sleep(holdMs);
                c.setData().forPath(counter, Long.toString(n + 1).getBytes(StandardCharsets.UTF_8));
                say("released");
                mutex.release();
            }
            say("done");
        }
    }
}

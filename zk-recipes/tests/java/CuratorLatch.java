// A Curator LeaderLatch participant for the interop tests, driven by
// commands on stdin.
//
// Usage: java CuratorLatch HOSTS LATCH_PATH ID
//
// Output lines start with a Unix timestamp in microseconds:
//   "<micros> ready"            connected and the latch started
//   "<micros> leader"           this participant believes it leads
//   "<micros> follower"         it stopped believing so
//   "<micros> leaderid <id>"    answer to "leaderid": the id Curator reads
//                               from the first latch node ("-" if none)
//   "<micros> closed" / "<micros> started" / "<micros> expired"
// Commands:
//   close      print "follower" if leading, then close the latch
//   start      start a new latch (after close)
//   expire     end this client's session on the server, the way the ZooKeeper
//              tests do it: attach a second client to the same session id and
//              password, on the server this client is connected to (that
//              server drops the first connection at once, so Curator
//              goes SUSPENDED and the latch steps down), wait for the step
//              down, then close the second client, which closes the session
//              and deletes its ephemerals. Curator then sees LOST and rejoins
//              with a new session.
//   leaderid   print the current leader's participant id
//   quit       close everything and exit

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;

public class CuratorLatch {
    static boolean leading = false;

    static synchronized void say(String what) {
        long micros = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
        System.out.println(micros + " " + what);
        System.out.flush();
    }

    static synchronized void setLeading(boolean now) {
        if (now != leading) {
            leading = now;
            say(now ? "leader" : "follower");
            CuratorLatch.class.notifyAll();
        }
    }

    static synchronized boolean awaitFollower(long ms) throws InterruptedException {
        long end = System.currentTimeMillis() + ms;
        while (leading) {
            long left = end - System.currentTimeMillis();
            if (left <= 0) {
                return false;
            }
            CuratorLatch.class.wait(left);
        }
        return true;
    }

    static LeaderLatch newLatch(CuratorFramework c, String path, String id) throws Exception {
        LeaderLatch latch = new LeaderLatch(c, path, id, LeaderLatch.CloseMode.SILENT);
        latch.addListener(new LeaderLatchListener() {
            public void isLeader() {
                setLeading(true);
            }

            public void notLeader() {
                setLeading(false);
            }
        });
        latch.start();
        return latch;
    }

    public static void main(String[] args) throws Exception {
        String hosts = args[0];
        String path = args[1];
        String id = args[2];
        CuratorFramework c = CuratorFrameworkFactory.newClient(hosts, 10000, 10000,
                new ExponentialBackoffRetry(100, 10));
        c.start();
        c.blockUntilConnected();
        LeaderLatch latch = newLatch(c, path, id);
        say("ready");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String cmd;
        while ((cmd = in.readLine()) != null) {
            cmd = cmd.trim();
            if (cmd.equals("close")) {
                synchronized (CuratorLatch.class) {
                    setLeading(false);
                }
                latch.close();
                say("closed");
            } else if (cmd.equals("start")) {
                latch = newLatch(c, path, id);
                say("started");
            } else if (cmd.equals("leaderid")) {
                Participant p = latch.getLeader();
                say("leaderid " + (p.getId().isEmpty() ? "-" : p.getId()));
            } else if (cmd.equals("expire")) {
                ZooKeeper zk = c.getZookeeperClient().getZooKeeper();
                // The takeover must reach the server this client is on: only
                // that one closes the first connection at once. The client's
                // toString names it ("remoteserver:host/ip:port").
                String desc = zk.toString();
                int at = desc.indexOf("remoteserver:");
                if (at < 0) {
                    throw new IllegalStateException("no remote server in " + desc);
                }
                String remote = desc.substring(at + "remoteserver:".length()).split(" ")[0];
                String server = "127.0.0.1:" + remote.substring(remote.lastIndexOf(':') + 1);
                CountDownLatch up = new CountDownLatch(1);
                ZooKeeper dup = new ZooKeeper(server, 10000, e -> {
                    if (e.getState() == Watcher.Event.KeeperState.SyncConnected) {
                        up.countDown();
                    }
                }, zk.getSessionId(), zk.getSessionPasswd());
                if (!up.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the second client did not connect");
                }
                if (!awaitFollower(30000)) {
                    throw new IllegalStateException("still leading 30 s after the session moved");
                }
                dup.close();
                say("expired");
            } else if (cmd.equals("quit")) {
                break;
            } else {
                throw new IllegalArgumentException("unknown command " + cmd);
            }
        }
        synchronized (CuratorLatch.class) {
            setLeading(false);
        }
        latch.close();
        c.close();
        say("bye");
    }
}

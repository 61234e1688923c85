// Smoke test of the Java harness: a Curator client connects, creates
// PATH (with parents) holding DATA, reads it back and prints
// "created PATH DATA". Usage: java CuratorHello HOSTS PATH DATA

import java.nio.charset.StandardCharsets;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;

public class CuratorHello {
    public static void main(String[] args) throws Exception {
        try (CuratorFramework c = CuratorFrameworkFactory.newClient(args[0], 10000, 10000,
                new RetryNTimes(10, 200))) {
            c.start();
            c.create().creatingParentContainersIfNeeded()
                    .forPath(args[1], args[2].getBytes(StandardCharsets.UTF_8));
            String back = new String(c.getData().forPath(args[1]), StandardCharsets.UTF_8);
            System.out.println("created " + args[1] + " " + back);
        }
    }
}

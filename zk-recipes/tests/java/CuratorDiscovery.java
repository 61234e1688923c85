// Curator's ServiceDiscovery beside ours: registers one instance of NAME
// (id ID, 127.0.0.1:PORT, payload Details{description=DESC}) under BASE,
// prints "registered", then prints
// "instances id|address:port|payloadClass|description;..." (sorted by id)
// each time the set it sees changes. "quit" on stdin unregisters and exits.
// Usage: java CuratorDiscovery HOSTS BASE NAME ID PORT DESC

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;

public class CuratorDiscovery {
    public static class Details {
        private String description;

        public Details() {}

        public Details(String description) {
            this.description = description;
        }

        public String getDescription() {
            return description;
        }

        public void setDescription(String description) {
            this.description = description;
        }
    }

    public static void main(String[] args) throws Exception {
        String hosts = args[0], base = args[1], name = args[2], id = args[3];
        int port = Integer.parseInt(args[4]);
        String desc = args[5];
        try (CuratorFramework c = CuratorFrameworkFactory.newClient(hosts, 10000, 10000,
                new RetryNTimes(20, 200))) {
            c.start();
            ServiceInstance<Details> me = ServiceInstance.<Details>builder()
                    .name(name).id(id).address("127.0.0.1").port(port)
                    .payload(new Details(desc)).build();
            ServiceDiscovery<Details> d = ServiceDiscoveryBuilder.builder(Details.class)
                    .client(c).basePath(base)
                    .serializer(new JsonInstanceSerializer<>(Details.class))
                    .thisInstance(me).build();
            d.start();
            System.out.println("registered");
            System.out.flush();
            Thread stdin = new Thread(() -> {
                try {
                    BufferedReader r = new BufferedReader(new InputStreamReader(System.in));
                    String line;
                    while ((line = r.readLine()) != null) {
                        if (line.trim().equals("quit")) {
                            break;
                        }
                    }
                    d.close();
                } catch (Exception e) {
                    e.printStackTrace();
                }
                System.out.println("bye");
                System.out.flush();
                System.exit(0);
            });
            stdin.setDaemon(true);
            stdin.start();
            String last = null;
            while (true) {
                List<String> seen = new ArrayList<>();
                Collection<ServiceInstance<Details>> all = d.queryForInstances(name);
                for (ServiceInstance<Details> i : all) {
                    Details p = i.getPayload();
                    seen.add(i.getId() + "|" + i.getAddress() + ":" + i.getPort() + "|"
                            + (p == null ? "null" : p.getClass().getName()) + "|"
                            + (p == null ? "" : p.getDescription()));
                }
                Collections.sort(seen);
                String now = "instances " + String.join(";", seen);
                if (!now.equals(last)) {
                    System.out.println(now);
                    System.out.flush();
                    last = now;
                }
                Thread.sleep(100);
            }
        }
    }
}

package dev.files;

import dev.files.cluster.ClusterSetup;
import dev.files.support.Logs;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.files.support.Api;
import dev.files.support.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A clustered node (its own Hazelcast cluster name and ports, from cluster.*, so no other test's cluster is joined):
 * ready lists the cluster check, and the node logs the cluster it joined and its members.
 */
class ClusterOpsTest {

  @Test
  void readyChecksTheClusterAndTheJoinIsLogged() throws Exception {
    int base = 20000 + (int) (Math.random() * 20000);
    String name = "files-ops-" + UUID.randomUUID();
    Path xml = Files.createTempFile("cluster", ".xml");
    // the XML keeps the advanced settings only; name, port, members and interface come from cluster.*
    Files.writeString(xml, """
        <hazelcast xmlns="http://www.hazelcast.com/schema/config">
          <properties>
            <property name="hazelcast.wait.seconds.before.join">0</property>
            <property name="hazelcast.phone.home.enabled">false</property>
          </properties>
          <network>
            <port auto-increment="true" port-count="5">5701</port>
          </network>
        </hazelcast>
        """);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    Logger nodeLog = (Logger) LoggerFactory.getLogger(ClusterSetup.class);
    nodeLog.addAppender(logs);
    try (TestNode node = TestNode.start(Map.of("cluster.enabled", true, "cluster.config", xml.toString(),
        "cluster.name", name, "cluster.port", base, "cluster.members", "127.0.0.1:" + base))) {
      HttpResponse<String> r = new Api(node).get("http://127.0.0.1:" + node.port + "/health/ready", null);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonObject cluster = new JsonObject(r.body()).getJsonArray("checks").stream().map(c -> (JsonObject) c)
          .filter(c -> c.getString("id").equals("cluster")).findFirst().orElseThrow();
      assertThat(cluster.getString("status")).isEqualTo("UP");
      assertThat(cluster.getJsonObject("data").getInteger("members")).isEqualTo(1);
      assertThat(Logs.snapshot(logs).stream().map(ILoggingEvent::getFormattedMessage))
          .anyMatch(m -> m.startsWith("joined cluster '" + name + "' as [127.0.0.1]:") && m.contains("members (1)"));
    } finally {
      nodeLog.detachAppender(logs);
      Files.delete(xml);
    }
  }
}

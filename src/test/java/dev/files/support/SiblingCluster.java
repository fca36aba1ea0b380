package dev.files.support;

import com.hazelcast.core.Hazelcast;
import dev.files.api.FilesCluster;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.EventBusOptions;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two service nodes in this JVM on one database and one storage directory, both given the same
 * {@code cluster.port} (the second takes the next one), and a third clustered Vert.x that joins as a
 * sibling application does: through {@link FilesCluster} (the api jar) with the cluster's name and
 * the two nodes' addresses only. {@link #close()} ends all three and drops the database.
 */
public final class SiblingCluster implements AutoCloseable {

  private TestNode a;
  private TestNode b;
  private Vertx sibling;

  private SiblingCluster() {
  }

  /**
   * Starts the two nodes (cluster name {@code prefix-<uuid>}, {@code overrides} for both) and the
   * sibling, and waits up to 120 s until all three see each other.
   */
  public static SiblingCluster start(String prefix, Map<String, ?> overrides) throws Exception {
    SiblingCluster c = new SiblingCluster();
    try {
      int base = TestNode.twoFreePorts();
      String name = prefix + "-" + UUID.randomUUID();
      Map<String, Object> cluster = new HashMap<>(overrides);
      cluster.putAll(Map.of("cluster.enabled", true, "cluster.name", name, "cluster.port", base));
      c.a = TestNode.start(cluster);
      Map<String, Object> same = new HashMap<>(cluster);
      same.put("db.url", c.a.settings.get("db.url"));
      same.put("storage.local.path", c.a.settings.get("storage.local.path"));
      c.b = TestNode.start(same);
      // the sibling joins with the cluster's name and members only (FilesCluster, in the api jar)
      c.sibling = FilesCluster.join(FilesCluster.hazelcast(name, List.of("127.0.0.1:" + base, "127.0.0.1:" + (base + 1)),
          "127.0.0.1", base + 2), new EventBusOptions().setHost("127.0.0.1")).await(120, TimeUnit.SECONDS);
      eventually(Duration.ofSeconds(120), () -> assertThat(Hazelcast.getAllHazelcastInstances().stream()
          .filter(h -> h.getConfig().getClusterName().equals(name))).allSatisfy(h -> assertThat(h.getCluster().getMembers()).hasSize(3)));
      return c;
    } catch (Exception | Error e) {
      c.close();
      throw e;
    }
  }

  /** The first node (its database and storage directory are the cluster's). */
  public TestNode a() {
    return a;
  }

  /** The second node. */
  public TestNode b() {
    return b;
  }

  /** The sibling's clustered Vert.x (no service in it). */
  public Vertx sibling() {
    return sibling;
  }

  /** Closes the sibling, then the second node (keeping what they share), then the first (dropping it). */
  @Override
  public void close() throws Exception {
    if (sibling != null) {
      sibling.close().await(TestNode.STOP.toMillis(), TimeUnit.MILLISECONDS); // leaving the cluster, as a node
    }
    if (b != null) {
      b.stop(); // keeps the shared database and store for a
    }
    if (a != null) {
      a.close();
    }
  }
}

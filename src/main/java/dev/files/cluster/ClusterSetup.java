package dev.files.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.LifecycleEvent;
import dev.files.FilesConfig;
import dev.files.model.Texts;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.spi.VertxMetricsFactory;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Vert.x for a node, clustered over Hazelcast when {@code cluster.enabled}: the cluster manager
 * ({@link ClusterSettings}), the event bus, the members' log lines, and the membership events a node
 * reacts to.
 */
public final class ClusterSetup {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterSetup.class);

  private ClusterSetup() {
  }

  /**
   * The Hazelcast cluster manager of {@code cluster.*} when {@code cluster.enabled}, else null; logs where
   * it listens and whom it joins.
   *
   * @throws IllegalStateException as {@link ClusterSettings#hazelcast}
   */
  public static HazelcastClusterManager manager(FilesConfig config) {
    if (!config.flag("cluster.enabled")) {
      return null;
    }
    System.setProperty("hazelcast.logging.type", System.getProperty("hazelcast.logging.type", "slf4j"));
    com.hazelcast.config.Config hz = ClusterSettings.hazelcast(config);
    LOG.info("cluster '{}': listening on {}:{}{}, members {}", hz.getClusterName(),
        hz.getNetworkConfig().getInterfaces().getInterfaces().iterator().next(), hz.getNetworkConfig().getPort(),
        hz.getNetworkConfig().isPortAutoIncrement() ? " (or one of the next " + hz.getNetworkConfig().getPortCount()
            + " ports)" : "", hz.getNetworkConfig().getJoin().getTcpIpConfig().getMembers());
    if (config.string("cluster.name").isBlank() && !hz.getNetworkConfig().isPortAutoIncrement()) {
      LOG.warn("cluster.name is not set: the default name '{}' depends on this node's working directory and db.url;"
          + " set the same cluster.name on every node of a cluster that spans several machines", hz.getClusterName());
    }
    return new HazelcastClusterManager(hz);
  }

  /**
   * Vert.x with {@code options} and {@code metrics} (null: none): clustered with {@code cluster} and the
   * event bus of {@link ClusterSettings#eventBus}, or alone when {@code cluster} is null. A cluster that
   * cannot be joined fails with an {@link IllegalStateException} of one line naming the settings to check.
   *
   * @throws IllegalStateException when the event-bus settings are malformed (TLS stores)
   */
  public static Future<Vertx> vertx(FilesConfig config, VertxOptions options, VertxMetricsFactory metrics,
                                    HazelcastClusterManager cluster) {
    if (cluster == null) {
      var builder = Vertx.builder().with(options);
      if (metrics != null) {
        builder = builder.withMetrics(metrics);
      }
      return Future.succeededFuture(builder.build());
    }
    options.setEventBusOptions(ClusterSettings.eventBus(config));
    var builder = Vertx.builder().with(options).withClusterManager(cluster);
    if (metrics != null) {
      builder = builder.withMetrics(metrics);
    }
    return builder.buildClustered().recover(err -> Future.failedFuture(new IllegalStateException(
        "cannot join the cluster: " + Texts.oneLine(err) + " (check cluster.config " + config.string("cluster.config")
            + ", cluster.host, cluster.port and cluster.members)", err)));
  }

  /** The Vert.x node ids of the cluster's members, from Hazelcast's own member list (up to date when its membership events fire). */
  static Supplier<Set<String>> members(HazelcastClusterManager cm) {
    var cluster = cm.getHazelcastInstance().getCluster();
    return () -> cluster.getMembers().stream().map(ClusterSetup::vertxNodeId).collect(Collectors.toUnmodifiableSet());
  }

  /**
   * The Vert.x node id of a Hazelcast member: the member attribute {@code __vertx.nodeId} that vertx-hazelcast
   * sets (its node id is not the member's UUID); the UUID when the attribute is missing.
   */
  static String vertxNodeId(Member m) {
    String id = m.getAttribute("__vertx.nodeId");
    return id != null ? id : m.getUuid().toString();
  }

  /**
   * Calls {@code left} with the node id of every member that leaves, and {@code merging} when the cluster
   * merges (this node was on the far side of a partition, or frozen); both on a Hazelcast thread. Nothing
   * when {@code cm} is null.
   */
  public static void watch(HazelcastClusterManager cm, Consumer<String> left, Runnable merging) {
    if (cm == null) {
      return;
    }
    var hz = cm.getHazelcastInstance();
    hz.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent e) {
      }

      @Override
      public void memberRemoved(MembershipEvent e) {
        left.accept(vertxNodeId(e.getMember()));
      }
    });
    hz.getLifecycleService().addLifecycleListener(e -> {
      if (e.getState() == LifecycleEvent.LifecycleState.MERGING) {
        merging.run();
      }
    });
  }

  /** Logs the cluster this node joined and its members, then every member that joins or leaves. Nothing when {@code cm} is null. */
  public static void logMembers(HazelcastClusterManager cm) {
    if (cm == null) {
      return;
    }
    var hz = cm.getHazelcastInstance();
    LOG.info("joined cluster '{}' as {}; members ({}): {}", hz.getConfig().getClusterName(),
        hz.getCluster().getLocalMember().getAddress(), hz.getCluster().getMembers().size(),
        hz.getCluster().getMembers().stream().map(m -> m.getAddress().toString()).toList());
    hz.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent e) {
        LOG.info("cluster member joined: {}; members ({}): {}", e.getMember().getAddress(), e.getMembers().size(),
            e.getMembers().stream().map(m -> m.getAddress().toString()).toList());
      }

      @Override
      public void memberRemoved(MembershipEvent e) {
        LOG.info("cluster member left: {}; members ({}): {}", e.getMember().getAddress(), e.getMembers().size(),
            e.getMembers().stream().map(m -> m.getAddress().toString()).toList());
      }
    });
  }
}

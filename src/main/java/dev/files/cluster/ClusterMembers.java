package dev.files.cluster;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.core.spi.cluster.NodeInfo;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * This node's id and the live members of its cluster: Hazelcast's member list, less the members whose
 * process was found gone by a TCP probe of their event-bus port ({@link #probe}) and that Hazelcast has
 * not removed yet. A node that is not clustered is its only member, under a random id per start.
 */
public final class ClusterMembers {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterMembers.class);
  /** How long a member found gone by {@link #probe} counts as not live, ms (Hazelcast removes it sooner). */
  static final long SUSPECT_MS = 10_000;

  private final Vertx vertx;
  private final String nodeId;
  private final Supplier<Set<String>> members;
  private final ClusterManager cluster;
  /** Members whose event-bus port refused a connection (their process is gone), until when (System.nanoTime). */
  private final Map<String, Long> suspects = new ConcurrentHashMap<>();
  /** Event-bus addresses of the members asked so far (read while they are alive: a dead one's may not be readable). */
  private final Map<String, NodeInfo> addresses = new ConcurrentHashMap<>();
  private NetClient probes;

  /**
   * @param nodeId  this node's id (the cluster manager's node id when clustered, else a random UUID)
   * @param members the node ids of the live cluster members (this node alone when not clustered)
   * @param cluster the cluster manager (to probe a silent member, {@link #probe}), or null when not clustered
   */
  public ClusterMembers(Vertx vertx, String nodeId, Supplier<Set<String>> members, ClusterManager cluster) {
    this.vertx = vertx;
    this.nodeId = nodeId;
    this.members = members;
    this.cluster = cluster;
  }

  /** A node alone (not clustered): a random id, itself the only member. */
  public static ClusterMembers alone(Vertx vertx) {
    String me = UUID.randomUUID().toString();
    return new ClusterMembers(vertx, me, () -> Set.of(me), null);
  }

  /**
   * The members of the cluster {@code cm} joined ({@link ClusterSetup#members}), under its node id; or,
   * when {@code cm} is null, {@link #alone}.
   */
  public static ClusterMembers of(Vertx vertx, HazelcastClusterManager cm) {
    return cm == null ? alone(vertx) : new ClusterMembers(vertx, cm.getNodeId(), ClusterSetup.members(cm), cm);
  }

  /** This node's id. */
  public String nodeId() {
    return nodeId;
  }

  /** Whether this node is clustered (else it is its only member). */
  public boolean clustered() {
    return cluster != null;
  }

  /**
   * The node ids of the live cluster members, this node included: Hazelcast's members, without those
   * whose process was found gone by {@link #probe} and that Hazelcast has not removed yet.
   */
  public Set<String> members() {
    Set<String> live = members.get();
    if (suspects.isEmpty()) {
      return live;
    }
    long now = System.nanoTime();
    suspects.values().removeIf(until -> until - now < 0);
    Set<String> out = new HashSet<>(live);
    out.removeAll(suspects.keySet());
    return out;
  }

  /**
   * Whether a member's process is gone: its event-bus port refuses connections (a crashed process on a
   * running machine; a frozen one still accepts them). Such a member counts as not live for
   * {@value #SUSPECT_MS} ms, or until Hazelcast removes it: its sessions may be taken over at once,
   * without waiting for Hazelcast's failure detection. Answers false when unsure (not clustered, no
   * address known, a timeout); never fails.
   */
  public Future<Boolean> probe(String node) {
    if (cluster == null || node.equals(nodeId)) {
      return Future.succeededFuture(false);
    }
    if (probes == null) {
      probes = vertx.createNetClient(new NetClientOptions().setConnectTimeout(500));
    }
    NodeInfo known = addresses.get(node);
    return (known != null ? Future.succeededFuture(known) : nodeInfo(node)).compose(ni -> ni == null ? Future.succeededFuture(false)
            : probes.connect(ni.port(), ni.host()).map(socket -> {
              socket.close();
              return false;
            }).recover(err -> {
              if (!(err instanceof java.net.ConnectException) || !String.valueOf(err.getMessage()).contains("refused")) {
                return Future.succeededFuture(false);
              }
              suspects.put(node, System.nanoTime() + SUSPECT_MS * 1_000_000L);
              LOG.info("cluster member {} refuses connections: its process is gone; its sessions may be taken over", node);
              return Future.succeededFuture(true);
            }))
        .recover(err -> Future.succeededFuture(false));
  }

  /**
   * Reads and keeps the event-bus address of a member about to be asked, so that {@link #probe} has it at
   * once when the member falls silent (Hazelcast's map of node addresses may not answer while the
   * cluster recovers from a death).
   */
  public void remember(String node) {
    if (cluster != null && !addresses.containsKey(node)) {
      nodeInfo(node).onSuccess(ni -> {
        if (ni != null) {
          addresses.put(node, ni);
        }
      });
    }
  }

  private Future<NodeInfo> nodeInfo(String node) {
    Promise<NodeInfo> info = Promise.promise();
    cluster.getNodeInfo(node, info);
    return info.future();
  }
}

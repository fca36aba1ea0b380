package dev.files.api;

import com.hazelcast.config.ClasspathXmlConfig;
import com.hazelcast.config.Config;
import com.hazelcast.config.NetworkConfig;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Joining the files service's cluster as a sibling: a clustered Vert.x whose Hazelcast member runs no part
 * of the service (docs/event-bus.md, "Joining the cluster"). A sibling needs the cluster's name and its
 * members, nothing more: no Hazelcast XML of its own. The settings have the names the nodes use
 * ({@code cluster.name} is {@code FILES_CLUSTER_NAME}, and so on), and {@code scripts/cluster} writes them
 * for its cluster to {@code data/cluster-<base port>/sibling.env}.
 *
 * <p>Run a verticle in the cluster with no code of your own: {@code java <Hazelcast's JVM flags> -cp
 * <class path> dev.files.api.FilesCluster <verticle class> [<config JSON>]} (what {@code scripts/sibling}
 * does), with the variables below in the environment.
 */
public final class FilesCluster {

  /** The cluster's name, required: the nodes' {@code cluster.name} (they log it as {@code joined cluster '<name>'}). */
  public static final String NAME = "FILES_CLUSTER_NAME";
  /** The nodes' Hazelcast addresses, required: {@code host:port} each, comma-separated. */
  public static final String MEMBERS = "FILES_CLUSTER_MEMBERS";
  /** The address (IP or name) this member binds and announces to the nodes; default {@code 127.0.0.1}. */
  public static final String HOST = "FILES_CLUSTER_HOST";
  /** The first Hazelcast port this member tries (the next 9 when it is taken); default 5701. */
  public static final String PORT = "FILES_CLUSTER_PORT";
  /** The event bus's port, 0 (default) for any free one. */
  public static final String EVENT_BUS_PORT = "FILES_CLUSTER_EVENT_BUS_PORT";

  private FilesCluster() {
  }

  /**
   * The Hazelcast configuration of a sibling: the maps Vert.x needs (vertx-hazelcast's
   * {@code default-cluster.xml}) and {@link #network}.
   *
   * @param members the nodes' Hazelcast addresses, {@code host:port} each
   * @param host    an IP address of this machine, which the nodes reach
   * @param port    the first port to try; the next 9 are tried when it is taken
   */
  public static Config hazelcast(String name, List<String> members, String host, int port) {
    Config hz = new ClasspathXmlConfig("default-cluster.xml");
    hz.setProperty("hazelcast.phone.home.enabled", "false");
    hz.setProperty("hazelcast.wait.seconds.before.join", "0");
    hz.getNetworkConfig().setPortCount(10);
    return network(hz, name, members, host, port, true);
  }

  /**
   * Sets what decides which cluster a member joins and where it listens, as every node of the service does:
   * the cluster name, the member port, TCP/IP join to {@code members} (multicast and auto-detection off) and
   * {@code host} as the only interface Hazelcast binds ({@code hazelcast.socket.bind.any=false}).
   *
   * @return {@code hz}
   */
  public static Config network(Config hz, String name, List<String> members, String host, int port,
                               boolean portAutoIncrement) {
    hz.setClusterName(name);
    NetworkConfig network = hz.getNetworkConfig();
    network.setPort(port);
    network.setPortAutoIncrement(portAutoIncrement);
    network.getJoin().getMulticastConfig().setEnabled(false);
    network.getJoin().getAutoDetectionConfig().setEnabled(false);
    network.getJoin().getTcpIpConfig().setEnabled(true).setMembers(members);
    network.getInterfaces().clear().setEnabled(true).addInterface(host);
    hz.setProperty("hazelcast.socket.bind.any", "false");
    return hz;
  }

  /**
   * Starts a clustered Vert.x that joins the cluster of {@code hazelcast}. {@code eventBus} says where its
   * event bus listens (a host the nodes reach; port 0 for any free one) and, when the nodes use
   * {@code cluster.tls.enabled}, the certificate they trust.
   */
  public static Future<Vertx> join(Config hazelcast, EventBusOptions eventBus) {
    return Vertx.builder()
        .with(new VertxOptions().setEventBusOptions(eventBus))
        .withClusterManager(new HazelcastClusterManager(hazelcast))
        .buildClustered();
  }

  /**
   * Joins the cluster that {@code env} describes ({@link #NAME}, {@link #MEMBERS}, {@link #HOST},
   * {@link #PORT}, {@link #EVENT_BUS_PORT}; {@code System.getenv()} for the process's environment).
   *
   * @throws IllegalArgumentException with one line naming the variable, when a required one is missing, a
   *     port is not a number from 0 to 65535 (1 for {@link #PORT}), or the host does not resolve
   */
  public static Future<Vertx> join(Map<String, String> env) {
    String name = required(env, NAME, "the nodes' cluster.name; they log it as joined cluster '<name>'");
    List<String> members = Arrays.stream(required(env, MEMBERS, "the nodes' host:port, comma-separated").split(","))
        .map(String::strip).filter(m -> !m.isEmpty()).toList();
    String host = address(env.getOrDefault(HOST, "127.0.0.1").strip());
    int port = port(env, PORT, 5701, 1);
    int busPort = port(env, EVENT_BUS_PORT, 0, 0);
    return join(hazelcast(name, members, host, port), new EventBusOptions().setHost(host).setPort(busPort));
  }

  /**
   * Joins the cluster of the environment ({@link #join(Map)}) and deploys a verticle:
   * {@code FilesCluster <verticle class> [<config JSON>]}. Logs of Hazelcast below WARNING are not shown.
   * SIGTERM or Ctrl-C closes Vert.x (the member leaves the cluster). A bad argument or setting is one line
   * on standard error and exit status 2; a failure to join or deploy, exit status 1.
   */
  public static void main(String[] args) throws Exception {
    if (args.length == 0 || args.length > 2 || args[0].startsWith("-")) {
      System.err.println("usage: java -cp <class path> dev.files.api.FilesCluster <verticle class> [<config JSON>]"
          + " (with FILES_CLUSTER_NAME and FILES_CLUSTER_MEMBERS in the environment)");
      System.exit(args.length == 1 && (args[0].equals("-h") || args[0].equals("--help")) ? 0 : 2);
    }
    JsonObject config;
    try {
      config = args.length > 1 ? new JsonObject(args[1]) : new JsonObject();
    } catch (DecodeException e) {
      System.err.println("sibling: the verticle's configuration is not a JSON object: " + args[1]);
      System.exit(2);
      return;
    }
    java.util.logging.Logger.getLogger("com.hazelcast").setLevel(java.util.logging.Level.WARNING);
    Vertx vertx;
    try {
      vertx = join(System.getenv()).await(120, TimeUnit.SECONDS);
    } catch (IllegalArgumentException e) {
      System.err.println("sibling: " + e.getMessage());
      System.exit(2);
      return;
    } catch (Exception e) {
      System.err.println("sibling: cannot join the cluster: " + e);
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        vertx.close().await(30, TimeUnit.SECONDS);
        System.err.println("sibling: left the cluster");
      } catch (Exception e) {
        System.err.println("sibling: closing Vert.x failed: " + e);
      }
    }, "sibling-shutdown"));
    System.err.println("sibling: joined cluster '" + System.getenv(NAME) + "' (members " + System.getenv(MEMBERS) + ")");
    try {
      vertx.deployVerticle(args[0], new DeploymentOptions().setConfig(config)).await(120, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("sibling: cannot deploy " + args[0] + ": " + e.getMessage());
      System.exit(1);
    }
    System.err.println("sibling: deployed " + args[0] + "; Ctrl-C stops it");
  }

  private static String required(Map<String, String> env, String variable, String what) {
    String value = env.get(variable);
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(variable + " is required: " + what);
    }
    return value.strip();
  }

  private static int port(Map<String, String> env, String variable, int otherwise, int min) {
    String value = env.get(variable);
    if (value == null || value.isBlank()) {
      return otherwise;
    }
    try {
      int port = Integer.parseInt(value.strip());
      if (port >= min && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // refused below
    }
    throw new IllegalArgumentException(variable + " must be a port from " + min + " to 65535, got '" + value + "'");
  }

  private static String address(String host) {
    try {
      return InetAddress.getByName(host).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(HOST + " " + host + " does not resolve", e);
    }
  }
}

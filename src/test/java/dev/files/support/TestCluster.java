package dev.files.support;

import com.hazelcast.core.Hazelcast;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * N clustered nodes for a test: their configuration (one PostgreSQL database for all; one storage
 * directory for all, or one each; one Hazelcast cluster of its own with {@link #HAZELCAST_XML}, its name
 * and member ports), started either as processes ({@code dev.files.Main} in a JVM each, with
 * {@link NodeProcess#JVM_OPTIONS}) or in this JVM ({@link TestNode}), waiting for them with deadlines long
 * enough for a loaded 2-core machine, sending real signals to the processes (SIGTERM, SIGKILL, SIGSTOP,
 * SIGCONT), and on a failed start the end of the node's log, once.
 *
 * <p>Node {@code i} (0-based) listens for Hazelcast on {@code base + i}; every node lists all
 * {@code size} ports as members, so a configuration may be used by a process, a node in this JVM or a
 * plain clustered Vert.x (its {@link #settings(int)}). {@link #close()} ends what was started and
 * drops the database and the storage directories.
 */
public final class TestCluster implements AutoCloseable {

  /** Test Hazelcast settings: heartbeat 1 s, a member silent 5 s is removed, merges tried after 5 s. */
  public static final String HAZELCAST_XML = """
      <hazelcast xmlns="http://www.hazelcast.com/schema/config">
        <properties>
          <property name="hazelcast.wait.seconds.before.join">0</property>
          <property name="hazelcast.phone.home.enabled">false</property>
          <property name="hazelcast.heartbeat.interval.seconds">1</property>
          <property name="hazelcast.max.no.heartbeat.seconds">5</property>
          <property name="hazelcast.merge.first.run.delay.seconds">5</property>
          <property name="hazelcast.merge.next.run.delay.seconds">5</property>
        </properties>
        <network>
          <port auto-increment="true" port-count="5">5701</port>
        </network>
        <multimap name="__vertx.subs">
          <backup-count>1</backup-count>
          <value-collection-type>SET</value-collection-type>
        </multimap>
      </hazelcast>
      """;

  /** The line a node logs at start with its node id (the owner id of its upload sessions and leases). */
  public static final Pattern NODE_ID = Pattern.compile("owned as node ([0-9a-f-]{36})");

  /** How long a node process may take until it is ready ({@link NodeProcess#START}). */
  public static final Duration START = NodeProcess.START;

  /** How long the members may take to see each other (a join, or a merge after a split: 5 s apart). */
  public static final Duration MEMBERS = Duration.ofSeconds(120);

  /** The bucket of {@link #configureOnS3}. */
  public static final String BUCKET = "files";

  private final String name;
  private final Path xml;
  private final List<Map<String, Object>> settings;
  private final Process[] processes;
  private final Path[] logs;
  private final String[] ids;
  private final List<TestNode> nodes = new ArrayList<>();
  private S3ProxyServer s3;

  private TestCluster(String name, Path xml, List<Map<String, Object>> settings) {
    this.name = name;
    this.xml = xml;
    this.settings = settings;
    this.processes = new Process[settings.size()];
    this.logs = new Path[settings.size()];
    this.ids = new String[settings.size()];
  }

  /**
   * The configuration of {@code size} nodes of one cluster (name {@code prefix-<uuid>}), one database
   * and one storage directory shared by all; {@code overrides} (dotted keys) apply to every node.
   */
  public static TestCluster configure(String prefix, int size, Map<String, ?> overrides) throws IOException {
    return configure(prefix, size, overrides, true);
  }

  /**
   * As {@link #configure(String, int, Map)}; {@code sharedStorage} false gives each node its own local
   * directory (for an S3 store, whose bucket is what they share).
   */
  public static TestCluster configure(String prefix, int size, Map<String, ?> overrides, boolean sharedStorage)
      throws IOException {
    Path xml = writeHazelcastXml();
    String name = prefix + "-" + UUID.randomUUID();
    int base = 20000 + (int) (Math.random() * 20000);
    List<String> members = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      members.add("127.0.0.1:" + (base + i));
    }
    List<Map<String, Object>> all = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      Map<String, Object> s = new HashMap<>(Map.of("cluster.enabled", true, "cluster.config", xml.toString(),
          "cluster.name", name, "cluster.port", base + i, "cluster.members", String.join(",", members)));
      s.putAll(overrides);
      Map<String, Object> full = TestNode.settings(s);
      // each probe frees its port at once: two nodes of one cluster could be given the same one
      while (!overrides.containsKey("http.port") && usedHttpPort(all, full.get("http.port"))) {
        full.put("http.port", TestNode.freePort());
      }
      if (i > 0) {
        full.put("db.url", all.get(0).get("db.url"));
        full.put("test.db_name", all.get(0).get("test.db_name"));
        if (sharedStorage) {
          Path own = Path.of((String) full.get("storage.local.path"));
          Files.deleteIfExists(own);
          full.put("storage.local.path", all.get(0).get("storage.local.path"));
        }
      }
      all.add(full);
    }
    return new TestCluster(name, xml, all);
  }

  private static boolean usedHttpPort(List<Map<String, Object>> nodes, Object port) {
    return nodes.stream().anyMatch(n -> port.equals(n.get("http.port")));
  }

  /**
   * As {@link #configure(String, int, Map, boolean)} with one S3 store for all: a new {@link S3ProxyServer}
   * (closed by {@link #close()}) and its bucket {@value #BUCKET}; each node has its own local directory, so
   * that no bytes are shared but through the bucket.
   */
  public static TestCluster configureOnS3(String prefix, int size, Map<String, ?> overrides) throws Exception {
    S3ProxyServer s3 = S3ProxyServer.start();
    try {
      Map<String, Object> all = new HashMap<>(s3.nodeSettings(BUCKET));
      all.putAll(overrides);
      TestCluster cluster = configure(prefix, size, all, false);
      cluster.s3 = s3;
      return cluster;
    } catch (Exception | Error e) {
      s3.close();
      throw e;
    }
  }

  /** Where the S3 server of {@link #configureOnS3} keeps the bucket's objects (one file per object). */
  public Path bucketDir() {
    return s3.bucketDir(BUCKET);
  }

  /** {@link #HAZELCAST_XML} in a new temporary file (the caller deletes it). */
  public static Path writeHazelcastXml() throws IOException {
    Path xml = Files.createTempFile("files-cluster", ".xml");
    Files.writeString(xml, HAZELCAST_XML);
    return xml;
  }

  /** The cluster's name (Hazelcast's cluster name). */
  public String name() {
    return name;
  }

  /** How many nodes are configured. */
  public int size() {
    return settings.size();
  }

  /** The full settings of node {@code i}, {@code test.*} keys included (see {@link TestNode#nodeSettings}). */
  public Map<String, Object> settings(int i) {
    return settings.get(i);
  }

  /** The database's name. */
  public String db() {
    return (String) settings.get(0).get("test.db_name");
  }

  /** The storage directory of node {@code i}. */
  public Path storage(int i) {
    return Path.of((String) settings.get(i).get("storage.local.path"));
  }

  /** The storage directory of node 0 (all nodes', when shared). */
  public Path storage() {
    return storage(0);
  }

  /** {@code http://127.0.0.1:<port>} of node {@code i}. */
  public String base(int i) {
    return "http://127.0.0.1:" + settings.get(i).get("http.port");
  }

  /** An API client of node {@code i}. */
  public Api api(int i) {
    return new Api(base(i) + "/internal/services/files/v1");
  }

  // ---- nodes in this JVM

  /**
   * Starts every node in this JVM, one after another, and waits until each sees all {@link #size()}
   * members; {@link #node(int)} gives them.
   */
  public TestCluster startInJvm() throws Exception {
    for (int i = 0; i < size(); i++) {
      startInJvm(i);
    }
    awaitJvmMembers();
    return this;
  }

  /**
   * Starts node {@code i} in this JVM on its {@link #settings(int)} as they are now (a test may change
   * them first, e.g. to reach the database through a proxy).
   */
  public TestNode startInJvm(int i) throws Exception {
    while (nodes.size() <= i) {
      nodes.add(null);
    }
    TestNode node = TestNode.startWith(settings.get(i));
    nodes.set(i, node);
    return node;
  }

  /** Waits up to {@link #MEMBERS} until the cluster has {@link #size()} members in this JVM, each seeing all. */
  public void awaitJvmMembers() throws Exception {
    eventually(MEMBERS, () -> assertThat(Hazelcast.getAllHazelcastInstances().stream()
        .filter(h -> h.getConfig().getClusterName().equals(name)))
        .hasSize(size()).allSatisfy(h -> assertThat(h.getCluster().getMembers()).hasSize(size())));
  }

  /** Node {@code i} started in this JVM. */
  public TestNode node(int i) {
    return nodes.get(i);
  }

  /** The nodes started in this JVM. */
  public List<TestNode> nodes() {
    return List.copyOf(nodes);
  }

  // ---- node processes

  /** Starts every node as a process, one after another, each waited for until ready. */
  public TestCluster startProcesses() throws Exception {
    for (int i = 0; i < size(); i++) {
      start(i);
    }
    return this;
  }

  /** Starts node {@code i}'s process and waits until it is ready ({@link #spawn}, {@link #awaitReady}). */
  public void start(int i) throws Exception {
    spawn(i);
    awaitReady(i);
  }

  /**
   * Starts node {@code i}'s process without waiting: {@code java} with {@link NodeProcess#JVM_OPTIONS},
   * the test class path, its settings as {@code FILES_*} environment variables (none inherited), its
   * output in a new temporary file ({@link #log(int)}).
   */
  public void spawn(int i) throws IOException {
    logs[i] = Files.createTempFile("files-node-" + i + "-", ".log");
    processes[i] = NodeProcess.start(settings.get(i), logs[i]);
  }

  /**
   * Waits up to {@link #START} until node {@code i}'s process answers its ready check with 200, and
   * reads its node id from its log ({@link #id(int)}).
   *
   * @throws AssertionError when the process exits first, or is not ready in time: with the end of its log
   */
  public void awaitReady(int i) throws Exception {
    try {
      NodeProcess.awaitUp(processes[i], logs[i], base(i) + "/health/ready");
    } catch (AssertionError e) {
      throw new AssertionError("node " + i + ": " + e.getMessage());
    }
    Matcher m = NODE_ID.matcher(Files.readString(logs[i]));
    if (!m.find()) {
      throw NodeProcess.failure(logs[i], "node " + i + " is ready but its log names no node id");
    }
    ids[i] = m.group(1);
  }

  /**
   * Waits up to {@link #MEMBERS} until every running node process answers ready (200) and its cluster
   * check sees {@code n} members.
   */
  public void awaitMembers(int n) throws Exception {
    eventually(MEMBERS, () -> {
      for (int i = 0; i < size(); i++) {
        if (processes[i] != null && processes[i].isAlive()) {
          HttpResponse<String> r = api(i).get(base(i) + "/health/ready", null);
          assertThat(r.statusCode()).as("node " + i + " ready: " + r.body()).isEqualTo(200);
          JsonObject cluster = new JsonObject(r.body()).getJsonArray("checks").stream().map(c -> (JsonObject) c)
              .filter(c -> c.getString("id").equals("cluster")).findFirst().orElseThrow();
          assertThat(cluster.getJsonObject("data").getInteger("members")).as("members seen by node " + i).isEqualTo(n);
        }
      }
    });
  }

  /** Node {@code i}'s process (null before it was started). */
  public Process process(int i) {
    return processes[i];
  }

  /** Whether node {@code i}'s process runs. */
  public boolean alive(int i) {
    return processes[i] != null && processes[i].isAlive();
  }

  /** Node {@code i}'s node id, as its log named it when it was last ready. */
  public String id(int i) {
    return ids[i];
  }

  /** All node ids (null for a node not started). */
  public List<String> ids() {
    return java.util.Arrays.asList(ids.clone());
  }

  /** The file node {@code i}'s process writes its output to (a new one at each start). */
  public Path logFile(int i) {
    return logs[i];
  }

  /** What node {@code i}'s process has written so far. */
  public String log(int i) throws IOException {
    return Files.readString(logs[i]);
  }

  /** The end of node {@code i}'s log, short enough for a failure message ({@link NodeProcess#tail}). */
  public String logTail(int i) throws IOException {
    return NodeProcess.tail(logs[i]);
  }

  /** Sends SIGKILL to node {@code i}'s process (also to a stopped one); does not wait. */
  public void kill(int i) {
    processes[i].destroyForcibly();
  }

  /** Sends SIGTERM to node {@code i}'s process (the node drains, then exits); does not wait. */
  public void terminate(int i) {
    processes[i].destroy();
  }

  /** Sends SIGSTOP to node {@code i}'s process: it is frozen until {@link #thaw}. */
  public void freeze(int i) throws Exception {
    signal(i, "STOP");
  }

  /** Sends SIGCONT to node {@code i}'s process. */
  public void thaw(int i) throws Exception {
    signal(i, "CONT");
  }

  /** Waits up to {@code seconds} for node {@code i}'s process to exit; whether it did. */
  public boolean awaitExit(int i, long seconds) throws InterruptedException {
    return processes[i].waitFor(seconds, TimeUnit.SECONDS);
  }

  private void signal(int i, String signal) throws Exception {
    assertThat(new ProcessBuilder("kill", "-" + signal, String.valueOf(processes[i].pid())).start().waitFor())
        .as("kill -" + signal + " of node " + i).isZero();
  }

  /**
   * Ends what was started (node processes thawed and killed, nodes in this JVM closed, the last first),
   * drops the database, deletes the storage directories, the Hazelcast file and the logs, and stops the
   * S3 server of {@link #configureOnS3}.
   */
  @Override
  public void close() throws Exception {
    for (Process p : processes) {
      if (p != null && p.isAlive()) {
        new ProcessBuilder("kill", "-CONT", String.valueOf(p.pid())).start().waitFor();
        p.destroyForcibly().waitFor();
      }
    }
    for (int i = nodes.size() - 1; i >= 0; i--) {
      if (nodes.get(i) != null) {
        nodes.get(i).stop(); // keeps the shared database and storage, removed below
      }
    }
    Db.drop(db());
    for (int i = 0; i < size(); i++) {
      delete(storage(i));
    }
    Files.deleteIfExists(xml);
    if (s3 != null) {
      s3.close();
    }
    for (Path log : logs) {
      if (log != null) {
        Files.deleteIfExists(log);
      }
    }
  }

  private static void delete(Path dir) throws IOException {
    if (Files.exists(dir)) {
      try (var s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}

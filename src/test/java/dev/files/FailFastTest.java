package dev.files;

import dev.files.support.NodeProcess;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every start that cannot succeed fails within seconds (not after minutes) with one line that names the
 * cause and the setting to change. In-process through {@link Node#start}, and twice as a real process
 * (exit status 1, one line on standard error). Prints what each failed start says and how long it took.
 */
class FailFastTest {

  /** The service aims at 15 s; twice that here for a loaded machine. The old behaviour (a 3-minute hang) fails it. */
  static final long LIMIT_MS = 30_000;
  /** A whole JVM that starts, creates and migrates its database and fails: still far below the old 3 minutes. */
  static final long PROCESS_LIMIT_MS = 90_000;

  static final List<String> REPORT = new ArrayList<>();
  static final List<String> DATABASES = new ArrayList<>();

  @AfterAll
  static void report() throws Exception {
    REPORT.forEach(System.out::println);
    for (String db : DATABASES) {
      Db.drop(db);
    }
  }

  /** Starts a node that must fail; returns its one-line message after checking the time. */
  static String failedStart(String what, Map<String, ?> overrides) throws Exception {
    Map<String, Object> settings = TestNode.settings(overrides);
    DATABASES.add((String) settings.get("test.db_name"));
    long t0 = System.nanoTime();
    String message;
    try {
      Node node = Node.start(FilesConfig.load(Map.of(), TestNode.nodeSettings(settings))).await(60, TimeUnit.SECONDS);
      node.close().await(30, TimeUnit.SECONDS);
      throw new AssertionError(what + ": the node started");
    } catch (IllegalStateException e) {
      message = e.getMessage();
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    REPORT.add(String.format("failed start | %s | %s | %.1f s", what, message, ms / 1000.0));
    assertThat(message).doesNotContain("\n");
    assertThat(ms).as(what + " took " + ms + " ms").isLessThan(LIMIT_MS);
    return message;
  }

  @Test
  void portInUse() throws Exception {
    try (ServerSocket busy = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      assertThat(failedStart("port in use", Map.of("http.port", busy.getLocalPort())))
          .isEqualTo("cannot listen on 127.0.0.1:" + busy.getLocalPort() + ": address already in use (check http.port and http.host)");
    }
  }

  @Test
  void databaseUnreachable() throws Exception {
    int closed = TestNode.freePort();
    assertThat(failedStart("database unreachable", Map.of("db.url", "postgresql://postgres@127.0.0.1:" + closed + "/files")))
        .startsWith("cannot open the database postgresql://postgres@127.0.0.1:" + closed + "/files: ")
        .endsWith("(check db.url)");
  }

  @Test
  void wrongDatabaseUser() throws Exception {
    String db = "files_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    String url = TestNode.PG.replaceFirst("^postgresql://([^@]*@)?", "postgresql://nobody_" + db + ":secret-pw@") + "/" + db;
    assertThat(failedStart("wrong database user", Map.of("db.url", url)))
        .contains("nobody_" + db).contains("(check db.url)").doesNotContain("secret-pw");
  }

  @Test
  void storageNotWritable() throws Exception {
    // as root, permissions do not stop writes: /proc/self is a directory nobody can create files in
    assertThat(failedStart("storage path not writable", Map.of("storage.local.path", "/proc/self/fdinfo")))
        .startsWith("storage directory /proc/self/fdinfo cannot be written: ").endsWith("(check storage.local.path)");
    Path file = Files.createTempFile("files-not-a-dir", ".txt");
    try {
      assertThat(failedStart("storage path cannot be created", Map.of("storage.local.path", file + "/files")))
          .isEqualTo("storage directory " + file + "/files cannot be written: Not a directory (check storage.local.path)").endsWith("(check storage.local.path)");
    } finally {
      Files.delete(file);
    }
  }

  @Test
  void clusterConfigurationUnreadable() throws Exception {
    assertThat(failedStart("cluster join impossible (no cluster.config)",
        Map.of("cluster.enabled", true, "cluster.config", "/nonexistent/cluster.xml")))
        .isEqualTo("cannot join the cluster: cannot read /nonexistent/cluster.xml (check cluster.config)");
  }

  @Test
  void clusterConfigurationInvalid() throws Exception {
    Path xml = Files.createTempFile("cluster", ".xml");
    try {
      Files.writeString(xml, "<hazelcast><network><port>not-a-port</port></network></hazelcast>");
      assertThat(failedStart("cluster join impossible (invalid cluster.config)",
          Map.of("cluster.enabled", true, "cluster.config", xml.toString())))
          .startsWith("cannot join the cluster: " + xml + " is not a Hazelcast configuration: ")
          .endsWith("(check cluster.config)");
    } finally {
      Files.delete(xml);
    }
  }

  /** Port 0: one free port, the one the node reports, serving every connection. */
  @Test
  void portZeroBindsOneFreePort() throws Exception {
    try (TestNode node = TestNode.start(Map.of("http.port", 0))) {
      int port = node.node.port();
      assertThat(port).isPositive();
      Api api = new Api("http://127.0.0.1:" + port);
      for (int i = 0; i < 8; i++) {
        java.net.http.HttpClient fresh = java.net.http.HttpClient.newHttpClient(); // a new connection each time
        assertThat(fresh.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/health/live")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      }
      assertThat(api).isNotNull();
    }
  }

  @Test
  void aMasterKeyThatDoesNotOpenTheStoredFiles() throws Exception {
    Map<String, Object> first;
    try (TestNode node = TestNode.start(Map.of())) {
      first = node.settings;
      UUID company = UUID.randomUUID();
      assertThat(new Api(node).upload(company, TestNode.userToken(UUID.randomUUID(), company), "a.txt", "text/plain",
          "hello".getBytes()).statusCode()).isEqualTo(200);
      node.stop();
      Map<String, Object> same = new HashMap<>();
      same.put("db.url", first.get("db.url"));
      same.put("storage.local.path", first.get("storage.local.path"));
      same.put("encryption.master_key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
      assertThat(failedStart("a master key that does not open", same))
          .isEqualTo("encryption.master_key (id " + TestNode.MASTER_KEY_ID + ") does not open the data keys of the stored "
              + "files: it is not the key they were written with (check encryption.master_key and encryption.master_key_id)");
    } catch (IllegalStateException e) {
      throw e;
    }
  }

  /** The real process: exit status 1, one line on standard error, within the limit. */
  @Test
  void aProcessExitsWithOneLine() throws Exception {
    assertThat(process("process: unknown variable", Map.of("FILES_HTTP_PROT", "9000")))
        .isEqualTo("files service cannot start: unknown environment variable FILES_HTTP_PROT; did you mean FILES_HTTP_PORT?");
    assertThat(process("process: db.pool_size=0", Map.of("FILES_DB_POOL_SIZE", "0")))
        .isEqualTo("files service cannot start: db.pool_size (FILES_DB_POOL_SIZE) must be between 1 and 1000, got 0");
    try (ServerSocket busy = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      assertThat(process("process: port in use", Map.of("FILES_HTTP_PORT", Integer.toString(busy.getLocalPort()))))
          .isEqualTo("files service cannot start: cannot listen on 127.0.0.1:" + busy.getLocalPort()
              + ": address already in use (check http.port and http.host)");
    }
  }

  static String process(String what, Map<String, String> env) throws Exception {
    Map<String, Object> settings = TestNode.settings(Map.of());
    DATABASES.add((String) settings.get("test.db_name"));
    Path err = Files.createTempFile("files-start", ".err");
    Path out = Files.createTempFile("files-start", ".out");
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    ProcessBuilder pb = new ProcessBuilder(NodeProcess.command("-cp", classpath, "dev.files.Main")).redirectError(err.toFile()).redirectOutput(out.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("FILES_") && !k.startsWith("FILES_TEST_"));
    settings.forEach((k, v) -> pb.environment().put(FilesConfig.envName(k), String.valueOf(v)));
    pb.environment().putAll(env);
    long t0 = System.nanoTime();
    Process p = pb.start();
    boolean exited = p.waitFor(60, TimeUnit.SECONDS);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    if (!exited) {
      p.destroyForcibly();
    }
    List<String> lines = Files.readAllLines(err);
    REPORT.add(String.format("failed start | %s | %s | %.1f s (JVM start included), exit %s", what,
        String.join(" / ", lines), ms / 1000.0, exited ? p.exitValue() : "none"));
    Files.delete(err);
    Files.delete(out);
    assertThat(exited).as(what + " exited").isTrue();
    assertThat(p.exitValue()).isEqualTo(1);
    assertThat(lines).hasSize(1);
    assertThat(ms).as(what + " took " + ms + " ms").isLessThan(PROCESS_LIMIT_MS);
    return lines.get(0);
  }

}

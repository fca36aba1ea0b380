package dev.files.support;

import dev.files.FilesConfig;
import dev.files.Node;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A real node for tests: its own PostgreSQL database (created on the server of {@link #PG}, dropped
 * by {@link #close()}), its own storage directory, a free port, and the test JWT secret.
 */
public final class TestNode implements AutoCloseable {

  /** The PostgreSQL server tests use: FILES_TEST_PG_URL, else the machine's 127.0.0.1:5432. */
  public static final String PG = System.getenv().getOrDefault("FILES_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432");
  public static final String SECRET = "test-secret-0123456789-0123456789";
  /** The master key (key-encryption key) of test nodes, base64 of 32 bytes, and its id. */
  public static final String MASTER_KEY = "qFbyAsTpPNpCSbwDKsXfR+eHSBvAn7lqMBZ1cJN5fU8=";
  public static final String MASTER_KEY_ID = "test-1";

  public final Node node;
  public final String dbName;
  public final Path storage;
  public final int port;
  public final Map<String, Object> settings;

  private TestNode(Node node, String dbName, Path storage, int port, Map<String, Object> settings) {
    this.node = node;
    this.dbName = dbName;
    this.storage = storage;
    this.port = port;
    this.settings = settings;
  }

  /** Starts a node; {@code overrides} are dotted configuration keys. */
  public static TestNode start(Map<String, ?> overrides) throws Exception {
    return startWith(settings(overrides));
  }

  /** Starts a node on complete settings, as {@link #settings} gives them ({@code test.*} keys included). */
  public static TestNode startWith(Map<String, Object> settings) throws Exception {
    Node node = Node.start(FilesConfig.load(Map.of(), nodeSettings(settings))).await(300, TimeUnit.SECONDS);
    return new TestNode(node, (String) settings.get("test.db_name"), Path.of((String) settings.get("storage.local.path")),
        ((Number) settings.get("http.port")).intValue(), settings);
  }

  /** The configuration a test node gets: fresh database, directory and port, then the overrides. */
  public static Map<String, Object> settings(Map<String, ?> overrides) throws IOException {
    String db = "files_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Path storage = Files.createTempDirectory("files-test-storage");
    Map<String, Object> s = new HashMap<>();
    s.put("db.url", PG + "/" + db);
    s.put("test.db_name", db);
    s.put("storage.local.path", storage.toString());
    s.put("http.host", "127.0.0.1");
    s.put("http.port", freePort());
    s.put("auth.jwt.secret", SECRET);
    s.put("encryption.master_key", MASTER_KEY);
    s.put("encryption.master_key_id", MASTER_KEY_ID);
    s.putAll(overrides);
    return s;
  }

  /** The settings without the test's own ({@code test.*}, not configuration keys). */
  public static Map<String, Object> nodeSettings(Map<String, Object> settings) {
    Map<String, Object> s = new HashMap<>(settings);
    s.keySet().removeIf(k -> k.startsWith("test."));
    return s;
  }

  /**
   * A port free now, from 10000–19999: below the kernel's ephemeral range (32768–60999 here), so that
   * an outgoing connection cannot take it before a node (or a node restarted minutes later) binds it;
   * reserved for this JVM ({@link PortReservations}), so that a test suite run beside this one never
   * gets it too.
   */
  public static int freePort() throws IOException {
    java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
    for (int i = 0; i < 1000; i++) {
      int port = 10000 + random.nextInt(10000);
      if (PortReservations.reserve(port)) {
        return port;
      }
    }
    throw new IOException("no free port between 10000 and 19999 after 1000 tries");
  }

  /**
   * The first of two consecutive ports free on 127.0.0.1, below Linux's ephemeral range (32768 on), so that no
   * outgoing connection of another process takes one before the node binds it; both reserved for this
   * JVM ({@link PortReservations}).
   */
  public static int twoFreePorts() throws IOException {
    return ProjectCopy.freePortBlock(2);
  }

  /** Base URL of the API: {@code http://127.0.0.1:<port>/internal/services/files/v1}. */
  public String api() {
    return "http://127.0.0.1:" + port + "/internal/services/files/v1";
  }

  /**
   * How long a node may take to stop: a clustered one leaves Hazelcast, which took over 30 s on a
   * loaded 2-core machine (load average 18, three suites side by side).
   */
  public static final Duration STOP = Duration.ofSeconds(120);

  /** Stops the node, keeping its database and storage (to start another node on them). */
  public void stop() throws Exception {
    node.close().await(STOP.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() throws Exception {
    node.close().await(STOP.toMillis(), TimeUnit.MILLISECONDS);
    Db.drop(dbName);
    Files.walk(storage).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
  }

  /** Signs a token with the test secret. */
  public static String token(JsonObject claims, int ttlSeconds) {
    Vertx vertx = Vertx.vertx();
    try {
      return JWTAuth.create(vertx, new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(SECRET)))
          .generateToken(claims, new JWTOptions().setExpiresInSeconds(ttlSeconds));
    } finally {
      vertx.close();
    }
  }

  /** A user token of {@code user} for {@code companies}. */
  public static String userToken(UUID user, UUID... companies) {
    JsonArray list = new JsonArray();
    for (UUID c : companies) {
      list.add(c.toString());
    }
    return token(new JsonObject().put("sub", user.toString()).put("companies", list), 3600);
  }

  /** An application token ({@code application_id} = {@code sub} = app) for {@code companies}. */
  public static String appToken(UUID app, UUID... companies) {
    JsonArray list = new JsonArray();
    for (UUID c : companies) {
      list.add(c.toString());
    }
    return token(new JsonObject().put("sub", app.toString()).put("application_id", app.toString()).put("companies", list), 3600);
  }
}

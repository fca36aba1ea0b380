package dev.files;

import dev.files.cluster.SessionOwners;
import dev.files.auth.Membership;
import dev.files.bus.InternalBus;
import dev.files.events.Outbox;
import dev.files.ops.ServiceMetrics;
import dev.files.auth.TokenVerifier;
import dev.files.db.FileRepository;
import dev.files.http.HttpVerticle;
import dev.files.crypto.DataKeys;
import dev.files.storage.IoExecutor;
import dev.files.crypto.EncryptedObjects;
import dev.files.storage.local.LocalObjectStore;
import dev.files.support.Api;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import dev.files.upload.SessionSettings;
import dev.files.upload.UploadSessions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP edge with a PostgreSQL that does not answer (a pool pointed at a closed port): health is
 * 503 DOWN, and requests get 503 with a message, never a hang or a 500.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DatabaseDownTest {

  Vertx vertx;
  int port;
  int dbPort;
  Path storage;
  Api api;

  @BeforeAll
  void start() throws Exception {
    vertx = Vertx.vertx();
    port = TestNode.freePort();
    storage = Files.createTempDirectory("files-db-down");
    dbPort = TestNode.freePort();
    Pool pool = PgBuilder.pool().connectingTo(new PgConnectOptions().setHost("127.0.0.1").setPort(dbPort)
        .setUser("postgres").setDatabase("nothing")).using(vertx).build();
    FileRepository files = new FileRepository(pool);
    IoExecutor io = new IoExecutor(vertx, 2);
    EncryptedObjects store = new EncryptedObjects(vertx, io, new LocalObjectStore(vertx, io, storage, false));
    FilesConfig config = FilesConfig.load(Map.of(), Map.of("auth.jwt.secret", TestNode.SECRET));
    DataKeys keys = DataKeys.create(TestNode.MASTER_KEY, TestNode.MASTER_KEY_ID, "", false);
    InternalBus bus = InternalBus.create(TestNode.MASTER_KEY, "");
    HttpVerticle.Services services = new HttpVerticle.Services(files, store, keys,
        new UploadSessions(vertx, files, store, keys, new SessionSettings(60_000, 5_000, 60_000, 60_000, 60_000),
            Integer.MAX_VALUE, SessionOwners.alone(vertx, pool, 3000), 1500, ServiceMetrics.NONE, bus, new Outbox(vertx, bus)),
        TokenVerifier.create(vertx, config),
        new Membership(files), null, HttpVerticle.Settings.of("127.0.0.1", port, 1 << 20, 1 << 20, 10_000),
        ServiceMetrics.NONE, bus);
    vertx.deployVerticle(new HttpVerticle(services)).await(10, TimeUnit.SECONDS);
    api = new Api("http://127.0.0.1:" + port + "/internal/services/files/v1");
  }

  @AfterAll
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
    Tree.walk(storage).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
  }

  @Test
  void healthIsDown() throws Exception {
    HttpResponse<String> r = api.get("http://127.0.0.1:" + port + "/health", null);
    assertThat(r.statusCode()).isEqualTo(503);
    JsonObject body = new JsonObject(r.body());
    assertThat(body.getString("status")).isEqualTo("DOWN");
    assertThat(body.getString("message")).startsWith("database: ");
  }

  @Test
  void requestsNeedingTheDatabaseAre503WithAMessage() throws Exception {
    UUID company = UUID.randomUUID();
    // the membership lookup needs the database: a token without a companies claim
    String token = TestNode.token(new JsonObject().put("sub", UUID.randomUUID().toString()), 600);
    HttpResponse<String> r = api.get(api.file(company, UUID.randomUUID()), token);
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(new JsonObject(r.body()).getString("message")).startsWith("database unavailable");

    String member = TestNode.userToken(UUID.randomUUID(), company);
    HttpResponse<String> up = api.upload(company, member, "x.txt", "text/plain", "hello".getBytes());
    assertThat(up.statusCode()).as(up.body()).isEqualTo(503);
    assertThat(new JsonObject(up.body()).getString("message")).isNotBlank();
    try (var s = Tree.walk(storage)) {
      assertThat(s.filter(Files::isRegularFile).toList()).as("no object left behind").isEmpty();
    }
  }

  @Test
  void anOutageNamesNeitherHostNorPortAndCarriesTheRequestId() throws Exception {
    UUID company = UUID.randomUUID();
    String token = TestNode.token(new JsonObject().put("sub", UUID.randomUUID().toString()), 600);
    HttpResponse<String> r = api.get(api.file(company, UUID.randomUUID()), token);
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.headers().firstValue("Retry-After")).hasValueSatisfying(v -> assertThat(Integer.parseInt(v)).isPositive());
    String id = r.headers().firstValue("X-Request-Id").orElseThrow();
    JsonObject body = new JsonObject(r.body());
    assertThat(body.getString("request_id")).isEqualTo(id);
    assertThat(r.body()).doesNotContain("127.0.0.1").doesNotContain(Integer.toString(dbPort)).doesNotContain("/")
        .doesNotContain("Exception").doesNotContain("refused");

    HttpResponse<String> health = api.get("http://127.0.0.1:" + port + "/health", null);
    assertThat(health.body()).doesNotContain("127.0.0.1").doesNotContain(Integer.toString(dbPort));

    String member = TestNode.userToken(UUID.randomUUID(), company);
    HttpResponse<String> up = api.upload(company, member, "x.txt", "text/plain", "hello".getBytes());
    assertThat(up.statusCode()).isEqualTo(503);
    assertThat(up.body()).doesNotContain("127.0.0.1").doesNotContain(Integer.toString(dbPort)).doesNotContain("refused");
    assertThat(new JsonObject(up.body()).getString("request_id")).isEqualTo(up.headers().firstValue("X-Request-Id").orElseThrow());
  }
}

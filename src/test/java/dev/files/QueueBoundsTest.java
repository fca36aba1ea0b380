package dev.files;

import dev.files.support.Api;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.Eventually;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every queue has a bound (configured tiny here): the storage threads' queue
 * ({@code storage.io_queue}), the PostgreSQL pool's wait queue ({@code db.wait_queue}) and an upload
 * session's mailbox ({@code upload.session_queue}). Beyond it a request gets 503 JSON with
 * {@code Retry-After}, and nothing of it is kept (no object, no row).
 */
class QueueBoundsTest {

  private final UUID company = UUID.randomUUID();
  private final String token = TestNode.userToken(UUID.randomUUID(), company);

  private static List<Path> objects(TestNode n) throws Exception {
    try (var s = Tree.walk(n.storage)) {
      return s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
    }
  }

  private static void assertOverloaded(HttpResponse<?> r, String body, String messagePart) {
    assertThat(r.statusCode()).as(body).isEqualTo(503);
    assertThat(r.headers().firstValue("Retry-After")).as("Retry-After").hasValueSatisfying(v ->
        assertThat(Integer.parseInt(v)).isBetween(1, 60));
    JsonObject json = new JsonObject(body);
    assertThat(json.getString("message")).contains(messagePart);
    assertThat(json.getString("request_id")).isEqualTo(r.headers().firstValue("X-Request-Id").orElseThrow());
  }

  private static String jdbc(String db) {
    return "jdbc:postgresql://" + TestNode.PG.replaceFirst("^postgresql://([^@]*@)?", "") + "/" + db + "?user=postgres";
  }

  @Test
  void aFullStorageQueueRefusesNewWorkWith503() throws Exception {
    try (TestNode n = TestNode.start(Map.of("storage.io_threads", 1, "storage.io_queue", 1))) {
      Api api = new Api(n);
      byte[] kept = "uploaded before the overload".getBytes(StandardCharsets.UTF_8);
      UUID file = UUID.fromString(Api.resource(api.upload(company, token, "kept.txt", "text/plain", kept)).getString("id"));
      List<Path> before = objects(n);
      long rows = Db.count(n.dbName, "SELECT count(*) FROM files");

      CountDownLatch running = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      n.node.io().execute(() -> { // the only storage thread is busy ...
        running.countDown();
        try {
          release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
      n.node.io().execute(() -> { }); // ... and one task waits: the queue is full
      try {
        assertThat(storageQueue(api, n)).as("files_storage_queue").isEqualTo(1.0);
        HttpResponse<String> up = api.upload(company, token, "refused.txt", "text/plain", "x".repeat(5000).getBytes());
        assertOverloaded(up, up.body(), "storage is busy");
        HttpResponse<byte[]> down = api.download(company, file, token);
        assertOverloaded(down, new String(down.body(), StandardCharsets.UTF_8), "storage is busy");
        assertThat(objects(n)).isEqualTo(before);
        assertThat(Db.count(n.dbName, "SELECT count(*) FROM files")).isEqualTo(rows);
      } finally {
        release.countDown();
      }
      Eventually.eventually(Duration.ofSeconds(30), () -> assertThat(storageQueue(api, n)).as("files_storage_queue").isZero());
      assertThat(api.download(company, file, token).body()).isEqualTo(kept);
      // busy is transient: once the queue has room again (the download's last tasks may still hold
      // the one place for a moment), an upload is taken
      Eventually.eventually(Duration.ofSeconds(30), () ->
          assertThat(api.upload(company, token, "later.txt", "text/plain", new byte[]{1, 2}).statusCode()).isEqualTo(200));
    }
  }

  @Test
  void aFullDatabaseWaitQueueIs503AndTheUploadLeavesNothing() throws Exception {
    try (TestNode n = TestNode.start(Map.of("db.pool_size", 1, "db.wait_queue", 1))) {
      Api api = new Api(n);
      UUID file = UUID.fromString(Api.resource(api.upload(company, token, "a.txt", "text/plain", new byte[]{7})).getString("id"));
      List<Path> before = objects(n);
      var pool = n.node.files().pool();
      SqlConnection held = pool.getConnection().await(30, TimeUnit.SECONDS); // the pool's only connection
      Future<SqlConnection> waiting = pool.getConnection();                  // the one place in its wait queue
      try {
        HttpResponse<String> get = api.get(api.file(company, file), token);
        assertOverloaded(get, get.body(), "database busy");
        assertThat(get.body()).doesNotContain("127.0.0.1").doesNotContain("5432");

        HttpResponse<String> up = api.upload(company, token, "refused.bin", null, new byte[20_000]);
        assertThat(up.statusCode()).as(up.body()).isEqualTo(503);
        assertThat(up.headers().firstValue("Retry-After")).isPresent();
        Eventually.eventually(Duration.ofSeconds(60), () -> assertThat(objects(n)).isEqualTo(before));
        assertThat(Db.count(n.dbName, "SELECT count(*) FROM files")).isEqualTo(1);
        assertThat(Db.count(n.dbName, "SELECT count(*) FROM chunks")).isEqualTo(1);
      } finally {
        held.close().await(10, TimeUnit.SECONDS);
        waiting.await(30, TimeUnit.SECONDS).close();
      }
      assertThat(api.get(api.file(company, file), token).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void aFullSessionMailboxIs503AndTheRefusedChunkIsNotKept() throws Exception {
    try (TestNode n = TestNode.start(Map.of("upload.session_queue", 1))) {
      Api api = new Api(n);
      Chunks chunks = new Chunks(api, company, token);
      byte[] content = new byte[2 * 40_000];
      new Random(10).nextBytes(content);
      byte[] one = java.util.Arrays.copyOfRange(content, 0, 40_000);
      byte[] two = java.util.Arrays.copyOfRange(content, 40_000, content.length);
      UUID file = UUID.fromString(chunks.init("total_chunks=2&total_size=" + content.length).getString("id"));

      CompletableFuture<HttpResponse<String>> first;
      try (Connection c = DriverManager.getConnection(jdbc(n.dbName))) {
        c.setAutoCommit(false);
        try (PreparedStatement lock = c.prepareStatement("SELECT id FROM files WHERE id = ? FOR UPDATE")) {
          lock.setObject(1, file);
          lock.executeQuery().close(); // the session's transaction for chunk 1 will wait for this row
        }
        Api.Multipart form = new Api.Multipart().filename("blob");
        first = Api.CLIENT.sendAsync(api.request(api.file(company, file) + "?" + Chunks.query(1, 2, content.length), token)
            .header("Content-Type", form.contentType()).POST(form.body(one)).build(), HttpResponse.BodyHandlers.ofString());
        // chunk 1 is in its session's hands once the session waits for the row lock
        Eventually.eventually(Duration.ofSeconds(60), () -> assertThat(Db.count(n.dbName,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
            .isPositive());

        HttpResponse<String> second = chunks.send(file, Chunks.query(2, 2, content.length), two);
        assertOverloaded(second, second.body(), "requests waiting");
        // only chunk 1's object stays: chunk 2's was removed with the refusal
        Eventually.eventually(Duration.ofSeconds(60), () -> assertThat(objects(n)).hasSize(1));
        c.rollback();
      }
      HttpResponse<String> r1 = first.get(60, TimeUnit.SECONDS);
      assertThat(r1.statusCode()).as(r1.body()).isEqualTo(200);
      assertThat(Db.count(n.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(1);
      assertThat(objects(n)).hasSize(1);

      HttpResponse<String> again = chunks.send(file, Chunks.query(2, 2, content.length), two);
      assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
      assertThat(api.download(company, file, token).body()).isEqualTo(content);
    }
  }

  /** The node's gauge {@code files_storage_queue} as {@code GET /metrics} shows it (fails when absent). */
  private static double storageQueue(Api api, TestNode n) throws Exception {
    HttpResponse<String> r = api.get("http://127.0.0.1:" + n.port + "/metrics", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).as("/metrics").containsPattern("(?m)^files_storage_queue ");
    return OperabilityTest.metric(r.body(), "files_storage_queue");
  }
}

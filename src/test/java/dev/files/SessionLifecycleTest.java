package dev.files;

import dev.files.support.Api;
import dev.files.support.Samples;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Upload sessions' lifecycle: a session undeployed mid-upload is replaced and the upload completes, sessions
 * stop after completion and when idle, and the sweep removes abandoned uploads (never complete files).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SessionLifecycleTest {

  static final int CHUNK = 64 * 1024;
  static final int EXPIRE_MS = 1000;

  TestNode node;
  TestNode sweeper; // abandons uploads untouched for EXPIRE_MS, looks every 300 ms
  final UUID company = UUID.randomUUID();
  final UUID user = UUID.randomUUID();
  final UUID app = UUID.randomUUID();
  String userToken;
  String appToken;
  final Random random = new Random(23);

  @BeforeAll
  void start() throws Exception {
    node = TestNode.start(Map.of());
    sweeper = TestNode.start(Map.of("upload.expire_after_ms", EXPIRE_MS, "upload.sweep_interval_ms", 300,
        "upload.orphan_scan_interval_ms", 300));
    userToken = TestNode.userToken(user, company);
    appToken = TestNode.appToken(app, company);
  }

  @AfterAll
  void stop() throws Exception {
    node.close();
    sweeper.close();
  }

  // ---------------------------------------------------------------- helpers

  /** Initialises a chunked upload of {@code size} bytes in {@code total} chunks; returns the file id. */
  private UUID init(TestNode n, long size, int total) throws Exception {
    return UUID.fromString(new Chunks(new Api(n), company, userToken)
        .init("filename=s.bin&total_chunks=" + total + "&total_size=" + size).getString("id"));
  }

  /** Sends chunk {@code i} (0-based index into {@code parts}) of {@code content}; asserts 200, returns the resource. */
  private JsonObject send(TestNode n, UUID file, byte[] content, List<long[]> parts, int i, String token) throws Exception {
    Api api = new Api(n);
    HttpResponse<String> r = api.post(api.file(company, file) + "?chunk_number=" + (i + 1) + "&total_chunks=" + parts.size()
        + "&total_size=" + content.length, token, new Api.Multipart().filename("blob"), Chunks.slice(content, parts.get(i)));
    assertThat(r.statusCode()).as("chunk " + (i + 1) + ": " + r.body()).isEqualTo(200);
    return Api.resource(r);
  }

  private void assertComplete(TestNode n, UUID file, byte[] content, int chunks) throws Exception {
    new Chunks(new Api(n), company, userToken).assertComplete(file, content, chunks, n.dbName);
    assertThat(objects(n, file)).hasSize(chunks);
  }

  private static long rows(TestNode n, String sql, UUID file) throws Exception {
    return Db.count(n.dbName, sql.replace("?", "'" + file + "'"));
  }

  private static Path dir(TestNode n, UUID file) {
    String id = file.toString();
    return n.storage.resolve(id.substring(0, 2)).resolve(id);
  }

  /** The objects (files, {@code .part} included) in the file's storage directory. */
  private static Set<Path> objects(TestNode n, UUID file) throws IOException {
    if (!Files.isDirectory(dir(n, file))) {
      return Set.of();
    }
    try (var s = Files.list(dir(n, file))) {
      return s.filter(Files::isRegularFile).collect(Collectors.toSet());
    }
  }

  /** Whether the session {@code deploymentId} is still deployed on the node's Vert.x. */
  private static boolean deployed(TestNode n, String deploymentId) {
    return n.node.vertx().deploymentIDs().contains(deploymentId);
  }

  // ---------------------------------------------------------------- sessions come and go

  @Test
  void uploadCompletesAfterItsSessionWasUndeployedMidway() throws Exception {
    byte[] content = Samples.random(random, 6 * CHUNK + 77);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    assertThat(parts).hasSize(6);
    UUID file = init(node, content.length, 6);
    for (int i = 0; i < 3; i++) {
      send(node, file, content, parts, i, userToken);
    }
    String first = node.node.sessions().deploymentOf(file);
    assertThat(first).as("session after 3 chunks").isNotNull();
    node.node.vertx().undeploy(first).await(10, TimeUnit.SECONDS);
    assertThat(deployed(node, first)).isFalse();

    JsonObject afterFour = send(node, file, content, parts, 3, userToken);
    assertThat(afterFour.getString("upload_status")).isEqualTo("pending");
    assertThat(afterFour.getJsonObject("upload_data"))
        .isEqualTo(new JsonObject().put("size", 4L * CHUNK).put("chunks", 6));
    String second = node.node.sessions().deploymentOf(file);
    assertThat(second).as("a new session").isNotNull().isNotEqualTo(first);
    assertThat(deployed(node, second)).isTrue();

    send(node, file, content, parts, 4, userToken);
    assertThat(send(node, file, content, parts, 5, userToken).getString("upload_status")).isEqualTo("complete");
    assertComplete(node, file, content, 6);
  }

  @Test
  void sessionStopsItselfAfterCompletion() throws Exception {
    byte[] content = Samples.random(random, 2 * CHUNK);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    UUID file = init(node, content.length, 2);
    send(node, file, content, parts, 0, userToken);
    String session = node.node.sessions().deploymentOf(file);
    assertThat(session).as("session of the pending upload (idle time is 10 min)").isNotNull();

    send(node, file, content, parts, 1, userToken);
    eventually(Duration.ofSeconds(60), () -> {
      assertThat(node.node.sessions().deploymentOf(file)).isNull();
      assertThat(deployed(node, session)).isFalse();
    });
    assertComplete(node, file, content, 2);
  }

  @Test
  void aReSendToACompleteFileEndsItsSessionAndItsOwnerRowAtOnce() throws Exception {
    byte[] content = Samples.random(random, 2 * CHUNK);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    UUID file = init(node, content.length, 2);
    send(node, file, content, parts, 0, userToken);
    assertThat(send(node, file, content, parts, 1, userToken).getString("upload_status")).isEqualTo("complete");
    eventually(Duration.ofSeconds(60), () -> assertThat(node.node.sessions().deploymentOf(file)).isNull());

    // a client that lost the answer sends chunk 2 again: the same bytes, the file as it stands
    JsonObject again = send(node, file, content, parts, 1, userToken);
    assertThat(again.getString("upload_status")).isEqualTo("complete");
    eventually(Duration.ofSeconds(60), () -> {
      assertThat(node.node.sessions().deploymentOf(file)).as("session after the re-send").isNull();
      assertThat(Db.count(node.dbName, "SELECT count(*) FROM upload_sessions WHERE file_id = '" + file + "'"))
          .as("owner row after the re-send").isZero();
    });
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(2);
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM retired_chunks WHERE file_id = '" + file + "'"))
        .as("the re-sent copy, retired").isEqualTo(1);
    assertThat(Api.sha256(new Api(node).download(company, file, userToken).body())).isEqualTo(Api.sha256(content));
  }

  @Test
  void sessionStopsItselfWhenIdle() throws Exception {
    long idleMs = 300;
    try (TestNode idle = TestNode.start(Map.of("upload.session_idle_ms", idleMs))) {
      byte[] content = Samples.random(random, 3 * CHUNK + 1);
      List<long[]> parts = Chunks.split(content.length, CHUNK);
      UUID file = init(idle, content.length, 3);
      send(idle, file, content, parts, 0, userToken);
      long answered = System.nanoTime();
      String session = idle.node.sessions().deploymentOf(file);
      assertThat(session).as("session right after a chunk").isNotNull();

      eventually(Duration.ofSeconds(5), () -> {
        assertThat(idle.node.sessions().deploymentOf(file)).isNull();
        assertThat(deployed(idle, session)).isFalse();
      });
      long stoppedAfterMs = (System.nanoTime() - answered) / 1_000_000;
      assertThat(stoppedAfterMs).as("stopped after ~idle time, not at once").isGreaterThanOrEqualTo(idleMs / 2);

      send(idle, file, content, parts, 1, userToken); // a new session takes over
      send(idle, file, content, parts, 2, userToken);
      assertComplete(idle, file, content, 3);
    }
  }

  // ---------------------------------------------------------------- the sweep of abandoned uploads

  @Test
  void abandonedUploadIsRemovedWithItsChunksAndStrayObjects() throws Exception {
    byte[] content = Samples.random(random, 4 * CHUNK);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    UUID file = init(sweeper, content.length, 4);
    send(sweeper, file, content, parts, 0, userToken);
    send(sweeper, file, content, parts, 1, userToken);
    assertThat(objects(sweeper, file)).hasSize(2);
    assertThat(rows(sweeper, "SELECT count(*) FROM chunks WHERE file_id = ?", file)).isEqualTo(2);

    Path stray = dir(sweeper, file).resolve(UUID.randomUUID() + ".chunk.part"); // an interrupted write
    Files.write(stray, Samples.random(random, 1000));
    Files.setLastModifiedTime(stray, FileTime.fromMillis(System.currentTimeMillis() - 3_600_000));

    Api api = new Api(sweeper);
    eventually(Duration.ofSeconds(60), () -> {
      HttpResponse<String> r = api.get(api.file(company, file), userToken);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(404);
      assertThat(new JsonObject(r.body()).getInteger("statusCode")).isEqualTo(404);
      assertThat(rows(sweeper, "SELECT count(*) FROM files WHERE id = ?", file)).isZero();
      assertThat(rows(sweeper, "SELECT count(*) FROM chunks WHERE file_id = ?", file)).isZero();
      assertThat(objects(sweeper, file)).as("chunk objects and the stray .part").isEmpty();
    });
    assertThat(stray).doesNotExist();
  }

  @Test
  void strayObjectsOfACompleteFileAreRemovedByTheStoreScanAndYoungOnesKept() throws Exception {
    Api api = new Api(sweeper);
    byte[] whole = Samples.random(random, 50_000);
    UUID file = UUID.fromString(Api.resource(api.upload(company, userToken, "s.bin", "application/octet-stream", whole))
        .getString("id"));
    Path old = dir(sweeper, file).resolve(UUID.randomUUID() + ".chunk"); // e.g. a commit that timed out
    Files.write(old, Samples.random(random, 500));
    // older than the orphan age (http.body_timeout_ms + 2 × upload.commit_timeout_ms: 61 min by default)
    Files.setLastModifiedTime(old, FileTime.fromMillis(System.currentTimeMillis() - 2 * 3_600_000));
    Path young = dir(sweeper, file).resolve(UUID.randomUUID() + ".chunk.part"); // an upload in progress
    Files.write(young, Samples.random(random, 500));
    eventually(Duration.ofSeconds(60), () -> assertThat(old).doesNotExist());
    assertThat(young).exists();
    Files.delete(young);
    assertComplete(sweeper, file, whole, 1);
  }

  @Test
  void completeFilesAreNeverSwept() throws Exception {
    Api api = new Api(sweeper);
    byte[] whole = Samples.random(random, 100_000);
    HttpResponse<String> up = api.upload(company, userToken, "w.bin", "application/octet-stream", whole);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    UUID classic = UUID.fromString(Api.resource(up).getString("id"));
    byte[] content = Samples.random(random, 2 * CHUNK + 3);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    UUID chunked = init(sweeper, content.length, 2);
    send(sweeper, chunked, content, parts, 0, userToken);
    send(sweeper, chunked, content, parts, 1, userToken);

    Thread.sleep(EXPIRE_MS * 3); // both are now older than the expiry; several sweeps ran

    assertComplete(sweeper, classic, whole, 1);
    assertComplete(sweeper, chunked, content, 2);
  }

  @Test
  void abandonedOverwriteIsDroppedAndTheLiveContentKept() throws Exception {
    Api api = new Api(sweeper);
    byte[] live = Samples.random(random, 2 * CHUNK + 5);
    List<long[]> liveParts = Chunks.split(live.length, CHUNK);
    UUID file = init(sweeper, live.length, 2);
    send(sweeper, file, live, liveParts, 0, userToken);
    send(sweeper, file, live, liveParts, 1, userToken);
    JsonObject before = Api.resource(api.get(api.file(company, file), userToken));

    byte[] fresh = Samples.random(random, 3 * CHUNK);
    List<long[]> freshParts = Chunks.split(fresh.length, CHUNK);
    send(sweeper, file, fresh, freshParts, 0, appToken); // an overwrite by an application, then nothing
    assertThat(rows(sweeper, "SELECT count(*) FROM files WHERE id = ? AND upload_generation IS NOT NULL", file)).isEqualTo(1);
    assertThat(rows(sweeper, "SELECT count(*) FROM chunks WHERE file_id = ?", file)).isEqualTo(3);
    assertThat(objects(sweeper, file)).hasSize(3);

    eventually(Duration.ofSeconds(60), () -> {
      assertThat(rows(sweeper, "SELECT count(*) FROM files WHERE id = ? AND upload_generation IS NOT NULL", file)).isZero();
      assertThat(objects(sweeper, file)).as("the pending chunk's object").hasSize(2);
    });
    JsonObject after = Api.resource(api.get(api.file(company, file), userToken));
    assertThat(after.getString("upload_status")).isEqualTo("complete");
    assertThat(after.getJsonObject("upload_data")).isEqualTo(before.getJsonObject("upload_data"));
    assertThat(after.getJsonObject("metadata")).isEqualTo(before.getJsonObject("metadata"));
    assertComplete(sweeper, file, live, 2);
  }
}

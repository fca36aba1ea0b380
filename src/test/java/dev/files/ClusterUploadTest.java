package dev.files;

import dev.files.support.Logs;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.files.support.Api;
import dev.files.support.TestCluster;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import dev.files.upload.UploadSessionVerticle;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Three clustered nodes in one JVM on one database and one S3 bucket (S3Proxy), each with its own
 * local directory: no bytes are shared but through the bucket. One upload
 * session per file in the cluster (owner row with an epoch in PostgreSQL), whichever node a chunk
 * reaches; two nodes racing to start a session end with one owner; a session whose epoch was taken
 * over changes nothing, stops, and its question is answered by the new owner.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterUploadTest {

  static final int CHUNK = 64 * 1024;

  List<TestNode> nodes;
  TestCluster cluster;
  final UUID company = UUID.randomUUID();
  final String token = TestNode.userToken(UUID.randomUUID(), company);
  final Random random = new Random(11);
  final ExecutorService pool = Executors.newFixedThreadPool(6);

  @BeforeAll
  void start() throws Exception {
    cluster = TestCluster.configureOnS3("files-upload", 3, Map.of()); // one database, one bucket
    nodes = cluster.startInJvm().nodes();
  }

  @AfterAll
  void stop() throws Exception {
    pool.shutdownNow();
    if (cluster != null) {
      cluster.close();
    }
  }

  private String db() {
    return nodes.get(0).dbName;
  }

  private long taken() {
    return nodes.stream().mapToLong(n -> n.node.sessions().owners().taken()).sum();
  }

  private static String id(TestNode n) {
    return n.node.sessions().owners().nodeId();
  }

  private UUID init(TestNode n, long size, int total) throws Exception {
    return UUID.fromString(new Chunks(new Api(n), company, token)
        .init("filename=c.bin&total_chunks=" + total + "&total_size=" + size).getString("id"));
  }

  private HttpResponse<String> send(TestNode n, UUID file, byte[] content, List<long[]> parts, int i) throws Exception {
    Api api = new Api(n);
    return api.post(api.file(company, file) + "?" + Chunks.query(i + 1, parts.size(), content.length), token,
        new Api.Multipart().filename("blob"), Chunks.slice(content, parts.get(i)));
  }

  private void assertDownloads(UUID file, byte[] content) throws Exception {
    for (TestNode n : nodes) {
      HttpResponse<byte[]> down = new Api(n).download(company, file, token);
      assertThat(down.statusCode()).as("download through node " + n.port).isEqualTo(200);
      assertThat(Api.sha256(down.body())).as("download through node " + n.port).isEqualTo(Api.sha256(content));
    }
  }

  @Test
  void chunksSentRoundRobinToThreeNodesGoToOneSession() throws Exception {
    byte[] content = Samples.random(random, 24 * CHUNK + 1234);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    assertThat(parts).hasSize(24);
    UUID file = init(nodes.get(0), content.length, 24);
    long before = taken();
    List<Callable<HttpResponse<String>>> sends = new ArrayList<>();
    for (int i = 0; i < parts.size(); i++) {
      int c = i;
      sends.add(() -> send(nodes.get(c % 3), file, content, parts, c));
    }
    for (Future<HttpResponse<String>> f : pool.invokeAll(sends)) { // 6 at a time
      assertThat(f.get().statusCode()).as(f.get().body()).isEqualTo(200);
    }
    assertThat(taken() - before).as("sessions taken in the cluster for the 24 chunks").isEqualTo(1);
    assertThat(Db.count(db(), "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(24);
    assertThat(Db.count(db(), "SELECT count(*) FROM files WHERE id = '" + file + "' AND upload_generation IS NULL"
        + " AND generation IS NOT NULL AND size = " + content.length)).as("complete").isEqualTo(1);
    // the session stopped after completion and removed its owner row
    eventually(Duration.ofSeconds(60), () -> {
      assertThat(Db.count(db(), "SELECT count(*) FROM upload_sessions WHERE file_id = '" + file + "'")).isZero();
      assertThat(nodes).allSatisfy(n -> assertThat(n.node.sessions().deploymentOf(file)).isNull());
    });
    assertDownloads(file, content);
    // every chunk is an object of its own in the bucket, and nothing of it on a node's disk
    try (var objects = Tree.walk(cluster.bucketDir())) {
      assertThat(objects.filter(Files::isRegularFile).filter(f -> f.toString().contains(file.toString()))).hasSize(24);
    }
    for (TestNode n : nodes) {
      Path local = Path.of(String.valueOf(n.settings.get("storage.local.path")));
      if (Files.exists(local)) {
        try (var files = Tree.walk(local)) {
          assertThat(files.filter(f -> f.toString().contains(file.toString()))).isEmpty();
        }
      }
    }
  }

  @Test
  void twoNodesRacingToStartASessionEndWithOneOwner() throws Exception {
    for (int round = 0; round < 20; round++) {
      TestNode a = nodes.get(round % 3);
      TestNode b = nodes.get((round + 1) % 3);
      byte[] content = Samples.random(random, 3 * CHUNK);
      List<long[]> parts = Chunks.split(content.length, CHUNK);
      UUID file = init(a, content.length, 3);
      long before = taken();
      List<Future<HttpResponse<String>>> both = pool.invokeAll(List.of(
          () -> send(a, file, content, parts, 0), () -> send(b, file, content, parts, 1)));
      for (Future<HttpResponse<String>> f : both) {
        assertThat(f.get().statusCode()).as(f.get().body()).isEqualTo(200);
      }
      assertThat(taken() - before).as("round %d: sessions taken", round).isEqualTo(1);
      List<TestNode> running = nodes.stream().filter(n -> n.node.sessions().deploymentOf(file) != null).toList();
      assertThat(running).as("round %d: nodes running the session", round).hasSize(1);
      assertThat(Db.strings(db(), "SELECT owner_node FROM upload_sessions WHERE file_id = '" + file + "'"))
          .containsExactly(id(running.get(0)));
      assertThat(Db.count(db(), "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(2);

      HttpResponse<String> last = send(nodes.get((round + 2) % 3), file, content, parts, 2);
      assertThat(last.statusCode()).as(last.body()).isEqualTo(200);
      assertThat(Api.resource(last).getString("upload_status")).isEqualTo("complete");
      if (round % 5 == 0) {
        assertDownloads(file, content);
      }
    }
  }

  @Test
  void aSessionWhoseEpochWasTakenOverChangesNothingStopsAndTheNewOwnerAnswers() throws Exception {
    TestNode a = nodes.get(0);
    TestNode b = nodes.get(1);
    byte[] content = Samples.random(random, 4 * CHUNK + 5);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    UUID file = init(a, content.length, 4);
    assertThat(send(a, file, content, parts, 0).statusCode()).isEqualTo(200);
    String first = a.node.sessions().deploymentOf(file);
    assertThat(first).as("node A runs the session").isNotNull();
    long epochA = Db.count(db(), "SELECT epoch FROM upload_sessions WHERE file_id = '" + file + "'");
    assertThat(Db.strings(db(), "SELECT owner_node FROM upload_sessions WHERE file_id = '" + file + "'"))
        .containsExactly(id(a));

    // B takes the session over (as it would from a node it believes gone): a new owner and epoch
    Db.execute(db(), "UPDATE upload_sessions SET owner_node = '" + id(b) + "', epoch = nextval('session_epochs')"
        + " WHERE file_id = '" + file + "'");
    String updatedBefore = Db.strings(db(), "SELECT updated_at::text FROM files WHERE id = '" + file + "'").get(0);

    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    Logger sessionLog = (Logger) LoggerFactory.getLogger(UploadSessionVerticle.class);
    sessionLog.addAppender(logs);
    try {
      long takenByA = a.node.sessions().owners().taken();
      HttpResponse<String> second = send(a, file, content, parts, 1); // A still believes it owns the session
      assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
      assertThat(Api.resource(second).getJsonObject("upload_data").getLong("size")).isEqualTo(2L * CHUNK);
      assertThat(Logs.snapshot(logs).stream().map(ILoggingEvent::getFormattedMessage))
          .contains("upload session of file " + file + " (epoch " + epochA + ") was taken over by another node: it stops");
      eventually(Duration.ofSeconds(60), () -> {
        assertThat(a.node.sessions().deploymentOf(file)).as("A's session stopped").isNull();
        assertThat(a.node.vertx().deploymentIDs()).doesNotContain(first);
      });
      assertThat(a.node.sessions().owners().taken()).as("A did not take the session back").isEqualTo(takenByA);
      assertThat(b.node.sessions().deploymentOf(file)).as("B runs the session").isNotNull();
      assertThat(Db.strings(db(), "SELECT owner_node FROM upload_sessions WHERE file_id = '" + file + "'"))
          .containsExactly(id(b));
      assertThat(Db.count(db(), "SELECT epoch FROM upload_sessions WHERE file_id = '" + file + "'")).isGreaterThan(epochA);
      // the chunk was recorded once, by B: its row carries the commit, the file moved on
      assertThat(Db.count(db(), "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(2);
      assertThat(Db.strings(db(), "SELECT updated_at::text FROM files WHERE id = '" + file + "'").get(0))
          .isNotEqualTo(updatedBefore);
    } finally {
      sessionLog.detachAppender(logs);
    }
    for (int i = 2; i < 4; i++) {
      HttpResponse<String> r = send(nodes.get(i % 3), file, content, parts, i);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    assertDownloads(file, content);
  }

  /**
   * Thumbnails once per file: {@code files.thumbnails} is a send (one worker per message); when workers of
   * several nodes were asked for the same file anyway (the sweep of each node asks again for thumbnails still
   * waiting), only the first records them and the others remove the objects they made.
   */
  @Test
  void thumbnailsAskedOfThreeWorkersAreRecordedOnce() throws Exception {
    byte[] png = Samples.image("png", 320, 240);
    Api api = new Api(nodes.get(0));
    HttpResponse<String> up = api.post(api.files(company) + "?thumbnail_sync=1", token,
        new Api.Multipart().filename("t.png").partType("image/png"), png);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    UUID file = UUID.fromString(Api.resource(up).getString("id"));
    long generation = Db.count(db(), "SELECT generation FROM files WHERE id = '" + file + "'");
    assertThat(Db.strings(db(), "SELECT thumbnails_status FROM files WHERE id = '" + file + "'")).containsExactly("done");

    // two workers racing to record the same generation: the second changes nothing
    Db.execute(db(), "DELETE FROM thumbnails WHERE file_id = '" + file + "'");
    Db.execute(db(), "UPDATE files SET thumbnails = '[]', thumbnails_status = 'waiting' WHERE id = '" + file + "'");
    var row = new dev.files.db.FileRepository.ThumbnailRow(0, "test/" + UUID.randomUUID() + ".thumb", "image/png", 10, 4, 3);
    var other = new dev.files.db.FileRepository.ThumbnailRow(0, "test/" + UUID.randomUUID() + ".thumb", "image/png", 11, 4, 3);
    assertThat(nodes.get(1).node.files().recordThumbnails(file, (int) generation, "done", new io.vertx.core.json.JsonArray(),
        List.of(row), c -> io.vertx.core.Future.succeededFuture()).await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(nodes.get(2).node.files().recordThumbnails(file, (int) generation, "done", new io.vertx.core.json.JsonArray(),
        List.of(other), c -> io.vertx.core.Future.succeededFuture()).await(10, java.util.concurrent.TimeUnit.SECONDS)).isFalse();
    assertThat(Db.strings(db(), "SELECT storage_key FROM thumbnails WHERE file_id = '" + file + "'"))
        .containsExactly(row.storageKey());

    // asked again of the workers of all three nodes at once: made and recorded, one row
    Db.execute(db(), "DELETE FROM thumbnails WHERE file_id = '" + file + "'");
    Db.execute(db(), "UPDATE files SET thumbnails = '[]', thumbnails_status = 'waiting' WHERE id = '" + file + "'");
    JsonObject job = new JsonObject().put("file_id", file.toString()).put("generation", generation);
    for (TestNode n : nodes) {
      n.node.vertx().eventBus().send(dev.files.bus.Addresses.THUMBNAILS, job,
          n.node.bus().options()); // as a node asks
    }
    eventually(Duration.ofSeconds(30), () -> {
      assertThat(Db.strings(db(), "SELECT thumbnails_status FROM files WHERE id = '" + file + "'")).containsExactly("done");
      assertThat(Db.count(db(), "SELECT count(*) FROM thumbnails WHERE file_id = '" + file + "'")).isEqualTo(1);
    });
    HttpResponse<byte[]> thumb = Api.CLIENT.send(api.request(api.file(company, file) + "/thumbnails/0", token).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(thumb.statusCode()).isEqualTo(200);
    assertThat(thumb.body()).isNotEmpty();
  }
}

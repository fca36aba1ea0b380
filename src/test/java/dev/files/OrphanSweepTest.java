package dev.files;

import dev.files.support.Api;
import dev.files.support.TestCluster;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An object stored by a node that was killed (SIGKILL) before its chunk was recorded is an orphan:
 * the survivor's sweep removes it once it is older than the orphan age (here
 * {@code http.body_timeout_ms} 3 s + 2 × {@code upload.commit_timeout_ms} 3 s = 9 s), never before,
 * while the objects of the file's recorded chunks stay. Two clustered node processes on one database
 * and one storage directory.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OrphanSweepTest {

  static final int CHUNK = 64 * 1024;
  static final long ORPHAN_AGE_MS = 3000 + 3000 + 3000;

  final UUID company = UUID.randomUUID();
  final String token = TestNode.userToken(UUID.randomUUID(), company);
  final Random random = new Random(7);
  TestCluster cluster;

  @BeforeAll
  void start() throws Exception {
    cluster = TestCluster.configure("files-orphans", 2, Map.of("thumbnails.workers", 0,
        "http.body_timeout_ms", 3000, "upload.commit_timeout_ms", 3000, "upload.sweep_interval_ms", 300,
        "upload.orphan_scan_interval_ms", 300));
    cluster.startProcesses();
  }

  @AfterAll
  void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  private List<Path> objectsOf(UUID file) throws Exception {
    try (var s = Tree.walk(cluster.storage())) {
      return s.filter(Files::isRegularFile).filter(p -> p.toString().contains(file.toString()))
          .filter(p -> !p.getFileName().toString().startsWith(".")).toList();
    }
  }

  private HttpResponse<String> send(int i, UUID file, byte[] content, List<long[]> parts, int c) throws Exception {
    Api api = cluster.api(i);
    return api.post(api.file(company, file) + "?" + Chunks.query(c + 1, parts.size(), content.length), token,
        new Api.Multipart().filename("blob"), Chunks.slice(content, parts.get(c)));
  }

  @Test
  void theObjectOfANodeKilledBeforeItsCommitIsRemovedByTheSurvivorAndRecordedOnesStay() throws Exception {
    byte[] content = Samples.random(random, 3 * CHUNK);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    UUID file = UUID.fromString(new Chunks(cluster.api(0), company, token)
        .init("filename=o.bin&total_chunks=3&total_size=" + content.length).getString("id"));
    for (int c = 0; c < 2; c++) {
      HttpResponse<String> r = send(0, file, content, parts, c);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    List<String> recorded = Db.strings(cluster.db(), "SELECT storage_key FROM chunks WHERE file_id = '" + file + "'");
    assertThat(recorded).hasSize(2);

    Path orphan;
    try (Connection c = Db.connect(cluster.db())) {
      c.setAutoCommit(false);
      try (PreparedStatement lock = c.prepareStatement("SELECT id FROM files WHERE id = ? FOR UPDATE")) {
        lock.setObject(1, file);
        lock.executeQuery().close(); // chunk 3's commit waits for this row: its object is stored, not recorded
      }
      Api api = cluster.api(0);
      Api.Multipart form = new Api.Multipart().filename("blob");
      CompletableFuture<HttpResponse<String>> third = Api.CLIENT.sendAsync(api.request(api.file(company, file) + "?"
              + Chunks.query(3, 3, content.length), token).header("Content-Type", form.contentType())
          .POST(form.body(Chunks.slice(content, parts.get(2)))).build(), HttpResponse.BodyHandlers.ofString());
      eventually(Duration.ofSeconds(60), () -> assertThat(Db.count(cluster.db(),
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
          .isPositive());
      List<Path> stored = objectsOf(file);
      assertThat(stored).hasSize(3);
      orphan = stored.stream().filter(p -> recorded.stream().noneMatch(k -> p.toString().endsWith(k.substring(k.lastIndexOf('/') + 1))))
          .findFirst().orElseThrow();

      cluster.kill(0); // SIGKILL mid-commit
      assertThat(cluster.awaitExit(0, 10)).isTrue();
      assertThat(third).failsWithin(Duration.ofSeconds(30)); // the connection went with the process
      c.rollback();
    }
    assertThat(Db.count(cluster.db(), "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).as("nothing recorded").isEqualTo(2);
    long storedAt = Files.getLastModifiedTime(orphan).toMillis();

    // never before the orphan age; then within a few sweeps of the survivor
    while (System.currentTimeMillis() < storedAt + ORPHAN_AGE_MS - 1000) {
      assertThat(orphan).as("an object younger than the orphan age").exists();
      Thread.sleep(200);
    }
    eventually(Duration.ofSeconds(60), () -> assertThat(orphan).doesNotExist());
    assertThat(objectsOf(file)).as("the recorded chunks' objects").hasSize(2);
    assertThat(cluster.log(1)).contains("removing 1 stored object(s) that no row refers to");

    HttpResponse<String> last = send(1, file, content, parts, 2);
    assertThat(last.statusCode()).as(last.body()).isEqualTo(200);
    assertThat(Api.resource(last).getString("upload_status")).isEqualTo("complete");
    HttpResponse<byte[]> down = cluster.api(1).download(company, file, token);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));
  }
}

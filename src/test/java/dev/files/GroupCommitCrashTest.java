package dev.files;

import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.Samples;
import dev.files.support.TestCluster;
import dev.files.support.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Group commit (README, {@code upload.group_commit_max}, on by default) loses no answered file when
 * the node is killed (SIGKILL) while new files are being committed together: a node process takes
 * classic uploads from 16 clients at once, is killed in the middle, and is started again on the same
 * database and storage; every upload that was answered 200 before the kill reads back byte-exact
 * (SHA-256), with one row, one chunk row and one {@code file.uploaded} event. Answered files shared
 * transactions (fewer distinct {@code xmin} than files), so the kill met groups in flight.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GroupCommitCrashTest {

  private static final int CLIENTS = 16;
  /** Answered uploads before the kill. */
  private static final int BEFORE_KILL = 150;

  private final UUID company = UUID.randomUUID();
  private final String token = TestNode.userToken(UUID.randomUUID(), company);
  private TestCluster cluster;

  private record Answered(UUID id, String sha256, int size) {
  }

  @AfterAll
  void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void noAnsweredFileIsLostWhenTheNodeIsKilledWhileGroupsCommit() throws Exception {
    cluster = TestCluster.configure("files-gc-crash", 1, Map.of("thumbnails.workers", 0));
    cluster.start(0);
    Api api = cluster.api(0);
    List<Answered> answered = new CopyOnWriteArrayList<>();
    AtomicBoolean sending = new AtomicBoolean(true);
    ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
    for (int c = 0; c < CLIENTS; c++) {
      int client = c;
      clients.submit(() -> {
        Random random = new Random(client);
        for (int i = 0; sending.get(); i++) {
          byte[] content = Samples.random(random, 16 * 1024 + random.nextInt(1024));
          try {
            HttpResponse<String> up = api.upload(company, token, "c" + client + "-" + i + ".bin",
                "application/octet-stream", content);
            if (up.statusCode() == 200) { // answered: it must survive the kill
              answered.add(new Answered(UUID.fromString(Api.resource(up).getString("id")), Api.sha256(content),
                  content.length));
            }
          } catch (Exception cut) {
            // the node died under this request: not answered, nothing to check
          }
        }
        return null;
      });
    }
    try {
      eventually(Duration.ofMinutes(3), () -> assertThat(answered.size()).isGreaterThanOrEqualTo(BEFORE_KILL));
      cluster.kill(0); // SIGKILL, while the clients keep sending
      assertThat(cluster.awaitExit(0, 30)).isTrue();
    } finally {
      sending.set(false);
      clients.shutdown();
      assertThat(clients.awaitTermination(2, TimeUnit.MINUTES)).isTrue();
    }
    List<Answered> before = new ArrayList<>(answered);

    cluster.start(0);
    for (Answered a : before) {
      HttpResponse<byte[]> down = api.download(company, a.id(), token);
      assertThat(down.statusCode()).as("download of answered file %s", a.id()).isEqualTo(200);
      assertThat(Api.sha256(down.body())).isEqualTo(a.sha256());
      assertThat(down.body()).hasSize(a.size());
      assertThat(Db.count(cluster.db(), "SELECT count(*) FROM chunks WHERE file_id = '" + a.id() + "'")).isEqualTo(1);
      assertThat(Db.strings(cluster.db(), "SELECT type FROM event_outbox WHERE file_id = '" + a.id() + "'"))
          .containsExactly("file.uploaded");
    }
    String ids = String.join(",", before.stream().map(a -> "'" + a.id() + "'").toList());
    assertThat(Db.count(cluster.db(), "SELECT count(*) FROM files WHERE id IN (" + ids + ")")).isEqualTo(before.size());
    assertThat(Db.count(cluster.db(), "SELECT count(DISTINCT xmin::text) FROM files WHERE id IN (" + ids + ")"))
        .as("transactions of %d answered files", before.size()).isLessThan(before.size());
  }
}

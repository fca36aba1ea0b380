package dev.files;

import dev.files.support.Api;
import dev.files.support.TestCluster;
import dev.files.support.Db;
import dev.files.support.TestNode;
import dev.files.thumbnail.TestPdfs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two clustered nodes, each in its own JVM and each making thumbnails one at a time: files whose
 * thumbnails take seconds are uploaded, and the node holding some of their jobs (one running, more
 * queued) is killed with SIGKILL. The survivor makes every thumbnail within seconds, not at the sweep
 * ({@code thumbnails.retry_after_ms}, 2 minutes, and the sweep's interval, 1 minute, here unchanged).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ThumbnailFailoverTest {

  final UUID company = UUID.randomUUID();
  final String token = TestNode.userToken(UUID.randomUUID(), company);
  TestCluster cluster;

  @BeforeAll
  void start() throws Exception {
    cluster = TestCluster.configure("files-thumbs", 2, Map.of("thumbnails.workers", 1, "thumbnails.concurrency", 1,
        // the survivor renders the six pages one after another: on a loaded machine each may take
        // several seconds, and none may end at the deadline (an error, not a thumbnail)
        "thumbnails.timeout_ms", 180_000));
    cluster.startProcesses();
    cluster.awaitMembers(2);
  }

  @AfterAll
  void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void theJobsOfAKilledNodeAreMadeByTheSurvivorWithinSeconds() throws Exception {
    // a page of 80,000 operators: a second or so of rendering each on a busy machine
    byte[] slow = TestPdfs.manyOperators(80_000);
    List<UUID> files = new ArrayList<>();
    for (int n = 0; n < 6; n++) {
      HttpResponse<String> r = cluster.api(1).post(cluster.api(1).files(company), token,
          new Api.Multipart().filename("slow-" + n + ".pdf").partType("application/pdf"), slow);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      files.add(UUID.fromString(Api.resource(r).getString("id")));
    }
    // a job that was on its way to node 0 when it died, never claimed there: a file left waiting with no
    // claim (a text file: its job decides "none" at once)
    HttpResponse<String> text = cluster.api(1).post(cluster.api(1).files(company), token,
        new Api.Multipart().filename("lost.txt").partType("text/plain"), "no picture".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(text.statusCode()).as(text.body()).isEqualTo(200);
    UUID lost = UUID.fromString(Api.resource(text).getString("id"));
    Db.execute(cluster.db(), "UPDATE files SET thumbnails_status = 'waiting', thumbnail_node = NULL WHERE id = '" + lost + "'");
    // node 0 runs one of them and has at least one more waiting in its queue
    eventually(Duration.ofSeconds(30), () -> assertThat(OperabilityTest.metric(
        cluster.api(0).get(cluster.base(0) + "/metrics", null).body(), "files_thumbnail_queue")).isGreaterThanOrEqualTo(1.0));
    cluster.kill(0); // SIGKILL
    long t0 = System.nanoTime();
    assertThat(cluster.awaitExit(0, 10)).isTrue();
    eventually(Duration.ofSeconds(20), () -> assertThat(cluster.log(1))
        .contains("left the cluster: asking again for the"));
    long pickedUp = (System.nanoTime() - t0) / 1_000_000;
    eventually(Duration.ofSeconds(30), () -> assertThat(Db.strings(cluster.db(),
        "SELECT thumbnails_status FROM files WHERE id = '" + lost + "'")).as("the job nobody had claimed").containsExactly("none"));
    String in = String.join("','", files.stream().map(UUID::toString).toList());
    // the survivor takes the jobs the killed node had claimed and those nobody had claimed yet (one on
    // its way to the killed node when it died)
    eventually(Duration.ofSeconds(120), () -> assertThat(Db.count(cluster.db(),
        "SELECT count(*) FROM files WHERE thumbnails_status = 'done' AND id IN ('" + in + "')")).isEqualTo(files.size()));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("thumbnails of a node killed with its jobs: picked up " + pickedUp + " ms after the kill, all "
        + files.size() + " done after " + ms + " ms");
    assertThat(pickedUp).as("ms from SIGKILL until the survivor took the jobs over").isLessThan(10_000);
    assertThat(Db.count(cluster.db(), "SELECT count(*) FROM thumbnails WHERE file_id IN ('" + in + "')")).isEqualTo(files.size());
  }
}

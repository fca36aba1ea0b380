package dev.files;

import dev.files.support.Api;
import dev.files.support.TestCluster;
import dev.files.support.Db;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpRequest;
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
import java.util.stream.Stream;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * tus across a cluster: three clustered nodes in one JVM on one database and one S3 bucket
 * (S3Proxy). An upload created on node A takes PATCHes alternating between B and C and HEADs on A;
 * PATCHes racing at one offset on B and C leave one chunk; tus-js-client resumes on B an upload it began on
 * A; every node downloads the file byte-exact.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TusClusterTest {

  static final int MIB = 1024 * 1024;

  List<TestNode> nodes;
  TestCluster cluster;
  final UUID company = UUID.randomUUID();
  final String token = TestNode.userToken(UUID.randomUUID(), company);
  final Random random = new Random(31);
  final ExecutorService pool = Executors.newFixedThreadPool(4);

  @BeforeAll
  void start() throws Exception {
    cluster = TestCluster.configureOnS3("files-tus", 3, Map.of()); // one database, one bucket
    nodes = cluster.startInJvm().nodes();
  }

  @AfterAll
  void stop() throws Exception {
    pool.shutdownNow();
    if (cluster != null) {
      cluster.close();
    }
  }

  private String base(int node) {
    return "http://127.0.0.1:" + nodes.get(node).port;
  }

  private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    return Api.CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpRequest.Builder tus(String url) {
    return new Api(nodes.get(0)).request(url, token).header("Tus-Resumable", "1.0.0");
  }

  private HttpResponse<String> patch(int node, String location, long offset, byte[] body) throws Exception {
    return send(tus(base(node) + location).header("Upload-Offset", Long.toString(offset))
        .header("Content-Type", "application/offset+octet-stream")
        .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  private String offset(int node, String location) throws Exception {
    return send(tus(base(node) + location).method("HEAD", HttpRequest.BodyPublishers.noBody()))
        .headers().firstValue("Upload-Offset").orElseThrow();
  }

  private long bucketObjects(UUID file) throws Exception {
    for (int attempt = 0; ; attempt++) {
      try (Stream<Path> s = Tree.walk(cluster.bucketDir())) {
        return s.filter(Files::isRegularFile).filter(p -> p.toString().contains(file.toString())).count();
      } catch (java.io.UncheckedIOException e) { // a directory removed while walked
        if (attempt > 20) {
          throw e;
        }
      }
    }
  }

  @Test
  void createdOnOneNodePatchedOnTheOthers() throws Exception {
    byte[] content = Samples.random(random, 4 * MIB + 999);
    HttpResponse<String> c = send(tus(base(0) + "/internal/services/files/v1/companies/" + company + "/uploads")
        .header("Upload-Length", Integer.toString(content.length)).POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
    String location = c.headers().firstValue("Location").orElseThrow();
    UUID file = UUID.fromString(location.substring(location.lastIndexOf('/') + 1));

    // the first MiB raced by B and C at offset 0: one wins, the other is 409 and leaves nothing
    byte[] onB = java.util.Arrays.copyOfRange(content, 0, MIB);
    byte[] onC = Samples.random(random, MIB);
    List<Callable<HttpResponse<String>>> race = List.of(() -> patch(1, location, 0, onB), () -> patch(2, location, 0, onC));
    List<Integer> statuses = new ArrayList<>();
    for (Future<HttpResponse<String>> f : pool.invokeAll(race)) {
      statuses.add(f.get().statusCode());
    }
    assertThat(statuses).containsExactlyInAnyOrder(204, 409);
    boolean bWon = statuses.get(0) == 204;
    if (!bWon) { // C's bytes are stored: start the content over from C's first MiB
      System.arraycopy(onC, 0, content, 0, MIB);
    }
    assertThat(offset(0, location)).isEqualTo(Integer.toString(MIB));
    eventually(Duration.ofSeconds(30), () -> assertThat(bucketObjects(file)).isEqualTo(1));

    // the rest alternating between B and C, HEAD on A after each
    long at = MIB;
    for (int i = 0; at < content.length; i++) {
      int end = (int) Math.min(content.length, at + MIB);
      HttpResponse<String> p = patch(1 + i % 2, location, at, java.util.Arrays.copyOfRange(content, (int) at, end));
      assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
      at = end;
      assertThat(offset(0, location)).isEqualTo(Long.toString(at));
    }
    assertThat(Db.count(nodes.get(0).dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(5);
    for (TestNode n : nodes) {
      HttpResponse<byte[]> down = new Api(n).download(company, file, token);
      assertThat(down.statusCode()).isEqualTo(200);
      assertThat(Api.sha256(down.body())).as("download through node " + n.port).isEqualTo(Api.sha256(content));
    }
  }

  /**
   * Concatenation in the cluster on S3: partial uploads created on A and B and PATCHed on the other
   * nodes, the final upload made on C (its transaction locks the partials' rows, whatever node runs
   * their sessions); every node downloads it byte-exact; the bucket holds the same objects.
   */
  @Test
  void partialsOnSomeNodesFinalOnAnother() throws Exception {
    byte[] content = Samples.random(random, 2 * MIB + 4321);
    String uploads = "/internal/services/files/v1/companies/" + company + "/uploads";
    List<String> partials = new ArrayList<>();
    int[] cut = {0, MIB + 17, content.length};
    for (int i = 0; i < 2; i++) {
      byte[] part = java.util.Arrays.copyOfRange(content, cut[i], cut[i + 1]);
      HttpResponse<String> c = send(tus(base(i) + uploads).header("Upload-Length", Integer.toString(part.length))
          .header("Upload-Concat", "partial").POST(HttpRequest.BodyPublishers.noBody()));
      assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
      String location = c.headers().firstValue("Location").orElseThrow();
      HttpResponse<String> p = patch(i + 1, location, 0, part);
      assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
      partials.add(location);
    }
    List<UUID> ids = partials.stream().map(l -> UUID.fromString(l.substring(l.lastIndexOf('/') + 1))).toList();
    eventually(Duration.ofSeconds(30), () -> assertThat(bucketObjects(ids.get(0)) + bucketObjects(ids.get(1))).isEqualTo(2));

    HttpResponse<String> f = send(tus(base(2) + uploads).header("Upload-Concat", "final;" + String.join(" ", partials))
        .POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(f.statusCode()).as(f.body()).isEqualTo(201);
    String location = f.headers().firstValue("Location").orElseThrow();
    UUID file = UUID.fromString(location.substring(location.lastIndexOf('/') + 1));
    for (TestNode n : nodes) {
      HttpResponse<byte[]> down = new Api(n).download(company, file, token);
      assertThat(down.statusCode()).isEqualTo(200);
      assertThat(Api.sha256(down.body())).as("download through node " + n.port).isEqualTo(Api.sha256(content));
    }
    assertThat(bucketObjects(ids.get(0)) + bucketObjects(ids.get(1))).isEqualTo(2); // none copied, none deleted
    assertThat(bucketObjects(file)).isZero();
    assertThat(send(tus(base(0) + partials.get(0)).method("HEAD", HttpRequest.BodyPublishers.noBody())).statusCode())
        .isEqualTo(404);
  }

  /**
   * The unmodified tus-js-client (src/test/js, installed by {@code scripts/test} with {@code npm ci})
   * creates an upload on node A, stops after its first 1 MiB PATCH, and resumes it on node B (its
   * upload URL with B's origin): B's HEAD reports what A stored, only the rest is sent, and every node
   * downloads the file byte-exact. Skipped without Node or the installed client.
   */
  @Test
  void tusJsClientResumesOnAnotherNode() throws Exception {
    Path js = Path.of("src/test/js");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(js.resolve("node_modules/tus-js-client")),
        "tus-js-client is not installed (scripts/test runs npm ci in src/test/js)");
    byte[] content = new byte[3 * MIB + 4321];
    random.nextBytes(content);
    Path file = Files.createTempFile("tus-js", ".bin");
    Path out = Files.createTempFile("tus-js", ".out");
    Path err = Files.createTempFile("tus-js", ".err");
    try {
      Files.write(file, content);
      ProcessBuilder pb = new ProcessBuilder("node", "tus-client.js", "move",
          base(0) + "/internal/services/files/v1/companies/" + company + "/uploads", token, file.toString())
          .directory(js.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
      pb.environment().put("RESUME_ORIGIN", base(1));
      Process p = pb.start();
      try {
        assertThat(p.waitFor(5, java.util.concurrent.TimeUnit.MINUTES)).as("tus-client.js move finished").isTrue();
        assertThat(p.exitValue()).as(Files.readString(err)).isZero();
      } finally {
        p.destroyForcibly();
      }
      io.vertx.core.json.JsonObject report = new io.vertx.core.json.JsonObject(Files.readString(out).strip());
      String url = report.getString("url");
      assertThat(url).startsWith(base(0) + "/");
      assertThat(report.getString("movedTo")).startsWith(base(1) + "/");
      List<io.vertx.core.json.JsonObject> resumed = report.getJsonArray("resumed").stream()
          .map(o -> (io.vertx.core.json.JsonObject) o).toList();
      assertThat(resumed.get(0).getString("method")).isEqualTo("HEAD");
      assertThat(resumed.get(0).getInteger("status")).isEqualTo(200);
      List<io.vertx.core.json.JsonObject> patches = resumed.stream().filter(r -> "PATCH".equals(r.getString("method"))).toList();
      assertThat(Long.parseLong(patches.get(0).getString("offset"))).as("node B resumes where node A stopped")
          .isGreaterThanOrEqualTo(MIB);
      assertThat(patches).allSatisfy(r -> assertThat(r.getInteger("status")).isEqualTo(204));
      UUID id = UUID.fromString(url.substring(url.lastIndexOf('/') + 1));
      for (TestNode n : nodes) {
        new Api(n).assertComplete(company, id, token, "tus-js.bin", content);
      }
    } finally {
      Files.deleteIfExists(file);
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}

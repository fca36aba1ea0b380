package dev.files;

import dev.files.support.Api;
import dev.files.support.Samples;
import dev.files.support.NodeTest;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Chunked uploads through the upload session (docs/api.md, "POST /companies/C/files/F — a chunk, or a whole file"): any order, in parallel,
 * re-sent, the remainder in the last chunk, and every request that must be refused.
 */
class ChunkedUploadTest extends NodeTest {

  static final int CHUNK = 64 * 1024;

  Chunks chunks;
  ExecutorService pool = Executors.newFixedThreadPool(8);
  final Random random = new Random(7);

  @BeforeAll
  void start() throws Exception {
    chunks = new Chunks(api, company, token);
  }

  @AfterAll
  void stop() throws Exception {
    pool.shutdownNow();
  }

  private void assertComplete(UUID file, byte[] content, int chunkCount) throws Exception {
    chunks.assertComplete(file, content, chunkCount, node.dbName);
  }

  /** Sends the chunks in {@code order} (indexes into the split), one request after another. */
  private UUID upload(byte[] content, int chunkSize, List<Integer> order) throws Exception {
    List<long[]> parts = Chunks.split(content.length, chunkSize);
    UUID file = UUID.fromString(chunks.init("filename=c.bin&total_size=" + content.length).getString("id"));
    for (int i : order) {
      HttpResponse<String> r = chunks.send(file, Chunks.query(i + 1, parts.size(), content.length), Chunks.slice(content, parts.get(i)));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    return file;
  }

  private static List<Integer> range(int n) {
    List<Integer> l = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      l.add(i);
    }
    return l;
  }

  @Test
  void inOrder() throws Exception {
    byte[] content = Samples.random(random, 10 * CHUNK + 123);
    assertComplete(upload(content, CHUNK, range(10)), content, 10);
  }

  @Test
  void reversed() throws Exception {
    byte[] content = Samples.random(random, 7 * CHUNK);
    List<Integer> order = range(7);
    Collections.reverse(order);
    assertComplete(upload(content, CHUNK, order), content, 7);
  }

  @Test
  void shuffledWithEachChunkResentOnceAtRandom() throws Exception {
    byte[] content = Samples.random(random, 9 * CHUNK + 5);
    List<Integer> order = range(9);
    Collections.shuffle(order, random);
    List<Integer> withRepeats = new ArrayList<>(order);
    for (int i : range(9)) { // every chunk once more, at a random place before the last send
      withRepeats.add(random.nextInt(withRepeats.size()), i);
    }
    assertComplete(upload(content, CHUNK, withRepeats), content, 9);
  }

  @RepeatedTest(20)
  void eightInParallelOnSeparateConnections() throws Exception {
    byte[] content = Samples.random(random, 24 * CHUNK + 999);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    UUID file = UUID.fromString(chunks.init("filename=p.bin&total_size=" + content.length).getString("id"));
    List<Integer> order = range(parts.size());
    Collections.shuffle(order, random);
    order.add(order.get(random.nextInt(order.size()))); // the same chunk twice, concurrently with the rest
    order.add(random.nextInt(order.size() - 1), order.get(0));
    List<Callable<Integer>> sends = new ArrayList<>();
    for (int i : order) {
      sends.add(() -> {
        Api fresh = new Api(node); // java.net.http keeps connections; parallel sends use several
        return fresh.post(fresh.file(company, file) + "?" + Chunks.query(i + 1, parts.size(), content.length), token,
            new Api.Multipart().filename("blob"), Chunks.slice(content, parts.get(i))).statusCode();
      });
    }
    for (Future<Integer> f : pool.invokeAll(sends)) {
      assertThat(f.get()).isEqualTo(200);
    }
    assertComplete(file, content, parts.size());
    // each of the two extra copies left one copy retired (a replaced one, or, after completion, the new
    // identical one), its object kept for upload.retire_grace_ms
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM retired_chunks WHERE file_id = '" + file + "'")).isEqualTo(2);
    assertThat(storedObjects(file)).isEqualTo(parts.size() + 2);
  }

  /**
   * Group commit in the session (docs/architecture.md, "The upload session"): the commits of one file
   * that wait together in its mailbox share one transaction. All chunks of a file are sent at once;
   * every one is answered 200 with the file as its own commit left it (exactly one answer completes
   * the upload), the download is byte-exact, and the chunk rows were inserted by fewer transactions
   * than chunks (PostgreSQL's own record: fewer distinct {@code xmin}), as the node's
   * {@code files_session_commit_groups} counts (fewer transactions than commits). Rounds until one
   * shows a shared transaction (one nearly always does), so no timing is assumed.
   */
  @Test
  void chunksOfOneFileSentAtOnceShareSessionTransactions() throws Exception {
    int n = 24;
    ExecutorService many = Executors.newFixedThreadPool(n);
    try {
      long fewest = Long.MAX_VALUE;
      for (int round = 0; round < 10 && fewest >= n; round++) {
        byte[] content = Samples.random(random, n * 16 * 1024 + 77);
        List<long[]> parts = Chunks.split(content.length, 16 * 1024);
        UUID file = UUID.fromString(chunks.init("filename=g.bin&total_size=" + content.length).getString("id"));
        List<Callable<HttpResponse<String>>> sends = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
          int number = i + 1;
          long[] range = parts.get(i);
          sends.add(() -> {
            Api fresh = new Api(node);
            return fresh.post(fresh.file(company, file) + "?" + Chunks.query(number, parts.size(), content.length), token,
                new Api.Multipart().filename("blob"), Chunks.slice(content, range));
          });
        }
        int completing = 0;
        for (Future<HttpResponse<String>> f : many.invokeAll(sends)) {
          HttpResponse<String> r = f.get();
          assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
          completing += "complete".equals(Api.resource(r).getString("upload_status")) ? 1 : 0;
        }
        assertThat(completing).as("answers that completed the upload").isEqualTo(1);
        assertComplete(file, content, parts.size());
        fewest = Math.min(fewest, Db.count(node.dbName,
            "SELECT count(DISTINCT xmin::text) FROM chunks WHERE file_id = '" + file + "'"));
      }
      assertThat(fewest).as("transactions that recorded %d chunks sent at once", n).isLessThan(n);
      String metrics = api.get("http://127.0.0.1:" + node.port + "/metrics", null).body();
      assertThat(OperabilityTest.metric(metrics, "files_session_commit_groups_count"))
          .isLessThan(OperabilityTest.metric(metrics, "files_session_commit_groups_sum"));
    } finally {
      many.shutdownNow();
    }
  }

  @org.junit.jupiter.api.Test
  void aWholeFileIntoAPendingUploadMustAgreeWithTheDeclaredTotals() throws Exception {
    UUID file = UUID.fromString(chunks.init("filename=w.bin&total_chunks=2&total_size=10").getString("id"));
    HttpResponse<String> r = api.post(api.file(company, file), token, new Api.Multipart(), new byte[5]);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(r.body()).getString("message")).contains("total_chunks");
    assertThat(Api.resource(api.get(api.file(company, file), token)).getString("upload_status")).isEqualTo("pending");

    UUID sized = UUID.fromString(chunks.init("filename=w.bin&total_size=5").getString("id"));
    byte[] five = Samples.random(random, 5);
    assertThat(api.post(api.file(company, sized), token, new Api.Multipart(), five).statusCode()).isEqualTo(200);
    assertComplete(sized, five, 1);
  }

  /**
   * Durability of a new file's directory: its first chunk creates {@code <2 hex>/<file id>/} in the
   * local store, whose name is synced in {@code <2 hex>} (and that one's in the root when it is new
   * too) before the chunk is answered, as {@code files_storage_directory_syncs_total{entries="directory"}}
   * counts; the second chunk goes into the same directory and adds only its object's sync.
   */
  @Test
  void aNewFileSyncsItsDirectoryNameOnceAndItsSecondChunkDoesNot() throws Exception {
    byte[] content = Samples.random(random, 2 * CHUNK + 10);
    List<long[]> parts = Chunks.split(content.length, CHUNK + 5);
    UUID file = UUID.fromString(chunks.init("filename=d.bin&total_size=" + content.length).getString("id"));
    java.nio.file.Path hex = node.storage.resolve(file.toString().substring(0, 2));
    boolean hexExisted = Files.isDirectory(hex);
    String before = metrics();
    HttpResponse<String> r = chunks.send(file, Chunks.query(1, 2, content.length), Chunks.slice(content, parts.get(0)));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String first = metrics();
    assertThat(hex.resolve(file.toString())).isDirectory();
    assertThat(directorySyncs(first, "directory") - directorySyncs(before, "directory"))
        .as("names of new directories synced (the <2 hex> directory existed: %s)", hexExisted)
        .isEqualTo(hexExisted ? 1.0 : 2.0);
    assertThat(directorySyncs(first, "object") - directorySyncs(before, "object")).isEqualTo(1.0);
    r = chunks.send(file, Chunks.query(2, 2, content.length), Chunks.slice(content, parts.get(1)));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    String second = metrics();
    assertThat(directorySyncs(second, "directory")).as("no new directory").isEqualTo(directorySyncs(first, "directory"));
    assertThat(directorySyncs(second, "object") - directorySyncs(first, "object")).isEqualTo(1.0);
    assertComplete(file, content, 2);
  }

  private String metrics() throws Exception {
    HttpResponse<String> r = api.get("http://127.0.0.1:" + node.port + "/metrics", null);
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  /** {@code files_storage_directory_syncs_total{entries}} in the Prometheus text (it must be there). */
  private static double directorySyncs(String metrics, String entries) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^files_storage_directory_syncs_total\\{entries=\"" + entries
        + "\"[^}]*\\} ([0-9.eE+-]+)$").matcher(metrics);
    assertThat(m.find()).as("files_storage_directory_syncs_total{entries=\"%s\"} in %s", entries, metrics).isTrue();
    return Double.parseDouble(m.group(1));
  }

  private long storedObjects(UUID file) throws Exception {
    try (var s = Tree.walk(node.storage)) {
      return s.filter(Files::isRegularFile).filter(p -> p.toString().contains(file.toString())).count();
    }
  }
}

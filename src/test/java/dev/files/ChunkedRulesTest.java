package dev.files;

import dev.files.support.Api;
import dev.files.support.NodeTest;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** The rules of chunked uploads in docs/api.md: chunk sizes, missing chunks, refusals, Resumable.js names, the testChunks probe and rights. */
class ChunkedRulesTest extends NodeTest {

  static final int CHUNK = 64 * 1024;

  Chunks chunks;
  final ExecutorService pool = Executors.newFixedThreadPool(5);
  final Random random = new Random(11);

  @BeforeAll
  void start() throws Exception {
    chunks = new Chunks(api, company, token);
  }

  @AfterAll
  void stop() throws Exception {
    pool.shutdownNow();
  }

  // ---------------------------------------------------------------- helpers

  /** What a refused request must leave as it was: the resource, the chunk rows, the stored objects. */
  record Snapshot(JsonObject resource, long chunkRows, long storedObjects) {
  }

  /** A streamed download: status, byte count, SHA-256 of the body, and the body as text when not 200. */
  record Download(int status, long length, String sha256, String body) {
  }

  private UUID init(String query) throws Exception {
    return UUID.fromString(chunks.init(query).getString("id"));
  }

  private HttpResponse<String> send(String as, UUID file, String query, Api.Multipart form, byte[] bytes) throws Exception {
    return api.post(api.file(company, file) + "?" + query, as, form, bytes);
  }

  private HttpResponse<String> send(UUID file, String query, byte[] bytes) throws Exception {
    return send(token, file, query, new Api.Multipart().filename("blob"), bytes);
  }

  private static void assertOk(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  private static void assertError(HttpResponse<String> r, int status, String error) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    JsonObject body = new JsonObject(r.body());
    assertThat(body.getInteger("statusCode")).isEqualTo(status);
    assertThat(body.getString("error")).isEqualTo(error);
    assertThat(body.getString("message")).isNotBlank();
  }

  private JsonObject metadata(UUID file) throws Exception {
    HttpResponse<String> r = api.get(api.file(company, file), token);
    assertOk(r);
    return Api.resource(r);
  }

  private long chunkRows(UUID file) throws Exception {
    return Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'");
  }

  private long storedObjects(UUID file) throws Exception {
    try (var s = Tree.walk(node.storage)) {
      return s.filter(Files::isRegularFile).filter(p -> p.toString().contains(file.toString())).count();
    }
  }

  private Snapshot snapshot(UUID file) throws Exception {
    return new Snapshot(metadata(file), chunkRows(file), storedObjects(file));
  }

  /** The object of a refused chunk is removed asynchronously after the reply: wait up to 60 s for it to go. */
  private Snapshot settledSnapshot(UUID file, Snapshot expected) throws Exception {
    long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    Snapshot now = snapshot(file);
    while (now.storedObjects() != expected.storedObjects() && System.nanoTime() < end) {
      Thread.sleep(100);
      now = snapshot(file);
    }
    return now;
  }

  /** Sends a chunk that must be refused with 400 and must change nothing. */
  private void assertRefused(UUID file, String query, byte[] bytes) throws Exception {
    Snapshot before = snapshot(file);
    HttpResponse<String> r = send(file, query, bytes);
    assertError(r, 400, "Bad Request");
    assertThat(settledSnapshot(file, before)).as("state after refused ?" + query).isEqualTo(before);
  }

  private Download download(UUID file) throws Exception {
    HttpResponse<InputStream> r = Api.CLIENT.send(api.request(api.file(company, file) + "/download", token).GET().build(),
        HttpResponse.BodyHandlers.ofInputStream());
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    long length = 0;
    StringBuilder text = new StringBuilder();
    try (InputStream in = r.body()) {
      byte[] buf = new byte[1 << 20];
      for (int n; (n = in.read(buf)) > 0; ) {
        sha.update(buf, 0, n);
        if (r.statusCode() != 200) {
          text.append(new String(buf, 0, n, java.nio.charset.StandardCharsets.UTF_8));
        }
        length += n;
      }
    }
    return new Download(r.statusCode(), length, HexFormat.of().formatHex(sha.digest()), text.toString());
  }

  private void assertComplete(UUID file, long size, int chunkCount, String sha256) throws Exception {
    JsonObject r = metadata(file);
    assertThat(r.getString("upload_status")).isEqualTo("complete");
    assertThat(r.getJsonObject("upload_data")).isEqualTo(new JsonObject().put("size", size).put("chunks", chunkCount));
    Download d = download(file);
    assertThat(d.status()).isEqualTo(200);
    assertThat(d.length()).isEqualTo(size);
    assertThat(d.sha256()).isEqualTo(sha256);
    assertThat(chunkRows(file)).isEqualTo(chunkCount);
  }

  private void assertPending(UUID file, long storedBytes, int totalChunks) throws Exception {
    JsonObject r = metadata(file);
    assertThat(r.getString("upload_status")).isEqualTo("pending");
    assertThat(r.getJsonObject("upload_data")).isEqualTo(new JsonObject().put("size", storedBytes).put("chunks", totalChunks));
  }

  /** Initialises with total_size, sends every part in order, returns the file. */
  private UUID uploadParts(byte[] content, List<long[]> parts) throws Exception {
    UUID file = init("filename=parts.bin&total_size=" + content.length);
    for (int i = 0; i < parts.size(); i++) {
      assertOk(send(file, Chunks.query(i + 1, parts.size(), content.length), Chunks.slice(content, parts.get(i))));
    }
    return file;
  }

  /** Flow.js {@code forceChunkSize}: every chunk {@code chunkSize} bytes, the last one smaller. */
  private static List<long[]> forcedSplit(long size, long chunkSize) {
    List<long[]> out = new ArrayList<>();
    for (long start = 0; start < size; start += chunkSize) {
      out.add(new long[]{start, Math.min(size, start + chunkSize)});
    }
    return out;
  }

  /** Bytes {@code range} of {@link Samples#pattern} of seed {@code seed}, generated while read. */
  private static InputStream patternSlice(long seed, long[] range) {
    InputStream in = Samples.pattern(range[1], seed);
    try {
      in.skipNBytes(range[0]);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return in;
  }

  private static String patternSha256(long size, long seed) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Samples.pattern(size, seed)) {
      byte[] buf = new byte[1 << 20];
      for (int n; (n = in.read(buf)) > 0; ) {
        sha.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  /** Uploads {@code size} pattern bytes in {@code parts}, streamed (never whole in memory); returns the file. */
  private UUID uploadPattern(long size, long seed, List<long[]> parts) throws Exception {
    UUID file = init("filename=issue.bin&total_size=" + size);
    for (int i = 0; i < parts.size(); i++) {
      long[] range = parts.get(i);
      Api.Multipart form = new Api.Multipart().filename("blob");
      HttpResponse<String> r = Api.CLIENT.send(api.request(api.file(company, file) + "?" + Chunks.query(i + 1, parts.size(), size), token)
          .header("Content-Type", form.contentType())
          .POST(form.body(() -> patternSlice(seed, range), range[1] - range[0])).build(), HttpResponse.BodyHandlers.ofString());
      assertOk(r);
    }
    return file;
  }

  private int probe(UUID file, String param, int n) throws Exception {
    HttpResponse<String> r = api.get(api.file(company, file) + "?" + param + "=" + n, token);
    if (r.statusCode() == 200) {
      assertThat(Api.resource(r).getString("id")).isEqualTo(file.toString());
    } else if (r.statusCode() == 204) {
      assertThat(r.body()).isEmpty();
    } else if (r.statusCode() == 400) {
      assertError(r, 400, "Bad Request");
    }
    return r.statusCode();
  }

  /** The chunk numbers 1..total for which both probe names answer 200 (and they must agree). */
  private List<Integer> probedStored(UUID file, int total) throws Exception {
    List<Integer> stored = new ArrayList<>();
    for (int n = 1; n <= total; n++) {
      int snake = probe(file, "chunk_number", n);
      assertThat(probe(file, "resumableChunkNumber", n)).as("resumableChunkNumber=" + n).isEqualTo(snake);
      assertThat(snake).as("chunk_number=" + n).isIn(200, 204);
      if (snake == 200) {
        stored.add(n);
      }
    }
    return stored;
  }

  private void assertProbeRefusesOutside(UUID file, int total) throws Exception {
    for (String param : List.of("chunk_number", "resumableChunkNumber")) {
      assertThat(probe(file, param, 0)).as(param + "=0").isEqualTo(400);
      assertThat(probe(file, param, total + 1)).as(param + "=" + (total + 1)).isEqualTo(400);
    }
  }

  private static String enc(String name, Object value) {
    return Api.query(name, String.valueOf(value));
  }

  /** The query of a Resumable.js chunk request (the ignored names included, as the library sends them). */
  private static String resumableQuery(int number, int total, long size, long chunkSize, long currentSize, String name, String type) {
    return String.join("&", enc("resumableChunkNumber", number), enc("resumableChunkSize", chunkSize),
        enc("resumableCurrentChunkSize", currentSize), enc("resumableTotalSize", size), enc("resumableType", type),
        enc("resumableIdentifier", size + "-" + name.replaceAll("[^A-Za-z0-9]", "")), enc("resumableFilename", name),
        enc("resumableRelativePath", name), enc("resumableTotalChunks", total));
  }

  // ---------------------------------------------------------------- 1. chunk sizes

  @Test
  void lastChunkSmallerThanTheOthers() throws Exception {
    byte[] content = Samples.random(random, 5 * CHUNK + 1000);
    List<long[]> parts = forcedSplit(content.length, CHUNK);
    assertThat(parts).hasSize(6);
    assertComplete(uploadParts(content, parts), content.length, 6, Api.sha256(content));
  }

  @Test
  void lastChunkLargerThanTheOthers() throws Exception {
    byte[] content = Samples.random(random, 5 * CHUNK + CHUNK - 1);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    assertThat(parts).hasSize(5);
    assertThat(parts.get(4)[1] - parts.get(4)[0]).isEqualTo(2L * CHUNK - 1);
    assertComplete(uploadParts(content, parts), content.length, 5, Api.sha256(content));
  }

  @Test
  void theIssue149999999BytesIn50000000ByteChunksIsTwoChunks() throws Exception {
    long size = 149_999_999L;
    List<long[]> parts = Chunks.split(size, 50_000_000L);
    assertThat(parts).hasSize(2);
    assertThat(parts.get(1)[1] - parts.get(1)[0]).isEqualTo(99_999_999L);
    UUID file = uploadPattern(size, 1499, parts);
    assertComplete(file, size, 2, patternSha256(size, 1499));
  }

  @Test
  void theSameFileWithForcedChunkSizeIsThreeChunksTheLastOneSmaller() throws Exception {
    long size = 149_999_999L;
    List<long[]> parts = forcedSplit(size, 50_000_000L);
    assertThat(parts).hasSize(3);
    UUID file = uploadPattern(size, 1500, parts);
    assertComplete(file, size, 3, patternSha256(size, 1500));
  }

  // ---------------------------------------------------------------- 2. a missing chunk

  @Test
  void aMissingChunkLeavesTheUploadPending() throws Exception {
    byte[] content = Samples.random(random, 6 * CHUNK + 321);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    UUID file = init("filename=missing.bin&total_size=" + content.length);
    long sent = 0;
    for (int i = 0; i < parts.size(); i++) {
      if (i == 3) {
        continue; // chunk 4 never arrives
      }
      assertOk(send(file, Chunks.query(i + 1, parts.size(), content.length), Chunks.slice(content, parts.get(i))));
      sent += parts.get(i)[1] - parts.get(i)[0];
    }
    Download d = download(file);
    assertThat(d.status()).isEqualTo(409);
    JsonObject error = new JsonObject(d.body());
    assertThat(error.getInteger("statusCode")).isEqualTo(409);
    assertThat(error.getString("error")).isEqualTo("Conflict");
    assertPending(file, sent, parts.size());
    assertThat(chunkRows(file)).isEqualTo(parts.size() - 1);
    assertThat(probedStored(file, parts.size())).containsExactly(1, 2, 3, 5, 6);
  }

  // ---------------------------------------------------------------- 3. refusals

  @Test
  void chunkNumbersAndTotalsThatContradictTheInitialisationAreRefused() throws Exception {
    UUID file = init("filename=rules.bin&total_chunks=4&total_size=4000");
    byte[] first = Samples.random(random, 1000);
    assertOk(send(file, Chunks.query(1, 4, 4000), first));
    byte[] chunk = Samples.random(random, 1000);

    assertRefused(file, Chunks.query(0, 4, 4000), chunk);
    assertRefused(file, Chunks.query(5, 4, 4000), chunk);
    assertRefused(file, "chunk_number=5", chunk); // total_chunks only as recorded
    assertRefused(file, "chunk_number=abc&total_chunks=4&total_size=4000", chunk);
    assertRefused(file, Chunks.query(-1, 4, 4000), chunk);
    assertRefused(file, Chunks.query(2, 5, 4000), chunk);
    assertRefused(file, Chunks.query(2, 4, 4001), chunk);
    assertRefused(file, Chunks.query(2, 4, 4000), Samples.random(random, 3001)); // 1000 + 3001 stored bytes > total_size

    assertPending(file, 1000, 4);
    assertThat(chunkRows(file)).isEqualTo(1);
    assertThat(storedObjects(file)).isEqualTo(1);
    for (int n = 2; n <= 4; n++) { // the refusals did not spoil the upload
      assertOk(send(file, Chunks.query(n, 4, 4000), chunk));
    }
    byte[] all = new byte[4000];
    System.arraycopy(first, 0, all, 0, 1000);
    for (int n = 1; n < 4; n++) {
      System.arraycopy(chunk, 0, all, n * 1000, 1000);
    }
    assertComplete(file, 4000, 4, Api.sha256(all));
  }

  @Test
  void allChunksSentButShortOfTotalSizeRefusesTheLastChunkAndKeepsTheOthers() throws Exception {
    UUID file = init("filename=short.bin&total_chunks=2&total_size=1000");
    byte[] first = Samples.random(random, 400);
    assertOk(send(file, Chunks.query(1, 2, 1000), first));

    assertRefused(file, Chunks.query(2, 2, 1000), Samples.random(random, 400)); // 800 of 1000 bytes at completion

    assertPending(file, 400, 2);
    assertThat(chunkRows(file)).isEqualTo(1);
    assertThat(storedObjects(file)).isEqualTo(1);
    assertThat(download(file).status()).isEqualTo(409);
    assertThat(probedStored(file, 2)).containsExactly(1);

    byte[] second = Samples.random(random, 600); // the right last chunk still completes it
    assertOk(send(file, Chunks.query(2, 2, 1000), second));
    byte[] all = new byte[1000];
    System.arraycopy(first, 0, all, 0, 400);
    System.arraycopy(second, 0, all, 400, 600);
    assertComplete(file, 1000, 2, Api.sha256(all));
  }

  // ---------------------------------------------------------------- 4. zero bytes

  @Test
  void aZeroByteFileInOneEmptyChunk() throws Exception {
    UUID file = init("filename=empty.txt&total_size=0&total_chunks=1");
    assertPending(file, 0, 1);
    HttpResponse<String> r = send(file, Chunks.query(1, 1, 0), new byte[0]);
    assertOk(r);
    assertThat(Api.resource(r).getString("upload_status")).isEqualTo("complete");
    assertComplete(file, 0, 1, Api.sha256(new byte[0]));
    HttpResponse<byte[]> down = api.download(company, file, token);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(down.body()).isEmpty();
    assertThat(down.headers().firstValue("Content-Length")).hasValue("0");
  }

  // ---------------------------------------------------------------- 5. Resumable.js and the origin web client

  @Test
  void resumableJsNamesInTheQuery() throws Exception {
    byte[] content = Samples.random(random, 4 * CHUNK + 77);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    String name = "Quarterly report (final).csv";
    UUID file = init("");
    for (int i = 0; i < parts.size(); i++) {
      long[] p = parts.get(i);
      assertOk(send(file, resumableQuery(i + 1, parts.size(), content.length, CHUNK, p[1] - p[0], name, "text/csv"),
          Chunks.slice(content, p)));
    }
    assertComplete(file, content.length, parts.size(), Api.sha256(content));
    JsonObject meta = metadata(file).getJsonObject("metadata");
    assertThat(meta.getString("name")).isEqualTo(name);
    assertThat(meta.getString("mime")).isEqualTo("text/csv");
  }

  @Test
  void resumableJsNamesOnlyAsMultipartFields() throws Exception {
    byte[] content = Samples.random(random, 3 * CHUNK + 5);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    String name = "Relevé février.csv";
    UUID file = init("");
    for (int i = 0; i < parts.size(); i++) {
      long[] p = parts.get(i);
      Api.Multipart form = new Api.Multipart()
          .field("resumableChunkNumber", String.valueOf(i + 1))
          .field("resumableChunkSize", String.valueOf(CHUNK))
          .field("resumableCurrentChunkSize", String.valueOf(p[1] - p[0]))
          .field("resumableTotalSize", String.valueOf(content.length))
          .field("resumableType", "text/csv")
          .field("resumableIdentifier", content.length + "-Relevfvriercsv")
          .field("resumableFilename", name)
          .field("resumableRelativePath", name)
          .field("resumableTotalChunks", String.valueOf(parts.size()))
          .filename("blob");
      HttpResponse<String> r = api.post(api.file(company, file), token, form, Chunks.slice(content, p));
      assertOk(r);
      assertThat(Api.resource(r).getString("upload_status")).as("after chunk " + (i + 1))
          .isEqualTo(i + 1 == parts.size() ? "complete" : "pending");
    }
    assertComplete(file, content.length, parts.size(), Api.sha256(content));
    JsonObject meta = metadata(file).getJsonObject("metadata");
    assertThat(meta.getString("name")).isEqualTo(name);
    assertThat(meta.getString("mime")).isEqualTo("text/csv");
  }

  @Test
  void theOriginWebClientFiveInParallelWithThumbnailSync() throws Exception {
    int chunkSize = 100 * 1024;
    byte[] content = Samples.random(random, 12 * chunkSize + 777);
    List<long[]> parts = Chunks.split(content.length, chunkSize);
    String name = "holiday photos.zip";
    UUID file = init(String.join("&", enc("filename", name), enc("type", "application/zip"), enc("total_size", content.length)));
    assertPending(file, 0, 0); // total_chunks not known yet
    List<Callable<HttpResponse<String>>> sends = new ArrayList<>();
    for (int i = 0; i < parts.size(); i++) {
      long[] p = parts.get(i);
      String query = resumableQuery(i + 1, parts.size(), content.length, chunkSize, p[1] - p[0], name, "application/zip")
          + "&thumbnail_sync=1";
      sends.add(() -> send(file, query, Chunks.slice(content, p)));
    }
    int completeReplies = 0;
    for (Future<HttpResponse<String>> f : pool.invokeAll(sends)) {
      HttpResponse<String> r = f.get();
      assertOk(r);
      if ("complete".equals(Api.resource(r).getString("upload_status"))) {
        completeReplies++;
      }
    }
    assertThat(completeReplies).as("the one request that completed the upload").isEqualTo(1);
    assertComplete(file, content.length, parts.size(), Api.sha256(content));
    JsonObject meta = metadata(file).getJsonObject("metadata");
    assertThat(meta.getString("name")).isEqualTo(name);
    assertThat(meta.getString("mime")).isEqualTo("application/zip");
  }

  // ---------------------------------------------------------------- 6. resume with the testChunks probe

  @Test
  void resumeBySendingOnlyTheChunksTheProbeSaysAreMissing() throws Exception {
    byte[] content = Samples.random(random, 8 * CHUNK + 4321);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    int total = parts.size();
    UUID file = init("filename=resume.bin&total_chunks=" + total + "&total_size=" + content.length);

    assertThat(probedStored(file, total)).isEmpty();
    assertProbeRefusesOutside(file, total);
    for (int n : List.of(2, 3, 5, 8)) { // half of them, then the "crash"
      assertOk(send(file, Chunks.query(n, total, content.length), Chunks.slice(content, parts.get(n - 1))));
    }
    List<Integer> stored = probedStored(file, total);
    assertThat(stored).containsExactly(2, 3, 5, 8);
    assertProbeRefusesOutside(file, total);

    for (int n = 1; n <= total; n++) {
      if (!stored.contains(n)) {
        assertOk(send(file, Chunks.query(n, total, content.length), Chunks.slice(content, parts.get(n - 1))));
      }
    }
    assertComplete(file, content.length, total, Api.sha256(content));
    assertThat(probedStored(file, total)).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    assertProbeRefusesOutside(file, total);
  }

  // ---------------------------------------------------------------- 7. rights on a pending file

  @Test
  void onlyTheOwnerOrAnApplicationUploadsIntoAPendingFile() throws Exception {
    byte[] content = Samples.random(random, 3 * CHUNK);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    UUID file = init("filename=mine.bin&total_chunks=3&total_size=" + content.length);
    assertOk(send(file, Chunks.query(1, 3, content.length), Chunks.slice(content, parts.get(0))));

    String otherUser = TestNode.userToken(UUID.randomUUID(), company);
    Snapshot before = snapshot(file);
    HttpResponse<String> refused = send(otherUser, file, Chunks.query(2, 3, content.length), new Api.Multipart().filename("blob"),
        Chunks.slice(content, parts.get(1)));
    assertError(refused, 403, "Forbidden");
    assertThat(settledSnapshot(file, before)).isEqualTo(before);

    UUID app = UUID.randomUUID();
    assertOk(send(TestNode.appToken(app, company), file, Chunks.query(2, 3, content.length), new Api.Multipart().filename("blob"),
        Chunks.slice(content, parts.get(1))));
    assertPending(file, 2L * CHUNK, 3);

    HttpResponse<String> last = send(file, Chunks.query(3, 3, content.length), Chunks.slice(content, parts.get(2)));
    assertOk(last);
    JsonObject r = Api.resource(last);
    assertThat(r.getString("upload_status")).isEqualTo("complete");
    assertThat(r.getString("owner_type")).isEqualTo("user");
    assertThat(r.getString("owner_id")).isEqualTo(user.toString());
    assertComplete(file, content.length, 3, Api.sha256(content));
  }
}

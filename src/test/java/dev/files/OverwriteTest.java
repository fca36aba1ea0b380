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

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Overwrites (docs/api.md, "Access" and "POST /companies/C/files/F — a chunk, or a whole file"): refused to users, done by applications with the
 * old content served whole until the switch, downloads never mixing generations, old chunks removed after
 * the grace, and a chunk re-sent after completion.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OverwriteTest {

  static final int MIB = 1024 * 1024;

  TestNode node;
  Api api;
  final UUID company = UUID.randomUUID();
  final UUID user = UUID.randomUUID();
  final UUID app = UUID.randomUUID();
  String userToken;
  String appToken;
  final Random random = new Random(11);

  @BeforeAll
  void start() throws Exception {
    node = TestNode.start(Map.of());
    api = new Api(node);
    userToken = TestNode.userToken(user, company);
    appToken = TestNode.appToken(app, company);
  }

  @AfterAll
  void stop() throws Exception {
    node.close();
  }

  // ---------------------------------------------------------------- helpers

  /** A classic upload by {@code token}; returns the new file's id. */
  private UUID classic(Api api, byte[] content, String token) throws Exception {
    HttpResponse<String> r = api.upload(company, token, "old.bin", "application/octet-stream", content);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return UUID.fromString(Api.resource(r).getString("id"));
  }

  /** A chunked upload of {@code content} in {@code n} chunks by {@code token}; returns the file id. */
  private UUID chunked(Api api, byte[] content, int n, String token) throws Exception {
    UUID file = UUID.fromString(new Chunks(api, company, token).init("filename=old.bin&total_size=" + content.length)
        .getString("id"));
    List<long[]> parts = Chunks.split(content.length, content.length / n);
    for (int i = 0; i < parts.size(); i++) {
      HttpResponse<String> r = sendChunk(api, file, i + 1, parts.size(), content.length, Chunks.slice(content, parts.get(i)), token);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    return file;
  }

  private HttpResponse<String> sendChunk(Api api, UUID file, int number, int total, long size, byte[] bytes, String token)
      throws Exception {
    return api.post(api.file(company, file) + "?" + Chunks.query(number, total, size), token, new Api.Multipart().filename("new.bin"), bytes);
  }

  /** POST /files/:id without chunk_number: the whole file. */
  private HttpResponse<String> wholeFile(UUID file, byte[] content, String token) throws Exception {
    return api.post(api.file(company, file), token, new Api.Multipart().filename("new.bin"), content);
  }

  private JsonObject meta(Api api, UUID file) throws Exception {
    HttpResponse<String> r = api.get(api.file(company, file), userToken);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return Api.resource(r);
  }

  /** Downloads the file, asserts 200 and that the bytes are {@code expected}; returns the ETag. */
  private String assertServes(Api api, UUID file, byte[] expected) throws Exception {
    HttpResponse<byte[]> d = api.download(company, file, userToken);
    assertThat(d.statusCode()).isEqualTo(200);
    assertThat(d.body().length).isEqualTo(expected.length);
    assertThat(Api.sha256(d.body())).as("downloaded content").isEqualTo(Api.sha256(expected));
    return d.headers().firstValue("ETag").orElseThrow();
  }

  private static void assertLive(JsonObject resource, long size, int chunks) {
    assertThat(resource.getString("upload_status")).isEqualTo("complete");
    assertThat(resource.getJsonObject("upload_data")).isEqualTo(new JsonObject().put("size", size).put("chunks", chunks));
  }

  private static void assertError(HttpResponse<String> r, int status) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    JsonObject e = new JsonObject(r.body());
    assertThat(e.getInteger("statusCode")).isEqualTo(status);
    assertThat(e.getString("message")).isNotBlank();
  }

  private static long rows(TestNode node, String sql, UUID file) throws Exception {
    return Db.count(node.dbName, sql.replace("?", "'" + file + "'"));
  }

  /** The objects (files, temporary {@code .*.tmp} files of writes in progress included) in the file's storage directory. */
  private static Set<Path> objects(TestNode node, UUID file) throws IOException {
    String id = file.toString();
    Path dir = node.storage.resolve(id.substring(0, 2)).resolve(id);
    if (!Files.isDirectory(dir)) {
      return Set.of();
    }
    try (var s = Files.list(dir)) {
      return s.filter(Files::isRegularFile).collect(Collectors.toSet());
    }
  }

  // ---------------------------------------------------------------- users may not overwrite

  @Test
  void userCannotOverwriteACompleteFile() throws Exception {
    byte[] old = Samples.random(random, 3 * 100_000);
    UUID file = chunked(api, old, 3, userToken);
    JsonObject before = meta(api, file);
    String etag = assertServes(api, file, old);

    assertError(wholeFile(file, Samples.random(random, 50_000), userToken), 403);
    assertError(sendChunk(api, file, 1, 3, old.length, Samples.random(random, 100_000), userToken), 403);
    assertError(sendChunk(api, file, 1, 2, 70_000, Samples.random(random, 35_000), userToken), 403); // a new chunked upload

    assertThat(meta(api, file)).isEqualTo(before);
    assertThat(assertServes(api, file, old)).isEqualTo(etag);
    assertThat(rows(node, "SELECT count(*) FROM chunks WHERE file_id = ?", file)).isEqualTo(3);
    eventually(Duration.ofSeconds(60), () -> assertThat(objects(node, file)).hasSize(3)); // refused bytes removed
  }

  // ---------------------------------------------------------------- applications overwrite

  @Test
  void applicationOverwritesWithAClassicUploadOldContentServedUntilItCompletes() throws Exception {
    byte[] old = Samples.random(random, 3 * MIB + 17);
    byte[] fresh = Samples.random(random, 5 * MIB + 3);
    UUID file = classic(api, old, userToken);
    JsonObject before = meta(api, file);
    String etag = assertServes(api, file, old);

    CountDownLatch release = new CountDownLatch(1);
    int half = fresh.length / 2;
    Api.Multipart form = new Api.Multipart().filename("new.bin");
    HttpRequest request = api.request(api.file(company, file), appToken).header("Content-Type", form.contentType())
        .POST(form.body(() -> new SequenceInputStream(new ByteArrayInputStream(fresh, 0, half),
            new HeldStream(release, new ByteArrayInputStream(fresh, half, fresh.length - half))), fresh.length))
        .build();
    CompletableFuture<HttpResponse<String>> sent = Api.CLIENT.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    try {
      // the new bytes are arriving: the part object exists, the upload is not done
      eventually(Duration.ofSeconds(60), () -> assertThat(objects(node, file))
          .anyMatch(p -> p.getFileName().toString().endsWith(".tmp")));
      assertThat(sent).isNotDone();

      JsonObject pending = meta(api, file);
      assertLive(pending, old.length, 1);
      assertThat(pending.getJsonObject("metadata")).isEqualTo(before.getJsonObject("metadata"));
      assertThat(assertServes(api, file, old)).isEqualTo(etag);
    } finally {
      release.countDown();
    }
    HttpResponse<String> done = sent.get(60, TimeUnit.SECONDS);
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    assertLive(Api.resource(done), fresh.length, 1);

    assertLive(meta(api, file), fresh.length, 1);
    assertThat(assertServes(api, file, fresh)).isNotEqualTo(etag);
    assertThat(rows(node, "SELECT count(*) FROM chunks WHERE file_id = ?", file)).isEqualTo(1);
  }

  @Test
  void applicationOverwritesInThreeChunksOldContentServedUntilTheLast() throws Exception {
    byte[] old = Samples.random(random, 2 * 200_000 + 9);
    byte[] fresh = Samples.random(random, 3 * 300_000 + 11);
    UUID file = chunked(api, old, 2, userToken);
    JsonObject before = meta(api, file);
    String etag = assertServes(api, file, old);
    List<long[]> parts = Chunks.split(fresh.length, 300_000);

    for (int i = 0; i < 2; i++) {
      HttpResponse<String> r = sendChunk(api, file, i + 1, 3, fresh.length, Chunks.slice(fresh, parts.get(i)), appToken);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonObject pending = meta(api, file);
      assertLive(pending, old.length, 2);
      assertThat(pending.getJsonObject("metadata")).isEqualTo(before.getJsonObject("metadata"));
      assertThat(assertServes(api, file, old)).as("ETag while the overwrite is pending").isEqualTo(etag);
    }

    HttpResponse<String> last = sendChunk(api, file, 3, 3, fresh.length, Chunks.slice(fresh, parts.get(2)), appToken);
    assertThat(last.statusCode()).as(last.body()).isEqualTo(200);
    assertLive(Api.resource(last), fresh.length, 3);
    assertLive(meta(api, file), fresh.length, 3);
    assertThat(assertServes(api, file, fresh)).isNotEqualTo(etag);
    assertThat(rows(node, "SELECT count(*) FROM chunks WHERE file_id = ?", file)).isEqualTo(3);
  }

  // ---------------------------------------------------------------- a download across the switch

  @Test
  void downloadRunningAcrossTheSwitchGetsOneGenerationWhole() throws Exception {
    byte[] old = Samples.random(random, 32 * MIB);
    byte[] fresh = Samples.random(random, 24 * MIB + 5);
    UUID file = chunked(api, old, 4, userToken); // 4 objects of 8 MiB: the later ones are opened after the switch
    List<long[]> parts = Chunks.split(fresh.length, 8 * MIB);
    for (int i = 0; i < 2; i++) {
      assertThat(sendChunk(api, file, i + 1, 3, fresh.length, Chunks.slice(fresh, parts.get(i)), appToken).statusCode()).isEqualTo(200);
    }

    HttpResponse<InputStream> running = Api.CLIENT.send(api.request(api.file(company, file) + "/download", userToken)
        .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    assertThat(running.statusCode()).isEqualTo(200);
    long declared = running.headers().firstValueAsLong("Content-Length").orElseThrow();
    MessageDigest got = MessageDigest.getInstance("SHA-256");
    long received;
    try (InputStream in = running.body()) {
      received = readSlowly(in, got, 2 * MIB, 64 * 1024, 10); // a slow reader: 2 MiB before the switch

      HttpResponse<String> last = sendChunk(api, file, 3, 3, fresh.length, Chunks.slice(fresh, parts.get(2)), appToken);
      assertThat(last.statusCode()).as(last.body()).isEqualTo(200);
      assertLive(Api.resource(last), fresh.length, 3);

      received += readSlowly(in, got, Long.MAX_VALUE, 256 * 1024, 2);
    } catch (IOException cut) {
      throw new AssertionError("the download running across the switch was cut: " + cut, cut);
    }
    String hash = HexFormat.of().formatHex(got.digest());
    System.out.printf("download across the switch: %d bytes, %s%n", received,
        hash.equals(Api.sha256(old)) ? "old content" : hash.equals(Api.sha256(fresh)) ? "new content" : "MIXED");
    assertThat(received).isEqualTo(declared);
    assertThat(hash).as("bytes of a download across the switch: the old or the new, never a mix")
        .isIn(Api.sha256(old), Api.sha256(fresh));
    if (declared == old.length) {
      assertThat(hash).as("a download announced with the old size").isEqualTo(Api.sha256(old));
    }

    assertServes(api, file, fresh); // started after the switch
  }

  /** Reads up to {@code limit} bytes in reads of {@code step}, sleeping {@code pauseMs} after each; returns the count. */
  private static long readSlowly(InputStream in, MessageDigest digest, long limit, int step, long pauseMs) throws Exception {
    byte[] buf = new byte[step];
    long total = 0;
    while (total < limit) {
      int n = in.read(buf, 0, (int) Math.min(step, limit - total));
      if (n < 0) {
        break;
      }
      digest.update(buf, 0, n);
      total += n;
      Thread.sleep(pauseMs);
    }
    return total;
  }

  // ---------------------------------------------------------------- old chunks are deleted after the grace

  @Test
  void oldChunksAreDeletedOnceTheGraceHasEnded() throws Exception {
    try (TestNode short_ = TestNode.start(Map.of("upload.retire_grace_ms", 1500, "upload.sweep_interval_ms", 500))) {
      Api api = new Api(short_);
      byte[] old = Samples.random(random, 3 * 100_000);
      byte[] fresh = Samples.random(random, 2 * 150_000 + 1);
      UUID file = chunked(api, old, 3, userToken);
      Set<Path> oldObjects = objects(short_, file);
      assertThat(oldObjects).hasSize(3);

      List<long[]> parts = Chunks.split(fresh.length, 150_000);
      for (int i = 0; i < 2; i++) {
        HttpResponse<String> r = sendChunk(api, file, i + 1, 2, fresh.length, Chunks.slice(fresh, parts.get(i)), appToken);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      }
      long switched = System.currentTimeMillis();

      // within the grace: the old objects are still there, listed as retired
      assertThat(oldObjects).allMatch(Files::exists);
      assertThat(rows(short_, "SELECT count(*) FROM retired_chunks WHERE file_id = ?", file)).isEqualTo(3);
      assertThat(System.currentTimeMillis() - switched).as("checked within the grace").isLessThan(1500);

      eventually(Duration.ofSeconds(10), () -> {
        assertThat(oldObjects).noneMatch(Files::exists);
        assertThat(rows(short_, "SELECT count(*) FROM retired_chunks WHERE file_id = ?", file)).isZero();
      });
      assertThat(objects(short_, file)).hasSize(2);
      assertThat(rows(short_, "SELECT count(*) FROM chunks WHERE file_id = ?", file)).isEqualTo(2);
      assertServes(api, file, fresh);
    }
  }

  // ---------------------------------------------------------------- a chunk re-sent after completion

  @Test
  void chunkResentAfterCompletionWithTheSameBytesChangesNothing() throws Exception {
    byte[] content = Samples.random(random, 3 * 100_000 + 7);
    UUID file = chunked(api, content, 3, userToken);
    List<long[]> parts = Chunks.split(content.length, content.length / 3);
    JsonObject before = meta(api, file);
    String etag = assertServes(api, file, content);

    HttpResponse<String> again = sendChunk(api, file, 2, 3, content.length, Chunks.slice(content, parts.get(1)), userToken);
    assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
    assertLive(Api.resource(again), content.length, 3);
    assertUnchanged(file, before, content, etag);

    byte[] other = Samples.random(random, (int) (parts.get(1)[1] - parts.get(1)[0]));
    assertError(sendChunk(api, file, 2, 3, content.length, other, userToken), 403);
    assertUnchanged(file, before, content, etag);
  }

  private void assertUnchanged(UUID file, JsonObject before, byte[] content, String etag) throws Exception {
    assertThat(meta(api, file)).isEqualTo(before);
    assertThat(assertServes(api, file, content)).isEqualTo(etag);
    assertThat(rows(node, "SELECT count(*) FROM chunks WHERE file_id = ?", file)).isEqualTo(3);
    // the identical copy is listed as retired (a repeated delivery of its commit is recognised) and its
    // object removed after upload.retire_grace_ms; the refused different copy is removed at once
    assertThat(rows(node, "SELECT count(*) FROM retired_chunks WHERE file_id = ?", file)).isEqualTo(1);
    eventually(Duration.ofSeconds(60), () -> assertThat(objects(node, file)).hasSize(4));
  }

  /** An input stream that blocks on its first read until {@code release} opens, then reads {@code rest}. */
  private static final class HeldStream extends InputStream {
    private final CountDownLatch release;
    private final InputStream rest;

    HeldStream(CountDownLatch release, InputStream rest) {
      this.release = release;
      this.rest = rest;
    }

    private void await() throws IOException {
      try {
        if (!release.await(60, TimeUnit.SECONDS)) {
          throw new IOException("never released");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }

    @Override
    public int read() throws IOException {
      await();
      return rest.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      await();
      return rest.read(b, off, len);
    }
  }
}

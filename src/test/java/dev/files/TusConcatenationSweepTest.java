package dev.files;

import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sweep and a tus final upload (docs/architecture.md, "Where objects are deleted"): the chunk
 * objects a final upload took over from its partial uploads stay under the partials' directories,
 * and neither the expiry of abandoned uploads nor the orphan scan, both run here many times after
 * the objects are older than the orphan age, nor a termination of a consumed partial, deletes them;
 * an abandoned partial upload expires as any pending upload. An overwrite of the final file retires
 * them as its own, and the sweep deletes them after the grace.
 */
class TusConcatenationSweepTest extends NodeTest {

  /** upload.expire_after_ms; the orphan age is http.body_timeout_ms + 2 × upload.commit_timeout_ms = 3 s. */
  static final long EXPIRE_MS = 4000;

  @Override
  protected Map<String, ?> settings() {
    return Map.of("upload.expire_after_ms", EXPIRE_MS, "upload.sweep_interval_ms", 300,
        "upload.orphan_scan_interval_ms", 300, "http.body_timeout_ms", 1000, "upload.commit_timeout_ms", 1000,
        "upload.retire_grace_ms", 1500);
  }

  private final Random random = new Random(2121);

  private String uploads() {
    return "http://127.0.0.1:" + node.port + "/internal/services/files/v1/companies/" + company + "/uploads";
  }

  private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    return Api.CLIENT.send(b.header("Tus-Resumable", "1.0.0").build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A partial upload of {@code length} bytes, of which {@code content} is sent; its Location. */
  private String partial(int length, byte[] content) throws Exception {
    HttpResponse<String> c = send(api.request(uploads(), token).header("Upload-Length", Integer.toString(length))
        .header("Upload-Concat", "partial").POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
    String location = c.headers().firstValue("Location").orElseThrow();
    HttpResponse<String> p = send(api.request("http://127.0.0.1:" + node.port + location, token)
        .header("Upload-Offset", "0").header("Content-Type", "application/offset+octet-stream")
        .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(content)));
    assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
    return location;
  }

  private static UUID id(String location) {
    return UUID.fromString(location.substring(location.lastIndexOf('/') + 1));
  }

  @Test
  void movedObjectsOutliveTheSweepAndConsumedPartials() throws Exception {
    byte[] content = new byte[180_000];
    random.nextBytes(content);
    String a = partial(100_000, Arrays.copyOfRange(content, 0, 100_000));
    String b = partial(80_000, Arrays.copyOfRange(content, 100_000, content.length));
    String abandoned = partial(50_000, new byte[20_000]);
    List<String> abandonedKeys = Db.strings(node.dbName, "SELECT storage_key FROM chunks WHERE file_id = '" + id(abandoned) + "'");
    assertThat(abandonedKeys).hasSize(1);

    HttpResponse<String> f = send(api.request(uploads(), token).header("Upload-Concat", "final;" + a + " " + b)
        .POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(f.statusCode()).as(f.body()).isEqualTo(201);
    UUID file = id(f.headers().firstValue("Location").orElseThrow());
    List<String> keys = Db.strings(node.dbName, "SELECT storage_key FROM chunks WHERE file_id = '" + file + "'");
    assertThat(keys).hasSize(2);
    assertThat(keys).allSatisfy(k -> assertThat(k).doesNotContain(file.toString())); // under the partials' directories

    // a consumed partial is gone: its termination changes nothing
    assertThat(send(api.request("http://127.0.0.1:" + node.port + a, token).DELETE()).statusCode()).isEqualTo(404);

    // the abandoned partial expires (the expiry path ran), its object removed
    eventually(Duration.ofSeconds(30), () -> {
      assertThat(Db.count(node.dbName, "SELECT count(*) FROM files WHERE id = '" + id(abandoned) + "'")).isZero();
      assertThat(node.storage.resolve(abandonedKeys.get(0))).doesNotExist();
    });
    // then well past the orphan age (3 s) and the expiry, with scans every 300 ms
    long oldest = keys.stream().mapToLong(k -> {
      try {
        return Files.getLastModifiedTime(node.storage.resolve(k)).toMillis();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }).min().orElseThrow();
    long waitUntil = oldest + EXPIRE_MS + 3000 + 2000;
    while (System.currentTimeMillis() < waitUntil) {
      Thread.sleep(200);
    }
    for (String k : keys) {
      assertThat(node.storage.resolve(k)).as(k).exists();
    }
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(2);
    HttpResponse<byte[]> down = api.download(company, file, token);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));
  }

  @Test
  void anOverwriteOfTheFinalFileRetiresTheMovedObjects() throws Exception {
    byte[] content = new byte[120_000];
    random.nextBytes(content);
    String a = partial(70_000, Arrays.copyOfRange(content, 0, 70_000));
    String b = partial(50_000, Arrays.copyOfRange(content, 70_000, content.length));
    HttpResponse<String> f = send(api.request(uploads(), token).header("Upload-Concat", "final;" + a + " " + b)
        .POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(f.statusCode()).as(f.body()).isEqualTo(201);
    UUID file = id(f.headers().firstValue("Location").orElseThrow());
    List<String> moved = Db.strings(node.dbName, "SELECT storage_key FROM chunks WHERE file_id = '" + file + "'");
    assertThat(moved).hasSize(2).allSatisfy(k -> assertThat(node.storage.resolve(k)).exists());

    byte[] fresh = new byte[30_000];
    random.nextBytes(fresh);
    String app = dev.files.support.TestNode.appToken(UUID.randomUUID(), company);
    HttpResponse<String> over = api.post(api.file(company, file), app, new Api.Multipart().filename("new.bin"), fresh);
    assertThat(over.statusCode()).as(over.body()).isEqualTo(200);
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM retired_chunks WHERE file_id = '" + file + "'")).isEqualTo(2);
    HttpResponse<byte[]> down = api.download(company, file, token);
    assertThat(down.body()).isEqualTo(fresh);
    eventually(Duration.ofSeconds(30), () -> {
      for (String k : moved) {
        assertThat(node.storage.resolve(k)).as(k).doesNotExist();
      }
      assertThat(Db.count(node.dbName, "SELECT count(*) FROM retired_chunks WHERE file_id = '" + file + "'")).isZero();
    });
  }
}

package dev.files;

import dev.files.crypto.ChunkKeys;
import dev.files.storage.ObjectInfo;
import dev.files.storage.ObjectPage;
import dev.files.storage.StoreSide;
import dev.files.storage.s3.S3ObjectStore;
import dev.files.storage.s3.S3Options;
import dev.files.support.Api;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.FaultProxy;
import dev.files.support.S3ProxyServer;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.streams.ReadStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A node with {@code storage.type = s3} on a real S3 server (S3Proxy, filesystem back end), reached
 * through a {@link FaultProxy} that can break one PUT or one GET: uploads (whole and chunked),
 * ranged downloads, thumbnails and deletes are byte-exact and leave exactly the objects they should
 * in the bucket; an injected failure is a clear 5xx with a request id that leaves nothing
 * half-written, and the next try succeeds; the orphan scan pages through the listing (2 keys a
 * page) and removes only old objects no row refers to.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class S3StorageTest {

  private static final String BUCKET = "files-test";
  /** Objects older than this are the orphan scan's candidates ({@code upload.expire_after_ms}). */
  private static final long EXPIRE_MS = 3_600_000;

  private final Random random = new Random(7);
  private final UUID company = UUID.randomUUID();
  private final String token = TestNode.userToken(UUID.randomUUID(), company);
  private S3ProxyServer s3proxy;
  private FaultProxy faults;
  private Vertx vertx;
  private S3ObjectStore bucket; // the test's own view of the bucket
  private TestNode node;
  private Api api;

  @BeforeAll
  void start() throws Exception {
    s3proxy = S3ProxyServer.start();
    faults = FaultProxy.start(s3proxy.port());
    vertx = Vertx.vertx();
    bucket = S3ObjectStore.create(vertx, new S3Options(s3proxy.endpoint(), BUCKET, "us-east-1", S3ProxyServer.ACCESS_KEY,
        S3ProxyServer.SECRET_KEY, true, 8 * 1024 * 1024, 4)).await(60, TimeUnit.SECONDS);
    bucket.client().createBucket(b -> b.bucket(BUCKET)).get(30, TimeUnit.SECONDS);
    node = TestNode.start(Map.ofEntries(
        Map.entry("storage.type", "s3"),
        Map.entry("storage.s3.endpoint", "http://127.0.0.1:" + faults.port()),
        Map.entry("storage.s3.bucket", BUCKET),
        Map.entry("storage.s3.access_key", S3ProxyServer.ACCESS_KEY),
        Map.entry("storage.s3.secret_key", S3ProxyServer.SECRET_KEY),
        Map.entry("storage.s3.path_style", true),
        Map.entry("storage.list_page_size", 2),
        Map.entry("upload.expire_after_ms", EXPIRE_MS),
        Map.entry("upload.sweep_interval_ms", 300),
        Map.entry("upload.orphan_scan_interval_ms", 300)));
    api = new Api(node);
  }

  @AfterAll
  void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    if (bucket != null) {
      bucket.close().await(10, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
    if (faults != null) {
      faults.close();
    }
    if (s3proxy != null) {
      s3proxy.close();
    }
  }

  /** Keys of the bucket's objects under {@code prefix}, all pages. */
  private List<ObjectInfo> objects(String prefix) throws Exception {
    List<ObjectInfo> all = new ArrayList<>();
    String token = null;
    do {
      ObjectPage page = bucket.list(prefix, token, 1000).await(30, TimeUnit.SECONDS);
      all.addAll(page.objects());
      token = page.next();
    } while (token != null);
    return all;
  }

  private List<String> keys(UUID file) throws Exception {
    return objects(ChunkKeys.prefix(file)).stream().map(ObjectInfo::key).toList();
  }

  /** The stored bytes of one object, as the bucket holds them. */
  private byte[] stored(ObjectInfo o) throws Exception {
    var read = bucket.read(o.key(), 0, o.size()).await(30, TimeUnit.SECONDS);
    Buffer all = Buffer.buffer();
    io.vertx.core.Promise<Void> done = io.vertx.core.Promise.promise();
    read.handler(all::appendBuffer).exceptionHandler(done::tryFail).endHandler(v -> done.tryComplete());
    done.future().await(30, TimeUnit.SECONDS);
    read.close();
    return all.getBytes();
  }

  private void put(String key, byte[] data) throws Exception {
    ReadStream<Buffer> body = vertx.fileSystem().open(Files.write(Files.createTempFile("s3-object", ".bin"), data).toString(),
        new io.vertx.core.file.OpenOptions().setRead(true)).await(10, TimeUnit.SECONDS);
    bucket.write(key, body).await(30, TimeUnit.SECONDS);
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  @Test
  void wholeFileUploadDownloadAndDelete() throws Exception {
    byte[] content = Samples.random(random, 300_000);
    HttpResponse<String> up = api.upload(company, token, "whole.bin", "application/octet-stream", content);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));

    List<ObjectInfo> objects = objects(ChunkKeys.prefix(id));
    assertThat(objects).hasSize(1);
    assertThat(objects.get(0).key()).isEqualTo(Db.strings(node.dbName,
        "SELECT storage_key FROM chunks WHERE file_id = '" + id + "'").get(0));
    byte[] stored = stored(objects.get(0));
    assertThat(stored.length).as("ciphertext: a header and a tag per segment more").isGreaterThan(content.length);
    assertThat(contains(stored, Arrays.copyOfRange(content, 1000, 1032))).as("no plaintext in the bucket").isFalse();

    HttpResponse<byte[]> down = api.download(company, id, token);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));

    assertThat(api.delete(company, id, token).statusCode()).isEqualTo(200);
    eventually(Duration.ofSeconds(60), () -> assertThat(keys(id)).isEmpty());
    assertThat(api.download(company, id, token).statusCode()).isEqualTo(404);
  }

  @Test
  void chunkedUploadAndRangedDownloads() throws Exception {
    byte[] content = Samples.random(random, 3 * 200_000 + 123);
    Chunks chunks = new Chunks(api, company, token);
    List<long[]> parts = Chunks.split(content.length, 200_000);
    UUID id = UUID.fromString(chunks.init("filename=c.bin&total_chunks=" + parts.size() + "&total_size=" + content.length)
        .getString("id"));
    for (int i = 0; i < parts.size(); i++) {
      HttpResponse<String> r = chunks.send(id, "chunk_number=" + (i + 1), Chunks.slice(content, parts.get(i)));
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    assertThat(keys(id)).as("each chunk its own object").hasSize(parts.size())
        .containsExactlyInAnyOrderElementsOf(Db.strings(node.dbName, "SELECT storage_key FROM chunks WHERE file_id = '" + id + "'"));
    assertThat(Api.sha256(api.download(company, id, token).body())).isEqualTo(Api.sha256(content));

    // ranges within a segment, across segments, across chunks, at the end
    long[][] ranges = {{0, 0}, {5, 99}, {65_000, 140_000}, {199_990, 400_010}, {content.length - 17, content.length - 1}};
    for (long[] r : ranges) {
      HttpResponse<byte[]> part = api.download(company, id, token, "Range", "bytes=" + r[0] + "-" + r[1]);
      assertThat(part.statusCode()).isEqualTo(206);
      assertThat(part.body()).isEqualTo(Arrays.copyOfRange(content, (int) r[0], (int) r[1] + 1));
    }
  }

  @Test
  void thumbnailsAreMadeFromAndStoredInTheBucket() throws Exception {
    byte[] png = Samples.image("png", 900, 600);
    HttpResponse<String> up = api.post(api.files(company) + "?thumbnail_sync=1", token,
        new Api.Multipart().filename("p.png").partType("image/png"), png);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    JsonObject r = Api.resource(up);
    assertThat(r.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done");
    UUID id = UUID.fromString(r.getString("id"));
    assertThat(keys(id)).hasSize(2).anyMatch(k -> k.endsWith(".thumb")).anyMatch(k -> k.endsWith(".chunk"));

    HttpResponse<byte[]> thumb = Api.CLIENT.send(api.request(api.file(company, id) + "/thumbnails/0", token).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(thumb.statusCode()).isEqualTo(200);
    java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(thumb.body()));
    assertThat(image.getWidth()).isEqualTo(600);
    assertThat(image.getHeight()).isEqualTo(400);

    assertThat(api.delete(company, id, token).statusCode()).isEqualTo(200);
    eventually(Duration.ofSeconds(60), () -> assertThat(keys(id)).isEmpty());
  }

  @Test
  void aFailedPutIsA503WithARequestIdAndLeavesNothing() throws Exception {
    long filesBefore = Db.count(node.dbName, "SELECT count(*) FROM files");
    List<String> before = objects("").stream().map(ObjectInfo::key).toList();
    byte[] content = Samples.random(random, 100_000);
    faults.cutRequests(r -> r.method().equals("PUT") && r.target().contains(".chunk"));
    HttpResponse<String> up;
    try {
      up = api.upload(company, token, "cut.bin", "application/octet-stream", content);
    } finally {
      faults.clear();
    }
    assertThat(up.statusCode()).as(up.body()).isEqualTo(503);
    JsonObject error = new JsonObject(up.body());
    assertThat(error.getString("message")).isEqualTo("storing an object failed: storage is unavailable");
    assertThat(up.headers().firstValue("X-Request-Id")).isPresent();
    assertThat(error.encode()).contains(up.headers().firstValue("X-Request-Id").get());
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM files")).as("no row").isEqualTo(filesBefore);
    assertThat(objects("").stream().map(ObjectInfo::key).toList()).as("no object").containsExactlyInAnyOrderElementsOf(before);
    assertThat(bucket.client().listMultipartUploads(b -> b.bucket(BUCKET)).get(30, TimeUnit.SECONDS).uploads()).isEmpty();

    HttpResponse<String> again = api.upload(company, token, "cut.bin", "application/octet-stream", content);
    assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
    UUID id = UUID.fromString(Api.resource(again).getString("id"));
    assertThat(Api.sha256(api.download(company, id, token).body())).isEqualTo(Api.sha256(content));
  }

  @Test
  void aFailedGetIsA503WithARequestIdAndTheNextDownloadIsWhole() throws Exception {
    byte[] content = Samples.random(random, 200_000);
    HttpResponse<String> up = api.upload(company, token, "get.bin", "application/octet-stream", content);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    String key = keys(id).get(0);

    faults.cutResponses(r -> r.method().equals("GET") && r.target().contains(key), 2000);
    HttpResponse<byte[]> down;
    try {
      down = api.download(company, id, token);
    } finally {
      faults.clear();
    }
    assertThat(down.statusCode()).isEqualTo(503);
    JsonObject error = new JsonObject(new String(down.body(), StandardCharsets.UTF_8));
    assertThat(error.getString("message")).isEqualTo("reading an object failed: storage is unavailable");
    assertThat(error.encode()).contains(down.headers().firstValue("X-Request-Id").orElseThrow());

    HttpResponse<byte[]> again = api.download(company, id, token);
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(again.body())).isEqualTo(Api.sha256(content));
    assertThat(keys(id)).containsExactly(key);
  }

  @Test
  void theOrphanScanPagesThroughTheBucketAndRemovesOnlyOldUnreferencedObjects() throws Exception {
    // files that rows refer to
    List<UUID> kept = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> up = api.upload(company, token, "k" + i + ".bin", null, Samples.random(random, 5000));
      kept.add(UUID.fromString(Api.resource(up).getString("id")));
    }
    // objects no row refers to: five old ones (a commit that timed out, a crashed node), one young
    List<String> old = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      String k = ChunkKeys.newKey(UUID.randomUUID());
      put(k, Samples.random(random, 100));
      old.add(k);
    }
    String young = ChunkKeys.newKey(UUID.randomUUID());
    put(young, Samples.random(random, 100));
    // everything but the young one is made older than upload.expire_after_ms (S3Proxy's file times)
    Path dir = s3proxy.bucketDir(BUCKET);
    FileTime longAgo = FileTime.fromMillis(System.currentTimeMillis() - 2 * EXPIRE_MS);
    try (Stream<Path> s = Tree.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        if (!p.toString().endsWith(young)) {
          Files.setLastModifiedTime(p, longAgo);
        }
      }
    }
    eventually(Duration.ofSeconds(20), () -> assertThat(objects("").stream().map(ObjectInfo::key).toList())
        .doesNotContainAnyElementsOf(old));
    List<String> left = objects("").stream().map(ObjectInfo::key).toList();
    assertThat(left).contains(young, StoreSide.OBJECT_KEY);
    for (UUID id : kept) {
      assertThat(keys(id)).hasSize(1);
      assertThat(api.download(company, id, token).statusCode()).isEqualTo(200);
    }
  }

  /** The S3 settings of a node on {@code endpoint} with this test's bucket and credentials. */
  private static Map<String, Object> s3(String endpoint) {
    return Map.of("storage.type", "s3", "storage.s3.endpoint", endpoint, "storage.s3.bucket", BUCKET,
        "storage.s3.access_key", S3ProxyServer.ACCESS_KEY, "storage.s3.secret_key", S3ProxyServer.SECRET_KEY,
        "storage.s3.path_style", true);
  }

  @Test
  void aBucketThatDoesNotAnswerStopsTheStartWithOneLine() throws Exception {
    int port = 1; // nothing listens on a privileged port here: refused at once (a free port may be taken meanwhile)
    Map<String, Object> settings = TestNode.settings(s3("http://127.0.0.1:" + port));
    long t0 = System.nanoTime();
    String message = null;
    try {
      Node started = Node.start(FilesConfig.load(Map.of(), TestNode.nodeSettings(settings))).await(60, TimeUnit.SECONDS);
      started.close().await(30, TimeUnit.SECONDS);
    } catch (IllegalStateException e) {
      message = e.getMessage();
    } finally {
      Db.drop((String) settings.get("test.db_name"));
    }
    assertThat(message).isNotNull().doesNotContain("\n")
        .startsWith("cannot reach the S3 store (bucket " + BUCKET + " at http://127.0.0.1:" + port + "): ")
        .endsWith("(check storage.s3.endpoint, storage.s3.bucket, storage.s3.access_key and storage.s3.secret_key)");
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("start on a bucket that does not answer failed in %.1f s%n", seconds);
    // a bound against a hang, not a timing: about 2 s alone, up to half a minute on a busy shared machine
    assertThat(seconds).as("seconds to fail").isLessThan(2 * FailFastTest.LIMIT_MS / 1000.0);
  }

  @Test
  void aMissingBucketIsNamedAsMissingInTheOneLine() throws Exception {
    Map<String, Object> settings = new HashMap<>(s3(s3proxy.endpoint()));
    settings.put("storage.s3.bucket", "no-such-bucket");
    assertThat(startFailure(settings)).isNotNull().doesNotContain("\n").isEqualTo("cannot reach the S3 store (bucket no-such-bucket at "
        + s3proxy.endpoint() + "): the bucket does not exist"
        + " (check storage.s3.endpoint, storage.s3.bucket, storage.s3.access_key and storage.s3.secret_key)");
  }

  @Test
  void aWrongSecretKeyIsNamedAsRefusedCredentialsInTheOneLine() throws Exception {
    Map<String, Object> settings = new HashMap<>(s3(s3proxy.endpoint()));
    settings.put("storage.s3.secret_key", "not-" + S3ProxyServer.SECRET_KEY);
    assertThat(startFailure(settings)).isNotNull().doesNotContain("\n").doesNotContain(S3ProxyServer.SECRET_KEY)
        .isEqualTo("cannot reach the S3 store (bucket " + BUCKET + " at " + s3proxy.endpoint()
            + "): the S3 server refused the access key or secret key (HTTP 403)"
            + " (check storage.s3.endpoint, storage.s3.bucket, storage.s3.access_key and storage.s3.secret_key)");
  }

  /** The message of the failed start of a node with {@code s3Settings} on a database of its own, or null if it started. */
  private static String startFailure(Map<String, Object> s3Settings) throws Exception {
    Map<String, Object> settings = TestNode.settings(s3Settings);
    try {
      Node started = Node.start(FilesConfig.load(Map.of(), TestNode.nodeSettings(settings))).await(60, TimeUnit.SECONDS);
      started.close().await(30, TimeUnit.SECONDS);
      return null;
    } catch (IllegalStateException e) {
      return e.getMessage();
    } finally {
      Db.drop((String) settings.get("test.db_name"));
    }
  }

  @Test
  void aNodeOnTheSameBucketWithAnotherDatabaseRefusesToStart() throws Exception {
    assertThat(api.upload(company, token, "mine.bin", null, Samples.random(random, 1000)).statusCode()).isEqualTo(200);
    Map<String, Object> settings = TestNode.settings(s3(s3proxy.endpoint()));
    String message = null;
    try {
      Node started = Node.start(FilesConfig.load(Map.of(), TestNode.nodeSettings(settings))).await(60, TimeUnit.SECONDS);
      started.close().await(30, TimeUnit.SECONDS);
    } catch (IllegalStateException e) {
      message = e.getMessage();
    } finally {
      Db.drop((String) settings.get("test.db_name"));
    }
    // the bucket holds the identity object of this class's node and its objects; the new database is empty
    assertThat(message).isNotNull().startsWith("refusing to start: the chunk store holds objects its database would not know")
        .contains("storage.s3.bucket " + BUCKET).contains("check db.url (FILES_DB_URL) and storage.s3.endpoint and storage.s3.bucket");
    assertThat(objects("").stream().map(ObjectInfo::key)).contains(StoreSide.OBJECT_KEY);
  }

  @Test
  void aChunkLargerThanOnePartIsOneObjectStoredAsAMultipartUpload() throws Exception {
    int size = Integer.getInteger("s3test.large_bytes", 24 * 1024 * 1024); // 3 parts of 8 MiB and a rest
    byte[] content = Samples.random(random, size);
    long t0 = System.nanoTime();
    HttpResponse<String> up = api.upload(company, token, "large.bin", "application/octet-stream", content);
    double upS = (System.nanoTime() - t0) / 1e9;
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    List<ObjectInfo> objects = objects(ChunkKeys.prefix(id));
    assertThat(objects).hasSize(1);
    assertThat(objects.get(0).size()).as("the whole ciphertext").isGreaterThan(size).isLessThan(size + size / 1000);
    assertThat(bucket.client().listMultipartUploads(b -> b.bucket(BUCKET)).get(30, TimeUnit.SECONDS).uploads())
        .as("no multipart upload left open").isEmpty();
    long t1 = System.nanoTime();
    HttpResponse<byte[]> down = api.download(company, id, token);
    double downS = (System.nanoTime() - t1) / 1e9;
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));
    System.out.printf("S3 (S3Proxy, filesystem) %d MiB chunk: up %.0f MB/s, down %.0f MB/s%n", size >> 20,
        size / upS / 1e6, size / downS / 1e6);
  }
}

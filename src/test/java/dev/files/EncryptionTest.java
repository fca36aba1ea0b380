package dev.files;

import dev.files.support.Logs;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.files.crypto.DataKeys;
import dev.files.support.Api;
import dev.files.support.Samples;
import dev.files.support.NodeTest;
import dev.files.support.Chunks;
import dev.files.support.RawHttp;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Encryption at rest: no plaintext in the store, byte-exact round trips around Tink's segment
 * boundaries, ranges decrypted segment by segment, and tampered chunks that cut the download.
 */
class EncryptionTest extends NodeTest {

  /** Plaintext bytes of the first 64 KiB ciphertext segment (40-byte header, 16-byte tag). */
  static final int FIRST_SEGMENT = DataKeys.SEGMENT_BYTES - 40 - 16;
  /** Plaintext bytes of each following segment. */
  static final int SEGMENT = DataKeys.SEGMENT_BYTES - 16;
  static final byte[] MARKER = "PLAINTEXT-MARKER-7f3a".getBytes(StandardCharsets.US_ASCII);

  final Random random = new Random(11);
  final ListAppender<ILoggingEvent> log = new ListAppender<>();

  @BeforeAll
  void start() throws Exception {
    log.start();
    ((Logger) LoggerFactory.getLogger("dev.files.http.DownloadHandler")).addAppender(log);
  }

  /** Random bytes with the marker written every 4 KiB. */
  private byte[] marked(int size) {
    byte[] b = Samples.random(random, size);
    for (int i = 0; i + MARKER.length <= size; i += 4096) {
      System.arraycopy(MARKER, 0, b, i, MARKER.length);
    }
    return b;
  }

  private UUID upload(byte[] content) throws Exception {
    HttpResponse<String> r = api.upload(company, token, "secret.bin", null, content);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return UUID.fromString(Api.resource(r).getString("id"));
  }

  private List<Path> objects(UUID file) throws Exception {
    try (Stream<Path> s = Tree.walk(node.storage)) {
      return s.filter(Files::isRegularFile).filter(p -> p.toString().contains(file.toString())).sorted().toList();
    }
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i <= haystack.length - needle.length; i++) {
      for (int k = 0; k < needle.length; k++) {
        if (haystack[i + k] != needle[k]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  private void assertNoMarkerOnDisk() throws Exception {
    try (Stream<Path> s = Tree.walk(node.storage)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        assertThat(contains(Files.readAllBytes(p), MARKER)).as("marker in " + p).isFalse();
      }
    }
  }

  @Test
  void noPlaintextReachesTheDiskAndEqualUploadsDiffer() throws Exception {
    byte[] content = marked(3 * 1024 * 1024 + 17);
    UUID a = upload(content);
    UUID b = upload(content);
    // chunked too, with the marker in every chunk
    Chunks chunks = new Chunks(api, company, token);
    UUID c = UUID.fromString(chunks.init("filename=m.bin&total_chunks=3&total_size=" + content.length).getString("id"));
    List<long[]> parts = Chunks.split(content.length, content.length / 3);
    for (int i = 0; i < 3; i++) {
      assertThat(chunks.send(c, "chunk_number=" + (i + 1) + "&total_chunks=3&total_size=" + content.length,
          Chunks.slice(content, parts.get(i))).statusCode()).isEqualTo(200);
    }
    assertNoMarkerOnDisk();
    byte[] storedA = Files.readAllBytes(objects(a).get(0));
    byte[] storedB = Files.readAllBytes(objects(b).get(0));
    assertThat(storedA).isNotEqualTo(storedB);
    assertThat(storedA.length).isGreaterThan(content.length); // header and tags
    for (UUID f : List.of(a, b, c)) {
      assertThat(Api.sha256(api.download(company, f, token).body())).isEqualTo(Api.sha256(content));
    }
  }

  @Test
  void noPlaintextOnDiskWhileAnUploadIsInProgress() throws Exception {
    byte[] head = marked(2 * 1024 * 1024);
    String boundary = "b0undary";
    byte[] partHead = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
    try (RawHttp http = new RawHttp(node.port)) {
      http.head("POST /internal/services/files/v1/companies/" + company + "/files HTTP/1.1",
          "Authorization: Bearer " + token, "Content-Type: multipart/form-data; boundary=" + boundary,
          "Content-Length: " + (partHead.length + head.length * 2L));
      http.send(partHead);
      http.send(head);
      // the temporary file of the write holds what arrived so far
      eventually(Duration.ofSeconds(60), () -> {
        try (Stream<Path> s = Tree.walk(node.storage)) {
          assertThat(s.filter(p -> p.getFileName().toString().endsWith(".tmp")).count()).isPositive();
        }
      });
      Thread.sleep(300);
      assertNoMarkerOnDisk();
    }
  }

  @Test
  void roundTripsAroundSegmentBoundaries() throws Exception {
    for (int size : new int[]{0, 1, FIRST_SEGMENT - 1, FIRST_SEGMENT, FIRST_SEGMENT + 1,
        FIRST_SEGMENT + SEGMENT, FIRST_SEGMENT + SEGMENT + 1}) {
      byte[] content = Samples.random(random, size);
      UUID f = upload(content);
      HttpResponse<byte[]> down = api.download(company, f, token);
      assertThat(down.statusCode()).isEqualTo(200);
      assertThat(Api.sha256(down.body())).as("size " + size).isEqualTo(Api.sha256(content));
    }
  }

  @Test
  void rangesAcrossSegmentAndChunkBoundaries() throws Exception {
    byte[] content = Samples.random(random, 3 * SEGMENT + 12345);
    int chunk = SEGMENT + 1000; // chunk boundaries fall inside segments
    Chunks chunks = new Chunks(api, company, token);
    List<long[]> parts = Chunks.split(content.length, chunk);
    UUID f = UUID.fromString(chunks.init("total_chunks=" + parts.size() + "&total_size=" + content.length).getString("id"));
    for (int i = 0; i < parts.size(); i++) {
      assertThat(chunks.send(f, "chunk_number=" + (i + 1), Chunks.slice(content, parts.get(i))).statusCode()).isEqualTo(200);
    }
    long[][] ranges = {
        {FIRST_SEGMENT - 10, FIRST_SEGMENT + 10},            // across the first segment boundary
        {chunk - 5, chunk + 5},                              // across a chunk boundary
        {chunk + FIRST_SEGMENT - 3, chunk + FIRST_SEGMENT + 3}, // a segment boundary inside chunk 2
        {0, 0}, {content.length - 1, content.length - 1},
        {12, content.length - 13}};                          // nearly everything
    for (long[] r : ranges) {
      HttpResponse<byte[]> down = api.download(company, f, token, "Range", "bytes=" + r[0] + "-" + r[1]);
      assertThat(down.statusCode()).isEqualTo(206);
      assertThat(down.body()).as("bytes " + r[0] + "-" + r[1])
          .isEqualTo(Arrays.copyOfRange(content, (int) r[0], (int) r[1] + 1));
    }
  }

  /** Downloads with a raw socket: returns the body bytes received before the connection ended. */
  private byte[] rawDownload(UUID file, String status) throws Exception {
    try (Socket s = new Socket("127.0.0.1", node.port)) {
      s.getOutputStream().write(("GET /internal/services/files/v1/companies/" + company + "/files/" + file
          + "/download HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " + token + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      byte[] buf = new byte[65536];
      try {
        for (int n; (n = in.read(buf)) > 0; ) {
          all.write(buf, 0, n);
        }
      } catch (java.net.SocketException reset) {
        // the cut
      }
      byte[] got = all.toByteArray();
      String text = new String(got, StandardCharsets.ISO_8859_1);
      int end = text.indexOf("\r\n\r\n");
      assertThat(text).startsWith("HTTP/1.1 " + status);
      return Arrays.copyOfRange(got, end + 4, got.length);
    }
  }

  private void assertCut(UUID file, byte[] content) throws Exception {
    Logs.clear(log);
    byte[] body = rawDownload(file, "200");
    assertThat(body.length).as("the download is cut").isLessThan(content.length);
    assertThat(body).as("no wrong byte before the cut").isEqualTo(Arrays.copyOf(content, body.length));
    eventually(Duration.ofSeconds(30), () -> assertThat(Logs.snapshot(log))
        .anyMatch(e -> e.getLevel().toString().equals("ERROR") && e.getFormattedMessage().contains(file.toString())));
  }

  private void assertDamaged(UUID file) throws Exception {
    HttpResponse<byte[]> r = api.download(company, file, token);
    assertThat(r.statusCode()).isEqualTo(500);
    JsonObject error = new JsonObject(new String(r.body(), StandardCharsets.UTF_8));
    assertThat(error.getString("message")).contains(file.toString()).contains("damaged");
  }

  @Test
  void aFlippedByteInTheFirstSegmentIsAnErrorBeforeAnyByte() throws Exception {
    UUID f = upload(Samples.random(random, 3 * SEGMENT));
    Path object = objects(f).get(0);
    byte[] stored = Files.readAllBytes(object);
    stored[500] ^= 0x40;
    Files.write(object, stored);
    assertDamaged(f);
  }

  @Test
  void aFlippedByteCutsTheDownload() throws Exception {
    byte[] content = Samples.random(random, 24 * SEGMENT);
    UUID f = upload(content);
    Path object = objects(f).get(0);
    try (var ch = java.nio.channels.FileChannel.open(object, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long at = 16L * DataKeys.SEGMENT_BYTES + 100; // past the first 512 KiB read: bytes go out, then the cut
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
      ch.read(b, at);
      b.put(0, (byte) (b.get(0) ^ 0x01)).rewind();
      ch.write(b, at);
    }
    assertCut(f, content);
  }

  @Test
  void aTruncatedChunkCutsTheDownload() throws Exception {
    byte[] content = Samples.random(random, 12 * SEGMENT);
    UUID f = upload(content);
    Path object = objects(f).get(0);
    try (var ch = java.nio.channels.FileChannel.open(object, StandardOpenOption.WRITE)) {
      ch.truncate(ch.size() - 1000);
    }
    assertCut(f, content);
  }

  @Test
  void chunksSwappedBetweenPositionsOrFilesDoNotDecrypt() throws Exception {
    byte[] content = Samples.random(random, 2 * 100_000);
    Chunks chunks = new Chunks(api, company, token);
    UUID f = UUID.fromString(chunks.init("total_chunks=2&total_size=" + content.length).getString("id"));
    for (int i = 0; i < 2; i++) {
      chunks.send(f, "chunk_number=" + (i + 1), Arrays.copyOfRange(content, i * 100_000, (i + 1) * 100_000));
    }
    // two chunks of the same size: swap their objects on disk
    List<Path> objs = objects(f);
    Path tmp = objs.get(0).resolveSibling("swap.tmp");
    Files.move(objs.get(0), tmp);
    Files.move(objs.get(1), objs.get(0));
    Files.move(tmp, objs.get(1));
    // the first segment fails, before any header went out: an error answer, no byte of the file
    assertDamaged(f);

    // another file's chunk of the same size in place of this one's
    byte[] other = Samples.random(random, 100_000);
    UUID g = upload(other);
    UUID h = upload(Samples.random(random, 100_000));
    Files.copy(objects(g).get(0), objects(h).get(0), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertDamaged(h);
  }

  @Test
  void theServiceStaysHealthyAfterTampering() throws Exception {
    assertThat(api.get("http://127.0.0.1:" + node.port + "/health", null).statusCode()).isEqualTo(200);
    byte[] content = Samples.random(random, 5000);
    assertThat(api.download(company, upload(content), token).body()).isEqualTo(content);
  }

  @Test
  void storedMetadataNeverShowsAKey() throws Exception {
    JsonObject r = Api.resource(api.get(api.file(company, upload(Samples.random(random, 10))), token));
    assertThat(r.getString("encryption_key")).isEmpty();
    assertThat(r.encode()).doesNotContain("data_key");
  }
}

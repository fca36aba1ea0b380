package dev.files;

import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
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
 * tus 1.0.0 (docs/api.md, "Resumable uploads (tus)"): the protocol's answers with their exact
 * status and headers, what is left in the database and the store after each refusal, a PATCH cut
 * by a connection reset, two PATCHes racing at one offset, and the completed upload downloaded
 * byte-exact.
 */
class TusTest extends NodeTest {

  static final long MAX_FILE = 8L * 1024 * 1024;
  /** http.idle_timeout_ms of the node: a PATCH body stalled this long ends, keeping what arrived. */
  static final long IDLE_MS = 3000;

  @Override
  protected Map<String, ?> settings() {
    return Map.of("limits.max_file_bytes", MAX_FILE, "http.idle_timeout_ms", IDLE_MS);
  }

  private final Random random = new Random(21);

  private String uploads() {
    return base() + "/internal/services/files/v1/companies/" + company + "/uploads";
  }

  private String url(String location) {
    return base() + location;
  }

  private String base() {
    return "http://127.0.0.1:" + node.port;
  }

  private HttpRequest.Builder tus(String url, String token) {
    return api.request(url, token).header("Tus-Resumable", "1.0.0");
  }

  private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    return Api.CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> create(long length, String metadata) throws Exception {
    HttpRequest.Builder b = tus(uploads(), token).header("Upload-Length", Long.toString(length));
    if (metadata != null) {
      b.header("Upload-Metadata", metadata);
    }
    return send(b.POST(HttpRequest.BodyPublishers.noBody()));
  }

  private HttpResponse<String> head(String location) throws Exception {
    return send(tus(url(location), token).method("HEAD", HttpRequest.BodyPublishers.noBody()));
  }

  private HttpResponse<String> patch(String location, long offset, byte[] body, String... headers) throws Exception {
    HttpRequest.Builder b = tus(url(location), token).header("Upload-Offset", Long.toString(offset))
        .header("Content-Type", "application/offset+octet-stream");
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return send(b.method("PATCH", HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static UUID fileId(String location) {
    return UUID.fromString(location.substring(location.lastIndexOf('/') + 1));
  }

  private byte[] bytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  private static byte[] slice(byte[] b, int from, int to) {
    return java.util.Arrays.copyOfRange(b, from, to);
  }

  /** The objects (and temporary files) in the file's directory of the store (ChunkKeys: {@code xx/<file id>/}). */
  private List<Path> storedObjects(UUID file) throws IOException {
    Path dir = node.storage.resolve(file.toString().substring(0, 2)).resolve(file.toString());
    for (int attempt = 0; ; attempt++) {
      if (!Files.isDirectory(dir)) {
        return List.of();
      }
      try (Stream<Path> s = Files.list(dir)) {
        return s.filter(Files::isRegularFile).sorted().toList();
      } catch (java.nio.file.NoSuchFileException | java.io.UncheckedIOException e) { // removed while listed
        if (attempt > 20) {
          throw e;
        }
      }
    }
  }

  private long chunkRows(UUID file) throws Exception {
    return Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'");
  }

  private long fileRows() throws Exception {
    return Db.count(node.dbName, "SELECT count(*) FROM files");
  }

  private void assertDownload(UUID file, byte[] content) throws Exception {
    HttpResponse<byte[]> down = api.download(company, file, token);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));
  }

  @Test
  void optionsAdvertisesTheExtensions() throws Exception {
    HttpResponse<String> r = send(api.request(uploads(), null).method("OPTIONS", HttpRequest.BodyPublishers.noBody()));
    assertThat(r.statusCode()).isEqualTo(204);
    assertThat(r.headers().firstValue("Tus-Resumable")).hasValue("1.0.0");
    assertThat(r.headers().firstValue("Tus-Version")).hasValue("1.0.0");
    assertThat(r.headers().firstValue("Tus-Extension"))
        .hasValue("creation,creation-with-upload,creation-defer-length,termination,concatenation,checksum,expiration");
    assertThat(r.headers().firstValue("Tus-Max-Size")).hasValue(Long.toString(MAX_FILE));
    assertThat(r.headers().firstValue("Tus-Checksum-Algorithm")).hasValue("sha1,sha256");
  }

  @Test
  void createPatchTwiceThenTheFileIsComplete() throws Exception {
    byte[] content = bytes(300_000);
    HttpResponse<String> c = create(content.length, "filename " + b64("report final.pdf") + ",filetype "
        + b64("application/pdf") + ",other " + b64("ignored") + ",flag");
    assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
    String location = c.headers().firstValue("Location").orElseThrow();
    assertThat(location).matches("/internal/services/files/v1/companies/" + company + "/uploads/[0-9a-f-]{36}");
    assertThat(c.headers().firstValue("Upload-Expires")).isPresent();
    UUID file = fileId(location);

    JsonObject pending = Api.resource(api.get(api.file(company, file), token));
    assertThat(pending.getString("upload_status")).isEqualTo("pending");
    assertThat(pending.getJsonObject("metadata").getString("name")).isEqualTo("report final.pdf");
    assertThat(api.download(company, file, token).statusCode()).isEqualTo(409);

    HttpResponse<String> h = head(location);
    assertThat(h.statusCode()).isEqualTo(200);
    assertThat(h.headers().firstValue("Upload-Offset")).hasValue("0");
    assertThat(h.headers().firstValue("Upload-Length")).hasValue(Integer.toString(content.length));
    assertThat(h.headers().firstValue("Cache-Control")).hasValue("no-store");
    assertThat(h.headers().firstValue("Tus-Resumable")).hasValue("1.0.0");
    assertThat(h.headers().firstValue("Upload-Expires").orElseThrow()).endsWith(" GMT");

    HttpResponse<String> p1 = patch(location, 0, slice(content, 0, 100_000));
    assertThat(p1.statusCode()).as(p1.body()).isEqualTo(204);
    assertThat(p1.headers().firstValue("Upload-Offset")).hasValue("100000");
    assertThat(head(location).headers().firstValue("Upload-Offset")).hasValue("100000");
    HttpResponse<String> p2 = patch(location, 100_000, slice(content, 100_000, content.length));
    assertThat(p2.statusCode()).as(p2.body()).isEqualTo(204);
    assertThat(p2.headers().firstValue("Upload-Offset")).hasValue(Integer.toString(content.length));
    assertThat(p2.headers().firstValue("Upload-Expires")).isEmpty(); // complete: it no longer expires

    JsonObject done = Api.resource(api.get(api.file(company, file), token));
    assertThat(done.getString("upload_status")).isEqualTo("complete");
    assertThat(done.getJsonObject("upload_data")).isEqualTo(new JsonObject().put("size", content.length).put("chunks", 2));
    assertThat(done.getJsonObject("metadata").getString("mime")).isEqualTo("application/pdf");
    assertDownload(file, content);
    assertThat(chunkRows(file)).isEqualTo(2);
    eventually(Duration.ofSeconds(30), () -> assertThat(Db.count(node.dbName,
        "SELECT count(*) FROM event_outbox WHERE file_id = '" + file + "' AND type = 'file.uploaded'")).isEqualTo(1));

    HttpResponse<String> h2 = head(location);
    assertThat(h2.headers().firstValue("Upload-Offset")).hasValue(Integer.toString(content.length));
    assertThat(h2.headers().firstValue("Upload-Length")).hasValue(Integer.toString(content.length));
    // a PATCH with bytes after completion is refused before its body
    HttpResponse<String> late = patch(location, content.length, bytes(10));
    assertThat(late.statusCode()).isEqualTo(413);
    assertThat(chunkRows(file)).isEqualTo(2);
  }

  /** The epochs handed out to upload sessions so far (each session taken draws one). */
  private long sessionEpochs() throws Exception {
    return Db.count(node.dbName, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM session_epochs");
  }

  private HttpResponse<String> createWithBody(long length, byte[] body, String... headers) throws Exception {
    HttpRequest.Builder b = tus(uploads(), token).header("Upload-Length", Long.toString(length))
        .header("Content-Type", "application/offset+octet-stream");
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return send(b.POST(HttpRequest.BodyPublishers.ofByteArray(body)));
  }

  /**
   * Creation-with-upload whose body is the whole upload is a classic upload of a new file: one
   * commit, no upload session (no epoch drawn, no owner row), the file complete at once; HEAD and
   * PATCH right after the 201 find it complete.
   */
  @Test
  void creationWithTheWholeBodyIsCompleteAtOnce() throws Exception {
    byte[] content = bytes(65_536);
    long epochs = sessionEpochs();
    HttpResponse<String> c = createWithBody(content.length, content,
        "Upload-Metadata", "filename " + b64("whole.txt") + ",filetype " + b64("text/plain"));
    assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
    assertThat(c.headers().firstValue("Tus-Resumable")).hasValue("1.0.0");
    assertThat(c.headers().firstValue("Upload-Offset")).hasValue("65536");
    assertThat(c.headers().firstValue("Upload-Expires")).isEmpty(); // complete: it does not expire
    String location = c.headers().firstValue("Location").orElseThrow();
    assertThat(location).matches("/internal/services/files/v1/companies/" + company + "/uploads/[0-9a-f-]{36}");
    UUID file = fileId(location);

    HttpResponse<String> h = head(location);
    assertThat(h.statusCode()).isEqualTo(200);
    assertThat(h.headers().firstValue("Upload-Offset")).hasValue("65536");
    assertThat(h.headers().firstValue("Upload-Length")).hasValue("65536");
    assertThat(h.headers().firstValue("Upload-Expires")).isEmpty();
    HttpResponse<String> none = patch(location, content.length, new byte[0]);
    assertThat(none.statusCode()).as(none.body()).isEqualTo(204);
    assertThat(none.headers().firstValue("Upload-Offset")).hasValue("65536");
    assertThat(patch(location, content.length, bytes(10)).statusCode()).isEqualTo(413);

    JsonObject r = Api.resource(api.get(api.file(company, file), token));
    assertThat(r.getString("upload_status")).isEqualTo("complete");
    assertThat(r.getJsonObject("metadata").getString("name")).isEqualTo("whole.txt");
    assertThat(r.getJsonObject("metadata").getString("mime")).isEqualTo("text/plain");
    assertThat(r.getJsonObject("upload_data")).isEqualTo(new JsonObject().put("size", 65_536).put("chunks", 1));
    assertDownload(file, content);
    assertThat(chunkRows(file)).isEqualTo(1);
    assertThat(storedObjects(file)).hasSize(1);
    eventually(Duration.ofSeconds(30), () -> assertThat(Db.count(node.dbName,
        "SELECT count(*) FROM event_outbox WHERE file_id = '" + file + "' AND type = 'file.uploaded'")).isEqualTo(1));
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM upload_sessions WHERE file_id = '" + file + "'")).isZero();
    assertThat(sessionEpochs()).as("no upload session was taken").isEqualTo(epochs);
  }

  /** A creation-with-upload whose Upload-Checksum does not match is 460 and creates nothing: no row, no object. */
  @Test
  void creationWithAWrongChecksumCreatesNothing() throws Exception {
    byte[] content = bytes(40_000);
    long files = fileRows();
    List<String> objects = allChunkObjects();
    String wrong = "sha256 " + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(bytes(10)));
    HttpResponse<String> c = createWithBody(content.length, content, "Upload-Checksum", wrong);
    assertThat(c.statusCode()).as(c.body()).isEqualTo(460);
    assertThat(c.headers().firstValue("Location")).isEmpty();
    assertThat(fileRows()).isEqualTo(files);
    eventually(Duration.ofSeconds(30), () -> assertThat(allChunkObjects()).isEqualTo(objects));

    String right = "sha1 " + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest(content));
    HttpResponse<String> ok = createWithBody(content.length, content, "Upload-Checksum", right);
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(201);
    assertDownload(fileId(ok.headers().firstValue("Location").orElseThrow()), content);
  }

  /**
   * A creation-with-upload whose body is shorter than Upload-Length makes a pending upload holding
   * the body (without a session), which PATCHes then complete.
   */
  @Test
  void creationWithPartOfTheBodyStaysPending() throws Exception {
    byte[] content = bytes(200_000);
    HttpResponse<String> c = createWithBody(content.length, slice(content, 0, 70_000));
    assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
    assertThat(c.headers().firstValue("Upload-Offset")).hasValue("70000");
    assertThat(c.headers().firstValue("Upload-Expires")).isPresent();
    String location = c.headers().firstValue("Location").orElseThrow();
    UUID file = fileId(location);
    assertThat(Api.resource(api.get(api.file(company, file), token)).getString("upload_status")).isEqualTo("pending");
    HttpResponse<String> h = head(location);
    assertThat(h.headers().firstValue("Upload-Offset")).hasValue("70000");
    assertThat(h.headers().firstValue("Upload-Length")).hasValue("200000");
    HttpResponse<String> p = patch(location, 70_000, slice(content, 70_000, content.length));
    assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
    assertThat(p.headers().firstValue("Upload-Offset")).hasValue("200000");
    assertDownload(file, content);
    assertThat(chunkRows(file)).isEqualTo(2);
  }

  /**
   * A creation-with-upload whose connection ends mid-body keeps the bytes that arrived: a pending
   * upload holding them (found by its row: the client never got the Location), which PATCHes complete.
   */
  @Test
  void cutCreationKeepsWhatArrived() throws Exception {
    byte[] content = bytes(1024 * 1024);
    List<String> before = Db.strings(node.dbName, "SELECT id::text FROM files");
    int sent = 400_003;
    try (Socket s = new Socket("127.0.0.1", node.port)) {
      OutputStream out = s.getOutputStream();
      out.write(("POST " + uploads().substring(base().length()) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
          + token + "\r\nTus-Resumable: 1.0.0\r\nUpload-Length: " + content.length
          + "\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: " + content.length + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.write(content, 0, sent);
      out.flush();
      s.shutdownOutput();
      InputStream in = s.getInputStream();
      while (in.read() >= 0) {
        // until the server closes its side
      }
    }
    List<String> created = new ArrayList<>();
    eventually(Duration.ofSeconds(60), () -> {
      created.clear();
      created.addAll(Db.strings(node.dbName, "SELECT id::text FROM files"));
      created.removeAll(before);
      assertThat(created).hasSize(1);
    });
    UUID file = UUID.fromString(created.get(0));
    String location = uploads().substring(base().length()) + "/" + file;
    HttpResponse<String> h = head(location);
    assertThat(h.headers().firstValue("Upload-Offset")).hasValue(Integer.toString(sent));
    assertThat(h.headers().firstValue("Upload-Length")).hasValue(Integer.toString(content.length));
    assertThat(Api.resource(api.get(api.file(company, file), token)).getString("upload_status")).isEqualTo("pending");
    HttpResponse<String> p = patch(location, sent, slice(content, sent, content.length));
    assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
    assertDownload(file, content);
  }

  @Test
  void refusalsLeaveNothingBehind() throws Exception {
    long before = fileRows();
    // 412: another tus version (nothing created)
    HttpResponse<String> v = send(api.request(uploads(), token).header("Tus-Resumable", "0.2.2")
        .header("Upload-Length", "10").POST(HttpRequest.BodyPublishers.noBody()));
    assertThat(v.statusCode()).isEqualTo(412);
    assertThat(v.headers().firstValue("Tus-Version")).hasValue("1.0.0");
    assertThat(new JsonObject(v.body()).getInteger("statusCode")).isEqualTo(412);
    // 413: over Tus-Max-Size; 400: malformed metadata, neither length nor deferral
    assertThat(create(MAX_FILE + 1, null).statusCode()).isEqualTo(413);
    assertThat(create(10, "filename not*base64!").statusCode()).isEqualTo(400);
    assertThat(create(10, "filename " + b64("a") + ",filename " + b64("b")).statusCode()).isEqualTo(400);
    assertThat(send(tus(uploads(), token).POST(HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(400);
    // 401 without a token, 403 with another company's
    assertThat(send(tus(uploads(), null).header("Upload-Length", "10").POST(HttpRequest.BodyPublishers.noBody()))
        .statusCode()).isEqualTo(401);
    String stranger = TestNode.userToken(UUID.randomUUID(), UUID.randomUUID());
    assertThat(send(tus(uploads(), stranger).header("Upload-Length", "10").POST(HttpRequest.BodyPublishers.noBody()))
        .statusCode()).isEqualTo(403);
    assertThat(fileRows()).isEqualTo(before);

    String location = create(1000, null).headers().firstValue("Location").orElseThrow();
    UUID file = fileId(location);
    byte[] first = bytes(400);
    assertThat(patch(location, 0, first).statusCode()).isEqualTo(204);
    List<Path> objects = storedObjects(file);
    assertThat(objects).hasSize(1);

    // 409 wrong offset, 415 wrong type, 400 bad checksum header, 413 beyond the length, 460 mismatch
    HttpResponse<String> conflict = patch(location, 0, bytes(100));
    assertThat(conflict.statusCode()).isEqualTo(409);
    assertThat(new JsonObject(conflict.body()).getString("message")).contains("400");
    HttpResponse<String> type = send(tus(url(location), token).header("Upload-Offset", "400")
        .header("Content-Type", "application/octet-stream").method("PATCH", HttpRequest.BodyPublishers.ofByteArray(bytes(10))));
    assertThat(type.statusCode()).isEqualTo(415);
    assertThat(patch(location, 400, bytes(10), "Upload-Checksum", "md5 " + b64("x")).statusCode()).isEqualTo(400);
    assertThat(patch(location, 400, bytes(601)).statusCode()).isEqualTo(413);
    byte[] second = bytes(100);
    HttpResponse<String> mismatch = patch(location, 400, second, "Upload-Checksum",
        "sha256 " + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(bytes(100))));
    assertThat(mismatch.statusCode()).isEqualTo(460);
    // another user of the company, and an unknown upload
    String colleague = TestNode.userToken(UUID.randomUUID(), company);
    assertThat(send(tus(url(location), colleague).method("HEAD", HttpRequest.BodyPublishers.noBody())).statusCode())
        .isEqualTo(403);
    HttpResponse<String> other = send(tus(url(location), colleague).header("Upload-Offset", "400")
        .header("Content-Type", "application/offset+octet-stream").method("PATCH", HttpRequest.BodyPublishers.ofByteArray(bytes(10))));
    assertThat(other.statusCode()).isEqualTo(403);
    assertThat(head(location.substring(0, location.lastIndexOf('/') + 1) + UUID.randomUUID()).statusCode()).isEqualTo(404);

    assertThat(head(location).headers().firstValue("Upload-Offset")).hasValue("400");
    assertThat(chunkRows(file)).isEqualTo(1);
    eventually(Duration.ofSeconds(30), () -> assertThat(storedObjects(file)).isEqualTo(objects));

    // the right checksum is accepted (sha1), and the file completes
    byte[] rest = bytes(600);
    HttpResponse<String> ok = patch(location, 400, rest, "Upload-Checksum",
        "sha1 " + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest(rest)));
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(204);
    byte[] all = new byte[1000];
    System.arraycopy(first, 0, all, 0, 400);
    System.arraycopy(rest, 0, all, 400, 600);
    assertDownload(file, all);
  }

  @Test
  void creationWithUploadDeferredLengthAndMethodOverride() throws Exception {
    byte[] content = bytes(5000);
    HttpResponse<String> c = send(tus(uploads(), token).header("Upload-Defer-Length", "1")
        .header("Upload-Metadata", "name " + b64("notes.txt") + ",type " + b64("text/plain"))
        .header("Content-Type", "application/offset+octet-stream")
        .POST(HttpRequest.BodyPublishers.ofByteArray(slice(content, 0, 2000))));
    assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
    assertThat(c.headers().firstValue("Upload-Offset")).hasValue("2000");
    String location = c.headers().firstValue("Location").orElseThrow();
    HttpResponse<String> h = head(location);
    assertThat(h.headers().firstValue("Upload-Defer-Length")).hasValue("1");
    assertThat(h.headers().firstValue("Upload-Length")).isEmpty();
    assertThat(h.headers().firstValue("Upload-Offset")).hasValue("2000");
    // the rest through POST with X-HTTP-Method-Override, declaring the length
    HttpResponse<String> p = send(tus(url(location), token).header("X-HTTP-Method-Override", "PATCH")
        .header("Upload-Offset", "2000").header("Upload-Length", "5000")
        .header("Content-Type", "application/offset+octet-stream")
        .POST(HttpRequest.BodyPublishers.ofByteArray(slice(content, 2000, 5000))));
    assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
    assertThat(p.headers().firstValue("Upload-Offset")).hasValue("5000");
    UUID file = fileId(location);
    JsonObject r = Api.resource(api.get(api.file(company, file), token));
    assertThat(r.getString("upload_status")).isEqualTo("complete");
    assertThat(r.getJsonObject("metadata").getString("name")).isEqualTo("notes.txt");
    assertThat(r.getJsonObject("metadata").getString("mime")).isEqualTo("text/plain");
    assertDownload(file, content);
  }

  /** The IETF draft (interop version 6) on the same endpoint: one request with Upload-Complete: ?1, then HEAD. */
  @Test
  void ietfDraftUploadInOneRequest() throws Exception {
    byte[] content = bytes(70_000);
    HttpResponse<String> c = send(api.request(uploads(), token).header("Upload-Draft-Interop-Version", "6")
        .header("Upload-Complete", "?1").header("Content-Type", "application/partial-upload")
        .POST(HttpRequest.BodyPublishers.ofByteArray(content)));
    assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
    assertThat(c.headers().firstValue("Upload-Complete")).hasValue("?1");
    assertThat(c.headers().firstValue("Upload-Offset")).hasValue("70000");
    assertThat(c.headers().firstValue("Upload-Limit")).hasValue("max-size=" + MAX_FILE);
    assertThat(c.headers().firstValue("Tus-Resumable")).isEmpty();
    String location = c.headers().firstValue("Location").orElseThrow();
    HttpResponse<String> h = send(api.request(url(location), token).header("Upload-Draft-Interop-Version", "6")
        .method("HEAD", HttpRequest.BodyPublishers.noBody()));
    assertThat(h.statusCode()).isEqualTo(200);
    assertThat(h.headers().firstValue("Upload-Complete")).hasValue("?1");
    assertThat(h.headers().firstValue("Upload-Offset")).hasValue("70000");
    assertDownload(fileId(location), content);
    // another interop version, or a PATCH without Upload-Complete: 400, nothing read
    assertThat(send(api.request(uploads(), token).header("Upload-Draft-Interop-Version", "3")
        .header("Upload-Complete", "?1").POST(HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(400);
    assertThat(send(api.request(url(location), token).header("Upload-Draft-Interop-Version", "6")
        .header("Upload-Offset", "70000").method("PATCH", HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(400);
  }

  @Test
  void emptyUploadIsCompleteAtCreation() throws Exception {
    HttpResponse<String> c = create(0, null);
    assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
    assertThat(c.headers().firstValue("Upload-Offset")).hasValue("0");
    UUID file = fileId(c.headers().firstValue("Location").orElseThrow());
    assertThat(Api.resource(api.get(api.file(company, file), token)).getString("upload_status")).isEqualTo("complete");
    assertDownload(file, new byte[0]);
  }

  @Test
  void terminationRemovesTheUpload() throws Exception {
    String location = create(1000, null).headers().firstValue("Location").orElseThrow();
    UUID file = fileId(location);
    assertThat(patch(location, 0, bytes(300)).statusCode()).isEqualTo(204);
    HttpResponse<String> d = send(tus(url(location), token).DELETE());
    assertThat(d.statusCode()).isEqualTo(204);
    assertThat(d.headers().firstValue("Tus-Resumable")).hasValue("1.0.0");
    assertThat(head(location).statusCode()).isEqualTo(404);
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM files WHERE id = '" + file + "'")).isZero();
    eventually(Duration.ofSeconds(30), () -> assertThat(storedObjects(file)).isEmpty());
  }

  @Test
  void patchesRacingAtOneOffsetLeaveOneChunk() throws Exception {
    String location = create(200_000, null).headers().firstValue("Location").orElseThrow();
    UUID file = fileId(location);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<byte[]> bodies = new ArrayList<>();
      List<Future<HttpResponse<String>>> answers = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        byte[] b = bytes(100_000);
        bodies.add(b);
        answers.add(pool.submit((Callable<HttpResponse<String>>) () -> patch(location, 0, b)));
      }
      int won = -1;
      for (int i = 0; i < 4; i++) {
        int status = answers.get(i).get().statusCode();
        assertThat(status).isIn(204, 409);
        if (status == 204) {
          assertThat(won).as("only one PATCH at offset 0 wins").isEqualTo(-1);
          won = i;
        }
      }
      assertThat(won).isNotEqualTo(-1);
      assertThat(chunkRows(file)).isEqualTo(1);
      eventually(Duration.ofSeconds(30), () -> assertThat(storedObjects(file)).hasSize(1));
      byte[] rest = bytes(100_000);
      assertThat(patch(location, 100_000, rest).statusCode()).isEqualTo(204);
      byte[] all = new byte[200_000];
      System.arraycopy(bodies.get(won), 0, all, 0, 100_000);
      System.arraycopy(rest, 0, all, 100_000, 100_000);
      assertDownload(file, all);
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Sends the head of a PATCH of the whole {@code content} at offset 0 and its first {@code sent}
   * bytes on a raw socket, then ends the connection: {@code reset} with a TCP reset (RST, as a dropped
   * network does), else by closing the sending side (FIN) so that every sent byte is read first.
   */
  private void cutPatch(String location, byte[] content, int sent, boolean reset, String... extraHeaders) throws Exception {
    try (Socket s = new Socket("127.0.0.1", node.port)) {
      OutputStream out = s.getOutputStream();
      String head = "PATCH " + location + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
          + "\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
          + "Content-Length: " + content.length + "\r\n" + String.join("", java.util.Arrays.stream(extraHeaders)
          .map(h -> h + "\r\n").toList()) + "\r\n";
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      out.write(content, 0, sent);
      out.flush();
      if (reset) {
        s.setSoLinger(true, 0); // close = RST
      } else {
        s.shutdownOutput();
        InputStream in = s.getInputStream();
        while (in.read() >= 0) {
          // until the server closes its side
        }
      }
    }
  }

  /** A PATCH whose connection ends after N bytes keeps exactly those N; the rest completes the file. */
  @Test
  void cutPatchKeepsEveryByteThatArrived() throws Exception {
    byte[] content = bytes(3 * 1024 * 1024);
    String location = create(content.length, null).headers().firstValue("Location").orElseThrow();
    UUID file = fileId(location);
    int sent = 1_000_003;
    cutPatch(location, content, sent, false);
    eventually(Duration.ofSeconds(60), () ->
        assertThat(head(location).headers().firstValue("Upload-Offset")).hasValue(Integer.toString(sent)));
    assertThat(chunkRows(file)).isEqualTo(1);
    HttpResponse<String> p = patch(location, sent, slice(content, sent, content.length));
    assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
    assertDownload(file, content);
  }

  /** A PATCH whose client stops sending (the connection stays open) ends after http.idle_timeout_ms, keeping what arrived. */
  @Test
  void stalledPatchKeepsWhatArrived() throws Exception {
    byte[] content = bytes(1024 * 1024);
    String location = create(content.length, null).headers().firstValue("Location").orElseThrow();
    UUID file = fileId(location);
    int sent = 300_001;
    try (Socket s = new Socket("127.0.0.1", node.port)) {
      s.setSoTimeout(60_000);
      OutputStream out = s.getOutputStream();
      out.write(("PATCH " + location + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
          + "\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
          + "Content-Length: " + content.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(content, 0, sent);
      out.flush();
      long start = System.nanoTime();
      assertThat(s.getInputStream().read()).as("the server closes the stalled PATCH's connection").isEqualTo(-1);
      assertThat((System.nanoTime() - start) / 1_000_000).isGreaterThanOrEqualTo(IDLE_MS - 100);
    }
    eventually(Duration.ofSeconds(30), () ->
        assertThat(head(location).headers().firstValue("Upload-Offset")).hasValue(Integer.toString(sent)));
    HttpResponse<String> p = patch(location, sent, slice(content, sent, content.length));
    assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
    assertDownload(file, content);
  }

  /** A cut PATCH that carried Upload-Checksum keeps nothing: its checksum cannot be checked on part of the body. */
  @Test
  void cutPatchWithChecksumKeepsNothing() throws Exception {
    byte[] content = bytes(1024 * 1024);
    String location = create(content.length, null).headers().firstValue("Location").orElseThrow();
    UUID file = fileId(location);
    String sum = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(content));
    cutPatch(location, content, 500_000, false, "Upload-Checksum: sha256 " + sum);
    eventually(Duration.ofSeconds(30), () -> assertThat(storedObjects(file)).isEmpty());
    assertThat(head(location).headers().firstValue("Upload-Offset")).hasValue("0");
    assertThat(chunkRows(file)).isZero();
    HttpResponse<String> p = patch(location, 0, content, "Upload-Checksum", "sha256 " + sum);
    assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
    assertDownload(file, content);
  }

  /** An image uploaded by tus gets its thumbnail, as every completed upload. */
  @Test
  void imageUploadedByTusGetsItsThumbnail() throws Exception {
    byte[] png = dev.files.support.Samples.image("png", 640, 480);
    HttpResponse<String> c = send(tus(uploads(), token).header("Upload-Length", Integer.toString(png.length))
        .header("Upload-Metadata", "filename " + b64("photo.png"))
        .header("Content-Type", "application/offset+octet-stream").POST(HttpRequest.BodyPublishers.ofByteArray(png)));
    assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
    UUID file = fileId(c.headers().firstValue("Location").orElseThrow());
    eventually(Duration.ofSeconds(60), () -> {
      JsonObject r = Api.resource(api.get(api.file(company, file), token));
      assertThat(r.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done");
      assertThat(r.getJsonObject("metadata").getString("mime")).isEqualTo("image/png");
    });
    HttpResponse<byte[]> thumb = Api.CLIENT.send(api.request(api.file(company, file) + "/thumbnails/0", token).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(thumb.statusCode()).isEqualTo(200);
    assertThat(thumb.body().length).isPositive();
  }

  /**
   * A PATCH reset after N bytes: HEAD never reports more than arrived, and a client resuming from
   * HEAD's offset (asking again after a 409, as tus-js-client does) completes the file byte-exact.
   */
  @Test
  void resetPatchResumesFromHeadsOffset() throws Exception {
    byte[] content = bytes(3 * 1024 * 1024);
    String location = create(content.length, null).headers().firstValue("Location").orElseThrow();
    UUID file = fileId(location);
    int sent = 2_000_000;
    cutPatch(location, content, sent, true);
    for (int attempt = 0; ; attempt++) {
      long offset = Long.parseLong(head(location).headers().firstValue("Upload-Offset").orElseThrow());
      assertThat(offset).isLessThanOrEqualTo(sent);
      HttpResponse<String> p = patch(location, offset, slice(content, (int) offset, content.length));
      if (p.statusCode() == 409 && attempt < 20) {
        continue; // the cut PATCH's bytes were committed meanwhile
      }
      assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
      break;
    }
    assertDownload(file, content);
  }

  /** tus-java-client 0.5.1, unmodified: an upload stopped after its first 1 MiB PATCH, resumed by URL. */
  @Test
  void tusJavaClientUploadsAndResumes() throws Exception {
    byte[] content = bytes(3 * 1024 * 1024 + 17);
    io.tus.java.client.TusClient client = new io.tus.java.client.TusClient();
    client.setUploadCreationURL(URI.create(uploads()).toURL());
    client.setHeaders(Map.of("Authorization", "Bearer " + token));
    client.enableResuming(new io.tus.java.client.TusURLMemoryStore());
    io.tus.java.client.TusUpload upload = new io.tus.java.client.TusUpload();
    upload.setInputStream(new ByteArrayInputStream(content));
    upload.setSize(content.length);
    upload.setFingerprint("java-" + UUID.randomUUID());
    upload.setMetadata(Map.of("filename", "java.bin", "filetype", "application/octet-stream"));

    io.tus.java.client.TusUploader first = client.resumeOrCreateUpload(upload);
    first.setChunkSize(1024 * 1024);
    first.setRequestPayloadSize(1024 * 1024); // one PATCH per MiB
    assertThat(first.uploadChunk()).isEqualTo(1024 * 1024);
    first.finish(); // the PATCH ends; the upload stays incomplete
    String location = first.getUploadURL().getPath();
    UUID file = fileId(location);
    assertThat(head(location).headers().firstValue("Upload-Offset")).hasValue(Integer.toString(1024 * 1024));

    upload.setInputStream(new ByteArrayInputStream(content));
    io.tus.java.client.TusUploader resumed = client.resumeOrCreateUpload(upload);
    assertThat(resumed.getOffset()).isEqualTo(1024 * 1024);
    resumed.setChunkSize(1024 * 1024);
    resumed.setRequestPayloadSize(1024 * 1024);
    while (resumed.uploadChunk() > -1) {
      // each call sends one PATCH of at most 1 MiB
    }
    resumed.finish();
    assertThat(resumed.getUploadURL().getPath()).isEqualTo(location);
    JsonObject r = Api.resource(api.get(api.file(company, file), token));
    assertThat(r.getString("upload_status")).isEqualTo("complete");
    assertThat(r.getJsonObject("metadata").getString("name")).isEqualTo("java.bin");
    assertDownload(file, content);
  }

  // ---- concatenation ------------------------------------------------------------------------------

  /** Every chunk object of the store (ChunkKeys: {@code xx/<file id>/<uuid>.chunk}), as paths relative to it. */
  private List<String> allChunkObjects() throws IOException {
    for (int attempt = 0; ; attempt++) {
      try (Stream<Path> s = Tree.walk(node.storage)) {
        return s.filter(Files::isRegularFile).filter(p -> p.getFileName().toString().endsWith(".chunk"))
            .map(p -> node.storage.relativize(p).toString()).sorted().toList();
      } catch (java.nio.file.NoSuchFileException | java.io.UncheckedIOException e) { // a directory removed while walked
        if (attempt > 20) {
          throw e;
        }
      }
    }
  }

  private HttpResponse<String> createPartial(long length, String token) throws Exception {
    return send(tus(uploads(), token).header("Upload-Length", Long.toString(length)).header("Upload-Concat", "partial")
        .POST(HttpRequest.BodyPublishers.noBody()));
  }

  /** A partial upload of {@code content}, sent in PATCHes of {@code patch} bytes; its Location. */
  private String partial(byte[] content, int patch) throws Exception {
    HttpResponse<String> c = createPartial(content.length, token);
    assertThat(c.statusCode()).as(c.body()).isEqualTo(201);
    assertThat(c.headers().firstValue("Upload-Concat")).hasValue("partial");
    String location = c.headers().firstValue("Location").orElseThrow();
    for (int at = 0; at < content.length; at += patch) {
      HttpResponse<String> p = patch(location, at, slice(content, at, Math.min(content.length, at + patch)));
      assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
    }
    return location;
  }

  private HttpResponse<String> createFinal(String concat, String... headers) throws Exception {
    HttpRequest.Builder b = tus(uploads(), token).header("Upload-Concat", concat);
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return send(b.POST(HttpRequest.BodyPublishers.noBody()));
  }

  private long count(String sql) throws Exception {
    return Db.count(node.dbName, sql);
  }

  /**
   * tus concatenation: two partial uploads (pending files, no event) and a final upload whose content
   * is theirs, byte-exact, a range across their boundary included; their chunk objects are reused,
   * none copied or deleted, their rows moved to the final file with their source; the partials are
   * gone. HEAD of the final reports Upload-Concat, a PATCH to it is 403; its termination removes the
   * objects it took over.
   */
  @Test
  void finalUploadReusesThePartialsChunks() throws Exception {
    byte[] content = bytes(250_000);
    List<String> before = allChunkObjects();
    String a = partial(slice(content, 0, 100_000), 60_000);
    String b = partial(slice(content, 100_000, content.length), 200_000);
    UUID idA = fileId(a);
    UUID idB = fileId(b);

    HttpResponse<String> ha = head(a);
    assertThat(ha.headers().firstValue("Upload-Concat")).hasValue("partial");
    assertThat(ha.headers().firstValue("Upload-Offset")).hasValue("100000");
    assertThat(ha.headers().firstValue("Upload-Length")).hasValue("100000");
    assertThat(ha.headers().firstValue("Upload-Expires")).isPresent();
    JsonObject pendingA = Api.resource(api.get(api.file(company, idA), token));
    assertThat(pendingA.getString("upload_status")).isEqualTo("pending"); // a partial stays pending
    assertThat(api.download(company, idA, token).statusCode()).isEqualTo(409);
    List<String> partObjects = new ArrayList<>(allChunkObjects());
    partObjects.removeAll(before);
    assertThat(partObjects).hasSize(3);

    HttpResponse<String> f = createFinal("final;" + url(a) + " " + b, "Upload-Metadata", "filename " + b64("joined.bin"));
    assertThat(f.statusCode()).as(f.body()).isEqualTo(201);
    assertThat(f.headers().firstValue("Upload-Offset")).hasValue("250000");
    String location = f.headers().firstValue("Location").orElseThrow();
    assertThat(location).matches("/internal/services/files/v1/companies/" + company + "/uploads/[0-9a-f-]{36}");
    UUID file = fileId(location);

    JsonObject done = Api.resource(api.get(api.file(company, file), token));
    assertThat(done.getString("upload_status")).isEqualTo("complete");
    assertThat(done.getJsonObject("metadata").getString("name")).isEqualTo("joined.bin");
    assertThat(done.getJsonObject("upload_data")).isEqualTo(new JsonObject().put("size", 250_000).put("chunks", 3));
    assertDownload(file, content);
    HttpResponse<byte[]> range = api.download(company, file, token, "Range", "bytes=99990-100009");
    assertThat(range.statusCode()).isEqualTo(206);
    assertThat(range.body()).isEqualTo(slice(content, 99_990, 100_010));

    // no object copied, none deleted; the rows moved, in order, with their source
    List<String> after = new ArrayList<>(allChunkObjects());
    after.removeAll(before);
    assertThat(after).isEqualTo(partObjects);
    assertThat(Db.strings(node.dbName, "SELECT source_file_id || '/' || source_chunk_number || '/' || chunk_number"
        + " FROM chunks WHERE file_id = '" + file + "' ORDER BY chunk_number"))
        .containsExactly(idA + "/1/1", idA + "/2/2", idB + "/1/3");
    assertThat(count("SELECT count(*) FROM chunks WHERE file_id IN ('" + idA + "', '" + idB + "')")).isZero();
    assertThat(count("SELECT count(*) FROM files WHERE id IN ('" + idA + "', '" + idB + "')")).isZero();
    assertThat(count("SELECT count(*) FROM retired_chunks WHERE file_id IN ('" + idA + "', '" + idB + "')")).isZero();
    assertThat(head(a).statusCode()).isEqualTo(404);
    eventually(Duration.ofSeconds(30), () -> assertThat(count(
        "SELECT count(*) FROM event_outbox WHERE file_id = '" + file + "' AND type = 'file.uploaded'")).isEqualTo(1));
    assertThat(count("SELECT count(*) FROM event_outbox WHERE file_id IN ('" + idA + "', '" + idB + "')")).isZero();

    HttpResponse<String> h = head(location);
    assertThat(h.statusCode()).isEqualTo(200);
    assertThat(h.headers().firstValue("Upload-Concat")).hasValue("final;" + a + " " + b);
    assertThat(h.headers().firstValue("Upload-Offset")).hasValue("250000");
    assertThat(h.headers().firstValue("Upload-Length")).hasValue("250000");
    HttpResponse<String> p = patch(location, 250_000, new byte[0]);
    assertThat(p.statusCode()).as(p.body()).isEqualTo(403);

    // the final upload owns the objects it took over: its termination removes them
    assertThat(send(tus(url(location), token).DELETE()).statusCode()).isEqualTo(204);
    eventually(Duration.ofSeconds(30), () -> {
      List<String> left = new ArrayList<>(allChunkObjects());
      left.retainAll(partObjects);
      assertThat(left).isEmpty();
    });
  }

  /**
   * A final upload naming a partial upload that is not complete, an upload that is not partial, one
   * of another user, of another company or none, or one twice, is refused with the tus errors, and
   * nothing changes: no file, no row moved, no object touched.
   */
  @Test
  void finalUploadRefusalsChangeNothing() throws Exception {
    byte[] content = bytes(1000);
    String done = partial(content, 1000);
    HttpResponse<String> c = createPartial(500, token);
    String open = c.headers().firstValue("Location").orElseThrow();
    assertThat(patch(open, 0, bytes(200)).statusCode()).isEqualTo(204);
    String plain = create(10, null).headers().firstValue("Location").orElseThrow();
    assertThat(patch(plain, 0, bytes(10)).statusCode()).isEqualTo(204);
    String colleague = TestNode.userToken(UUID.randomUUID(), company);
    String theirs = createPartial(10, colleague).headers().firstValue("Location").orElseThrow();
    String unknown = uploads().substring(base().length()) + "/" + UUID.randomUUID();
    String otherCompany = "/internal/services/files/v1/companies/" + UUID.randomUUID() + "/uploads/" + fileId(done);

    long files = fileRows();
    long chunks = count("SELECT count(*) FROM chunks");
    List<String> objects = allChunkObjects();
    Map<String, Integer> refusals = new java.util.LinkedHashMap<>();
    refusals.put("final;" + done + " " + open, 400); // not complete
    refusals.put("final;" + done + " " + plain, 400); // not partial
    refusals.put("final;" + done + " " + done, 400); // twice
    refusals.put("final;", 400);
    refusals.put("final;" + done + " /elsewhere/" + UUID.randomUUID(), 400);
    refusals.put("final;" + done + " " + unknown, 404);
    refusals.put("final;" + otherCompany, 404);
    refusals.put("final;" + done + " " + theirs, 403);
    refusals.put("something", 400);
    for (Map.Entry<String, Integer> r : refusals.entrySet()) {
      HttpResponse<String> f = createFinal(r.getKey());
      assertThat(f.statusCode()).as(r.getKey() + ": " + f.body()).isEqualTo(r.getValue());
    }
    assertThat(createFinal("final;" + done, "Upload-Length", "1000").statusCode()).isEqualTo(400);
    assertThat(send(api.request(uploads(), token).header("Upload-Draft-Interop-Version", "6").header("Upload-Complete", "?0")
        .header("Upload-Concat", "final;" + done).POST(HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(400);

    assertThat(fileRows()).isEqualTo(files);
    assertThat(count("SELECT count(*) FROM chunks")).isEqualTo(chunks);
    assertThat(allChunkObjects()).isEqualTo(objects);
    assertThat(head(done).headers().firstValue("Upload-Offset")).hasValue("1000");

    // the complete partial alone still makes a final upload
    HttpResponse<String> f = createFinal("final;" + done);
    assertThat(f.statusCode()).as(f.body()).isEqualTo(201);
    assertDownload(fileId(f.headers().firstValue("Location").orElseThrow()), content);
  }

  /** A final upload of an image split in two partial uploads gets its thumbnail (read across both keys). */
  @Test
  void finalUploadOfAnImageGetsItsThumbnail() throws Exception {
    byte[] png = dev.files.support.Samples.image("png", 640, 480);
    int half = png.length / 2;
    String a = partial(slice(png, 0, half), half);
    String b = partial(slice(png, half, png.length), png.length);
    HttpResponse<String> f = createFinal("final;" + a + " " + b, "Upload-Metadata",
        "filename " + b64("photo.png") + ",filetype " + b64("image/png"));
    assertThat(f.statusCode()).as(f.body()).isEqualTo(201);
    UUID file = fileId(f.headers().firstValue("Location").orElseThrow());
    eventually(Duration.ofSeconds(60), () -> assertThat(Api.resource(api.get(api.file(company, file), token))
        .getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done"));
    HttpResponse<byte[]> thumb = Api.CLIENT.send(api.request(api.file(company, file) + "/thumbnails/0", token).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(thumb.statusCode()).isEqualTo(200);
    assertThat(thumb.body().length).isPositive();
    assertDownload(file, png);
  }
}

package dev.files;

import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import dev.files.support.RawHttp;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.files.support.Eventually.eventually;
import static dev.files.support.ProcessResources.openFiles;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What one client can do to a node through a request body, and what the node answers: a multipart
 * body of 200,000 small or nameless parts (400 after 1,000 parts, not minutes of parsing), more than
 * 1 MiB of form fields (413), a client that resets mid-upload (the partial object and its file
 * descriptor are released at once), a body that stalls or trickles (408 after
 * {@code http.idle_timeout_ms} / {@code http.body_timeout_ms}), broken chunked transfer encoding
 * (400 JSON) and an over-limit upload by an HTTP/2 client (413 over HTTP/1.1: h2c is off).
 */
class BodyLimitsTest extends NodeTest {

  static final int LIMIT = 16 * 1024 * 1024;
  static final int IDLE_MS = 4000;
  static final int BODY_MS = 10000;

  @Override
  protected Map<String, ?> settings() {
    return Map.of("limits.max_request_bytes", LIMIT, "http.idle_timeout_ms", IDLE_MS, "http.body_timeout_ms", BODY_MS);
  }

  private List<Path> storedFiles() throws IOException {
    for (int attempt = 0; ; attempt++) {
      try (Stream<Path> s = Tree.walk(node.storage)) {
        return s.filter(Files::isRegularFile).toList();
      } catch (java.io.UncheckedIOException e) { // a directory removed while walking: look again
        if (attempt == 20) {
          throw e;
        }
      }
    }
  }

  private long partFiles() throws IOException {
    return storedFiles().stream().filter(p -> p.toString().endsWith(".tmp")).count();
  }

  private String filesPath() {
    return "/internal/services/files/v1/companies/" + company + "/files";
  }

  private static String multipartHead(String boundary) {
    return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
        + "Content-Type: application/octet-stream\r\n\r\n";
  }

  /** Sends {@code body} (as far as the server reads it) while reading the answer; the raw answer. */
  private String postWhileReading(String path, String contentType, byte[] body) throws Exception {
    try (RawHttp http = new RawHttp(node.port)) {
      http.head("POST " + path + " HTTP/1.1", "Authorization: Bearer " + token, "Content-Type: " + contentType,
          "Content-Length: " + body.length);
      CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> {
        try {
          return http.readResponse();
        } catch (IOException e) {
          return "";
        }
      });
      for (int at = 0; at < body.length && !answer.isDone(); at += 64 * 1024) {
        if (!http.send(java.util.Arrays.copyOfRange(body, at, Math.min(body.length, at + 64 * 1024)))) {
          break;
        }
      }
      return answer.get(120, TimeUnit.SECONDS);
    }
  }

  private static JsonObject json(String response) {
    return new JsonObject(response.substring(response.indexOf("\r\n\r\n") + 4));
  }

  private static byte[] manyParts(String boundary, String part, int count) {
    StringBuilder b = new StringBuilder(part.length() * count + 200);
    for (int i = 0; i < count; i++) {
      b.append("--").append(boundary).append("\r\n").append(part);
    }
    b.append(multipartHead(boundary)).append("hello\r\n--").append(boundary).append("--\r\n");
    return b.toString().getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void twoHundredThousandRepeatedFieldsAre400AfterAThousandParts() throws Exception {
    byte[] body = manyParts("bench", "Content-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n", 200_000);
    assertThat(body.length).isGreaterThan(9 * 1024 * 1024);

    String response = postWhileReading(filesPath(), "multipart/form-data; boundary=bench", body);

    assertThat(response).startsWith("HTTP/1.1 400 ");
    assertThat(json(response).getString("message")).contains("at most 1000 parts");
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM files")).isZero();
  }

  @Test
  void twoHundredThousandNamelessPartsAre400AfterAThousandParts() throws Exception {
    byte[] body = manyParts("bench", "Content-Disposition: form-data\r\n\r\nv\r\n", 200_000);

    String response = postWhileReading(filesPath(), "multipart/form-data; boundary=bench", body);

    assertThat(response).startsWith("HTTP/1.1 400 ");
    assertThat(json(response).getString("message")).contains("at most 1000 parts");
  }

  @Test
  void moreThanOneMebibyteOfFormFieldsIs413() throws Exception {
    String value = "v".repeat(60 * 1024);
    byte[] body = manyParts("form", "Content-Disposition: form-data; name=\"note\"\r\n\r\n" + value + "\r\n", 20);

    String response = postWhileReading(filesPath(), "multipart/form-data; boundary=form", body);

    assertThat(response).startsWith("HTTP/1.1 413 ");
    assertThat(json(response).getString("message")).contains("exceeds 1048576 bytes");
  }

  @Test
  void aFormWithManyFieldsUnderTheCapsStillUploads() throws Exception {
    byte[] body = manyParts("ok", "Content-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n", 900);

    String response = postWhileReading(filesPath(), "multipart/form-data; boundary=ok", body);

    assertThat(response).startsWith("HTTP/1.1 200 ");
    JsonObject resource = json(response).getJsonObject("resource");
    assertThat(resource.getJsonObject("upload_data").getLong("size")).isEqualTo(5);
    assertThat(api.delete(company, UUID.fromString(resource.getString("id")), token).statusCode()).isEqualTo(200);
  }

  /** Opens an upload, sends part of its body, then resets the connection (SO_LINGER 0: RST). */
  private void resetMidUpload(String path, int bytes) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", node.port), 10_000);
      OutputStream out = s.getOutputStream();
      out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
          + "\r\nContent-Type: multipart/form-data; boundary=rst\r\nContent-Length: 10000000\r\n\r\n"
          + multipartHead("rst")).getBytes(StandardCharsets.US_ASCII));
      out.write(new byte[bytes]);
      out.flush();
      s.setSoLinger(true, 0);
    }
  }

  @Test
  void clientsThatResetMidUploadLeaveNoPartFileAndNoOpenFile() throws Exception {
    HttpResponse<String> init = Api.CLIENT.send(api.request(api.files(company) + "?filename=r.bin&total_chunks=3", token)
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    String chunk = filesPath() + "/" + Api.resource(init).getString("id") + "?chunk_number=1&total_chunks=3";
    resetMidUpload(chunk, 1000); // warm up
    Thread.sleep(500);
    List<Path> filesBefore = storedFiles();
    long fdsBefore = openFiles();

    for (int i = 0; i < 200; i++) {
      // reset while the file is looked up, while its object is opened, and while it is written
      resetMidUpload(i % 2 == 0 ? chunk : filesPath(), i % 3 == 0 ? 1000 : 200_000);
    }

    eventually(Duration.ofSeconds(60), () -> {
      assertThat(partFiles()).as("temporary files left").isZero();
      assertThat(openFiles()).as("open file descriptors (before: %d)", fdsBefore).isLessThan(fdsBefore + 30);
      assertThat(storedFiles()).containsExactlyInAnyOrderElementsOf(filesBefore);
    });
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks c JOIN files f ON f.id = c.file_id"
        + " WHERE f.name IN ('a.bin', 'r.bin')")).isZero();
  }

  @Test
  void aBodyThatStallsIs408AndItsPartialObjectIsRemoved() throws Exception {
    List<Path> before = storedFiles();
    try (RawHttp http = new RawHttp(node.port)) {
      http.head("POST " + filesPath() + " HTTP/1.1", "Authorization: Bearer " + token,
          "Content-Type: multipart/form-data; boundary=stall", "Content-Length: 100000");
      http.send(multipartHead("stall").getBytes(StandardCharsets.US_ASCII));
      http.send(new byte[5000]); // then nothing
      long start = System.nanoTime();
      String response = http.readResponse();

      assertThat(response).startsWith("HTTP/1.1 408 ");
      assertThat(json(response).getInteger("statusCode")).isEqualTo(408);
      assertThat(json(response).getString("message")).contains("no byte of the request body for " + IDLE_MS + " ms");
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThanOrEqualTo(IDLE_MS - 100);
    }
    eventually(Duration.ofSeconds(60), () -> assertThat(storedFiles()).containsExactlyInAnyOrderElementsOf(before));
  }

  @Test
  void aBodyThatTricklesIs408AtTheBodyDeadline() throws Exception {
    List<Path> before = storedFiles();
    try (RawHttp http = new RawHttp(node.port)) {
      http.head("POST " + filesPath() + " HTTP/1.1", "Authorization: Bearer " + token,
          "Content-Type: multipart/form-data; boundary=slow", "Content-Length: 100000");
      http.send(multipartHead("slow").getBytes(StandardCharsets.US_ASCII));
      CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> {
        try {
          return http.readResponse();
        } catch (IOException e) {
          return "";
        }
      });
      // a byte every 300 ms: never idle for IDLE_MS, never done (4 × BODY_MS at most)
      for (int i = 0; i < 4 * BODY_MS / 300 && !answer.isDone(); i++) {
        if (!http.send(new byte[]{'x'})) {
          break;
        }
        Thread.sleep(300);
      }
      String response = answer.get(30, TimeUnit.SECONDS);

      assertThat(response).startsWith("HTTP/1.1 408 ");
      assertThat(json(response).getString("message")).contains("not received within " + BODY_MS + " ms");
    }
    eventually(Duration.ofSeconds(60), () -> assertThat(storedFiles()).containsExactlyInAnyOrderElementsOf(before));
  }

  @Test
  void brokenChunkedEncodingIs400Json() throws Exception {
    List<Path> before = storedFiles();
    for (String type : new String[]{"multipart/form-data; boundary=ch", "text/plain"}) {
      try (RawHttp http = new RawHttp(node.port)) {
        http.head("POST " + filesPath() + " HTTP/1.1", "Authorization: Bearer " + token,
            "Content-Type: " + type, "Transfer-Encoding: chunked");
        http.sendChunk(multipartHead("ch").getBytes(StandardCharsets.US_ASCII));
        Thread.sleep(300); // the upload is under way
        http.send("zz\r\nnot a chunk size\r\n".getBytes(StandardCharsets.US_ASCII));
        String response = http.readResponse();

        assertThat(response).as(type).startsWith("HTTP/1.1 400 ");
        assertThat(json(response).getInteger("statusCode")).isEqualTo(400);
        assertThat(json(response).getString("message")).contains("chunked transfer encoding").doesNotContain("Exception");
      }
    }
    eventually(Duration.ofSeconds(60), () -> assertThat(storedFiles()).containsExactlyInAnyOrderElementsOf(before));
  }

  @Test
  void anHttp2ClientGets413OverHttp11ForAnOverLimitUpload() throws Exception {
    List<Path> before = storedFiles();
    HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(10)).build();
    Api.Multipart form = new Api.Multipart();
    byte[] content = new byte[LIMIT + 1024];

    HttpResponse<String> r = h2.send(api.request(api.files(company), token).header("Content-Type", form.contentType())
        .POST(form.body(content)).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(new JsonObject(r.body()).getInteger("statusCode")).isEqualTo(413);

    // and a small upload by the same client works, over HTTP/1.1
    HttpResponse<String> ok = h2.send(api.request(api.files(company), token).header("Content-Type", form.contentType())
        .POST(form.body("small".getBytes())).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    assertThat(ok.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    api.delete(company, UUID.fromString(Api.resource(ok).getString("id")), token);
    eventually(Duration.ofSeconds(60), () -> assertThat(storedFiles()).containsExactlyInAnyOrderElementsOf(before));
  }
}

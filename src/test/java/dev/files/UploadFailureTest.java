package dev.files;

import dev.files.support.Api;
import dev.files.support.NodeTest;
import dev.files.support.Db;
import dev.files.support.RawHttp;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * Uploads that fail: over the size limit (early from Content-Length, and while streaming a chunked
 * body), a client that goes away mid-body, a storage directory that cannot be written, a full disk.
 * Each must leave no file in the store (temporary or not) and no row.
 */
class UploadFailureTest extends NodeTest {

  static final int LIMIT = 1024 * 1024;

  @Override
  protected Map<String, ?> settings() {
    return Map.of("limits.max_request_bytes", LIMIT);
  }

  @AfterEach
  void nothingLeft() throws Exception {
    waitForNoStoredFiles();
    assertThat(storedFiles()).isEmpty();
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM files")).isZero();
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks")).isZero();
  }

  private List<Path> storedFiles() throws IOException {
    try (Stream<Path> s = Tree.walk(node.storage)) {
      // the store's identity marker (.store-id) is not a stored object
      return s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).toList();
    }
  }

  /** Waits up to 60 s until no object is stored (a refused upload's object is deleted before its answer, a cut one's after). */
  private void waitForNoStoredFiles() throws Exception {
    eventually(Duration.ofSeconds(60), () -> assertThat(storedFiles()).isEmpty());
  }

  private String multipartHead(String boundary) {
    return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
        + "Content-Type: application/octet-stream\r\n\r\n";
  }

  @Test
  void bodyOverTheLimitByContentLengthIs413BeforeAnyByte() throws Exception {
    String boundary = "b0undary";
    try (RawHttp http = new RawHttp(node.port)) {
      http.head("POST /internal/services/files/v1/companies/" + company + "/files HTTP/1.1",
          "Authorization: Bearer " + token, "Content-Type: multipart/form-data; boundary=" + boundary,
          "Content-Length: " + (2 * LIMIT), "Expect: 100-continue");
      String response = http.readResponse();
      assertThat(response).startsWith("HTTP/1.1 413 ");
      assertThat(response).doesNotContain("100 Continue");
      JsonObject body = new JsonObject(response.substring(response.indexOf("\r\n\r\n") + 4));
      assertThat(body.getInteger("statusCode")).isEqualTo(413);
      assertThat(body.getString("error")).isEqualTo("Request Entity Too Large");
      assertThat(body.getString("message")).contains(Integer.toString(LIMIT));
    }
  }

  @Test
  void chunkedBodyOverTheLimitIs413AndThePartialObjectIsRemoved() throws Exception {
    String boundary = "b0undary";
    try (RawHttp http = new RawHttp(node.port)) {
      http.head("POST /internal/services/files/v1/companies/" + company + "/files HTTP/1.1",
          "Authorization: Bearer " + token, "Content-Type: multipart/form-data; boundary=" + boundary,
          "Transfer-Encoding: chunked");
      http.sendChunk(multipartHead(boundary).getBytes(StandardCharsets.US_ASCII));
      byte[] block = new byte[64 * 1024];
      for (int sent = 0; sent < 4 * LIMIT; sent += block.length) {
        if (!http.sendChunk(block)) {
          break;
        }
      }
      String response = http.readResponse();
      assertThat(response).startsWith("HTTP/1.1 413 ");
      assertThat(response).contains("\"statusCode\":413");
    }
  }

  @Test
  void clientGoneMidBodyLeavesNothing() throws Exception {
    String boundary = "b0undary";
    try (RawHttp http = new RawHttp(node.port)) {
      http.head("POST /internal/services/files/v1/companies/" + company + "/files HTTP/1.1",
          "Authorization: Bearer " + token, "Content-Type: multipart/form-data; boundary=" + boundary,
          "Content-Length: " + (LIMIT - 1000));
      http.send(multipartHead(boundary).getBytes(StandardCharsets.US_ASCII));
      http.send(new byte[LIMIT / 2]);
      Thread.sleep(300); // the part is being written when the client goes
    }
  }

  @Test
  void multipartWithoutAFilePartIs400() throws Exception {
    HttpResponse<String> r = Api.CLIENT.send(api.request(api.files(company), token)
        .header("Content-Type", "multipart/form-data; boundary=xyz")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
            "--xyz\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--xyz--\r\n")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(r.body()).getString("message")).contains("no file part");
  }

  @Test
  void clientGoneAfterTheFilePartButBeforeTheClosingBoundaryLeavesNothing() throws Exception {
    String boundary = "b0undary";
    byte[] head = multipartHead(boundary).getBytes(StandardCharsets.US_ASCII);
    byte[] afterPart = ("\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nx")
        .getBytes(StandardCharsets.US_ASCII);
    try (RawHttp http = new RawHttp(node.port)) {
      http.head("POST /internal/services/files/v1/companies/" + company + "/files HTTP/1.1",
          "Authorization: Bearer " + token, "Content-Type: multipart/form-data; boundary=" + boundary,
          "Content-Length: " + (head.length + 5000 + afterPart.length + 100));
      http.send(head);
      http.send(new byte[5000]);
      http.send(afterPart); // the file part is complete (and stored); the body never ends
      Thread.sleep(500);
    }
  }

  @Test
  void missingHostHeaderIs400Json() throws Exception {
    try (RawHttp http = new RawHttp(node.port)) {
      http.send("GET /health HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      String response = http.readResponse();
      assertThat(response).startsWith("HTTP/1.1 400 ");
      assertThat(response).contains("\"statusCode\":400").contains("Host");
    }
  }

  @Test
  void badPercentEscapeInThePathIs400Json() throws Exception {
    try (RawHttp http = new RawHttp(node.port)) { // java.net.URI refuses to send it
      http.head("GET /internal/services/files/v1/companies/" + company + "/files/%zz HTTP/1.1",
          "Authorization: Bearer " + token);
      String response = http.readResponse();
      assertThat(response).startsWith("HTTP/1.1 400 ");
      assertThat(response).contains("\"statusCode\":400");
    }
  }

  @Test
  void malformedChunkNumberIs400BeforeTheBody() throws Exception {
    HttpResponse<String> r = api.post(api.files(company) + "?chunk_number=abc", token, new Api.Multipart(), new byte[10]);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(r.body()).getString("message")).contains("chunk_number");
  }

  @Test
  void unwritableStorageIs503WithAMessage() throws Exception {
    Path moved = node.storage.resolveSibling(node.storage.getFileName() + "-moved");
    Files.move(node.storage, moved);
    Files.writeString(node.storage, "not a directory");
    try {
      HttpResponse<String> r = api.upload(company, token, "x.bin", null, new byte[1000]);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
      assertThat(new JsonObject(r.body()).getString("message")).isEqualTo("storing an object failed: storage is unavailable");
    } finally {
      Files.delete(node.storage);
      Files.move(moved, node.storage);
    }
  }

  @Test
  void fullDiskIs507AndNothingIsKept() throws Exception {
    Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", node.storage.toString())
        .redirectErrorStream(true).start();
    assumeThat(mount.waitFor()).as("mounting a small tmpfs (needs root)").isZero();
    try {
      HttpResponse<String> r = api.upload(company, token, "big.bin", null, new byte[LIMIT / 2]);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(507);
      assertThat(new JsonObject(r.body()).getString("message")).contains("storage is full");
      // files.api create answers a full store as the HTTP upload does: 507, nothing kept
      JsonObject create = new JsonObject().put("company_id", company.toString()).put("name", "big.bin")
          .put("content", java.util.Base64.getEncoder().encodeToString(new byte[LIMIT / 2]));
      io.vertx.core.eventbus.DeliveryOptions call = new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(30_000)
          .addHeader("action", "create").addHeader("authorization", "Bearer " + TestNode.appToken(UUID.randomUUID(), company));
      try {
        node.node.vertx().eventBus().request(dev.files.bus.Addresses.API, create, call).await(40, TimeUnit.SECONDS);
        throw new AssertionError("files.api create succeeded on a full store");
      } catch (io.vertx.core.eventbus.ReplyException e) {
        assertThat(e.failureCode()).as(e.getMessage()).isEqualTo(507);
        assertThat(e.getMessage()).contains("storage is full");
      }
      waitForNoStoredFiles();
      assertThat(storedFiles()).isEmpty();
    } finally {
      // lazy: the node may still hold the directory open for a moment
      assertThat(new ProcessBuilder("umount", "-l", node.storage.toString()).start().waitFor()).isZero();
    }
  }
}

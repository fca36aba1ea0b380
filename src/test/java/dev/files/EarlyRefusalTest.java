package dev.files;

import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import dev.files.support.RawHttp;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Decide before reading (docs/api.md): what the request line, the headers and the file's row decide
 * (another user's pending file, a user overwriting a complete file, a chunk larger than what
 * total_size still allows) is answered from the headers alone: the client sends the headers of a
 * large body and no byte of it, and gets the refusal, with {@code Connection: close}, no
 * {@code 100 Continue}, and nothing written to the store.
 */
class EarlyRefusalTest extends NodeTest {

  /** A body far larger than anything refused here would need (the request limit is 256 MiB). */
  static final long LARGE = 64L * 1024 * 1024;

  private List<Path> storedFiles() throws IOException {
    for (int attempt = 0; ; attempt++) {
      try (Stream<Path> s = Tree.walk(node.storage)) {
        return s.filter(Files::isRegularFile).sorted().toList();
      } catch (java.io.UncheckedIOException e) { // a directory removed while walking: look again
        if (attempt == 20) {
          throw e;
        }
      }
    }
  }

  /** Sends only the headers of a multipart POST of {@code contentLength} bytes; the raw answer. */
  private String headersOnly(String path, String bearer, long contentLength) throws IOException {
    try (RawHttp http = new RawHttp(node.port)) {
      http.head("POST " + path + " HTTP/1.1", "Authorization: Bearer " + bearer,
          "Content-Type: multipart/form-data; boundary=b0undary", "Content-Length: " + contentLength,
          "Expect: 100-continue");
      return http.readResponse();
    }
  }

  private static JsonObject body(String response) {
    return new JsonObject(response.substring(response.indexOf("\r\n\r\n") + 4));
  }

  private static String path(String url) {
    return url.substring(url.indexOf("/internal/"));
  }

  private UUID initialise(String bearer, String query) throws Exception {
    HttpResponse<String> r = Api.CLIENT.send(api.request(api.files(company) + "?" + query, bearer)
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return UUID.fromString(Api.resource(r).getString("id"));
  }

  private void assertRefused(String response, int status, String message) {
    assertThat(response).as("answered before the body was sent").startsWith("HTTP/1.1 " + status + " ");
    assertThat(response).doesNotContain("100 Continue");
    assertThat(response.toLowerCase()).contains("connection: close");
    JsonObject json = body(response);
    assertThat(json.getInteger("statusCode")).isEqualTo(status);
    assertThat(json.getString("message")).contains(message);
  }

  @Test
  void aUserWritingIntoAnotherUsersPendingFileIsRefusedFromTheHeaders() throws Exception {
    UUID id = initialise(token, "filename=mine.bin&total_chunks=2");
    String other = TestNode.userToken(UUID.randomUUID(), company);
    List<Path> before = storedFiles();

    String response = headersOnly(path(api.file(company, id)) + "?chunk_number=1&total_chunks=2", other, LARGE);

    assertRefused(response, 403, "another owner");
    assertThat(storedFiles()).isEqualTo(before);
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + id + "'")).isZero();
  }

  @Test
  void aUserOverwritingACompleteFileIsRefusedFromTheHeaders() throws Exception {
    HttpResponse<String> up = api.upload(company, token, "done.txt", "text/plain", "complete content".getBytes());
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    List<Path> before = storedFiles();

    // as a whole file, and as a chunk whose body cannot be the stored chunk 1 again
    assertRefused(headersOnly(path(api.file(company, id)), token, LARGE), 403, "only an application");
    assertRefused(headersOnly(path(api.file(company, id)) + "?chunk_number=1", token, LARGE), 403, "only an application");
    assertRefused(headersOnly(path(api.file(company, id)) + "?chunk_number=2", token, 1000), 403, "only an application");

    assertThat(storedFiles()).isEqualTo(before);
    HttpResponse<byte[]> down = api.download(company, id, token);
    assertThat(new String(down.body())).isEqualTo("complete content");
  }

  @Test
  void aChunkLargerThanWhatTotalSizeStillAllowsIsRefusedFromTheHeaders() throws Exception {
    UUID id = initialise(token, "filename=small.bin&total_chunks=2&total_size=1000");
    String chunk = path(api.file(company, id)) + "?chunk_number=1&total_chunks=2&total_size=1000";
    List<Path> before = storedFiles();

    assertRefused(headersOnly(chunk, token, LARGE), 400, "total_size still allows");
    // a chunk number beyond total_chunks, and totals that contradict the recorded ones
    assertRefused(headersOnly(path(api.file(company, id)) + "?chunk_number=3", token, LARGE), 400, "outside 1..2");
    assertRefused(headersOnly(path(api.file(company, id)) + "?chunk_number=1&total_size=5000", token, LARGE), 400,
        "contradicts the recorded 1000");

    assertThat(storedFiles()).isEqualTo(before);
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + id + "'")).isZero();
  }

  @Test
  void aChunkThatOutgrowsWhatTotalSizeAllowsWhileStreamingIs400AndNotKept() throws Exception {
    UUID id = initialise(token, "filename=small.bin&total_chunks=2&total_size=1000");
    int before = storedFiles().size();
    // 600 stored by chunk 2 leaves 400 for chunk 1
    HttpResponse<String> two = api.post(api.file(company, id) + "?chunk_number=2", token, new Api.Multipart(), new byte[600]);
    assertThat(two.statusCode()).as(two.body()).isEqualTo(200);

    // 200 KiB of body: not decidable from Content-Length (the form may hold up to 1 MiB besides the file)
    HttpResponse<String> one = api.post(api.file(company, id) + "?chunk_number=1", token, new Api.Multipart(), new byte[200 * 1024]);

    assertThat(one.statusCode()).as(one.body()).isEqualTo(400);
    assertThat(new JsonObject(one.body()).getString("message")).contains("400 bytes total_size still allows");
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + id + "'")).isEqualTo(1);
    dev.files.support.Eventually.eventually(java.time.Duration.ofSeconds(60),
        () -> assertThat(storedFiles()).hasSize(before + 1));
  }

  @Test
  void theOwnerStillUploadsAndReSendsAStoredChunkOfACompleteFile() throws Exception {
    UUID id = initialise(token, "filename=two.bin&total_chunks=2&total_size=20");
    byte[] a = "0123456789".getBytes();
    byte[] b = "abcdefghij".getBytes();
    assertThat(api.post(api.file(company, id) + "?chunk_number=1", token, new Api.Multipart(), a).statusCode()).isEqualTo(200);
    HttpResponse<String> done = api.post(api.file(company, id) + "?chunk_number=2", token, new Api.Multipart(), b);
    assertThat(Api.resource(done).getString("upload_status")).isEqualTo("complete");

    // a retry of chunk 2 whose answer was lost: the same bytes, accepted, nothing changed
    HttpResponse<String> again = api.post(api.file(company, id) + "?chunk_number=2", token, new Api.Multipart(), b);

    assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
    assertThat(new String(api.download(company, id, token).body())).isEqualTo("0123456789abcdefghij");
  }
}

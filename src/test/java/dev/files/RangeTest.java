package dev.files;

import dev.files.support.Api;
import dev.files.support.NodeTest;
import dev.files.support.Samples;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** Download of ranges (206/416), conditional requests (If-None-Match, If-Range), HEAD, and the ?token= parameter. */
class RangeTest extends NodeTest {

  static final int SIZE = 100_000;

  byte[] content;
  UUID file;
  String mime;
  UUID empty;

  @BeforeAll
  void start() throws Exception {
    content = Api.readAll(Samples.pattern(SIZE, 42));
    assertThat(content).hasSize(SIZE);
    file = uploaded("pattern.bin", content);
    empty = uploaded("empty.bin", new byte[0]);
  }

  private UUID uploaded(String name, byte[] bytes) throws Exception {
    HttpResponse<String> up = api.upload(company, token, name, "application/octet-stream", bytes);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    JsonObject r = Api.resource(up);
    assertThat(r.getJsonObject("upload_data").getLong("size")).isEqualTo(bytes.length);
    mime = r.getJsonObject("metadata").getString("mime");
    return UUID.fromString(r.getString("id"));
  }

  private HttpResponse<byte[]> get(String... headers) throws Exception {
    return api.download(company, file, token, headers);
  }

  private HttpResponse<byte[]> head(UUID id, String... headers) throws Exception {
    HttpRequest.Builder b = api.request(api.file(company, id) + "/download", token).method("HEAD", BodyPublishers.noBody());
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return Api.CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String header(HttpResponse<?> r, String name) {
    return r.headers().firstValue(name).orElse(null);
  }

  /** A 206 answer carrying bytes [from, to] (inclusive) of the file. */
  private void assertPartial(HttpResponse<byte[]> r, int from, int to) {
    assertThat(r.statusCode()).isEqualTo(206);
    assertThat(r.body()).isEqualTo(Arrays.copyOfRange(content, from, to + 1));
    assertThat(header(r, "Content-Range")).isEqualTo("bytes " + from + "-" + to + "/" + SIZE);
    assertThat(header(r, "Content-Length")).isEqualTo(Integer.toString(to - from + 1));
    assertThat(header(r, "Content-Type")).isEqualTo(mime);
    assertThat(header(r, "Accept-Ranges")).isEqualTo("bytes");
  }

  /** A 200 answer carrying the whole file. */
  private void assertFull(HttpResponse<byte[]> r) {
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(r.body())).isEqualTo(Api.sha256(content));
    assertThat(header(r, "Content-Length")).isEqualTo(Integer.toString(SIZE));
    assertThat(header(r, "Content-Range")).isNull();
  }

  /** A 416 answer: {@code Content-Range: bytes *}{@code /size} and a JSON error body. */
  private static void assertUnsatisfiable(HttpResponse<byte[]> r, long size) {
    assertThat(r.statusCode()).isEqualTo(416);
    assertThat(header(r, "Content-Range")).isEqualTo("bytes */" + size);
    assertThat(header(r, "Content-Type")).startsWith("application/json");
    JsonObject error = new JsonObject(new String(r.body(), StandardCharsets.UTF_8));
    assertThat(error.fieldNames()).containsExactlyInAnyOrder("statusCode", "error", "message", "request_id");
    assertThat(error.getInteger("statusCode")).isEqualTo(416);
    // Node (Fastify) says "Range Not Satisfiable" (RFC 7233); Netty's table still has RFC 2616's "Requested ..."
    assertThat(error.getString("error")).isIn("Range Not Satisfiable", "Requested Range Not Satisfiable");
    assertThat(error.getString("message")).isNotBlank();
  }

  private String etag() throws Exception {
    HttpResponse<byte[]> r = get();
    assertFull(r);
    String etag = header(r, "ETag");
    assertThat(etag).isNotNull().startsWith("\"").endsWith("\"");
    return etag;
  }

  @Test
  void plainDownloadIsWholeWithAllHeaders() throws Exception {
    HttpResponse<byte[]> r = get();
    assertFull(r);
    assertThat(header(r, "Content-Type")).isEqualTo(mime);
    assertThat(header(r, "Accept-Ranges")).isEqualTo("bytes");
    assertThat(header(r, "X-Content-Type-Options")).isEqualTo("nosniff");
    assertThat(header(r, "Content-Disposition")).isEqualTo("attachment; filename=\"pattern.bin\"; filename*=UTF-8''pattern.bin");
  }

  @Test
  void firstByte() throws Exception {
    HttpResponse<byte[]> r = get("Range", "bytes=0-0");
    assertPartial(r, 0, 0);
    assertThat(r.body()).hasSize(1);
  }

  @Test
  void rangeCrossingTheEndIsClamped() throws Exception {
    assertPartial(get("Range", "bytes=99990-200000"), 99990, 99999);
  }

  @Test
  void lastByteExactly() throws Exception {
    assertPartial(get("Range", "bytes=99999-99999"), 99999, 99999);
  }

  @Test
  void suffixRange() throws Exception {
    assertPartial(get("Range", "bytes=-500"), SIZE - 500, SIZE - 1);
  }

  @Test
  void suffixLongerThanTheFileIsTheWholeFile() throws Exception {
    assertPartial(get("Range", "bytes=-250000"), 0, SIZE - 1);
  }

  @Test
  void openEndedRange() throws Exception {
    assertPartial(get("Range", "bytes=99000-"), 99000, SIZE - 1);
  }

  @Test
  void middleRange() throws Exception {
    assertPartial(get("Range", "bytes=12345-67890"), 12345, 67890);
  }

  @Test
  void rangeStartingAtTheSizeIsUnsatisfiable() throws Exception {
    assertUnsatisfiable(get("Range", "bytes=100000-"), SIZE);
  }

  @Test
  void emptySuffixIsUnsatisfiable() throws Exception {
    assertUnsatisfiable(get("Range", "bytes=-0"), SIZE);
  }

  @Test
  void malformedRangesAreIgnored() throws Exception {
    for (String range : new String[]{"bytes=abc", "bytes=5-2", "items=0-1", "bytes=", "bytes=--5"}) {
      HttpResponse<byte[]> r = get("Range", range);
      assertThat(r.statusCode()).as(range).isEqualTo(200);
      assertFull(r);
    }
  }

  @Test
  void multiRangeGetsTheWholeFile() throws Exception {
    assertFull(get("Range", "bytes=0-1,5-6"));
  }

  @Test
  void ifNoneMatchWithTheEtagIs304() throws Exception {
    String etag = etag();
    HttpResponse<byte[]> r = get("If-None-Match", etag);
    assertThat(r.statusCode()).isEqualTo(304);
    assertThat(r.body()).isEmpty();
    assertThat(header(r, "ETag")).isEqualTo(etag);
  }

  @Test
  void ifNoneMatchWithTheWeakEtagIs304() throws Exception {
    String etag = etag();
    HttpResponse<byte[]> r = get("If-None-Match", "W/" + etag);
    assertThat(r.statusCode()).isEqualTo(304);
    assertThat(r.body()).isEmpty();
  }

  @Test
  void ifNoneMatchWithTheEtagInAListIs304() throws Exception {
    String etag = etag();
    HttpResponse<byte[]> r = get("If-None-Match", "\"other\", " + etag);
    assertThat(r.statusCode()).isEqualTo(304);
    assertThat(r.body()).isEmpty();
  }

  @Test
  void ifNoneMatchWithAnotherTagIsTheWholeFile() throws Exception {
    String etag = etag();
    HttpResponse<byte[]> r = get("If-None-Match", "\"not-" + etag.substring(1));
    assertFull(r);
    assertThat(header(r, "ETag")).isEqualTo(etag);
  }

  @Test
  void ifNoneMatchStarIs304() throws Exception {
    HttpResponse<byte[]> r = get("If-None-Match", "*");
    assertThat(r.statusCode()).isEqualTo(304);
    assertThat(r.body()).isEmpty();
  }

  @Test
  void etagIsStableAcrossRequests() throws Exception {
    assertThat(etag()).isEqualTo(etag());
    assertThat(header(get("Range", "bytes=0-9"), "ETag")).isEqualTo(etag());
  }

  @Test
  void ifRangeWithTheEtagGivesTheRange() throws Exception {
    String etag = etag();
    assertPartial(get("If-Range", etag, "Range", "bytes=100-199"), 100, 199);
  }

  @Test
  void ifRangeWithAnotherEtagGivesTheWholeFile() throws Exception {
    String etag = etag();
    assertFull(get("If-Range", "\"x" + etag.substring(1), "Range", "bytes=100-199"));
  }

  @Test
  void headIsTheHeadersWithoutTheBody() throws Exception {
    String etag = etag();
    HttpResponse<byte[]> r = head(file);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEmpty();
    assertThat(header(r, "Content-Length")).isEqualTo(Integer.toString(SIZE));
    assertThat(header(r, "Content-Type")).isEqualTo(mime);
    assertThat(header(r, "ETag")).isEqualTo(etag);
    assertThat(header(r, "Accept-Ranges")).isEqualTo("bytes");
    assertThat(header(r, "Content-Disposition")).startsWith("attachment; filename=\"pattern.bin\"");
  }

  @Test
  void headWithARangeHasThe206Headers() throws Exception {
    HttpResponse<byte[]> r = head(file, "Range", "bytes=1000-1999");
    assertThat(r.statusCode()).isEqualTo(206);
    assertThat(r.body()).isEmpty();
    assertThat(header(r, "Content-Range")).isEqualTo("bytes 1000-1999/" + SIZE);
    assertThat(header(r, "Content-Length")).isEqualTo("1000");
  }

  @Test
  void emptyFileHasNoSatisfiableRange() throws Exception {
    for (String range : new String[]{"bytes=0-0", "bytes=0-", "bytes=-1", "bytes=-0"}) {
      HttpResponse<byte[]> r = api.download(company, empty, token, "Range", range);
      assertThat(r.statusCode()).as(range).isEqualTo(416);
      assertUnsatisfiable(r, 0);
    }
  }

  @Test
  void emptyFileDownloadsAsZeroBytes() throws Exception {
    HttpResponse<byte[]> r = api.download(company, empty, token);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEmpty();
    assertThat(header(r, "Content-Length")).isEqualTo("0");
    HttpResponse<byte[]> h = head(empty);
    assertThat(h.statusCode()).isEqualTo(200);
    assertThat(header(h, "Content-Length")).isEqualTo("0");
  }

  @Test
  void queryTokenWorksOnDownloadButNotOnMetadata() throws Exception {
    String download = api.file(company, file) + "/download?" + Api.query("token", token);
    HttpResponse<byte[]> down = Api.CLIENT.send(api.request(download, null).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    assertFull(down);

    HttpResponse<byte[]> ranged = Api.CLIENT.send(api.request(download, null).header("Range", "bytes=-10").GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertPartial(ranged, SIZE - 10, SIZE - 1);

    HttpResponse<String> meta = api.get(api.file(company, file) + "?" + Api.query("token", token), null);
    assertThat(meta.statusCode()).isEqualTo(401);
    JsonObject error = new JsonObject(meta.body());
    assertThat(error.fieldNames()).containsExactlyInAnyOrder("statusCode", "error", "message", "request_id");
    assertThat(error.getInteger("statusCode")).isEqualTo(401);
    assertThat(error.getString("error")).isEqualTo("Unauthorized");

    HttpResponse<byte[]> badToken = Api.CLIENT.send(
        api.request(api.file(company, file) + "/download?token=not.a.jwt", null).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(badToken.statusCode()).isEqualTo(401);
    assertThat(new JsonObject(new String(badToken.body(), StandardCharsets.UTF_8)).getInteger("statusCode")).isEqualTo(401);
  }
}

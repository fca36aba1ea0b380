package dev.files;

import dev.files.support.Api;
import dev.files.support.NodeTest;
import dev.files.support.Db;
import dev.files.support.Samples;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.UUID;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/** Classic uploads of real files of several kinds, downloaded byte-exact, every resource field checked. */
class RoundTripTest extends NodeTest {

  private JsonObject roundTrip(String name, String declaredType, byte[] content, String expectedMime) throws Exception {
    long before = System.currentTimeMillis();
    HttpResponse<String> up = api.upload(company, token, name, declaredType, content);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    JsonObject r = Api.resource(up);
    UUID id = UUID.fromString(r.getString("id"));
    assertThat(r.getString("company_id")).isEqualTo(company.toString());
    assertThat(r.getString("owner_type")).isEqualTo("user");
    assertThat(r.getString("owner_id")).isEqualTo(user.toString());
    assertThat(r.getString("user_id")).isEqualTo(user.toString());
    assertThat(r.containsKey("application_id")).isTrue();
    assertThat(r.getValue("application_id")).isNull();
    assertThat(r.getString("encryption_key")).isEmpty();
    assertThat(r.getJsonObject("upload_data")).isEqualTo(new JsonObject().put("size", content.length).put("chunks", 1));
    assertThat(r.getJsonObject("metadata").getString("name")).isEqualTo(name);
    assertThat(r.getJsonObject("metadata").getString("mime")).isEqualTo(expectedMime);
    boolean picture = expectedMime.startsWith("image/") || expectedMime.equals("application/pdf");
    // images and PDFs get a thumbnail after the upload completes (ThumbnailServiceTest); others none
    assertThat(r.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo(picture ? "waiting" : "none");
    assertThat(r.getJsonArray("thumbnails")).isEmpty();
    assertThat(r.getString("upload_status")).isEqualTo("complete");
    assertThat(r.getLong("created_at")).isBetween(before - 1000, System.currentTimeMillis() + 1000);
    assertThat(r.getLong("updated_at")).isGreaterThanOrEqualTo(r.getLong("created_at"));

    HttpResponse<String> meta = api.get(api.file(company, id), token);
    assertThat(meta.statusCode()).isEqualTo(200);
    assertThat(withoutThumbnails(Api.resource(meta))).isEqualTo(withoutThumbnails(r));

    HttpResponse<byte[]> down = api.download(company, id, token);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));
    assertThat(down.headers().firstValue("Content-Length")).hasValue(Integer.toString(content.length));
    assertThat(down.headers().firstValue("Content-Type")).hasValue(expectedMime);
    assertThat(down.headers().firstValue("Accept-Ranges")).hasValue("bytes");
    assertThat(down.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    assertThat(down.headers().firstValue("ETag")).isPresent();
    assertThat(down.headers().firstValue("Content-Disposition").orElseThrow()).startsWith("attachment; filename=\"");
    return r;
  }

  /** The resource without what the thumbnail worker changes after the upload. */
  private static JsonObject withoutThumbnails(JsonObject r) {
    JsonObject c = r.copy();
    c.remove("thumbnails");
    c.getJsonObject("metadata").remove("thumbnails_status");
    c.getJsonObject("metadata").remove("thumbnail");
    c.getJsonObject("metadata").remove("width");
    c.getJsonObject("metadata").remove("height");
    return c;
  }

  @Test
  void pngImage() throws Exception {
    roundTrip("photo.png", "image/png", Samples.image("png", 640, 480), "image/png");
  }

  @Test
  void jpegDeclaredAsOctetStreamGetsItsTypeFromItsBytes() throws Exception {
    roundTrip("camera.jpg", "application/octet-stream", Samples.image("jpg", 320, 200), "image/jpeg");
  }

  @Test
  void pdfDocument() throws Exception {
    byte[] pdf = Samples.pdf("Hello files");
    assertThat(new String(pdf, 0, 5, StandardCharsets.US_ASCII)).isEqualTo("%PDF-");
    roundTrip("report.pdf", "application/pdf", pdf, "application/pdf");
  }

  @Test
  void textFileKeepsItsDeclaredType() throws Exception {
    roundTrip("notes.txt", "text/plain; charset=utf-8", "héllo wörld\nsecond line\n".getBytes(StandardCharsets.UTF_8),
        "text/plain; charset=utf-8");
  }

  @Test
  void emptyFile() throws Exception {
    JsonObject r = roundTrip("empty.dat", null, new byte[0], "application/octet-stream");
    assertThat(r.getJsonObject("upload_data").getLong("size")).isZero();
  }

  @Test
  void queryNameAndTypeWinOverThePart() throws Exception {
    byte[] content = "plain text".getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> up = api.post(api.files(company) + "?" + Api.query("filename", "chosen name.md") + "&type=text/markdown",
        token, new Api.Multipart().filename("part.bin").partType("application/x-whatever"), content);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    assertThat(Api.resource(up).getJsonObject("metadata"))
        .isEqualTo(new JsonObject().put("name", "chosen name.md").put("mime", "text/markdown").put("thumbnails_status", "none"));
  }

  @Test
  void storedBytesAreInOneObjectAndRowsMatch() throws Exception {
    byte[] content = Samples.image("png", 100, 100);
    JsonObject r = roundTrip("x.png", "image/png", content, "image/png");
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + r.getString("id") + "'")).isEqualTo(1);
    assertThat(Db.count(node.dbName, "SELECT size FROM chunks WHERE file_id = '" + r.getString("id") + "'")).isEqualTo(content.length);
    // the thumbnail of the image is written meanwhile (its temporary file may be seen for a moment):
    // once it is done, no temporary file is left
    dev.files.support.Eventually.eventually(java.time.Duration.ofSeconds(20), () -> {
      try (var files = Tree.walk(node.storage)) {
        assertThat(files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()))
            .noneMatch(n -> n.endsWith(".part") || n.endsWith(".tmp"));
      }
    });
  }

  @Test
  void initialisationWithoutBodyIsPendingAndNotDownloadable() throws Exception {
    HttpResponse<String> init = Api.CLIENT.send(api.request(api.files(company) + "?filename=later.bin&total_size=10&total_chunks=2", token)
        .header("Content-Type", "text/plain").POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(init.statusCode()).as(init.body()).isEqualTo(200);
    JsonObject r = Api.resource(init);
    assertThat(r.getString("upload_status")).isEqualTo("pending");
    assertThat(r.getJsonObject("upload_data")).isEqualTo(new JsonObject().put("size", 0).put("chunks", 2));
    assertThat(r.getJsonObject("metadata").getString("name")).isEqualTo("later.bin");
    HttpResponse<byte[]> down = api.download(company, UUID.fromString(r.getString("id")), token);
    assertThat(down.statusCode()).isEqualTo(409);
    assertThat(new JsonObject(new String(down.body(), StandardCharsets.UTF_8)).getString("error")).isEqualTo("Conflict");
  }

  @Test
  void thePartNamedFileWinsOverAnEarlierFilePartAndNothingElseIsKept() throws Exception {
    String body = "--xyz\r\n\r\nno headers at all\r\n"
        + "--xyz\r\nContent-Disposition: form-data; name=\"other\"; filename=\"a.txt\"\r\n\r\nfirst file part\r\n"
        + "--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.txt\"\r\nContent-Type: text/plain\r\n\r\nthe file\r\n"
        + "--xyz--\r\n";
    HttpResponse<String> up = Api.CLIENT.send(api.request(api.files(company), token)
        .header("Content-Type", "multipart/form-data; boundary=xyz")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    JsonObject r = Api.resource(up);
    assertThat(r.getJsonObject("metadata").getString("name")).isEqualTo("b.txt");
    UUID id = UUID.fromString(r.getString("id"));
    assertThat(api.download(company, id, token).body()).isEqualTo("the file".getBytes(StandardCharsets.UTF_8));
    // the dropped part's object is removed after the answer
    eventually(Duration.ofSeconds(30), () -> {
      try (var files = Tree.walk(node.storage)) {
        assertThat(files.filter(Files::isRegularFile).filter(p -> p.toString().contains(id.toString())).count()).isEqualTo(1);
      }
    });
  }

  @Test
  void unknownAndMalformedIds() throws Exception {
    HttpResponse<String> missing = api.get(api.file(company, UUID.randomUUID()), token);
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(new JsonObject(missing.body()).fieldNames()).containsExactlyInAnyOrder("statusCode", "error", "message", "request_id");
    assertThat(new JsonObject(missing.body()).getString("request_id")).isEqualTo(missing.headers().firstValue("X-Request-Id").orElseThrow());
    assertThat(new JsonObject(missing.body()).getString("error")).isEqualTo("Not Found");
    HttpResponse<String> malformed = api.get(api.files(company) + "/not-a-uuid", token);
    assertThat(malformed.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(malformed.body()).getInteger("statusCode")).isEqualTo(400);
  }

  @Test
  void healthIsUp() throws Exception {
    HttpResponse<String> h = api.get("http://127.0.0.1:" + node.port + "/health", null);
    assertThat(h.statusCode()).isEqualTo(200);
    JsonObject body = new JsonObject(h.body());
    assertThat(body.getString("status")).isEqualTo("UP");
    assertThat(body.getJsonArray("checks").stream().map(c -> ((JsonObject) c).getString("id")).toList())
        .containsExactlyInAnyOrder("database", "storage");
  }

  @Test
  void deleteRemovesRowsAndBytesAndASecondDeleteIs404() throws Exception {
    byte[] content = "to delete\n".repeat(1000).getBytes(StandardCharsets.UTF_8); // no thumbnail being made meanwhile
    JsonObject r = roundTrip("gone.txt", "text/plain", content, "text/plain");
    UUID id = UUID.fromString(r.getString("id"));
    HttpResponse<String> del = api.delete(company, id, token);
    assertThat(del.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(del.body())).isEqualTo(new JsonObject().put("status", "success"));
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM files WHERE id = '" + id + "'")).isZero();
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + id + "'")).isZero();
    try (var files = Tree.walk(node.storage)) {
      assertThat(files.filter(Files::isRegularFile).map(p -> p.toString())).noneMatch(p -> p.contains(id.toString()));
    }
    assertThat(api.delete(company, id, token).statusCode()).isEqualTo(404);
    assertThat(api.download(company, id, token).statusCode()).isEqualTo(404);
  }
}

package dev.files;

import com.fasterxml.jackson.databind.JsonNode;
import dev.files.support.Api;
import dev.files.support.NodeTest;
import dev.files.support.OpenApiValidator;
import dev.files.support.Samples;
import dev.files.support.ValidatingHttpClient;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The OpenAPI document ({@code docs/openapi.yaml}): served at {@code GET /openapi.yaml}, sound (its
 * examples match its schemas), and exercised route by route in the request styles of the clients
 * the service has: Resumable.js (resumable* names, testChunks probes, parameters as multipart
 * fields), Flow.js (flow* names in the query), the origin web client (plain fetch: "{}" as
 * text/plain to initialise, total_Size, thumbnail_sync), curl -F (classic multipart with the part's
 * name and type), downloads (HEAD, Range, If-None-Match, ?token=) and errors. Every exchange goes
 * through {@link ValidatingHttpClient}, which fails the request when it does not match the document;
 * the last test checks that every API operation was reached. The validator itself is tested on
 * exchanges that do not match.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OpenApiTest extends NodeTest {

  private static final Path DOC = Path.of("docs/openapi.yaml");

  /** Operations this class reaches; the operations routes of other parts (health/*, metrics) are not required. */
  private static final Set<String> NOT_REQUIRED = Set.of("healthLive", "healthReady", "metrics");

  private HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    return Api.CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  @Order(1)
  void theDocumentIsServedAsItIsInDocs() throws Exception {
    HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + "/openapi.yaml")).GET());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).contains("application/yaml; charset=utf-8");
    assertThat(r.body()).isEqualTo(Files.readString(DOC));
    assertThat(r.body()).startsWith("openapi: 3.1.0");
  }

  @Test
  @Order(1)
  void everyExampleMatchesItsSchemaAndEveryReferenceResolves() {
    OpenApiValidator v = ValidatingHttpClient.validator();
    JsonNode doc = v.document();
    List<String> refs = new ArrayList<>();
    collectRefs(doc, refs);
    assertThat(refs).hasSizeGreaterThan(100);
    for (String ref : refs) {
      assertThat(doc.at(ref.substring(1)).isMissingNode()).as(ref).isFalse();
    }
    doc.path("components").path("examples").fields().forEachRemaining(e ->
        assertThat(v.validate("#/components/schemas/ResourceReply", e.getValue().path("value"))).as(e.getKey()).isEmpty());
    doc.path("components").path("responses").fields().forEachRemaining(e -> {
      JsonNode json = e.getValue().path("content").path("application/json");
      if (json.has("example")) {
        assertThat(v.validate("#/components/responses/" + e.getKey() + "/content/application~1json/schema", json.get("example")))
            .as(e.getKey()).isEmpty();
        assertThat(json.get("example").path("statusCode").asInt()).isBetween(400, 599);
      }
    });
  }

  private static void collectRefs(JsonNode n, List<String> out) {
    if (n.has("$ref")) {
      out.add(n.get("$ref").asText());
    }
    n.forEach(child -> collectRefs(child, out));
  }

  @Test
  @Order(2)
  void resumableJsStyle() throws Exception {
    byte[] data = Samples.random(new Random(1), 2500);
    String query = "filename=" + enc("résumé 1.bin") + "&type=application%2Foctet-stream&total_chunks=2&total_size=2500";
    UUID id = id(send(api.request(api.files(company) + "?" + query, token).POST(HttpRequest.BodyPublishers.noBody())));
    for (int n = 1; n <= 2; n++) {
      String probe = resumable(n, 2, 2500, n == 1 ? 1250 : 1250);
      HttpResponse<String> missing = send(api.request(api.file(company, id) + "?" + probe, token).GET());
      assertThat(missing.statusCode()).isEqualTo(204);
      Api.Multipart form = new Api.Multipart().filename("blob");
      new TreeMap<>(params(probe)).forEach(form::field); // Resumable.js's multipart: the parameters as fields, then the file
      HttpResponse<String> chunk = Api.CLIENT.send(api.request(api.file(company, id), token)
          .header("Content-Type", form.contentType())
          .POST(form.body(Arrays.copyOfRange(data, (n - 1) * 1250, n * 1250))).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(chunk.statusCode()).isEqualTo(200);
      HttpResponse<String> stored = send(api.request(api.file(company, id) + "?" + probe, token).GET());
      assertThat(stored.statusCode()).isEqualTo(200);
    }
    assertThat(Api.sha256(api.download(company, id, token).body())).isEqualTo(Api.sha256(data));
  }

  private static String resumable(int n, int total, long size, long current) {
    return "resumableChunkNumber=" + n + "&resumableChunkSize=1250&resumableCurrentChunkSize=" + current
        + "&resumableTotalSize=" + size + "&resumableType=application%2Foctet-stream&resumableIdentifier=2500-blob"
        + "&resumableFilename=" + enc("résumé 1.bin") + "&resumableRelativePath=" + enc("résumé 1.bin")
        + "&resumableTotalChunks=" + total;
  }

  @Test
  @Order(2)
  void flowJsStyle() throws Exception {
    byte[] data = Samples.random(new Random(2), 3000);
    UUID id = id(send(api.request(api.files(company) + "?filename=flow.bin", token).POST(HttpRequest.BodyPublishers.noBody())));
    for (int n = 2; n >= 1; n--) { // any order
      String q = "flowChunkNumber=" + n + "&flowChunkSize=1500&flowCurrentChunkSize=1500&flowTotalSize=3000"
          + "&flowIdentifier=3000-flowbin&flowFilename=flow.bin&flowRelativePath=flow.bin&flowTotalChunks=2";
      assertThat(send(api.request(api.file(company, id) + "?" + q, token).GET()).statusCode()).isEqualTo(204);
      HttpResponse<String> chunk = api.post(api.file(company, id) + "?" + q, token, new Api.Multipart().filename("blob"),
          Arrays.copyOfRange(data, (n - 1) * 1500, n * 1500));
      assertThat(chunk.statusCode()).isEqualTo(200);
      assertThat(Api.resource(chunk).getString("upload_status")).isEqualTo(n == 1 ? "complete" : "pending");
    }
  }

  @Test
  @Order(2)
  void originWebClientStyle() throws Exception {
    byte[] data = Samples.random(new Random(3), 4000);
    HttpResponse<String> init = send(api.request(api.files(company) + "?filename=web.bin&type=application%2Foctet-stream&total_Size=4000", token)
        .header("Content-Type", "text/plain;charset=UTF-8").POST(HttpRequest.BodyPublishers.ofString("{}")));
    UUID id = id(init);
    for (int n = 1; n <= 2; n++) {
      HttpResponse<String> chunk = api.post(api.file(company, id) + "?thumbnail_sync=1&chunk_number=" + n + "&total_chunks=2&total_Size=4000",
          token, new Api.Multipart().filename("blob"), Arrays.copyOfRange(data, (n - 1) * 2000, n * 2000));
      assertThat(chunk.statusCode()).isEqualTo(200);
    }
    HttpResponse<String> json = send(api.request(api.files(company) + "?filename=j.bin&total_chunks=1", token)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")));
    assertThat(json.statusCode()).isEqualTo(200);
  }

  @Test
  @Order(2)
  void curlStyleClassicUploadDownloadThumbnailDelete() throws Exception {
    byte[] png = Samples.image("png", 320, 200);
    HttpResponse<String> up = api.post(api.files(company) + "?thumbnail_sync=1", token,
        new Api.Multipart().filename("photo.png").partType("image/png"), png);
    assertThat(up.statusCode()).isEqualTo(200);
    JsonObject resource = Api.resource(up);
    assertThat(resource.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done");
    UUID id = UUID.fromString(resource.getString("id"));
    String base = "http://127.0.0.1:" + node.port;

    HttpResponse<byte[]> thumb = Api.CLIENT.send(api.request(base + resource.getJsonObject("metadata").getString("thumbnail"), token)
        .GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(thumb.statusCode()).isEqualTo(200);
    HttpResponse<byte[]> thumbByQuery = Api.CLIENT.send(api.request(api.file(company, id) + "/thumbnails/0?token=" + token, null)
        .GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(thumbByQuery.body()).isEqualTo(thumb.body());
    assertThat(Api.CLIENT.send(api.request(api.file(company, id) + "/thumbnails/7", token).GET().build(),
        HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);

    assertThat(send(api.request(api.file(company, id), token).GET()).statusCode()).isEqualTo(200);
    HttpResponse<byte[]> full = api.download(company, id, token);
    assertThat(full.body()).isEqualTo(png);
    String etag = full.headers().firstValue("ETag").orElseThrow();
    assertThat(api.download(company, id, token, "Range", "bytes=0-9").statusCode()).isEqualTo(206);
    assertThat(api.download(company, id, token, "If-None-Match", etag).statusCode()).isEqualTo(304);
    assertThat(api.download(company, id, token, "Range", "bytes=999999-").statusCode()).isEqualTo(416);
    assertThat(Api.CLIENT.send(api.request(api.file(company, id) + "/download?token=" + token, null).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray()).statusCode()).isEqualTo(200);
    HttpResponse<String> head = send(api.request(api.file(company, id) + "/download", token)
        .method("HEAD", HttpRequest.BodyPublishers.noBody()));
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.headers().firstValue("Content-Length")).contains(Integer.toString(png.length));

    HttpResponse<String> del = api.delete(company, id, token);
    assertThat(del.statusCode()).isEqualTo(200);
    assertThat(send(api.request(api.file(company, id), token).GET()).statusCode()).isEqualTo(404);
  }

  @Test
  @Order(2)
  void errorsAsDocumented() throws Exception {
    UUID pending = id(send(api.request(api.files(company) + "?total_chunks=3", token).POST(HttpRequest.BodyPublishers.noBody())));
    assertThat(api.download(company, pending, token).statusCode()).isEqualTo(409);
    assertThat(send(api.request(api.file(company, pending) + "?chunk_number=4", token).GET()).statusCode()).isEqualTo(400);
    assertThat(send(api.request(api.files(company), null).POST(HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(401);
    assertThat(send(api.request(api.files(UUID.randomUUID()), token).POST(HttpRequest.BodyPublishers.noBody())).statusCode())
        .isEqualTo(403);
    assertThat(send(api.request(api.file(company, pending), token).header("Content-Type", "application/octet-stream")
        .POST(HttpRequest.BodyPublishers.ofString("x"))).statusCode()).isEqualTo(415);
    assertThat(send(api.request(api.files(company) + "/not-a-uuid", token).DELETE()).statusCode()).isEqualTo(400);
    assertThat(send(api.request(node.api() + "/nothing", token).GET()).statusCode()).isEqualTo(404);
  }

  /** tus 1.0.0 as tus-js-client and curl send it: OPTIONS, creation, HEAD, PATCH, method override, termination. */
  @Test
  @Order(2)
  void tusRoutes() throws Exception {
    String uploads = "http://127.0.0.1:" + node.port + "/internal/services/files/v1/companies/" + company + "/uploads";
    assertThat(send(HttpRequest.newBuilder(URI.create(uploads)).method("OPTIONS", HttpRequest.BodyPublishers.noBody()))
        .statusCode()).isEqualTo(204);
    HttpResponse<String> c = send(api.request(uploads, token).header("Tus-Resumable", "1.0.0").header("Upload-Length", "10")
        .header("Upload-Metadata", "filename " + java.util.Base64.getEncoder().encodeToString("t.txt".getBytes(StandardCharsets.UTF_8)))
        .header("Content-Type", "application/offset+octet-stream").POST(HttpRequest.BodyPublishers.ofString("hello")));
    assertThat(c.statusCode()).isEqualTo(201);
    String upload = "http://127.0.0.1:" + node.port + c.headers().firstValue("Location").orElseThrow();
    assertThat(send(HttpRequest.newBuilder(URI.create(upload)).method("OPTIONS", HttpRequest.BodyPublishers.noBody()))
        .statusCode()).isEqualTo(204);
    assertThat(send(api.request(upload, token).header("Tus-Resumable", "1.0.0")
        .method("HEAD", HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(200);
    assertThat(send(api.request(upload, token).header("Tus-Resumable", "1.0.0").header("X-HTTP-Method-Override", "HEAD")
        .POST(HttpRequest.BodyPublishers.noBody())).statusCode()).isEqualTo(200);
    assertThat(send(api.request(upload, token).header("Tus-Resumable", "1.0.0").header("Upload-Offset", "5")
        .header("Content-Type", "application/offset+octet-stream").method("PATCH", HttpRequest.BodyPublishers.ofString("wor")))
        .statusCode()).isEqualTo(204);
    assertThat(send(api.request(upload, token).header("Tus-Resumable", "1.0.0").header("X-HTTP-Method-Override", "PATCH")
        .header("Upload-Offset", "8").header("Content-Type", "application/offset+octet-stream")
        .POST(HttpRequest.BodyPublishers.ofString("ld"))).statusCode()).isEqualTo(204);
    assertThat(send(api.request(upload, token).header("Tus-Resumable", "1.0.0").header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream").method("PATCH", HttpRequest.BodyPublishers.ofString("x")))
        .statusCode()).isEqualTo(409);
    assertThat(send(api.request(upload, token).header("Tus-Resumable", "1.0.0").DELETE()).statusCode()).isEqualTo(204);
  }

  @Test
  @Order(2)
  void healthAndThePage() throws Exception {
    String base = "http://127.0.0.1:" + node.port;
    assertThat(send(HttpRequest.newBuilder(URI.create(base + "/health")).GET()).statusCode()).isEqualTo(200);
    HttpResponse<String> page = send(HttpRequest.newBuilder(URI.create(base + "/")).GET());
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
    assertThat(page.body()).contains("<script src=\"upload.js\"");
  }

  @Test
  @Order(3)
  void everyApiOperationWasReachedAndMatched() {
    List<String> all = new ArrayList<>(ValidatingHttpClient.validator().operationIds());
    all.removeAll(NOT_REQUIRED);
    assertThat(ValidatingHttpClient.EXERCISED).containsAll(all);
  }

  @Test
  @Order(2)
  void theValidatorCatchesAnswersThatDriftFromTheDocument() {
    OpenApiValidator v = ValidatingHttpClient.validator();
    String path = "/internal/services/files/v1/companies/" + company + "/files/" + UUID.randomUUID();
    Map<String, List<String>> json = Map.of("Content-Type", List.of("application/json; charset=utf-8"));
    byte[] error = "{\"statusCode\":404,\"error\":\"Not Found\",\"message\":\"x\"}".getBytes(StandardCharsets.UTF_8);
    Map<String, List<String>> auth = Map.of("Authorization", List.of("Bearer x"));
    // as documented
    assertThat(v.check(exchange("GET", path, auth, 404, json, error)).problems()).isEmpty();
    // an undocumented status
    assertThat(v.check(exchange("GET", path, auth, 418, json, error)).problems()).anyMatch(p -> p.contains("418"));
    // an error body with an extra field
    assertThat(v.check(exchange("GET", path, auth, 404, json,
        "{\"statusCode\":404,\"error\":\"Not Found\",\"message\":\"x\",\"stack\":\"at ...\"}".getBytes(StandardCharsets.UTF_8))).problems())
        .isNotEmpty();
    // a resource without its id
    assertThat(v.check(exchange("GET", path, auth, 200, json, "{\"resource\":{}}".getBytes(StandardCharsets.UTF_8))).problems())
        .anyMatch(p -> p.contains("id"));
    // an undocumented header, an undocumented query parameter accepted, a 200 without credentials
    Map<String, List<String>> extra = Map.of("Content-Type", List.of("application/json"), "X-Powered-By", List.of("me"));
    assertThat(v.check(exchange("GET", path, auth, 404, extra, error)).problems()).anyMatch(p -> p.contains("X-Powered-By"));
    assertThat(v.check(exchange("GET", path + "?chunk=1", auth, 204, Map.of(), null)).problems()).anyMatch(p -> p.contains("chunk"));
    assertThat(v.check(exchange("GET", path + "?chunk_number=x", auth, 204, Map.of(), null)).problems())
        .anyMatch(p -> p.contains("chunk_number"));
    assertThat(v.check(exchange("GET", path, Map.of(), 204, Map.of(), null)).problems()).anyMatch(p -> p.contains("credentials"));
    // an undocumented route that answers
    assertThat(v.check(exchange("GET", "/admin", Map.of(), 200, json, "{}".getBytes(StandardCharsets.UTF_8))).problems()).isNotEmpty();
  }

  @Test
  @Order(2)
  void theTestClientFailsOnAMismatch() throws Exception {
    UUID id = id(send(api.request(api.files(company) + "?total_chunks=1", token).POST(HttpRequest.BodyPublishers.noBody())));
    assertThatThrownBy(() -> send(api.request(api.file(company, id) + "?no_such_parameter=1", token).GET()))
        .isInstanceOf(AssertionError.class).hasMessageContaining("query parameter no_such_parameter is not documented");
  }

  private static OpenApiValidator.Exchange exchange(String method, String pathAndQuery, Map<String, List<String>> requestHeaders,
                                                    int status, Map<String, List<String>> headers, byte[] body) {
    return new OpenApiValidator.Exchange(method, URI.create("http://127.0.0.1" + pathAndQuery), requestHeaders, new byte[0], 0,
        status, headers, body);
  }

  private static UUID id(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return UUID.fromString(Api.resource(r).getString("id"));
  }

  private static String enc(String s) {
    return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static Map<String, String> params(String query) {
    Map<String, String> out = new TreeMap<>();
    for (String pair : query.split("&")) {
      String[] kv = pair.split("=", 2);
      out.put(kv[0], java.net.URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
    }
    return out;
  }
}

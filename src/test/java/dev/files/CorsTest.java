package dev.files;

import dev.files.support.Api;
import dev.files.support.NodeTest;
import dev.files.support.RawHttp;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * CORS (docs/api.md, "CORS"; {@code http.cors.origins}): preflights of listed origins,
 * {@code Access-Control-Allow-Origin} and the exposed headers on answers, errors included (401, 403,
 * 404, 413 refused before the body), nothing for other origins, and nothing at all when the list is
 * empty.
 */
class CorsTest extends NodeTest {

  private static final String APP = "http://app.example.test";
  private static final String OTHER_APP = "https://drive.example.test:8443";
  private static final int LIMIT = 1 << 20;

  @Override
  protected Map<String, ?> settings() {
    return Map.of("http.cors.origins", APP + ", " + OTHER_APP + "/", "limits.max_request_bytes", LIMIT);
  }

  private HttpResponse<String> preflight(String url, String origin, String method, String headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(java.net.URI.create(url))
        .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
        .header("Origin", origin).header("Access-Control-Request-Method", method);
    if (headers != null) {
      b.header("Access-Control-Request-Headers", headers);
    }
    return Api.CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static Set<String> list(HttpResponse<?> r, String header) {
    Set<String> out = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    r.headers().allValues(header).forEach(v -> Arrays.stream(v.split(",")).map(String::strip).forEach(out::add));
    return out;
  }

  private static void assertCors(HttpResponse<?> r, String origin) {
    assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).contains(origin);
    assertThat(list(r, "Access-Control-Expose-Headers")).contains("Content-Disposition", "Content-Range",
        "Content-Length", "ETag", "Accept-Ranges", "X-Request-Id");
    assertThat(r.headers().firstValue("Access-Control-Allow-Credentials")).isEmpty();
    assertThat(list(r, "Vary")).contains("Origin");
  }

  @Test
  void preflightOfAListedOriginAllowsTheApiMethodsAndHeaders() throws Exception {
    for (String origin : List.of(APP, OTHER_APP)) {
      HttpResponse<String> r = preflight(api.files(company), origin, "POST", "authorization,content-type,x-request-id");
      assertThat(r.statusCode()).isEqualTo(204);
      assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).contains(origin);
      assertThat(list(r, "Access-Control-Allow-Methods")).containsExactlyInAnyOrder("GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS");
      assertThat(list(r, "Access-Control-Allow-Headers")).contains("Authorization", "Content-Type", "Range",
          "X-Request-Id", "X-Requested-With", "Cache-Control", "If-None-Match");
      assertThat(r.headers().firstValue("Access-Control-Max-Age")).contains("600");
      assertThat(r.body()).isEmpty();
    }
    // a preflight for a download with Range, on any route
    HttpResponse<String> r = preflight(api.file(company, UUID.randomUUID()) + "/download", APP, "GET", "authorization,range");
    assertThat(r.statusCode()).isEqualTo(204);
    assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).contains(APP);
  }

  /** tus clients in a page: their request headers are allowed, the tus answer headers exposed. */
  @Test
  void tusHeadersAreAllowedAndExposed() throws Exception {
    String uploads = "http://127.0.0.1:" + node.port + "/internal/services/files/v1/companies/" + company + "/uploads";
    HttpResponse<String> r = preflight(uploads + "/" + UUID.randomUUID(), APP, "PATCH",
        "authorization,tus-resumable,upload-offset,upload-length,upload-metadata,upload-defer-length,upload-concat,"
            + "upload-checksum,x-http-method-override,upload-complete,upload-draft-interop-version,content-type");
    assertThat(r.statusCode()).isEqualTo(204);
    assertThat(list(r, "Access-Control-Allow-Methods")).contains("PATCH");
    assertThat(list(r, "Access-Control-Allow-Headers")).contains("Tus-Resumable", "Upload-Offset", "Upload-Length",
        "Upload-Metadata", "Upload-Defer-Length", "Upload-Concat", "Upload-Checksum", "X-HTTP-Method-Override",
        "Upload-Complete", "Upload-Draft-Interop-Version");
    HttpResponse<String> created = Api.CLIENT.send(api.request(uploads, token).header("Origin", APP)
        .header("Tus-Resumable", "1.0.0").header("Upload-Length", "10").POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(created.headers().firstValue("Access-Control-Allow-Origin")).contains(APP);
    assertThat(list(created, "Access-Control-Expose-Headers")).contains("Location", "Upload-Offset", "Upload-Length",
        "Upload-Expires", "Upload-Limit", "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size",
        "Tus-Checksum-Algorithm");
  }

  @Test
  void preflightOfAnotherOriginIsRefusedWithoutCorsHeaders() throws Exception {
    for (String origin : List.of("http://evil.example.test", "http://app.example.test:8080", "https://app.example.test")) {
      HttpResponse<String> r = preflight(api.files(company), origin, "POST", "authorization");
      assertThat(r.statusCode()).isEqualTo(403);
      assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
      assertThat(r.headers().firstValue("Access-Control-Allow-Methods")).isEmpty();
      JsonObject body = new JsonObject(r.body());
      assertThat(body.getInteger("statusCode")).isEqualTo(403);
      assertThat(body.getString("message")).contains(origin);
    }
  }

  @Test
  void uploadMetadataAndDownloadAnswersCarryTheOriginAndExposedHeaders() throws Exception {
    byte[] data = Samples.random(new java.util.Random(13), 5000);
    HttpResponse<String> up = Api.CLIENT.send(api.request(api.files(company) + "?filename=a.bin&total_chunks=1", token)
        .header("Origin", APP).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString()); // a body-less POST initialises a chunked upload
    assertThat(up.statusCode()).isEqualTo(200);
    assertCors(up, APP);

    Api.Multipart form = new Api.Multipart().filename("cors.bin");
    HttpResponse<String> classic = Api.CLIENT.send(api.request(api.files(company), token).header("Origin", OTHER_APP)
        .header("Content-Type", form.contentType()).POST(form.body(data)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(classic.statusCode()).isEqualTo(200);
    assertCors(classic, OTHER_APP);
    UUID id = UUID.fromString(Api.resource(classic).getString("id"));

    HttpResponse<String> meta = Api.CLIENT.send(api.request(api.file(company, id), token).header("Origin", APP).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(meta.statusCode()).isEqualTo(200);
    assertCors(meta, APP);

    HttpResponse<byte[]> full = api.download(company, id, token, "Origin", APP);
    assertThat(full.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(full.body())).isEqualTo(Api.sha256(data));
    assertCors(full, APP);
    assertThat(full.headers().firstValue("Content-Disposition")).isPresent();

    HttpResponse<byte[]> part = api.download(company, id, token, "Origin", APP, "Range", "bytes=10-19");
    assertThat(part.statusCode()).isEqualTo(206);
    assertThat(part.body()).containsExactly(Arrays.copyOfRange(data, 10, 20));
    assertCors(part, APP);
    assertThat(part.headers().firstValue("Content-Range")).contains("bytes 10-19/5000");

    HttpResponse<String> del = Api.CLIENT.send(api.request(api.file(company, id), token).header("Origin", APP).DELETE().build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(del.statusCode()).isEqualTo(200);
    assertCors(del, APP);
  }

  @Test
  void errorAnswersCarryTheCorsHeadersSoThatAPageCanReadThem() throws Exception {
    UUID otherCompany = UUID.randomUUID();
    Map<String, HttpRequest> requests = Map.of(
        "401 no token", HttpRequest.newBuilder(java.net.URI.create(api.files(company))).header("Origin", APP)
            .POST(HttpRequest.BodyPublishers.noBody()).build(),
        "401 bad token", api.request(api.file(company, UUID.randomUUID()), "not.a.token").header("Origin", APP).GET().build(),
        "403 other company", api.request(api.files(otherCompany), token).header("Origin", APP)
            .POST(HttpRequest.BodyPublishers.noBody()).build(),
        "404 unknown file", api.request(api.file(company, UUID.randomUUID()), token).header("Origin", APP).GET().build(),
        "400 malformed id", api.request(api.files(company) + "/nope", token).header("Origin", APP).GET().build(),
        "404 no route", api.request(node.api() + "/nothing/here", token).header("Origin", APP).GET().build());
    for (Map.Entry<String, HttpRequest> e : requests.entrySet()) {
      HttpResponse<String> r = Api.CLIENT.send(e.getValue(), HttpResponse.BodyHandlers.ofString());
      int expected = Integer.parseInt(e.getKey().substring(0, 3));
      assertThat(r.statusCode()).as(e.getKey()).isEqualTo(expected);
      assertThat(new JsonObject(r.body()).getInteger("statusCode")).as(e.getKey()).isEqualTo(expected);
      assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).as(e.getKey()).contains(APP);
      assertThat(list(r, "Access-Control-Expose-Headers")).as(e.getKey()).contains("X-Request-Id");
    }
  }

  @Test
  void a413RefusedBeforeTheBodyCarriesTheCorsHeaders() throws Exception {
    try (RawHttp http = new RawHttp(node.port)) {
      http.head("POST /internal/services/files/v1/companies/" + company + "/files HTTP/1.1",
          "Origin: " + APP, "Authorization: Bearer " + token, "Content-Type: multipart/form-data; boundary=b0undary",
          "Content-Length: " + (2 * LIMIT), "Expect: 100-continue");
      String response = http.readResponse();
      assertThat(response).startsWith("HTTP/1.1 413 ");
      String head = response.substring(0, response.indexOf("\r\n\r\n")).toLowerCase();
      assertThat(head).contains("access-control-allow-origin: " + APP);
      assertThat(head).contains("access-control-expose-headers: ");
      assertThat(response).contains("\"statusCode\":413");
    }
  }

  @Test
  void anotherOriginGetsTheAnswerWithoutCorsHeaders() throws Exception {
    // not refused (browsers send Origin on same-origin POSTs too), but a browser keeps it from the page
    HttpResponse<String> r = Api.CLIENT.send(api.request(api.files(company), token).header("Origin", "http://evil.example.test")
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
    assertThat(r.headers().firstValue("Access-Control-Expose-Headers")).isEmpty();
    assertThat(list(r, "Vary")).contains("Origin");

    HttpResponse<String> plain = api.get(api.file(company, UUID.fromString(Api.resource(r).getString("id"))), token);
    assertThat(plain.statusCode()).isEqualTo(200);
    assertThat(plain.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
  }

  /** With one listed origin the answer still depends on Origin: Vary says so (it was missing). */
  @Test
  void oneListedOriginStillVariesOnOrigin() throws Exception {
    try (TestNode one = TestNode.start(Map.of("http.cors.origins", APP))) {
      Api oneApi = new Api(one);
      HttpResponse<String> r = Api.CLIENT.send(oneApi.request(oneApi.files(company), token).header("Origin", APP)
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertCors(r, APP);
    }
  }

  @Test
  void withoutOriginsThereIsNoCors() throws Exception {
    try (TestNode off = TestNode.start(Map.of())) {
      Api offApi = new Api(off);
      HttpResponse<String> pre = preflight(offApi.files(company), APP, "POST", "authorization");
      assertThat(pre.statusCode()).isEqualTo(405);
      assertThat(pre.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
      HttpResponse<String> r = Api.CLIENT.send(offApi.request(offApi.files(company), token).header("Origin", APP)
          .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("Access-Control-Allow-Origin")).isEmpty();
      Optional<String> exposed = r.headers().firstValue("Access-Control-Expose-Headers");
      assertThat(exposed).isEmpty();
    }
  }

  @Test
  void anEntryThatIsNotAnOriginStopsTheNodeAtStart() throws Exception {
    for (String bad : List.of("*", "https://app.example.test/path", "app.example.test")) {
      Map<String, Object> settings = TestNode.settings(Map.of("http.cors.origins", bad));
      try {
        assertThatThrownBy(() -> Node.start(FilesConfig.load(Map.of(), TestNode.nodeSettings(settings))).await(60, java.util.concurrent.TimeUnit.SECONDS))
            .hasMessageContaining("http.cors.origins").hasMessageContaining(bad);
      } finally {
        dev.files.support.Db.drop((String) settings.get("test.db_name"));
      }
    }
  }

  @Test
  void originsComeFromAJsonListOrACommaSeparatedVariable() {
    assertThat(FilesConfig.load(Map.of(), Map.of()).list("http.cors.origins")).isEmpty();
    assertThat(FilesConfig.load(Map.of("FILES_HTTP_CORS_ORIGINS", " http://a.test, https://b.test:8443 ,"), Map.of())
        .list("http.cors.origins")).containsExactly("http://a.test", "https://b.test:8443");
    assertThat(FilesConfig.load(Map.of(), Map.of("http.cors.origins", new io.vertx.core.json.JsonArray().add("http://c.test")))
        .list("http.cors.origins")).containsExactly("http://c.test");
  }
}

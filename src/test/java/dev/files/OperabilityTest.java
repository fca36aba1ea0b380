package dev.files;

import dev.files.support.Logs;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.files.ops.Operations;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.Eventually;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code /metrics}, {@code /health/live|ready} and the access log of a real node. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OperabilityTest {

  TestNode node;
  Api api;
  String base;
  ListAppender<ILoggingEvent> access;

  @BeforeAll
  void start() throws Exception {
    node = TestNode.start(Map.of());
    api = new Api(node);
    base = "http://127.0.0.1:" + node.port;
    access = new ListAppender<>();
    access.start();
    ((Logger) LoggerFactory.getLogger(Operations.ACCESS_LOGGER)).addAppender(access);
  }

  @AfterAll
  void stop() throws Exception {
    ((Logger) LoggerFactory.getLogger(Operations.ACCESS_LOGGER)).detachAppender(access);
    node.close();
  }

  /** The value of a sample line {@code name{labels} value} of the Prometheus text; 0 when absent. */
  static double metric(String text, String name) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*\\})? ([0-9.eE+-]+)$").matcher(text);
    double sum = 0;
    while (m.find()) {
      sum += Double.parseDouble(m.group(2));
    }
    return sum;
  }

  String scrape() throws Exception {
    HttpResponse<String> r = api.get(base + "/metrics", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    return r.body();
  }

  @Test
  void metricsCountAnUploadADownloadAndAThumbnail() throws Exception {
    String before = scrape();
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    byte[] png = Samples.image("png", 300, 200);
    HttpResponse<String> up = api.post(api.files(company) + "?thumbnail_sync=1", token,
        new Api.Multipart().filename("p.png").partType("image/png"), png);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    int downloads = 6; // every one counted (some were missed when the connection's close was seen first)
    for (int i = 0; i < downloads; i++) {
      HttpResponse<byte[]> down = api.download(company, id, token);
      assertThat(down.statusCode()).isEqualTo(200);
      assertThat(down.body()).isEqualTo(png);
    }

    String[] got = new String[1];
    Eventually.eventually(java.time.Duration.ofSeconds(20), () -> {
      got[0] = scrape();
      assertThat(metric(got[0], "files_thumbnails_total")).isGreaterThan(metric(before, "files_thumbnails_total"));
      // a download is counted when its response has ended on the node, which may come after the client has every byte
      assertThat(metric(got[0], "files_downloaded_bytes_total") - metric(before, "files_downloaded_bytes_total"))
          .isEqualTo((double) downloads * png.length);
    });
    String after = got[0];
    System.gc(); // the gauge's supplier must survive a collection (it was held weakly: NaN)
    assertThat(metric(scrape(), "files_upload_sessions")).isNotNaN().isGreaterThanOrEqualTo(0.0);
    assertThat(metric(after, "files_uploads_completed_total") - metric(before, "files_uploads_completed_total")).isEqualTo(1.0);
    assertThat(metric(after, "files_chunks_committed_total") - metric(before, "files_chunks_committed_total")).isEqualTo(1.0);
    assertThat(metric(after, "files_uploaded_bytes_total") - metric(before, "files_uploaded_bytes_total")).isEqualTo(png.length);
    assertThat(metric(after, "files_downloaded_bytes_total") - metric(before, "files_downloaded_bytes_total")).isEqualTo((double) downloads * png.length);
    assertThat(metric(after, "files_thumbnails_total") - metric(before, "files_thumbnails_total")).isEqualTo(1.0);
    assertThat(after).contains("files_thumbnails_total{status=\"done\"}")
        .contains("files_upload_sessions ").contains("files_thumbnail_queue ")
        .contains("files_sweep_removed_objects_total ").contains("files_session_timeouts_total ")
        .contains("vertx_http_server_requests_total").contains("jvm_memory_used_bytes");
  }

  @Test
  void readyListsItsChecks() throws Exception {
    for (String path : List.of("/health/ready", "/health")) {
      HttpResponse<String> r = api.get(base + path, null);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonObject body = new JsonObject(r.body());
      assertThat(body.getString("status")).isEqualTo("UP");
      JsonArray checks = body.getJsonArray("checks");
      assertThat(checks.stream().map(c -> ((JsonObject) c).getString("id")).toList()).containsExactlyInAnyOrder("database", "storage");
      assertThat(checks.stream().map(c -> ((JsonObject) c).getString("status")).toList()).containsOnly("UP");
    }
    HttpResponse<String> live = api.get(base + "/health/live", null);
    assertThat(live.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(live.body()).getString("status")).isEqualTo("UP");
  }

  /** One line per request with its fields; a ?token= never appears. */
  @Test
  void accessLogLineWithoutTheToken() throws Exception {
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    byte[] data = "access log body".getBytes();
    HttpResponse<String> up = api.upload(company, token, "a.txt", "text/plain", data);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    Logs.clear(access);
    String url = api.file(company, id) + "/download?token=" + token;
    HttpResponse<byte[]> down = Api.CLIENT.send(api.request(url, null).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(down.statusCode()).isEqualTo(200);
    String requestId = down.headers().firstValue("X-Request-Id").orElseThrow();
    // the upload's line may come after its response: keep the download's
    Eventually.eventually(java.time.Duration.ofSeconds(60), () -> assertThat(Logs.snapshot(access).stream()
        .map(ILoggingEvent::getFormattedMessage)).anyMatch(m -> m.contains("/download")));
    List<String> lines = Logs.snapshot(access).stream().map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("/download")).toList();
    assertThat(lines).hasSize(1);
    String line = lines.get(0);
    String path = "/internal/services/files/v1/companies/" + company + "/files/" + id + "/download";
    assertThat(line).matches("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2}) "
        + Pattern.quote(requestId) + " GET " + Pattern.quote(path) + " 200 in=0 out=" + data.length + " \\d+ms 127\\.0\\.0\\.1:\\d+");
    assertThat(line).doesNotContain(token).doesNotContain("token");
  }

  /** Last: the database goes away; ready says so, live does not. */
  @Test
  void zDatabaseDown() throws Exception {
    try (TestNode other = TestNode.start(Map.of())) {
      Db.drop(other.dbName);
      HttpResponse<String> r = api.get("http://127.0.0.1:" + other.port + "/health/ready", null);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
      JsonObject body = new JsonObject(r.body());
      assertThat(body.getString("status")).isEqualTo("DOWN");
      JsonObject db = body.getJsonArray("checks").stream().map(c -> (JsonObject) c)
          .filter(c -> c.getString("id").equals("database")).findFirst().orElseThrow();
      assertThat(db.getString("status")).isEqualTo("DOWN");
      assertThat(r.body()).doesNotContain("127.0.0.1").doesNotContain(other.dbName);
      JsonObject storage = body.getJsonArray("checks").stream().map(c -> (JsonObject) c)
          .filter(c -> c.getString("id").equals("storage")).findFirst().orElseThrow();
      assertThat(storage.getString("status")).isEqualTo("UP");
      HttpResponse<String> live = api.get("http://127.0.0.1:" + other.port + "/health/live", null);
      assertThat(live.statusCode()).isEqualTo(200);
      assertThat(api.get("http://127.0.0.1:" + other.port + "/health", null).statusCode()).isEqualTo(503);
    }
  }
}

package dev.files;

import dev.files.support.Logs;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A full database pool is "busy", not "down" (docs/api.md, "Errors"): 503 with {@code Retry-After: 1},
 * a warning counter, and a rate-limited log line instead of an error with a stack trace per request.
 */
class BusyPoolTest extends NodeTest {

  @Override
  protected Map<String, ?> settings() {
    return Map.of("db.pool_size", 1, "db.wait_queue", 2);
  }

  @Test
  void manyParallelUploadsOnATinyPoolGetBusyAnswersAndFewLogLines() throws Exception {
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.addAppender(logs);
    int n = 400;
    List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        Api.Multipart form = new Api.Multipart().filename("b" + i + ".txt");
        sent.add(Api.CLIENT.sendAsync(api.request(api.files(company), token).header("Content-Type", form.contentType())
            .POST(form.body(("x" + i).getBytes(StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString()));
      }
      Map<String, Integer> outcomes = new TreeMap<>();
      int ok = 0;
      for (CompletableFuture<HttpResponse<String>> f : sent) {
        HttpResponse<String> r = f.get(120, TimeUnit.SECONDS);
        String key = r.statusCode() + (r.statusCode() == 200 ? ""
            : " " + new JsonObject(r.body()).getString("message") + " Retry-After " + r.headers().firstValue("Retry-After").orElse("-"));
        outcomes.merge(key, 1, Integer::sum);
        if (r.statusCode() == 200) {
          ok++;
        }
      }
      System.out.println("outcomes of " + n + " parallel uploads on a pool of 1 (wait queue 2): " + outcomes);
      assertThat(outcomes.keySet()).allSatisfy(k -> assertThat(k).matches("200|503 database busy, try again shortly Retry-After 1"));
      assertThat(outcomes.getOrDefault("503 database busy, try again shortly Retry-After 1", 0)).isPositive();
      // every 200 is a file in the database, and nothing else is
      assertThat(Db.count(node.dbName, "SELECT count(*) FROM files WHERE company_id = '" + company + "'")).isEqualTo(ok);
    } finally {
      root.detachAppender(logs);
    }
    List<ILoggingEvent> events = Logs.snapshot(logs);
    long errors = events.stream().filter(e -> e.getLevel() == Level.ERROR).count();
    long busyLines = events.stream().filter(e -> e.getFormattedMessage().contains("busy")).count();
    long withTrace = events.stream().filter(e -> e.getThrowableProxy() != null).count();
    System.out.println("log events: " + events.size() + ", errors " + errors + ", about the busy pool " + busyLines + ", with a stack trace " + withTrace);
    assertThat(errors).isZero();
    assertThat(withTrace).isZero();
    assertThat(busyLines).isBetween(1L, 5L);
    HttpResponse<String> metrics = Api.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + "/metrics"))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(metrics.body()).containsPattern("files_busy_refusals_total\\{resource=\"database\"\\} [1-9]");
  }
}

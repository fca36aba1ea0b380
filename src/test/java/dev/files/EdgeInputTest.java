package dev.files;

import dev.files.support.BusReplies;
import dev.files.support.Logs;
import dev.files.bus.Addresses;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import dev.files.support.TestNode;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Input checked where it enters (docs/api.md, "Types", "Errors"): declared types by one grammar,
 * no text PostgreSQL refuses, canonical UUIDs only; a stored value that cannot be a header never
 * stops a download.
 */
class EdgeInputTest extends NodeTest {

  private static final byte[] TEXT = "plain words, nothing to sniff".getBytes(StandardCharsets.UTF_8);

  /** A download, answered within 2 s (a hang fails the test). */
  private HttpResponse<byte[]> quickDownload(UUID file) throws Exception {
    return Api.CLIENT.send(api.request(api.file(company, file) + "/download", token).timeout(Duration.ofSeconds(2)).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String mime(HttpResponse<String> r) {
    return Api.resource(r).getJsonObject("metadata").getString("mime");
  }

  @Test
  void aPartTypeWithAControlCharacterCountsAsNoTypeAndTheFileDownloads() throws Exception {
    HttpResponse<String> up = api.post(api.files(company), token, new Api.Multipart().filename("a.txt")
        .partType("text/plain; a=\u0001b"), TEXT);
    assertThat(up.statusCode()).isEqualTo(200);
    assertThat(mime(up)).isEqualTo("application/octet-stream");
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    assertThat(Db.strings(node.dbName, "SELECT mime FROM files WHERE id = '" + id + "'")).containsExactly("application/octet-stream");
    HttpResponse<byte[]> down = quickDownload(id);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(down.headers().firstValue("Content-Type")).hasValue("application/octet-stream");
    assertThat(down.body()).isEqualTo(TEXT);
  }

  @Test
  void typesFollowTheMediaTypeGrammar() throws Exception {
    String[][] cases = {
        {"text/plain; charset=utf-8", "text/plain; charset=utf-8"},
        {"Text/Plain;format=\"flowed x\"", "text/plain;format=\"flowed x\""},
        {"text/plain; a=\"q\\\"uote\"", "text/plain; a=\"q\\\"uote\""},
        {"text/plain; a=\u0001b", "application/octet-stream"},
        {"text/plain; a=\u0000b", "application/octet-stream"},
        {"text/plain; a=\"x\u0007\"", "application/octet-stream"},
        {"text/plain; a=b\u007f", "application/octet-stream"},
        {"text/plain; a=\"unterminated", "application/octet-stream"},
        {"text/plain; a b", "application/octet-stream"},
        {"text/plain; a=é", "application/octet-stream"},
        {"text/plain; a=" + "b".repeat(300), "application/octet-stream"},
        {"text/pl ain", "application/octet-stream"}};
    for (String[] c : cases) {
      // the type parameter in the query (classic upload): one rule with the part's type
      HttpResponse<String> up = api.post(api.files(company) + "?" + Api.query("type", c[0]), token,
          new Api.Multipart().filename("t.txt"), TEXT);
      assertThat(up.statusCode()).as(c[0]).isEqualTo(200);
      assertThat(mime(up)).as(c[0]).isEqualTo(c[1]);
    }
  }

  @Test
  void aNulInTheTypeOfAChunkedUploadIsNeverADatabaseOutage() throws Exception {
    HttpResponse<String> init = Api.CLIENT.send(api.request(api.files(company) + "?filename=n.txt&total_chunks=1&type=text/plain%3Ba%3D%00b", token)
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(init.statusCode()).isEqualTo(200);
    UUID id = UUID.fromString(Api.resource(init).getString("id"));
    HttpResponse<String> chunk = api.post(api.file(company, id) + "?chunk_number=1&total_chunks=1&type=text/plain%3Ba%3D%00b",
        token, new Api.Multipart().filename("blob"), TEXT);
    assertThat(chunk.statusCode()).isEqualTo(200);
    assertThat(mime(chunk)).isEqualTo("application/octet-stream");
    assertThat(quickDownload(id).body()).isEqualTo(TEXT);
  }

  @Test
  void aStoredTypeThatIsNoHeaderValueIsSentAsOctetStream() throws Exception {
    HttpResponse<String> up = api.upload(company, token, "old.txt", "text/plain", TEXT);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    // as written by a version that stored declared types unchecked
    Db.execute(node.dbName, "UPDATE files SET mime = E'text/plain; a=\\x01b' WHERE id = '" + id + "'");
    for (String method : new String[]{"GET", "HEAD"}) {
      HttpResponse<byte[]> down = Api.CLIENT.send(api.request(api.file(company, id) + "/download", token)
          .timeout(Duration.ofSeconds(2)).method(method, HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertThat(down.statusCode()).as(method).isEqualTo(200);
      assertThat(down.headers().firstValue("Content-Type")).as(method).hasValue("application/octet-stream");
      assertThat(down.body()).as(method).isEqualTo(method.equals("GET") ? TEXT : new byte[0]);
    }
  }

  private DeliveryOptions bearer(String jwt, String action) {
    DeliveryOptions o = new DeliveryOptions().addHeader("authorization", "Bearer " + jwt).setSendTimeout(10_000);
    return action == null ? o : o.addHeader("action", action);
  }

  private static int failure(io.vertx.core.Future<?> f) {
    return BusReplies.failure(f, Duration.ofSeconds(15)).failureCode();
  }

  @Test
  void busCreateTakesTheSameTypeRuleAndNamesLoseTheirNul() throws Exception {
    UUID app = UUID.randomUUID();
    String appToken = TestNode.appToken(app, company);
    JsonObject body = new JsonObject().put("company_id", company.toString()).put("name", "r\u0000e\u0001p.txt")
        .put("mime", "text/plain; a=\u0000b").put("content", Base64.getEncoder().encodeToString(TEXT));
    JsonObject resource = node.node.vertx().eventBus().<JsonObject>request(Addresses.API, body, bearer(appToken, "create"))
        .await(15, TimeUnit.SECONDS).body().getJsonObject("resource");
    assertThat(resource.getJsonObject("metadata").getString("mime")).isEqualTo("application/octet-stream");
    assertThat(resource.getJsonObject("metadata").getString("name")).isEqualTo("rep.txt");
    assertThat(quickDownload(UUID.fromString(resource.getString("id"))).body()).isEqualTo(TEXT);
  }

  @Test
  void aRoleWithANulOrAControlCharacterIs400() throws Exception {
    String server = TestNode.token(new JsonObject().put("sub", UUID.randomUUID().toString()).put("server_request", true), 600);
    UUID member = UUID.randomUUID();
    for (String role : new String[]{"ad\u0000min", "ad\u0001min", "ad\nmin", "\ud800x"}) {
      JsonObject add = new JsonObject().put("action", "add").put("company_id", company.toString())
          .put("user_id", member.toString()).put("role", role);
      assertThat(failure(node.node.vertx().eventBus().request(Addresses.MEMBERS, add, bearer(server, null)))).as(role).isEqualTo(400);
    }
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM company_members WHERE user_id = '" + member + "'")).isZero();
  }

  @Test
  void onlyCanonicalUuidsInPaths() throws Exception {
    HttpResponse<String> up = api.upload(company, token, "u.txt", "text/plain", TEXT);
    String id = Api.resource(up).getString("id");
    assertThat(api.get(api.files(company) + "/" + id.toUpperCase(), token).statusCode()).isEqualTo(200);
    for (String bad : new String[]{"+" + id.substring(1), id.substring(0, 8) + "+" + id.substring(9),
        "-" + id.substring(1), "1-1-1-1-1", id.replace("-", "") + "0000", id.substring(0, 35) + "g"}) {
      HttpResponse<String> r = api.get(api.files(company) + "/" + bad, token);
      assertThat(r.statusCode()).as(bad).isEqualTo(400);
      assertThat(new JsonObject(r.body()).getString("message")).as(bad).contains("file_id must be a UUID");
    }
    String plus = "+" + company.toString().substring(1);
    assertThat(api.get("http://127.0.0.1:" + node.port + "/internal/services/files/v1/companies/" + plus + "/files/" + id, token).statusCode()).isEqualTo(400);
  }

  @Test
  void onlyCanonicalUuidsInClaims() throws Exception {
    UUID shortCompany = UUID.fromString("00000001-0001-0001-0001-000000000001");
    String spelledShort = TestNode.token(new JsonObject().put("sub", user.toString())
        .put("companies", new JsonArray().add("1-1-1-1-1")), 600);
    HttpResponse<String> r = api.get(api.files(shortCompany) + "/" + UUID.randomUUID(), spelledShort);
    assertThat(r.statusCode()).isEqualTo(403);
    for (String sub : new String[]{"1-1-1-1-1", "+" + user.toString().substring(1)}) {
      String bad = TestNode.token(new JsonObject().put("sub", sub).put("companies", new JsonArray().add(company.toString())), 600);
      HttpResponse<String> refused = api.get(api.files(company) + "/" + UUID.randomUUID(), bad);
      assertThat(refused.statusCode()).as(sub).isEqualTo(401);
      assertThat(new JsonObject(refused.body()).getString("message")).as(sub).contains("sub must be a UUID");
    }
  }

  @Test
  void onlyCanonicalUuidsOnTheBus() throws Exception {
    JsonObject get = new JsonObject().put("company_id", company.toString()).put("file_id", "+" + UUID.randomUUID().toString().substring(1));
    assertThat(failure(node.node.vertx().eventBus().request(Addresses.API, get, bearer(token, "get")))).isEqualTo(400);
    String server = TestNode.token(new JsonObject().put("sub", UUID.randomUUID().toString()).put("server_request", true), 600);
    JsonObject add = new JsonObject().put("action", "add").put("company_id", "+" + company.toString().substring(1))
        .put("user_id", UUID.randomUUID().toString());
    assertThat(failure(node.node.vertx().eventBus().request(Addresses.MEMBERS, add, bearer(server, null)))).isEqualTo(400);
  }

  @Test
  void aFailureWhileAnsweringStillEndsTheExchangeWith500AndOneLogLine() throws Exception {
    HttpResponse<String> up = api.upload(company, token, "planted.txt", "text/plain", TEXT);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    // a value the resource cannot be built from: building the answer throws in a database callback
    Db.execute(node.dbName, "UPDATE files SET thumbnails = '[\"not a descriptor\"]'::jsonb WHERE id = '" + id + "'");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs = new ch.qos.logback.core.read.ListAppender<>();
    logs.start();
    ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.files.http.Answering");
    log.addAppender(logs);
    try {
      long started = System.nanoTime();
      HttpResponse<String> r = Api.CLIENT.send(api.request(api.file(company, id), token).timeout(Duration.ofSeconds(2))
          .header("X-Request-Id", "planted-failure-1").GET().build(), HttpResponse.BodyHandlers.ofString());
      long ms = (System.nanoTime() - started) / 1_000_000;
      assertThat(r.statusCode()).isEqualTo(500);
      assertThat(new JsonObject(r.body())).isEqualTo(new JsonObject().put("statusCode", 500).put("error", "Internal Server Error")
          .put("message", "internal error").put("request_id", "planted-failure-1"));
      assertThat(ms).isLessThan(2000);
      dev.files.support.Eventually.eventually(Duration.ofSeconds(30), () -> assertThat(Logs.snapshot(logs).stream()
          .filter(e -> e.getFormattedMessage().contains("planted-failure-1")).count()).isEqualTo(1));
      assertThat(Logs.snapshot(logs).stream().filter(e -> e.getFormattedMessage().contains("planted-failure-1")).findFirst().orElseThrow()
          .getFormattedMessage()).contains("GET").contains("failed while answering").contains("ClassCastException");
    } finally {
      log.detachAppender(logs);
    }
    // the node goes on answering
    assertThat(api.get(api.file(company, UUID.fromString(Api.resource(api.upload(company, token, "next.txt", "text/plain", TEXT))
        .getString("id"))), token).statusCode()).isEqualTo(200);
  }

  /** Lines of {@code /metrics}. */
  private long metricsLines() throws Exception {
    HttpResponse<String> m = Api.CLIENT.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.port + "/metrics"))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(m.statusCode()).isEqualTo(200);
    return m.body().lines().count();
  }

  /** Sends {@code count} requests with made-up methods of 100 letters, each on its own connection, answered. */
  private void madeUpMethods(int count) throws Exception {
    java.util.Random random = new java.util.Random(count);
    var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      java.util.List<java.util.concurrent.Future<String>> answers = new java.util.ArrayList<>();
      for (int i = 0; i < count; i++) {
        StringBuilder method = new StringBuilder();
        for (int k = 0; k < 100; k++) {
          method.append((char) ('A' + random.nextInt(26)));
        }
        answers.add(pool.submit(() -> {
          try (java.net.Socket socket = new java.net.Socket("127.0.0.1", node.port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write((method + " /internal/services/files/v1/companies/" + company
                + "/files HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
          }
        }));
      }
      for (var a : answers) {
        assertThat(a.get(60, TimeUnit.SECONDS)).startsWith("HTTP/1.1 4");
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void madeUpMethodsLeaveTheMetricsTheSameSize() throws Exception {
    madeUpMethods(20); // the "other" series exist from here on
    long before = metricsLines();
    madeUpMethods(2000);
    long after = metricsLines();
    System.out.println("metrics lines before and after 2000 made-up methods: " + before + " -> " + after);
    assertThat(after).isBetween(before - 50, before + 50); // JVM meters (GC, buffers, threads) come and go
    HttpResponse<String> m = Api.CLIENT.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.port + "/metrics"))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(m.body()).contains("method=\"other\"").doesNotContainPattern("method=\"[A-Z]{100}\"");
  }
}

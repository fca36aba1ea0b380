package dev.files;

import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import dev.files.support.RawHttp;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every response carries {@code X-Request-Id} (the client's when sane), every error body the same
 * id as {@code request_id}, and no error tells a client a server path (docs/api.md, "Errors").
 */
class RequestIdTest extends NodeTest {

  private static String id(HttpResponse<?> r) {
    return r.headers().firstValue("X-Request-Id").orElse(null);
  }

  @Test
  void everyResponseCarriesAnIdAndEveryErrorBodyTheSame() throws Exception {
    HttpResponse<String> up = api.upload(company, token, "a.txt", "text/plain", "hello".getBytes(StandardCharsets.UTF_8));
    assertThat(up.statusCode()).isEqualTo(200);
    assertThat(id(up)).matches("[0-9a-f]{32}");
    UUID file = UUID.fromString(Api.resource(up).getString("id"));
    HttpResponse<byte[]> down = api.download(company, file, token);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(id(down)).matches("[0-9a-f]{32}").isNotEqualTo(id(up));

    HttpResponse<String> health = api.get("http://127.0.0.1:" + node.port + "/health", null);
    assertThat(id(health)).matches("[0-9a-f]{32}");

    for (HttpResponse<String> r : java.util.List.of(
        api.get(api.file(company, UUID.randomUUID()), token),   // 404
        api.get(api.file(company, file), null),                 // 401
        api.get(api.file(UUID.randomUUID(), file), token),      // 403
        api.get(api.files(company) + "/not-a-uuid", token),     // 400
        api.get("http://127.0.0.1:" + node.port + "/nowhere", token))) { // 404, no route
      assertThat(r.statusCode()).isBetween(400, 499);
      JsonObject body = new JsonObject(r.body());
      assertThat(id(r)).as(r.body()).matches("[0-9a-f]{32}");
      assertThat(body.getString("request_id")).isEqualTo(id(r));
      assertThat(body.getInteger("statusCode")).isEqualTo(r.statusCode());
    }
  }

  @Test
  void aSaneClientIdIsKeptOthersAreReplaced() throws Exception {
    String mine = "req-" + UUID.randomUUID() + "_1.2";
    HttpResponse<String> r = Api.CLIENT.send(api.request(api.file(company, UUID.randomUUID()), token)
        .header("X-Request-Id", mine).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(id(r)).isEqualTo(mine);
    assertThat(new JsonObject(r.body()).getString("request_id")).isEqualTo(mine);

    Set<String> seen = new HashSet<>();
    for (String bad : new String[]{"x".repeat(65), "a b", "a/b", "ünï", "a;b=c", "<script>"}) {
      HttpResponse<String> b = Api.CLIENT.send(api.request(api.file(company, UUID.randomUUID()), token)
          .header("X-Request-Id", bad).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(id(b)).as(bad).matches("[0-9a-f]{32}");
      assertThat(new JsonObject(b.body()).getString("request_id")).isEqualTo(id(b));
      seen.add(id(b));
    }
    assertThat(seen).hasSize(6);
    String longest = "A".repeat(64);
    HttpResponse<String> l = Api.CLIENT.send(api.request(api.file(company, UUID.randomUUID()), token)
        .header("X-Request-Id", longest).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(id(l)).isEqualTo(longest);
  }

  @Test
  void anUndecodableRequestGetsAnIdToo() throws Exception {
    try (RawHttp raw = new RawHttp(node.port)) {
      raw.head("GET /health HTTP/1.1", "X-Long: " + "x".repeat(70_000));
      String answer = raw.readResponse();
      assertThat(answer).startsWith("HTTP/1.1 431");
      String header = answer.lines().filter(x -> x.toLowerCase().startsWith("x-request-id:")).findFirst().orElseThrow();
      String id = header.substring(header.indexOf(':') + 1).strip();
      assertThat(id).matches("[0-9a-f]{32}");
      JsonObject body = new JsonObject(answer.substring(answer.indexOf("\r\n\r\n") + 4));
      assertThat(body.getString("request_id")).isEqualTo(id);
    }
  }

  @Test
  void aMissingObjectIsA500InTheServicesTermsWithoutAPath() throws Exception {
    byte[] content = "the only copy".getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> up = api.upload(company, token, "lost.txt", "text/plain", content);
    UUID file = UUID.fromString(Api.resource(up).getString("id"));
    String key;
    try (var c = java.sql.DriverManager.getConnection("jdbc:postgresql://"
        + dev.files.support.TestNode.PG.replaceFirst("^postgresql://([^@]*@)?", "") + "/" + node.dbName + "?user=postgres");
         var q = c.prepareStatement("SELECT storage_key FROM chunks WHERE file_id = ?")) {
      q.setObject(1, file);
      try (var rs = q.executeQuery()) {
        rs.next();
        key = rs.getString(1);
      }
    }
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(1);
    Path object = node.storage.resolve(key);
    assertThat(object).exists();
    Files.delete(object);

    HttpResponse<byte[]> down = api.download(company, file, token);
    assertThat(down.statusCode()).isEqualTo(500);
    String body = new String(down.body(), StandardCharsets.UTF_8);
    JsonObject json = new JsonObject(body);
    assertThat(json.getString("message")).isNotBlank();
    assertThat(body).doesNotContain("/").doesNotContain(node.storage.toString()).doesNotContain(key)
        .doesNotContain(".chunk").doesNotContain("Exception");
    assertThat(json.getString("request_id")).isEqualTo(id(down)).matches("[0-9a-f]{32}");
  }
}

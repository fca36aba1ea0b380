package dev.files;

import dev.files.bus.Addresses;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.Eventually;
import dev.files.support.NodeTest;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every authentication and access case of docs/api.md: 401, 403, 404, membership, delete rights. */
class AuthTest extends NodeTest {

  final UUID otherCompany = UUID.randomUUID();
  UUID file;
  byte[] content;

  /** A membership answer is kept 10 minutes: only an announced change can end it early. */
  @Override
  protected Map<String, ?> settings() {
    return Map.of("auth.membership_cache_ms", 600_000);
  }

  @BeforeAll
  void start() throws Exception {
    content = Samples.pdf("auth");
    HttpResponse<String> up = api.upload(company, TestNode.userToken(user, company), "a.pdf", "application/pdf", content);
    assertThat(up.statusCode()).isEqualTo(200);
    file = UUID.fromString(Api.resource(up).getString("id"));
  }

  private static String b64(String json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  private JsonObject claims(UUID sub) {
    return new JsonObject().put("sub", sub.toString()).put("companies", new JsonArray().add(company.toString()));
  }

  private static String sign(String secret, JsonObject claims, JWTOptions options) {
    Vertx vertx = Vertx.vertx();
    try {
      return JWTAuth.create(vertx, new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(secret)))
          .generateToken(claims, options);
    } finally {
      vertx.close();
    }
  }

  private void assert401(String token) throws Exception {
    HttpResponse<String> r = api.get(api.file(company, file), token);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
    JsonObject body = new JsonObject(r.body());
    assertThat(body.getInteger("statusCode")).isEqualTo(401);
    assertThat(body.getString("error")).isEqualTo("Unauthorized");
    assertThat(body.getString("message")).isNotBlank();
  }

  @Test
  void missingToken() throws Exception {
    assert401(null);
    HttpResponse<String> up = api.upload(company, null, "x.txt", "text/plain", "x".getBytes(StandardCharsets.UTF_8));
    assertThat(up.statusCode()).isEqualTo(401);
    assertThat(api.download(company, file, null).statusCode()).isEqualTo(401);
    assertThat(api.delete(company, file, null).statusCode()).isEqualTo(401);
  }

  @Test
  void malformedToken() throws Exception {
    assert401("not.a.token");
    assert401("garbage");
    HttpResponse<String> r = Api.CLIENT.send(api.request(api.file(company, file), null).header("Authorization", "Basic dXNlcjpwYXNz").build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(401);
  }

  @Test
  void expiredToken() throws Exception {
    JsonObject c = claims(user).put("exp", System.currentTimeMillis() / 1000 - 3600).put("iat", System.currentTimeMillis() / 1000 - 7200);
    assert401(sign(TestNode.SECRET, c, new JWTOptions()));
  }

  @Test
  void tokenWithoutExpiry() throws Exception {
    assert401(sign(TestNode.SECRET, claims(user), new JWTOptions()));
  }

  @Test
  void wrongKey() throws Exception {
    assert401(sign("another-secret-another-secret-xx", claims(user), new JWTOptions().setExpiresInSeconds(600)));
  }

  @Test
  void algNoneIsRejected() throws Exception {
    JsonObject c = claims(user).put("exp", System.currentTimeMillis() / 1000 + 600);
    String unsigned = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + b64(c.encode());
    assert401(unsigned + ".");
    assert401(unsigned);
  }

  @Test
  void subjectMustBeAUuid() throws Exception {
    JsonObject c = new JsonObject().put("sub", "alice").put("companies", new JsonArray().add(company.toString()));
    assert401(sign(TestNode.SECRET, c, new JWTOptions().setExpiresInSeconds(600)));
  }

  @Test
  void callerOfAnotherCompanyIsForbidden() throws Exception {
    String outsider = TestNode.userToken(UUID.randomUUID(), otherCompany);
    HttpResponse<String> r = api.get(api.file(company, file), outsider);
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(new JsonObject(r.body()).getString("error")).isEqualTo("Forbidden");
    assertThat(api.download(company, file, outsider).statusCode()).isEqualTo(403);
    assertThat(api.delete(company, file, outsider).statusCode()).isEqualTo(403);
    assertThat(api.upload(company, outsider, "x.txt", "text/plain", new byte[]{1}).statusCode()).isEqualTo(403);
  }

  @Test
  void fileOfAnotherCompanyByIdIsNotFound() throws Exception {
    String outsider = TestNode.userToken(UUID.randomUUID(), otherCompany);
    HttpResponse<String> r = api.get(api.file(otherCompany, file), outsider);
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).doesNotContain("a.pdf");
    assertThat(api.download(otherCompany, file, outsider).statusCode()).isEqualTo(404);
    assertThat(api.delete(otherCompany, file, outsider).statusCode()).isEqualTo(404);
    assertThat(api.get(api.file(company, file), TestNode.userToken(user, company)).statusCode()).isEqualTo(200);
  }

  @Test
  void membershipTableGrantsAccessAndIsManagedOverTheEventBusWithAServerToken() throws Exception {
    UUID member = UUID.randomUUID();
    String noClaim = sign(TestNode.SECRET, new JsonObject().put("sub", member.toString()), new JWTOptions().setExpiresInSeconds(600));
    assertThat(api.get(api.file(company, file), noClaim).statusCode()).isEqualTo(403);

    var bus = node.node.vertx().eventBus();
    String server = sign(TestNode.SECRET, new JsonObject().put("sub", UUID.randomUUID().toString()).put("server_request", true),
        new JWTOptions().setExpiresInSeconds(600));
    var asServer = new io.vertx.core.eventbus.DeliveryOptions().addHeader("authorization", "Bearer " + server);
    JsonObject add = new JsonObject().put("action", "add").put("company_id", company.toString()).put("user_id", member.toString());
    // no token, a user's token: refused, and nothing is added
    assertThatThrownBy(() -> bus.request(Addresses.MEMBERS, add).await(10, TimeUnit.SECONDS))
        .isInstanceOfSatisfying(io.vertx.core.eventbus.ReplyException.class, e -> assertThat(e.failureCode()).isEqualTo(401));
    var asUser = new io.vertx.core.eventbus.DeliveryOptions().addHeader("authorization", "Bearer " + noClaim);
    assertThatThrownBy(() -> bus.request(Addresses.MEMBERS, add, asUser).await(10, TimeUnit.SECONDS))
        .isInstanceOfSatisfying(io.vertx.core.eventbus.ReplyException.class, e -> assertThat(e.failureCode()).isEqualTo(403));
    assertThat(api.get(api.file(company, file), noClaim).statusCode()).isEqualTo(403);

    JsonObject reply = bus.<JsonObject>request(Addresses.MEMBERS, add, asServer).await(10, TimeUnit.SECONDS).body();
    assertThat(reply).isEqualTo(new JsonObject().put("status", "success").put("member", true).put("role", "member"));
    HttpResponse<byte[]> down = api.download(company, file, noClaim);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(down.body()).isEqualTo(content);
    JsonObject check = add.copy().put("action", "check").put("role", "admin");
    assertThat(bus.<JsonObject>request(Addresses.MEMBERS, check, asServer).await(10, TimeUnit.SECONDS).body().getBoolean("member")).isFalse();
    bus.request(Addresses.MEMBERS, add.copy().put("role", "admin"), asServer).await(10, TimeUnit.SECONDS);
    assertThat(bus.<JsonObject>request(Addresses.MEMBERS, check, asServer).await(10, TimeUnit.SECONDS).body())
        .isEqualTo(new JsonObject().put("status", "success").put("member", true).put("role", "admin"));

    bus.<JsonObject>request(Addresses.MEMBERS, add.copy().put("action", "remove"), asServer).await(10, TimeUnit.SECONDS);
    assertThat(api.get(api.file(company, file), noClaim).statusCode()).isEqualTo(403);
    assertThatThrownBy(() -> bus.request(Addresses.MEMBERS, new JsonObject().put("action", "add").put("company_id", "x"), asServer)
        .await(10, TimeUnit.SECONDS)).hasMessageContaining("UUID");
  }

  @Test
  void membershipAnswersAreCachedUntilFilesMembersAnnouncesAChange() throws Exception {
    UUID member = UUID.randomUUID();
    String noClaim = sign(TestNode.SECRET, new JsonObject().put("sub", member.toString()), new JWTOptions().setExpiresInSeconds(600));
    Db.execute(node.dbName, "INSERT INTO company_members (company_id, user_id, created_at) VALUES ('" + company + "', '" + member + "', 0)");
    assertThat(api.get(api.file(company, file), noClaim).statusCode()).isEqualTo(200);
    // a row removed behind the service's back: the node still answers from its cache
    Db.execute(node.dbName, "DELETE FROM company_members WHERE user_id = '" + member + "'");
    assertThat(api.get(api.file(company, file), noClaim).statusCode()).isEqualTo(200);
    // the change notice is internal: one without the cluster's secret (any process on the bus) is ignored
    var bus = node.node.vertx().eventBus();
    JsonObject pair = new JsonObject().put("company_id", company.toString()).put("user_id", member.toString());
    bus.publish(Addresses.MEMBERS_CHANGED, pair);
    bus.publish(Addresses.MEMBERS_CHANGED, pair, new io.vertx.core.eventbus.DeliveryOptions()
        .addHeader(dev.files.bus.InternalBus.HEADER, "forged"));
    bus.publish(Addresses.MEMBERS_CHANGED, "not a pair: would empty the whole cache");
    Thread.sleep(300);
    assertThat(api.get(api.file(company, file), noClaim).statusCode()).isEqualTo(200);
    // files.members announces its change: the cached answer is dropped at once
    String server = sign(TestNode.SECRET, new JsonObject().put("sub", UUID.randomUUID().toString()).put("server_request", true),
        new JWTOptions().setExpiresInSeconds(600));
    node.node.vertx().eventBus().request(Addresses.MEMBERS, new JsonObject().put("action", "remove")
            .put("company_id", company.toString()).put("user_id", member.toString()),
        new io.vertx.core.eventbus.DeliveryOptions().addHeader("authorization", "Bearer " + server)).await(10, TimeUnit.SECONDS);
    Eventually.eventually(java.time.Duration.ofSeconds(1), () ->
        assertThat(api.get(api.file(company, file), noClaim).statusCode()).isEqualTo(403));
  }

  @Test
  void serverRequestMayActOnAnyCompany() throws Exception {
    String server = sign(TestNode.SECRET, new JsonObject().put("sub", UUID.randomUUID().toString()).put("server_request", true),
        new JWTOptions().setExpiresInSeconds(600));
    assertThat(api.get(api.file(company, file), server).statusCode()).isEqualTo(200);
  }

  @Test
  void deleteRights() throws Exception {
    String owner = TestNode.userToken(user, company);
    UUID id1 = UUID.fromString(Api.resource(api.upload(company, owner, "d1.txt", "text/plain", new byte[]{1, 2})).getString("id"));
    UUID id2 = UUID.fromString(Api.resource(api.upload(company, owner, "d2.txt", "text/plain", new byte[]{3})).getString("id"));

    HttpResponse<String> otherUser = api.delete(company, id1, TestNode.userToken(UUID.randomUUID(), company));
    assertThat(otherUser.statusCode()).isEqualTo(403);
    assertThat(api.get(api.file(company, id1), owner).statusCode()).isEqualTo(200);

    UUID app = UUID.randomUUID();
    assertThat(api.delete(company, id1, TestNode.appToken(app, company)).statusCode()).isEqualTo(200);
    assertThat(api.get(api.file(company, id1), owner).statusCode()).isEqualTo(404);

    assertThat(api.delete(company, id2, owner).statusCode()).isEqualTo(200);
    assertThat(api.delete(company, id2, owner).statusCode()).isEqualTo(404);
  }

  @Test
  void applicationUploadsAreOwnedByTheApplication() throws Exception {
    UUID app = UUID.randomUUID();
    HttpResponse<String> up = api.upload(company, TestNode.appToken(app, company), "app.bin", null, new byte[]{9, 9});
    JsonObject r = Api.resource(up);
    assertThat(r.getString("owner_type")).isEqualTo("application");
    assertThat(r.getString("owner_id")).isEqualTo(app.toString());
    assertThat(r.getString("user_id")).isEqualTo(app.toString());
    assertThat(r.getString("application_id")).isEqualTo(app.toString());
    UUID id = UUID.fromString(r.getString("id"));
    assertThat(api.delete(company, id, TestNode.userToken(user, company)).statusCode()).isEqualTo(403);
  }

  @Test
  void aNodeWithoutAnyJwtKeyRefusesToStart() {
    assertThatThrownBy(() -> Node.start(FilesConfig.load(Map.of(), Map.of("auth.jwt.secret", "", "auth.jwt.public_key", "")))
        .await(30, TimeUnit.SECONDS))
        .hasMessageContaining("no JWT key configured")
        .hasMessageContaining("alg: none");
  }
}

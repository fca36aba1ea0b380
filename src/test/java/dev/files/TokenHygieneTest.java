package dev.files;

import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.auth.TokenVerifier;
import dev.files.support.Api;
import dev.files.support.NodeTest;
import dev.files.support.TestNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Token hygiene: claims of the wrong type are 401 (never 500), short HS256 secrets and mixed key
 * kinds are refused at start, {@code auth.jwt.audience} is checked; and a fuzz of signed claim
 * sets: every token is 401, 403 or a success, never anything else.
 */
class TokenHygieneTest extends NodeTest {

  static final String AUDIENCE = "files-service";

  Vertx vertx;
  UUID file;

  @Override
  protected Map<String, ?> settings() {
    return Map.of("auth.jwt.audience", AUDIENCE);
  }

  @BeforeAll
  void upload() throws Exception {
    vertx = Vertx.vertx();
    HttpResponse<String> up = api.upload(company, signed(claims(user)), "a.txt", "text/plain", "a".getBytes(StandardCharsets.UTF_8));
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    file = UUID.fromString(Api.resource(up).getString("id"));
  }

  @AfterAll
  void closeVertx() {
    vertx.close().await();
  }

  private static long now() {
    return System.currentTimeMillis() / 1000;
  }

  private JsonObject claims(UUID sub) {
    return new JsonObject().put("sub", sub.toString()).put("companies", new JsonArray().add(company.toString()))
        .put("exp", now() + 600).put("iat", now()).put("aud", AUDIENCE);
  }

  private static String b64(byte[] bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /** An HS256 token over exactly this payload text (any JSON, valid or not), signed with the test secret. */
  static String signRaw(String payload) {
    try {
      String input = b64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
          + b64(payload.getBytes(StandardCharsets.UTF_8));
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(TestNode.SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return input + "." + b64(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String signed(JsonObject claims) {
    return signRaw(claims.encode());
  }

  private void assert401(String token) throws Exception {
    HttpResponse<String> r = api.get(api.file(company, file), token);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(401);
    JsonObject body = new JsonObject(r.body());
    assertThat(body.getString("error")).isEqualTo("Unauthorized");
    assertThat(body.getString("message")).isNotBlank();
  }

  @Test
  void aWellFormedTokenForTheAudienceIsAccepted() throws Exception {
    assertThat(api.get(api.file(company, file), signed(claims(user))).statusCode()).isEqualTo(200);
    assertThat(api.get(api.file(company, file), signed(claims(user).put("aud", new JsonArray().add("other").add(AUDIENCE))))
        .statusCode()).isEqualTo(200);
  }

  @Test
  void timeClaimsThatAreNotNumbersAre401() throws Exception {
    for (String claim : List.of("exp", "iat", "nbf")) {
      for (Object bad : List.of("soon", String.valueOf(now() + 600), true, new JsonObject().put("t", 1), new JsonArray().add(1))) {
        assert401(signed(claims(user).put(claim, bad)));
      }
      assert401(signed(claims(user).putNull(claim)));
    }
  }

  @Test
  void theAudienceIsChecked() throws Exception {
    assert401(signed(claims(user).put("aud", "another-service")));
    assert401(signed(claims(user).put("aud", new JsonArray().add("x"))));
    JsonObject without = claims(user);
    without.remove("aud");
    assert401(signed(without));
    assert401(signed(claims(user).put("aud", 42)));
  }

  @Test
  void shortSecretsAreRefusedAtStart() {
    assertThatThrownBy(() -> Node.start(FilesConfig.load(Map.of(), Map.of("auth.jwt.secret", "x".repeat(31))))
        .await(30, TimeUnit.SECONDS))
        .hasMessageContaining("auth.jwt.secret")
        .hasMessageContaining("31 bytes")
        .hasMessageContaining("at least 32");
    // 32 bytes is enough for the check (the rest of this configuration is the node's)
    TokenVerifier.options(FilesConfig.load(Map.of(), Map.of("auth.jwt.secret", "x".repeat(32))));
  }

  @Test
  void secretAndPublicKeyTogetherNeedAllowMixed() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    String pem = "-----BEGIN PUBLIC KEY-----\n" + Base64.getMimeEncoder().encodeToString(g.generateKeyPair().getPublic().getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
    Map<String, Object> both = new HashMap<>(Map.of("auth.jwt.secret", TestNode.SECRET, "auth.jwt.public_key", pem));
    assertThatThrownBy(() -> TokenVerifier.options(FilesConfig.load(Map.of(), both)))
        .hasMessageContaining("auth.jwt.allow_mixed");
    assertThatThrownBy(() -> Node.start(FilesConfig.load(Map.of(), both)).await(30, TimeUnit.SECONDS))
        .hasMessageContaining("auth.jwt.allow_mixed");
    both.put("auth.jwt.allow_mixed", true);
    assertThat(TokenVerifier.options(FilesConfig.load(Map.of(), both)).getPubSecKeys()).hasSize(2);
  }

  /** Random JSON values of every type, including the awkward ones. */
  static Object randomValue(Random r, int depth) {
    switch (r.nextInt(depth > 2 ? 9 : 11)) {
      case 0: return null;
      case 1: return r.nextBoolean();
      case 2: return r.nextLong();
      case 3: return (long) r.nextInt(4_000_000) + 1_600_000_000L; // plausible epoch seconds
      case 4: return r.nextDouble() * Math.pow(10, r.nextInt(40) - 10) * (r.nextBoolean() ? 1 : -1);
      case 5: return List.of("", "soon", "1e309", "-1", "NaN", "\u0000", UUID.randomUUID().toString(), "ä€𝄞").get(r.nextInt(8));
      case 6: return new java.math.BigInteger(130, r).negate();
      case 7: return r.nextInt(3) - 1;
      case 8: return "x".repeat(r.nextInt(300));
      case 9: {
        JsonArray a = new JsonArray();
        for (int i = r.nextInt(3); i > 0; i--) {
          a.add(randomValue(r, depth + 1));
        }
        return a;
      }
      default: {
        JsonObject o = new JsonObject();
        for (int i = r.nextInt(3); i > 0; i--) {
          o.put(List.of("a", "exp", "sub", "").get(r.nextInt(4)), randomValue(r, depth + 1));
        }
        return o;
      }
    }
  }

  private static final List<String> CLAIMS = List.of("exp", "iat", "nbf", "sub", "aud", "iss", "companies",
      "application_id", "server_request", "jti");

  /** A claim set: a valid one with some claims replaced by random values, or a random object. */
  JsonObject randomClaims(Random r) {
    JsonObject c = claims(r.nextBoolean() ? user : UUID.randomUUID());
    if (r.nextInt(10) == 0) {
      c.put("server_request", true);
    }
    for (int i = r.nextInt(4); i >= 0; i--) {
      String name = CLAIMS.get(r.nextInt(CLAIMS.size()));
      if (r.nextInt(5) == 0) {
        c.remove(name);
      } else {
        c.put(name, randomValue(r, 0));
      }
    }
    return c;
  }

  /**
   * The verifier itself, on many generated claim sets: it either answers a caller or fails with
   * {@link ServiceException} of kind {@link Kind#UNAUTHORIZED}, never anything else.
   */
  @Test
  void fuzzedClaimsNeverBreakTheVerifier() throws Exception {
    TokenVerifier verifier = TokenVerifier.create(vertx, FilesConfig.load(Map.of(), Map.of(
        "auth.jwt.secret", TestNode.SECRET, "auth.jwt.audience", AUDIENCE)));
    Random r = new Random(8);
    List<String> raw = new ArrayList<>(List.of("", "{", "[]", "null", "1", "\"x\"", "{\"exp\":}", "{\"exp\":1e999999}",
        "{\"exp\":99999999999999999999999999}", "{\"exp\":-0.0}", "{\"exp\":NaN}"));
    int accepted = 0;
    int refused = 0;
    for (int i = 0; i < 3000; i++) {
      String token = i < raw.size() ? signRaw(raw.get(i)) : signed(randomClaims(r));
      Future<?> f;
      try {
        f = verifier.verify(token);
      } catch (RuntimeException e) {
        throw new AssertionError("verify threw for " + token, e);
      }
      try {
        f.await(10, TimeUnit.SECONDS);
        accepted++;
      } catch (ServiceException e) {
        assertThat(e.kind()).as(token).isEqualTo(Kind.UNAUTHORIZED);
        refused++;
      } catch (Exception e) {
        throw new AssertionError("token " + token + " failed with " + e, e);
      }
    }
    assertThat(accepted).isPositive();
    assertThat(refused).isPositive();
  }

  /** The same through HTTP: 401, 403 or 2xx only (never 500). */
  @Test
  void fuzzedClaimsOverHttpAre401Or403Or2xx() throws Exception {
    Random r = new Random(12);
    for (int i = 0; i < 300; i++) {
      JsonObject c = randomClaims(r);
      HttpResponse<String> resp = api.get(api.file(company, file), signed(c));
      assertThat(resp.statusCode()).as(c.encode() + " -> " + resp.body()).isIn(200, 401, 403);
    }
  }
}

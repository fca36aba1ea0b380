package dev.files;

import dev.files.bus.Addresses;
import dev.files.model.ContentTypes;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.Eventually;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A fuzzing round over what enters the service from outside, against a real node (jqwik, fixed seed;
 * {@code -Dfuzz.tries=N} for a longer run): declared types (query and multipart part), names, token
 * claims, {@code files.api} and {@code files.members} bodies, with generators mixing well-formed values
 * with control characters, NUL, unpaired surrogates, overlong and non-canonical forms. The properties:
 * every answer within its deadline, never a 5xx, what is stored can be served (a type that is a header
 * value, a name without control characters, a download within 2 s), and no row or object is left
 * behind (every stored object belongs to a chunk or a thumbnail row).
 */
class EdgeFuzzTest {

  private static final String SEED = "20261207";
  private static TestNode node;
  private static Api api;
  private static final UUID COMPANY = UUID.randomUUID();
  private static final UUID USER = UUID.randomUUID();
  private static final UUID APP = UUID.randomUUID();
  private static String token;
  private static String appToken;
  private static String serverToken;
  private static final byte[] BYTES = "fuzzing round".getBytes(StandardCharsets.UTF_8);

  @BeforeContainer
  static void start() throws Exception {
    node = TestNode.start(java.util.Map.of());
    api = new Api(node);
    token = TestNode.userToken(USER, COMPANY);
    appToken = TestNode.appToken(APP, COMPANY);
    serverToken = TestNode.token(new JsonObject().put("sub", UUID.randomUUID().toString()).put("server_request", true), 3600);
  }

  @AfterContainer
  static void stop() throws Exception {
    if (node != null) {
      node.close();
    }
  }

  /** Nothing is left behind: every stored object is named by a chunk, retired chunk or thumbnail row. */
  @AfterProperty
  void nothingLeftBehind() throws Exception {
    Eventually.eventually(Duration.ofSeconds(30), () -> {
      long objects;
      try (Stream<java.nio.file.Path> all = Tree.walk(node.storage)) {
        objects = all.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).count();
      }
      long rows = Db.count(node.dbName, "SELECT (SELECT count(*) FROM chunks) + (SELECT count(*) FROM retired_chunks)"
          + " + (SELECT count(*) FROM thumbnails)");
      assertThat(objects).as("stored objects vs rows naming them").isEqualTo(rows);
    });
  }

  /** Text with what hostile clients send: control characters, NUL, DEL, C1, lone surrogates, non-ASCII, quotes. */
  private static Arbitrary<String> hostileText(int maxLength) {
    Arbitrary<Character> odd = Arbitraries.of('\u0000', '\u0001', '\t', '\n', '\r', '\u001f', '\u007f', '\u0085', '\u009f',
        '\ud800', '\udfff', '"', '\\', ';', '=', '/', ' ', 'é', '€', '\u2028', '\ufeff');
    Arbitrary<Character> plain = Arbitraries.chars().range('a', 'z');
    return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(3, plain), net.jqwik.api.Tuple.of(1, odd))
        .list().ofMaxSize(maxLength).map(cs -> {
          StringBuilder b = new StringBuilder();
          cs.forEach(b::append);
          return b.toString();
        });
  }

  @Provide
  Arbitrary<String> declaredTypes() {
    Arbitrary<String> wellFormed = Arbitraries.of("text/plain", "text/plain; charset=utf-8", "image/png",
        "application/pdf", "text/plain; a=\"b c\"", "application/octet-stream", "Text/HTML;Charset=UTF-8");
    Arbitrary<String> mutated = Arbitraries.of("text/plain; a=", "image/png; x=").flatMap(p -> hostileText(12).map(t -> p + t));
    Arbitrary<String> overlong = Arbitraries.integers().between(250, 1500).map(n -> "text/plain; a=" + "b".repeat(n)); // within the request line
    return Arbitraries.oneOf(wellFormed, mutated, overlong, hostileText(40));
  }

  private static void assertServable(UUID id) throws Exception {
    JsonObject meta = new JsonObject(api.get(api.file(COMPANY, id), token).body()).getJsonObject("resource").getJsonObject("metadata");
    assertThat(ContentTypes.headerSafe(meta.getString("mime"))).as(meta.getString("mime")).isTrue();
    assertThat(dev.files.model.Texts.storable(meta.getString("name"))).as(meta.getString("name")).isTrue();
    HttpResponse<byte[]> down = Api.CLIENT.send(api.request(api.file(COMPANY, id) + "/download", token)
        .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(down.headers().firstValue("Content-Type")).hasValue(meta.getString("mime"));
  }

  @Property(seed = SEED, tries = 60)
  void declaredTypesInTheQueryNeverFailTheServiceAndStayServable(@ForAll("declaredTypes") String type) throws Exception {
    HttpResponse<String> up = Api.CLIENT.send(api.request(api.files(COMPANY) + "?" + Api.query("type", type), token)
            .timeout(Duration.ofSeconds(10)).header("Content-Type", new Api.Multipart().contentType())
            .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(up.statusCode()).as(type).isLessThan(500);
    HttpResponse<String> whole = Api.CLIENT.send(api.request(api.files(COMPANY) + "?" + Api.query("type", type), token)
        .timeout(Duration.ofSeconds(10)).header("Content-Type", "multipart/form-data; boundary=b")
        .POST(HttpRequest.BodyPublishers.ofString("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n"
            + "fuzz\r\n--b--\r\n")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(whole.statusCode()).as(type).isEqualTo(200);
    assertServable(UUID.fromString(Api.resource(whole).getString("id")));
  }

  @Property(seed = SEED, tries = 60)
  void declaredPartTypesNeverFailTheService(@ForAll("declaredTypes") String type) throws Exception {
    byte[] head = ("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: ").getBytes(StandardCharsets.UTF_8);
    byte[] raw = type.getBytes(StandardCharsets.UTF_8);
    byte[] tail = "\r\n\r\nfuzz\r\n--b--\r\n".getBytes(StandardCharsets.UTF_8);
    byte[] body = new byte[head.length + raw.length + tail.length];
    System.arraycopy(head, 0, body, 0, head.length);
    System.arraycopy(raw, 0, body, head.length, raw.length);
    System.arraycopy(tail, 0, body, head.length + raw.length, tail.length);
    HttpResponse<String> up = Api.CLIENT.send(api.request(api.files(COMPANY), token).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "multipart/form-data; boundary=b").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(up.statusCode()).as(type).isLessThan(500);
    if (up.statusCode() == 200) {
      assertServable(UUID.fromString(Api.resource(up).getString("id")));
    }
  }

  @Property(seed = SEED, tries = 60)
  void namesAreStoredWithoutControlCharacters(@ForAll("names") String name) throws Exception {
    HttpResponse<String> up = Api.CLIENT.send(api.request(api.files(COMPANY) + "?" + Api.query("filename", name), token)
        .timeout(Duration.ofSeconds(10)).header("Content-Type", "multipart/form-data; boundary=b")
        .POST(HttpRequest.BodyPublishers.ofString("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n"
            + "fuzz\r\n--b--\r\n")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(up.statusCode()).isLessThan(500);
    if (up.statusCode() == 200) {
      assertServable(UUID.fromString(Api.resource(up).getString("id")));
    }
  }

  @Provide
  Arbitrary<String> names() {
    return Arbitraries.oneOf(hostileText(80), Arbitraries.integers().between(256, 1500).map(n -> "n".repeat(n) + ".txt"),
        Arbitraries.of("../../etc/passwd", ".", "..", "a\u0000b.txt", "\ud83c\udf89.txt"));
  }

  @Provide
  Arbitrary<String> ids() {
    String good = UUID.randomUUID().toString();
    return Arbitraries.oneOf(Arbitraries.of(good, good.toUpperCase(), "1-1-1-1-1", "+" + good.substring(1),
            good.replace("-", ""), good + "0", " " + good, good.substring(0, 35) + "\u0000", "00000000-0000-0000-0000-00000000000g"),
        hostileText(40));
  }

  @Property(seed = SEED, tries = 60)
  void claimsAreCheckedNeverFailed(@ForAll("ids") String sub, @ForAll("ids") String company, @ForAll("claimText") String extra)
      throws Exception {
    String jwt = TestNode.token(new JsonObject().put("sub", sub).put("companies", new JsonArray().add(company))
        .put("application_id", extra.isEmpty() ? null : extra).put("role", extra), 600);
    HttpResponse<String> r = Api.CLIENT.send(api.request(api.files(COMPANY) + "/" + UUID.randomUUID(), jwt)
        .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isIn(400, 401, 403, 404);
  }

  @Provide
  Arbitrary<String> claimText() {
    return hostileText(80); // a token stays within the header limit
  }

  private static int busCode(String address, Object body, DeliveryOptions options) {
    try {
      node.node.vertx().eventBus().request(address, body, options.setSendTimeout(15_000)).await(20, TimeUnit.SECONDS);
      return 200;
    } catch (ReplyException e) {
      return e.failureCode();
    } catch (Exception e) {
      throw new AssertionError("no answer: " + e, e);
    }
  }

  @Property(seed = SEED, tries = 80)
  void busBodiesAreAnsweredNeverFailed(@ForAll("actions") String action, @ForAll("ids") String company,
                                       @ForAll("ids") String file, @ForAll("names") String text) {
    JsonObject body = new JsonObject().put("company_id", company).put("file_id", file).put("name", text).put("mime", text)
        .put("content", Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8))).put("cursor", text)
        .put("limit", text.length());
    int code = busCode(Addresses.API, body, new DeliveryOptions().addHeader("action", action)
        .addHeader("authorization", "Bearer " + appToken));
    assertThat(code).as(action + " " + body.encode()).isLessThan(500);
    JsonObject member = new JsonObject().put("action", action).put("company_id", company).put("user_id", file).put("role", text);
    int memberCode = busCode(Addresses.MEMBERS, member, new DeliveryOptions().addHeader("authorization", "Bearer " + serverToken));
    assertThat(memberCode).as("files.members " + member.encode()).isLessThan(500);
  }

  @Provide
  Arbitrary<String> actions() {
    return Arbitraries.oneOf(Arbitraries.of("get", "exists", "delete", "probe", "read", "create", "list", "add", "remove", "check"),
        hostileText(10));
  }
}

package dev.files;

import dev.files.support.BusReplies;
import dev.files.api.FilesApi;
import dev.files.bus.Addresses;
import dev.files.sibling.EventSibling;
import dev.files.support.Samples;
import dev.files.support.Api;
import dev.files.support.SiblingCluster;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.Eventually;
import dev.files.support.TestNode;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * files.api and files.members on a cluster: two service nodes (one database, one store) and a third
 * clustered Vert.x that runs only sibling verticles, all in this JVM.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FilesApiClusterTest {

  private SiblingCluster cluster;
  private TestNode a;
  private TestNode b;
  private Vertx sibling;
  private final UUID company = UUID.randomUUID();
  private final UUID app = UUID.randomUUID();
  private final String appToken = TestNode.appToken(app, company);
  private final String serverToken = TestNode.token(new JsonObject().put("sub", UUID.randomUUID().toString())
      .put("server_request", true), 3600);

  @BeforeAll
  void startCluster() throws Exception {
    // a membership answer is kept for 10 min: only the files.members.changed notice can change it
    // within a test's deadline, so the test tells the notice from the cache's expiry without timing it
    cluster = SiblingCluster.start("files-api", Map.of("auth.membership_cache_ms", 600_000));
    a = cluster.a();
    b = cluster.b();
    sibling = cluster.sibling();
  }

  @AfterAll
  void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.await(15, TimeUnit.SECONDS);
  }

  /** The failure code of a call that must fail (within 15 s: a hang fails the test). */
  private static int code(Future<?> f) {
    return BusReplies.failure(f, Duration.ofSeconds(15)).failureCode();
  }

  @Test
  void aSiblingStoresAFileWhoseSignedUrlDownloadsItsBytes() throws Exception {
    FilesApi files = FilesApi.proxy(sibling, appToken);
    String text = "quarterly report " + UUID.randomUUID();
    JsonObject resource = await(files.create(company.toString(), "report.txt", "text/plain",
        Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8)))).getJsonObject("resource");
    JsonObject link = await(files.read(company.toString(), resource.getString("id")));
    assertThat(resource.getJsonObject("metadata").getString("name")).isEqualTo("report.txt");
    assertThat(resource.getJsonObject("metadata").getString("mime")).isEqualTo("text/plain");
    assertThat(resource.getString("owner_type")).isEqualTo("application");
    UUID id = UUID.fromString(resource.getString("id"));
    assertThat(Db.count(a.dbName, "SELECT count(*) FROM files WHERE id = '" + id + "' AND owner_type = 'application' AND owner_id = '"
        + app + "' AND size = " + text.length())).isEqualTo(1);

    HttpResponse<byte[]> down = Api.CLIENT.send(HttpRequest.newBuilder(URI.create(link.getString("url"))).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(new String(down.body(), StandardCharsets.UTF_8)).isEqualTo(text);
    // the same path on the other node: the signature is the cluster's
    for (TestNode n : List.of(a, b)) {
      HttpResponse<byte[]> other = Api.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.port
          + link.getString("path"))).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
      assertThat(other.statusCode()).isEqualTo(200);
      assertThat(Api.sha256(other.body())).isEqualTo(Api.sha256(text.getBytes(StandardCharsets.UTF_8)));
    }
    // a forged signature, or the signature of this file on another file id: 401
    String forged = link.getString("url").replaceFirst("signature=[^&]+", "signature=AAAA");
    assertThat(Api.CLIENT.send(HttpRequest.newBuilder(URI.create(forged)).GET().build(), HttpResponse.BodyHandlers.ofString())
        .statusCode()).isEqualTo(401);
    String otherFile = link.getString("url").replace(id.toString(), UUID.randomUUID().toString());
    assertThat(Api.CLIENT.send(HttpRequest.newBuilder(URI.create(otherFile)).GET().build(), HttpResponse.BodyHandlers.ofString())
        .statusCode()).isEqualTo(401);
  }

  @Test
  void aSiblingUsesEveryAction() throws Exception {
    FilesApi files = FilesApi.proxy(sibling, appToken);
    String c = company.toString();
    UUID listCompany = UUID.randomUUID();
    FilesApi lister = FilesApi.proxy(sibling, TestNode.appToken(app, listCompany));
    List<String> made = new ArrayList<>();
    byte[] pdf = "%PDF-1.4 generated".getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < 3; i++) {
      JsonObject created = await(lister.create(listCompany.toString(), "doc" + i + ".pdf", null,
          Base64.getEncoder().encodeToString(pdf)));
      made.add(created.getJsonObject("resource").getString("id"));
      Thread.sleep(5); // distinct created_at
    }
    // create: stored encrypted, sniffed type, HTTP sees the same bytes
    UUID first = UUID.fromString(made.get(0));
    HttpResponse<byte[]> down = new Api(a).download(listCompany, first, TestNode.appToken(app, listCompany));
    assertThat(down.body()).isEqualTo(pdf);
    assertThat(down.headers().firstValue("Content-Type")).hasValue("application/pdf");
    assertThat(Db.count(a.dbName, "SELECT count(*) FROM files WHERE id = '" + first + "' AND data_key IS NOT NULL")).isEqualTo(1);

    // list: newest first, two pages of 2 then 1, the cursor opaque
    JsonObject page1 = await(lister.list(listCompany.toString(), 2, null));
    assertThat(page1.getJsonArray("resources").stream().map(r -> ((JsonObject) r).getString("id")))
        .containsExactly(made.get(2), made.get(1));
    JsonObject page2 = await(lister.list(listCompany.toString(), 2, page1.getString("next_cursor")));
    assertThat(page2.getJsonArray("resources").stream().map(r -> ((JsonObject) r).getString("id"))).containsExactly(made.get(0));
    assertThat(page2.getString("next_cursor")).isNull();
    assertThat(page2.containsKey("next_cursor")).isTrue();

    // get: the resource exactly as HTTP answers it
    Api http = new Api(b);
    String user = TestNode.userToken(UUID.randomUUID(), company);
    UUID uploaded = UUID.fromString(Api.resource(http.upload(company, user, "a.txt", "text/plain", "hello".getBytes())).getString("id"));
    JsonObject viaBus = await(files.get(c, uploaded.toString()));
    HttpResponse<String> viaHttp = http.get(http.file(company, uploaded), user);
    assertThat(viaBus).isEqualTo(new JsonObject(viaHttp.body()));
    assertThat(await(files.exists(c, uploaded.toString()))).isEqualTo(new JsonObject().put("exists", true));
    assertThat(await(files.exists(c, UUID.randomUUID().toString()))).isEqualTo(new JsonObject().put("exists", false));
    assertThat(code(files.get(c, UUID.randomUUID().toString()))).isEqualTo(404);
    // another company's file is not found there
    assertThat(await(lister.exists(listCompany.toString(), uploaded.toString()))).isEqualTo(new JsonObject().put("exists", false));

    // probe: a chunked upload with chunk 1 of 2 stored
    Chunks chunks = new Chunks(http, company, user);
    UUID pending = UUID.fromString(chunks.init("filename=w.bin&total_chunks=2&total_size=10").getString("id"));
    assertThat(chunks.send(pending, Chunks.query(1, 2, 10), new byte[5]).statusCode()).isEqualTo(200);
    assertThat(await(files.probe(c, pending.toString()))).isEqualTo(new JsonObject().put("file_id", pending.toString())
        .put("upload_status", "pending").put("total_chunks", 2).put("chunks", new JsonArray().add(1)));
    assertThat(await(files.probe(c, uploaded.toString())).getJsonArray("chunks")).isEqualTo(new JsonArray().add(1));
    assertThat(code(files.read(c, pending.toString()))).isEqualTo(409);

    // delete: another user of the company may not (403); an application may (docs/api.md, "Access")
    FilesApi otherUser = FilesApi.proxy(sibling, TestNode.userToken(UUID.randomUUID(), company));
    assertThat(code(otherUser.delete(c, uploaded.toString()))).isEqualTo(403);
    assertThat(await(files.delete(c, uploaded.toString()))).isEqualTo(new JsonObject().put("status", "success"));
    assertThat(await(files.exists(c, uploaded.toString())).getBoolean("exists")).isFalse();
    assertThat(http.get(http.file(company, uploaded), user).statusCode()).isEqualTo(404);
    assertThat(Db.count(a.dbName, "SELECT count(*) FROM files WHERE id = '" + uploaded + "'")).isZero();

    // get latency over 1,000 calls from the sibling's node (printed, not asserted)
    long[] nanos = new long[1000];
    for (int i = 0; i < nanos.length; i++) {
      long t0 = System.nanoTime();
      await(lister.get(listCompany.toString(), made.get(i % 3)));
      nanos[i] = System.nanoTime() - t0;
    }
    java.util.Arrays.sort(nanos);
    System.out.printf("files.api get over the cluster: p50 %.2f ms, p99 %.2f ms (1000 calls)%n",
        nanos[499] / 1e6, nanos[989] / 1e6);
  }

  /**
   * A sibling on the third node (no service there) listening on files.events.<company_id> sees the
   * upload, thumbnail, overwrite and delete of a file once each, with the outbox rows' ids, and
   * nothing else about that file.
   */
  @Test
  void aSiblingOnAnotherNodeSeesEveryEventOfAFileExactlyOnce() throws Exception {
    UUID events = UUID.randomUUID();
    String user = TestNode.userToken(UUID.randomUUID(), events);
    String app = TestNode.appToken(UUID.randomUUID(), events);
    List<JsonObject> seen = new CopyOnWriteArrayList<>();
    await(sibling.deployVerticle(new EventSibling(seen::add),
        new DeploymentOptions().setConfig(new JsonObject().put("company_id", events.toString()))));
    // the sibling's registration reaches the publishing node: a first file's event arrives
    Api http = new Api(a);
    UUID warmUp = UUID.fromString(Api.resource(http.upload(events, user, "w.txt", "text/plain", new byte[]{1})).getString("id"));
    Eventually.eventually(Duration.ofSeconds(20), () -> assertThat(ofFile(seen, warmUp)).isNotEmpty());

    byte[] png = Samples.image("png", 300, 200);
    HttpResponse<String> up = http.post(http.files(events) + "?thumbnail_sync=1", user,
        new Api.Multipart().filename("p.png").partType("image/png"), png);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    assertThat(Api.resource(up).getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done");
    FilesApi files = FilesApi.proxy(sibling, app);
    JsonObject afterThumbnails = await(files.get(events.toString(), id.toString())).getJsonObject("resource");
    byte[] text = "second version".getBytes(StandardCharsets.UTF_8);
    Api onB = new Api(b);
    HttpResponse<String> over = onB.post(onB.file(events, id), app, new Api.Multipart().filename("a.txt").partType("text/plain"), text);
    assertThat(over.statusCode()).as(over.body()).isEqualTo(200);
    JsonObject afterOverwrite = await(files.get(events.toString(), id.toString())).getJsonObject("resource");
    assertThat(await(files.delete(events.toString(), id.toString()))).isEqualTo(new JsonObject().put("status", "success"));

    Eventually.eventually(Duration.ofSeconds(20), () -> assertThat(ofFile(seen, id)).hasSizeGreaterThanOrEqualTo(4));
    Thread.sleep(1500); // three polls of the relay: nothing comes again
    List<JsonObject> got = ofFile(seen, id);
    assertThat(got.stream().map(e -> e.getString("type")).toList())
        .containsExactly("file.uploaded", "file.thumbnails.ready", "file.overwritten", "file.deleted");
    assertThat(got.stream().map(e -> e.getString("id")).toList())
        .isEqualTo(Db.strings(a.dbName, "SELECT id::text FROM event_outbox WHERE file_id = '" + id + "' ORDER BY seq"))
        .doesNotHaveDuplicates();
    for (JsonObject e : got) {
      assertThat(e.getString("company_id")).isEqualTo(events.toString());
      assertThat(e.getString("file_id")).isEqualTo(id.toString());
    }
    JsonObject uploaded = got.get(0).getJsonObject("resource");
    assertThat(uploaded.getString("upload_status")).isEqualTo("complete");
    assertThat(uploaded.getJsonObject("upload_data").getLong("size")).isEqualTo(png.length);
    assertThat(got.get(1).getJsonObject("resource")).isEqualTo(afterThumbnails);
    assertThat(got.get(2).getJsonObject("resource")).isEqualTo(afterOverwrite);
    assertThat(afterOverwrite.getJsonObject("upload_data").getLong("size")).isEqualTo(text.length);
    assertThat(got.get(3).containsKey("resource")).isFalse();
    // only this company's events reach its address
    assertThat(seen).allSatisfy(e -> assertThat(e.getString("company_id")).isEqualTo(events.toString()));
  }

  private static List<JsonObject> ofFile(List<JsonObject> events, UUID file) {
    return events.stream().filter(e -> file.toString().equals(e.getString("file_id"))).toList();
  }

  @Test
  void membershipChangesReachEveryNodeByTheirNotice() throws Exception {
    UUID outsider = UUID.randomUUID();
    String token = TestNode.token(new JsonObject().put("sub", outsider.toString()), 3600);
    UUID file = UUID.fromString(Api.resource(new Api(a).upload(company, appToken, "m.txt", "text/plain", new byte[]{7}))
        .getString("id"));
    FilesApi files = FilesApi.proxy(sibling, token);
    // every node has answered "not a member" (and keeps that answer for auth.membership_cache_ms, 10 min)
    for (TestNode n : List.of(a, b)) {
      assertThat(new Api(n).get(new Api(n).file(company, file), token).statusCode()).isEqualTo(403);
    }
    for (int i = 0; i < 2; i++) {
      assertThat(code(files.get(company.toString(), file.toString()))).isEqualTo(403);
    }
    DeliveryOptions server = new DeliveryOptions().addHeader("authorization", "Bearer " + serverToken);
    JsonObject pair = new JsonObject().put("company_id", company.toString()).put("user_id", outsider.toString());
    EventBus bus = sibling.eventBus();

    await(bus.request(Addresses.MEMBERS, pair.copy().put("action", "add"), server));
    assertEverywhereSoon(file, token, 200);

    JsonObject removed = await(bus.<JsonObject>request(Addresses.MEMBERS, pair.copy().put("action", "remove"), server)).body();
    assertThat(removed).isEqualTo(new JsonObject().put("status", "success").put("member", false).putNull("role"));
    assertEverywhereSoon(file, token, 403);
  }

  /**
   * Both nodes over HTTP, and files.api (two calls: both nodes' consumers), answer {@code status} within
   * 60 s (a deadline for a loaded machine; the cached answer would stand for 10 min, so only the
   * notice can have changed it).
   */
  private void assertEverywhereSoon(UUID file, String token, int status) throws Exception {
    FilesApi files = FilesApi.proxy(sibling, token);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      boolean all = true;
      for (TestNode n : List.of(a, b)) {
        all &= new Api(n).get(new Api(n).file(company, file), token).statusCode() == status;
      }
      for (int i = 0; i < 2; i++) {
        int got = files.get(company.toString(), file.toString()).transform(ar -> Future.succeededFuture(
            ar.succeeded() ? 200 : ((ReplyException) ar.cause()).failureCode())).await(15, TimeUnit.SECONDS);
        all &= got == status;
      }
      if (all) {
        return;
      }
      assertThat(System.nanoTime()).as("every node answers %d within 60 s of the change", status).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  @Test
  void badMessagesGetAFailureAndTheConsumerLivesOn() throws Exception {
    EventBus bus = sibling.eventBus();
    String user = TestNode.userToken(UUID.randomUUID(), company);
    UUID file = UUID.fromString(Api.resource(new Api(a).upload(company, user, "b.txt", "text/plain", new byte[]{1, 2}))
        .getString("id"));
    JsonObject get = new JsonObject().put("company_id", company.toString()).put("file_id", file.toString());
    DeliveryOptions asUser = new DeliveryOptions().addHeader("action", "get").addHeader("authorization", "Bearer " + user);

    assertThat(code(bus.request(Addresses.API, get, new DeliveryOptions().addHeader("action", "get")))).isEqualTo(401);
    assertThat(code(bus.request(Addresses.API, get, new DeliveryOptions().addHeader("action", "get")
        .addHeader("authorization", "Bearer not.a.jwt")))).isEqualTo(401);
    String wronglySigned = user.substring(0, user.lastIndexOf('.') + 1) + "c2lnbmF0dXJl";
    assertThat(code(bus.request(Addresses.API, get, new DeliveryOptions().addHeader("action", "get")
        .addHeader("authorization", "Bearer " + wronglySigned)))).isEqualTo(401);
    assertThat(code(bus.request(Addresses.API, get, new DeliveryOptions().addHeader("action", "rename")
        .addHeader("authorization", "Bearer " + user)))).isEqualTo(400);
    assertThat(code(bus.request(Addresses.API, get, new DeliveryOptions().addHeader("authorization", "Bearer " + user)))).isEqualTo(400);
    assertThat(code(bus.request(Addresses.API, new JsonObject().put("company_id", company.toString()), asUser))).isEqualTo(400);
    assertThat(code(bus.request(Addresses.API, get.copy().put("file_id", 42), asUser))).isEqualTo(400);
    assertThat(code(bus.request(Addresses.API, get.copy().put("company_id", "x"), asUser))).isEqualTo(400);
    assertThat(code(bus.request(Addresses.API, "not json", asUser))).isEqualTo(400);
    assertThat(code(bus.request(Addresses.API, new JsonObject().put("company_id", company.toString()).put("limit", "ten"),
        new DeliveryOptions(asUser).addHeader("action", "list")))).isEqualTo(400);
    // a forged caller in the body changes nothing: the token alone says who calls
    String stranger = TestNode.token(new JsonObject().put("sub", UUID.randomUUID().toString()), 3600);
    JsonObject forged = get.copy().put("caller", new JsonObject().put("sub", UUID.randomUUID().toString()).put("server_request", true));
    assertThat(code(bus.request(Addresses.API, forged, new DeliveryOptions().addHeader("action", "delete")
        .addHeader("authorization", "Bearer " + stranger)))).isEqualTo(403);
    assertThat(Db.count(a.dbName, "SELECT count(*) FROM files WHERE id = '" + file + "'")).isEqualTo(1);
    // create: only an application's, base64, within the limit
    FilesApi asUserProxy = FilesApi.proxy(sibling, user);
    assertThat(code(asUserProxy.create(company.toString(), "x.txt", null, "AAAA"))).isEqualTo(403);
    FilesApi asApp = FilesApi.proxy(sibling, appToken);
    assertThat(code(asApp.create(company.toString(), "x.txt", null, "%%%not base64"))).isEqualTo(400);
    assertThat(code(asApp.create(company.toString(), null, null, "AAAA"))).isEqualTo(400);
    String tooBig = Base64.getEncoder().encodeToString(new byte[dev.files.api.FilesApiVerticle.MAX_CREATE_BYTES + 1]);
    assertThat(code(asApp.create(company.toString(), "big.bin", null, tooBig))).isEqualTo(413);
    // files.members: no token, a user's token
    JsonObject add = new JsonObject().put("action", "add").put("company_id", company.toString()).put("user_id", UUID.randomUUID().toString());
    assertThat(code(bus.request(Addresses.MEMBERS, add))).isEqualTo(401);
    assertThat(code(bus.request(Addresses.MEMBERS, add, new DeliveryOptions().addHeader("authorization", "Bearer " + user)))).isEqualTo(403);
    assertThat(code(bus.request(Addresses.MEMBERS, add.copy().put("action", "grant"),
        new DeliveryOptions().addHeader("authorization", "Bearer " + serverToken)))).isEqualTo(400);

    // every consumer still answers
    for (int i = 0; i < 2; i++) {
      JsonObject reply = await(bus.<JsonObject>request(Addresses.API, get, asUser)).body();
      assertThat(reply.getJsonObject("resource").getString("id")).isEqualTo(file.toString());
    }
    assertThatThrownBy(() -> await(bus.request(Addresses.API, get, new DeliveryOptions().addHeader("action", "get"))))
        .hasMessageContaining("authorization");
  }

  @Test
  void aCreateWithAContentStringBeyondTheDecoderIs413AndLeavesNothing() throws Exception {
    long filesBefore = Db.count(a.dbName, "SELECT count(*) FROM files");
    // over Jackson's 20,000,000-character limit on one string: the receiving node cannot decode the message
    String huge = "A".repeat(20_000_004);
    FilesApi asApp = FilesApi.proxy(sibling, appToken);
    long started = System.nanoTime();
    Future<JsonObject> call = asApp.create(company.toString(), "huge.bin", null, huge);
    int code = code(call);
    System.out.println("create with a 20,000,004-character content: failure code " + code + " after "
        + (System.nanoTime() - started) / 1_000_000 + " ms");
    assertThat(code).isEqualTo(413);
    assertThat(dev.files.api.FilesApiFailure.of(call.cause())).isEqualTo(dev.files.api.FilesApiFailure.TOO_LARGE);
    // the same over files.members: answered (400 or 413), never left to time out
    DeliveryOptions asServer = new DeliveryOptions().addHeader("authorization", "Bearer " + serverToken).setSendTimeout(15_000);
    assertThat(code(sibling.eventBus().request(Addresses.MEMBERS, new JsonObject().put("action", "add")
        .put("company_id", company.toString()).put("user_id", UUID.randomUUID().toString()).put("role", huge), asServer)))
        .isEqualTo(413);
    assertThat(Db.count(a.dbName, "SELECT count(*) FROM files")).isEqualTo(filesBefore);
  }
}

package dev.files;

import dev.files.bus.Addresses;
import dev.files.events.OutboxRelay;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * File events go through the outbox: two clustered nodes on one database; each change writes its
 * event row in its own transaction, one relay (the holder of the advisory lock) publishes it once on
 * {@code files.events} and {@code files.events.<company_id>}, and an event committed while no relay
 * could publish, by a node that then stopped, is published by the other node once the lock is free.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EventOutboxTest {

  TestNode a;
  TestNode b;
  boolean aStopped;
  final UUID company = UUID.randomUUID();
  final UUID user = UUID.randomUUID();
  String token;
  final List<JsonObject> all = new CopyOnWriteArrayList<>();
  final List<JsonObject> ofCompany = new CopyOnWriteArrayList<>();
  final List<JsonObject> ofOtherCompany = new CopyOnWriteArrayList<>();

  @BeforeAll
  void start() throws Exception {
    int base = TestNode.freePort();
    String name = "files-events-" + UUID.randomUUID();
    String members = "127.0.0.1:" + base + ",127.0.0.1:" + (base + 1);
    a = TestNode.start(Map.of("cluster.enabled", true, "cluster.name", name, "cluster.port", base,
        "cluster.members", members));
    Map<String, Object> second = new HashMap<>(a.settings);
    second.put("http.port", TestNode.freePort());
    second.put("cluster.port", base + 1);
    b = TestNode.start(second);
    token = TestNode.userToken(user, company);
    var bus = b.node.vertx().eventBus();
    List<MessageConsumer<JsonObject>> consumers = List.of(
        bus.consumer(Addresses.EVENTS, m -> all.add(m.body())),
        bus.consumer(Addresses.events(company.toString()), m -> ofCompany.add(m.body())),
        bus.consumer(Addresses.events(UUID.randomUUID().toString()), m -> ofOtherCompany.add(m.body())));
    for (MessageConsumer<JsonObject> c : consumers) {
      c.completion().await(10, TimeUnit.SECONDS);
    }
    // the registrations are seen by the other node before anything is published
    eventually(Duration.ofSeconds(30), () -> assertThat(a.node.relay().leading() || b.node.relay().leading()).isTrue());
    Thread.sleep(500);
  }

  @AfterAll
  void stop() throws Exception {
    if (!aStopped) {
      a.stop();
    }
    b.close();
  }

  private static List<JsonObject> of(List<JsonObject> events, UUID file) {
    return events.stream().filter(e -> e.getString("file_id").equals(file.toString())).toList();
  }

  private long outbox(String where) throws Exception {
    return Db.count(a.dbName, "SELECT count(*) FROM event_outbox WHERE " + where);
  }

  @Test
  @Order(1)
  void anUploadAnOverwriteAThumbnailAndADeleteArriveOnceEachInOrderOnBothAddresses() throws Exception {
    byte[] png = Samples.image("png", 300, 200);
    Api onA = new Api(a);
    Api onB = new Api(b);
    HttpResponse<String> up = onA.post(onA.files(company) + "?thumbnail_sync=1", token,
        new Api.Multipart().filename("p.png").partType("image/png"), png);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    assertThat(Api.resource(up).getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done");
    // written with the change: the row exists as soon as the upload is answered
    assertThat(outbox("file_id = '" + id + "' AND type = 'file.uploaded'")).isEqualTo(1);
    assertThat(outbox("file_id = '" + id + "' AND type = 'file.thumbnails.ready'")).isEqualTo(1);

    byte[] text = "second version".getBytes();
    String app = TestNode.appToken(UUID.randomUUID(), company);
    HttpResponse<String> over = onB.post(onB.file(company, id), app,
        new Api.Multipart().filename("a.txt").partType("text/plain"), text);
    assertThat(over.statusCode()).as(over.body()).isEqualTo(200);
    assertThat(outbox("file_id = '" + id + "' AND type = 'file.overwritten'")).isEqualTo(1);

    // a refused change writes no event
    HttpResponse<String> notOwner = onA.delete(company, id, TestNode.userToken(UUID.randomUUID(), company));
    assertThat(notOwner.statusCode()).as(notOwner.body()).isEqualTo(403);
    assertThat(outbox("file_id = '" + id + "' AND type = 'file.deleted'")).isZero();

    HttpResponse<String> del = onA.delete(company, id, token);
    assertThat(del.statusCode()).as(del.body()).isEqualTo(200);
    assertThat(outbox("file_id = '" + id + "' AND type = 'file.deleted'")).isEqualTo(1);

    List<String> expected = List.of("file.uploaded", "file.thumbnails.ready", "file.overwritten", "file.deleted");
    eventually(Duration.ofSeconds(20), () -> assertThat(of(all, id)).hasSize(4));
    Thread.sleep(1500); // three polls of the relay: nothing is published again
    for (List<JsonObject> seen : List.of(of(all, id), of(ofCompany, id))) {
      assertThat(seen.stream().map(e -> e.getString("type")).toList()).isEqualTo(expected);
      assertThat(seen.stream().map(e -> e.getString("id")).distinct()).hasSize(4);
      for (JsonObject e : seen) {
        assertThat(e.getString("company_id")).isEqualTo(company.toString());
        assertThat(Instant.parse(e.getString("at"))).isBetween(Instant.now().minusSeconds(120), Instant.now());
        assertThat(UUID.fromString(e.getString("id"))).isNotNull();
      }
    }
    List<JsonObject> seen = of(all, id);
    assertThat(of(ofCompany, id)).isEqualTo(seen);
    assertThat(ofOtherCompany).isEmpty();
    JsonObject uploaded = seen.get(0).getJsonObject("resource");
    assertThat(uploaded.getString("upload_status")).isEqualTo("complete");
    assertThat(uploaded.getJsonObject("upload_data").getLong("size")).isEqualTo(png.length);
    JsonObject thumbs = seen.get(1).getJsonObject("resource");
    assertThat(thumbs.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done");
    assertThat(thumbs.getJsonArray("thumbnails")).hasSize(1);
    JsonObject overwritten = seen.get(2).getJsonObject("resource");
    assertThat(overwritten.getJsonObject("upload_data").getLong("size")).isEqualTo(text.length);
    assertThat(overwritten.getJsonObject("metadata").getString("mime")).isEqualTo("text/plain");
    assertThat(seen.get(3).containsKey("resource")).isFalse();
    // the rows are marked published, with the same ids
    assertThat(outbox("file_id = '" + id + "' AND published_at IS NOT NULL")).isEqualTo(4);
    assertThat(Db.strings(a.dbName, "SELECT id::text FROM event_outbox WHERE file_id = '" + id + "' ORDER BY seq"))
        .isEqualTo(seen.stream().map(e -> e.getString("id")).toList());
  }

  @Test
  @Order(2)
  void onlyOneNodeRelays() throws Exception {
    assertThat(List.of(a.node.relay().leading(), b.node.relay().leading())).containsExactlyInAnyOrder(true, false);
    assertThat(relayLocks()).isEqualTo(1);
  }

  /**
   * Publishing stopped: the test takes the lock when the relay's connection dies, node A commits an
   * upload (its event row is there, unpublished), A stops; once the lock is free, B publishes it, once.
   */
  @Test
  @Order(3)
  void anEventCommittedByANodeThatStoppedBeforePublishingArrivesFromTheOtherNode() throws Exception {
    try (Connection hold = Db.connect(a.dbName)) {
      try (Statement s = hold.createStatement()) {
        // end the relay's connection, and queue for its lock at once: the waiter gets it before any retry
        s.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            + " AND ((classid::bigint << 32) | objid::bigint) = " + OutboxRelay.LOCK_KEY);
        s.execute("SELECT pg_advisory_lock(" + OutboxRelay.LOCK_KEY + ")");
      }
      eventually(Duration.ofSeconds(60), () -> assertThat(a.node.relay().leading() || b.node.relay().leading()).isFalse());
      Api onA = new Api(a);
      byte[] content = "committed, not yet published".getBytes();
      HttpResponse<String> up = onA.upload(company, token, "late.txt", "text/plain", content);
      assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
      UUID id = UUID.fromString(Api.resource(up).getString("id"));
      assertThat(outbox("file_id = '" + id + "' AND type = 'file.uploaded' AND published_at IS NULL")).isEqualTo(1);
      Thread.sleep(1000); // two polls: nobody publishes while the lock is held
      assertThat(of(all, id)).isEmpty();

      a.stop();
      aStopped = true;
      hold.close(); // the lock is free: B's relay takes it at its next try
      eventually(Duration.ofSeconds(20), () -> assertThat(of(all, id)).hasSize(1));
      Thread.sleep(1500);
      assertThat(of(all, id)).hasSize(1);
      assertThat(of(ofCompany, id)).hasSize(1);
      assertThat(of(all, id).get(0).getString("type")).isEqualTo("file.uploaded");
      assertThat(of(all, id).get(0).getJsonObject("resource").getJsonObject("upload_data").getLong("size"))
          .isEqualTo(content.length);
      assertThat(b.node.relay().leading()).isTrue();
      assertThat(outbox("file_id = '" + id + "' AND published_at IS NOT NULL")).isEqualTo(1);
    }
  }

  private long relayLocks() throws Exception {
    try (Connection c = Db.connect(a.dbName); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
             + " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
             + " AND ((classid::bigint << 32) | objid::bigint) = " + OutboxRelay.LOCK_KEY)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}

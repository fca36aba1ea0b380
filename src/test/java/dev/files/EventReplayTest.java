package dev.files;

import dev.files.support.BusReplies;
import dev.files.api.FileEvent;
import dev.files.api.FilesApi;
import dev.files.sibling.EventSibling;
import dev.files.support.Api;
import dev.files.support.SiblingCluster;
import dev.files.support.Db;
import dev.files.support.Eventually;
import dev.files.support.TestNode;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * File events are the outbox's record, replayable by position: two clustered service nodes on one
 * database and a third clustered Vert.x that runs only siblings. Events published to nobody (no
 * subscriber, or one cut off) are all found by replay in order, with positions strictly increasing and
 * each event naming its company's previous one; commits from both nodes at once never show a smaller
 * position after a larger one to a reader replaying meanwhile; a replay is scoped to the caller's company
 * and its parameters are checked; removed events answer 410 with the earliest position available.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EventReplayTest {

  private SiblingCluster cluster;
  private TestNode a;
  private TestNode b;
  private Vertx sibling;

  @BeforeAll
  void startCluster() throws Exception {
    cluster = SiblingCluster.start("files-replay", Map.of("thumbnails.workers", 0));
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
    return f.await(30, TimeUnit.SECONDS);
  }

  /** The failure of a call that must fail: its code and message. */
  private static ReplyException failure(Future<?> f) {
    return BusReplies.failure(f, Duration.ofSeconds(30));
  }

  private Future<JsonObject> raw(String token, JsonObject body) {
    return sibling.eventBus().<JsonObject>request(FilesApi.ADDRESS, body, new DeliveryOptions()
        .addHeader("action", "events").addHeader("authorization", "Bearer " + token)).map(m -> m.body());
  }

  /** Every retained event of the company, read page by page ({@code limit} each) from position 0. */
  private List<JsonObject> replayAll(FilesApi files, UUID company, int limit) throws Exception {
    List<JsonObject> all = new ArrayList<>();
    long after = 0;
    while (true) {
      JsonObject page = await(files.events(company.toString(), after, limit));
      JsonArray events = page.getJsonArray("events");
      events.forEach(e -> all.add((JsonObject) e));
      long next = page.getLong("next");
      if (events.isEmpty()) {
        assertThat(next).isEqualTo(after);
        return all;
      }
      assertThat(events.size()).isLessThanOrEqualTo(limit);
      assertThat(next).isEqualTo(events.getJsonObject(events.size() - 1).getLong("position"));
      after = next;
    }
  }

  /** Positions strictly increase and each event names the one before it: nothing of the company is missing. */
  private static void assertChain(List<JsonObject> events) {
    long previous = 0;
    for (JsonObject e : events) {
      assertThat(e.getLong("previous_position")).as("previous_position of %s", e).isEqualTo(previous);
      assertThat(e.getLong("position")).as("position of %s", e).isGreaterThan(previous);
      previous = e.getLong("position");
    }
  }

  private UUID upload(TestNode node, UUID company, String token, String name) throws Exception {
    HttpResponse<String> up = new Api(node).upload(company, token, name, "text/plain", name.getBytes(StandardCharsets.UTF_8));
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    return UUID.fromString(Api.resource(up).getString("id"));
  }

  private static List<String> uploadedFiles(List<JsonObject> events) {
    return events.stream().filter(e -> e.getString("type").equals(FileEvent.UPLOADED)).map(e -> e.getString("file_id")).toList();
  }

  @Test
  void eventsPublishedToNobodyAreAllFoundByReplayInOrder() throws Exception {
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 24; i++) { // nobody listens: every publish reaches nobody
      ids.add(upload(i % 2 == 0 ? a : b, company, token, "f" + i + ".txt").toString());
    }
    Eventually.eventually(Duration.ofSeconds(30), () -> assertThat(Db.count(a.dbName,
        "SELECT count(*) FROM event_outbox WHERE company_id = '" + company + "' AND published_at IS NULL")).isZero());

    FilesApi files = FilesApi.proxy(sibling, token);
    List<JsonObject> replayed = replayAll(files, company, 7);
    assertThat(uploadedFiles(replayed)).isEqualTo(ids);
    assertChain(replayed);
    assertThat(replayed).hasSize(24);
    // the positions are the database's, given once, with the event's id and body
    assertThat(replayed.stream().map(e -> e.getString("id")).toList()).isEqualTo(Db.strings(a.dbName,
        "SELECT id::text FROM event_outbox WHERE company_id = '" + company + "' ORDER BY position"));
    assertThat(replayed.stream().map(e -> String.valueOf(e.getLong("position"))).toList()).isEqualTo(Db.strings(a.dbName,
        "SELECT position::text FROM event_outbox WHERE company_id = '" + company + "' ORDER BY seq"));
    FileEvent first = FileEvent.from(replayed.get(0));
    assertThat(first.type()).isEqualTo(FileEvent.UPLOADED);
    assertThat(first.resource().getJsonObject("metadata").getString("name")).isEqualTo("f0.txt");
    assertThat(first.position()).isEqualTo(replayed.get(0).getLong("position")).isPositive();
    assertThat(first.previousPosition()).isZero();

    // over HTTP, the same events
    HttpResponse<String> http = new Api(b).get(b.api() + "/companies/" + company + "/events?after=0&limit=1000", token);
    assertThat(http.statusCode()).as(http.body()).isEqualTo(200);
    JsonObject body = new JsonObject(http.body());
    assertThat(body.getJsonArray("events").getList()).hasSize(24);
    assertThat(body.getJsonArray("events").stream().map(e -> ((JsonObject) e).getString("id")).toList())
        .isEqualTo(replayed.stream().map(e -> e.getString("id")).toList());
    assertThat(body.getLong("next")).isEqualTo(replayed.get(23).getLong("position"));
    HttpResponse<String> tail = new Api(a).get(a.api() + "/companies/" + company + "/events?after="
        + replayed.get(21).getLong("position"), token);
    assertThat(tail.statusCode()).as(tail.body()).isEqualTo(200);
    assertThat(new JsonObject(tail.body()).getJsonArray("events").stream().map(e -> ((JsonObject) e).getString("id")).toList())
        .isEqualTo(List.of(replayed.get(22).getString("id"), replayed.get(23).getString("id")));

    // a sibling that starts now replays them, then takes what follows live, each once
    List<JsonObject> got = new CopyOnWriteArrayList<>();
    EventSibling consumer = new EventSibling(got::add);
    String deployment = await(sibling.deployVerticle(consumer, new DeploymentOptions().setConfig(new JsonObject()
        .put("company_id", company.toString()).put("token", token))));
    try {
      Eventually.eventually(Duration.ofSeconds(30), () -> assertThat(got).hasSize(24));
      String later = upload(a, company, token, "later.txt").toString();
      Eventually.eventually(Duration.ofSeconds(30), () -> assertThat(got).hasSize(25));
      assertThat(uploadedFiles(List.copyOf(got)).subList(0, 24)).isEqualTo(ids);
      assertThat(got.get(24).getString("file_id")).isEqualTo(later);
      assertChain(List.copyOf(got));
    } finally {
      await(sibling.undeploy(deployment));
    }
  }

  /**
   * An event numbered and marked published that no subscriber received (as across a partition: the row
   * is written already published, so the relay numbers it and never sends it): the next event names it
   * as its previous one, and the sibling replays it before handing on the next.
   */
  @Test
  void aSiblingThatSeesAGapReplaysTheMissingEvent() throws Exception {
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    List<JsonObject> got = new CopyOnWriteArrayList<>();
    EventSibling consumer = new EventSibling(got::add);
    String deployment = await(sibling.deployVerticle(consumer, new DeploymentOptions().setConfig(new JsonObject()
        .put("company_id", company.toString()).put("token", token))));
    try {
      String first = upload(b, company, token, "first.txt").toString();
      Eventually.eventually(Duration.ofSeconds(30), () -> assertThat(got).hasSize(1));
      int replaysBefore = consumer.replays();
      Db.Event lost = Db.insertLostEvent(a.dbName, company);
      UUID lostFile = lost.file();
      UUID lostId = lost.id();
      String next = upload(a, company, token, "next.txt").toString();
      Eventually.eventually(Duration.ofSeconds(30), () -> assertThat(got).hasSize(3));
      assertThat(got.stream().map(e -> e.getString("file_id")).toList()).containsExactly(first, lostFile.toString(), next);
      assertThat(got.get(1).getString("id")).isEqualTo(lostId.toString());
      assertThat(consumer.replays()).isGreaterThan(replaysBefore);
      assertChain(List.copyOf(got));
      assertThat(consumer.missed()).isEmpty();
    } finally {
      await(sibling.undeploy(deployment));
    }
  }

  /**
   * Four writers commit on both nodes at once while a reader replays from 0 again and again: every
   * read is the previous read followed by new events (no smaller position ever appears after a larger
   * one), and an incremental reader sees each event's previous one before it.
   */
  @Test
  void concurrentCommitsOnBothNodesNeverShowASmallerPositionAfterALargerOne() throws Exception {
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    FilesApi files = FilesApi.proxy(sibling, token);
    int writers = 4;
    int each = 30;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    List<String> uploaded = new CopyOnWriteArrayList<>();
    List<java.util.concurrent.Future<?>> done = new ArrayList<>();
    for (int w = 0; w < writers; w++) {
      TestNode node = w % 2 == 0 ? a : b;
      int writer = w;
      done.add(pool.submit(() -> {
        for (int i = 0; i < each; i++) {
          uploaded.add(upload(node, company, token, "w" + writer + "-" + i + ".txt").toString());
        }
        return null;
      }));
    }
    List<JsonObject> previousRead = List.of();
    List<JsonObject> incremental = new ArrayList<>();
    long incrementalLast = 0;
    int reads = 0;
    long started = System.nanoTime();
    try {
      while (true) {
        boolean finished = done.stream().allMatch(java.util.concurrent.Future::isDone);
        List<JsonObject> read = replayAll(files, company, 1000);
        assertChain(read);
        assertThat(read.size()).isGreaterThanOrEqualTo(previousRead.size());
        assertThat(read.subList(0, previousRead.size())).as("read %d starts with read %d", reads + 1, reads).isEqualTo(previousRead);
        previousRead = read;
        JsonObject page = await(files.events(company.toString(), incrementalLast, 5));
        for (Object o : page.getJsonArray("events")) {
          JsonObject e = (JsonObject) o;
          assertThat(e.getLong("previous_position")).isEqualTo(incrementalLast);
          incremental.add(e);
          incrementalLast = e.getLong("position");
        }
        reads++;
        if (finished && Db.count(a.dbName, "SELECT count(*) FROM event_outbox WHERE company_id = '" + company
            + "' AND position IS NULL") == 0 && read.size() == writers * each) {
          break;
        }
        assertThat(System.nanoTime() - started).as("all events numbered within 180 s").isLessThan(180_000_000_000L);
      }
      for (java.util.concurrent.Future<?> f : done) {
        f.get(); // an upload that failed fails the test
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(uploadedFiles(previousRead)).containsExactlyInAnyOrderElementsOf(uploaded).hasSize(writers * each);
    assertThat(reads).isGreaterThan(1);
    System.out.printf("replay during concurrent commits: %d full reads, %d events%n", reads, previousRead.size());

    // throughput of replay: every event, pages of 1000 and of 100
    for (int limit : new int[]{1000, 100}) {
      long t0 = System.nanoTime();
      int n = 0;
      for (int round = 0; round < 20; round++) {
        n += replayAll(files, company, limit).size();
      }
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf("replay throughput (limit %d): %.0f events/s (%d events in %.2f s)%n", limit, n / s, n, s);
    }
  }

  @Test
  void aReplayIsScopedToTheCallersCompany() throws Exception {
    UUID company = UUID.randomUUID();
    UUID other = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    String otherToken = TestNode.userToken(UUID.randomUUID(), other);
    String app = TestNode.appToken(UUID.randomUUID(), company);
    String mine = upload(a, company, token, "mine.txt").toString();
    String theirs = upload(b, other, otherToken, "theirs.txt").toString();
    Eventually.eventually(Duration.ofSeconds(30), () -> assertThat(Db.count(a.dbName,
        "SELECT count(*) FROM event_outbox WHERE file_id IN ('" + mine + "', '" + theirs + "') AND position IS NOT NULL")).isEqualTo(2));

    ReplyException refused = failure(FilesApi.proxy(sibling, otherToken).events(company.toString(), 0L, null));
    assertThat(refused.failureCode()).isEqualTo(403);
    assertThat(refused.getMessage()).isEqualTo("caller does not belong to company " + company);
    HttpResponse<String> http = new Api(a).get(a.api() + "/companies/" + company + "/events", otherToken);
    assertThat(http.statusCode()).as(http.body()).isEqualTo(403);
    assertThat(new JsonObject(http.body()).getString("message")).isEqualTo("caller does not belong to company " + company);
    assertThat(failure(raw("not a token", new JsonObject().put("company_id", company.toString()))).failureCode()).isEqualTo(401);

    for (String t : List.of(token, app)) {
      JsonArray events = await(FilesApi.proxy(sibling, t).events(company.toString(), null, null)).getJsonArray("events");
      assertThat(events.stream().map(e -> ((JsonObject) e).getString("file_id")).toList()).containsExactly(mine);
    }
    JsonArray theirEvents = await(FilesApi.proxy(sibling, otherToken).events(other.toString(), 0L, 10)).getJsonArray("events");
    assertThat(theirEvents.stream().map(e -> ((JsonObject) e).getString("file_id")).toList()).containsExactly(theirs);
  }

  @Test
  void afterAndLimitAreChecked() throws Exception {
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    String limitMessage = "limit must be a whole number from 1 to 1000";
    String afterMessage = "after must be a whole number from 0 (a position; 0: from the start)";
    Map<JsonObject, String> bad = Map.of(
        new JsonObject().put("limit", 0), limitMessage,
        new JsonObject().put("limit", 1001), limitMessage,
        new JsonObject().put("limit", "ten"), limitMessage,
        new JsonObject().put("limit", 1.5), limitMessage,
        new JsonObject().put("after", -1), afterMessage,
        new JsonObject().put("after", "x"), afterMessage);
    for (Map.Entry<JsonObject, String> e : bad.entrySet()) {
      ReplyException f = failure(raw(token, e.getKey().copy().put("company_id", company.toString())));
      assertThat(f.failureCode()).as(e.getKey().encode()).isEqualTo(400);
      assertThat(f.getMessage()).as(e.getKey().encode()).isEqualTo(e.getValue());
    }
    Api http = new Api(a);
    Map<String, String> badQueries = Map.of("limit=0", limitMessage, "limit=1001", limitMessage, "limit=ten", limitMessage,
        "after=-1", afterMessage, "after=x", afterMessage, "after=", afterMessage);
    for (Map.Entry<String, String> e : badQueries.entrySet()) {
      HttpResponse<String> r = http.get(a.api() + "/companies/" + company + "/events?" + e.getKey(), token);
      assertThat(r.statusCode()).as(e.getKey() + ": " + r.body()).isEqualTo(400);
      assertThat(new JsonObject(r.body()).getString("message")).as(e.getKey()).isEqualTo(e.getValue());
    }
    // the edges are taken; a company without events answers none, next = after
    assertThat(await(raw(token, new JsonObject().put("company_id", company.toString()).put("limit", 1000).put("after", 0))))
        .isEqualTo(new JsonObject().put("events", new JsonArray()).put("next", 0L));
    HttpResponse<String> ok = http.get(a.api() + "/companies/" + company + "/events?limit=1&after=12", token);
    assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    assertThat(new JsonObject(ok.body())).isEqualTo(new JsonObject().put("events", new JsonArray()).put("next", 12));
  }

  /**
   * Retention removes a company's oldest events (here by hand, as {@code events.retention_ms} would):
   * a replay that would skip one answers 410 with the earliest position available; from just before
   * it, the rest.
   */
  @Test
  void aReplayFromBeforeTheRetainedEventsSaysTheEarliestPositionAvailable() throws Exception {
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    for (int i = 0; i < 4; i++) {
      upload(i % 2 == 0 ? a : b, company, token, "r" + i + ".txt");
    }
    Eventually.eventually(Duration.ofSeconds(30), () -> assertThat(Db.count(a.dbName, "SELECT count(*) FROM event_outbox"
        + " WHERE company_id = '" + company + "' AND position IS NOT NULL AND published_at IS NOT NULL")).isEqualTo(4));
    FilesApi files = FilesApi.proxy(sibling, token);
    List<JsonObject> all = replayAll(files, company, 100);
    long[] p = all.stream().mapToLong(e -> e.getLong("position")).toArray();
    Db.execute(a.dbName, "DELETE FROM event_outbox WHERE position IN (" + p[0] + ", " + p[1] + ")");

    for (long after : new long[]{0, p[0], p[1] - 1}) {
      ReplyException gone = failure(files.events(company.toString(), after, null));
      assertThat(gone.failureCode()).as("after %d", after).isEqualTo(410);
      assertThat(gone.getMessage()).isEqualTo("events after position " + after + " are no longer retained"
          + " (events.retention_ms); the earliest position available is " + p[2]);
      assertThat(FileEvent.earliestAvailable(gone.getMessage())).isEqualTo(p[2]);
      assertThat(dev.files.api.FilesApiFailure.of(gone)).isEqualTo(dev.files.api.FilesApiFailure.GONE);
    }
    HttpResponse<String> http = new Api(a).get(a.api() + "/companies/" + company + "/events?after=0", token);
    assertThat(http.statusCode()).as(http.body()).isEqualTo(410);
    assertThat(new JsonObject(http.body()).getString("message")).endsWith("the earliest position available is " + p[2]);
    JsonArray rest = await(files.events(company.toString(), p[2] - 1, null)).getJsonArray("events");
    assertThat(rest.stream().map(e -> ((JsonObject) e).getLong("position")).toList()).containsExactly(p[2], p[3]);
    assertThat(await(files.events(company.toString(), p[1], null)).getJsonArray("events")).hasSize(2);

    // all of them removed: the earliest position available is after the company's last
    Db.execute(a.dbName, "DELETE FROM event_outbox WHERE company_id = '" + company + "'");
    ReplyException gone = failure(files.events(company.toString(), p[2], 10));
    assertThat(gone.failureCode()).isEqualTo(410);
    assertThat(FileEvent.earliestAvailable(gone.getMessage())).isEqualTo(p[3] + 1);
    assertThat(await(files.events(company.toString(), p[3], 10)))
        .isEqualTo(new JsonObject().put("events", new JsonArray()).put("next", p[3]));
  }
}

package dev.files;

import dev.files.cluster.ClusterSettings;
import dev.files.bus.Addresses;
import dev.files.events.OutboxRelay;
import dev.files.support.Api;
import dev.files.support.TestCluster;
import dev.files.support.Db;
import dev.files.support.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An event survives the death of the relaying node between the commit of its change and its publication:
 * two node processes on one database, node A the relay (it holds the advisory lock: started first, its log
 * says so and pg_locks shows one holder). A is frozen (SIGSTOP), an upload through B commits its event row
 * (A, the only node allowed to publish, cannot), then A is killed (SIGKILL): PostgreSQL releases A's lock,
 * B's relay takes it and publishes the event; a subscriber in this JVM (a clustered Vert.x, no service)
 * receives it once, or twice with one id, the id of the outbox row. Then A is started again and B, now the
 * relay, is frozen and left frozen: once B's node lease lapsed A ends B's relay connection, takes the lock
 * and publishes; B, resumed, does not take it back. Which node relays is read from PostgreSQL: the
 * {@code application_name} of the connection holding the advisory lock names the node.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EventCrashTest {

  Vertx subscriber;
  final UUID company = UUID.randomUUID();
  final String token = TestNode.userToken(UUID.randomUUID(), company);
  final List<JsonObject> all = new CopyOnWriteArrayList<>();
  final List<JsonObject> ofCompany = new CopyOnWriteArrayList<>();
  /** Nodes A (0) and B (1) run as processes; the third configuration is the subscriber's. */
  TestCluster cluster;

  @BeforeAll
  void start() throws Exception {
    cluster = TestCluster.configure("files-event-crash", 3, Map.of("thumbnails.workers", 0));
    // A alone first: its relay takes the lock, and keeps it while A lives
    cluster.start(0);
    eventually(Duration.ofSeconds(30), () -> assertThat(relay()).isEqualTo(0));
    cluster.spawn(1); // B starts while the subscriber joins
    subscriber = Vertx.builder().with(new VertxOptions().setEventBusOptions(new EventBusOptions().setHost("127.0.0.1")))
        .withClusterManager(new HazelcastClusterManager(ClusterSettings.hazelcast(
            FilesConfig.load(Map.of(), TestNode.nodeSettings(cluster.settings(2))))))
        .buildClustered().await(120, TimeUnit.SECONDS);
    List<MessageConsumer<JsonObject>> consumers = List.of(
        subscriber.eventBus().consumer(Addresses.EVENTS, m -> all.add(m.body())),
        subscriber.eventBus().consumer(Addresses.events(company.toString()), m -> ofCompany.add(m.body())));
    for (MessageConsumer<JsonObject> c : consumers) {
      c.completion().await(30, TimeUnit.SECONDS);
    }
    cluster.awaitReady(1);
  }

  @AfterAll
  void stop() throws Exception {
    if (subscriber != null) {
      subscriber.close().await(30, TimeUnit.SECONDS);
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /**
   * The node whose relay holds the lock (0 or 1), by the {@code application_name} of the holding
   * connection; -1 when none does.
   */
  private int relay() throws Exception {
    List<String> holders = Db.strings(cluster.db(), "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        + " WHERE l.locktype = 'advisory' AND l.granted"
        + " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        + " AND ((l.classid::bigint << 32) | l.objid::bigint) = " + OutboxRelay.LOCK_KEY);
    assertThat(holders).as("holders of the relay lock").hasSizeLessThanOrEqualTo(1);
    for (int i = 0; i < 2; i++) {
      if (!holders.isEmpty() && holders.get(0).equals(OutboxRelay.APPLICATION_NAME + cluster.id(i))) {
        return i;
      }
    }
    assertThat(holders).as("the lock is held by a relay of node 0 or 1").isEmpty();
    return -1;
  }

  private static List<JsonObject> of(List<JsonObject> events, UUID file) {
    return events.stream().filter(e -> file.toString().equals(e.getString("file_id"))).toList();
  }

  private UUID upload(int i, byte[] content) throws Exception {
    HttpResponse<String> up = cluster.api(i).upload(company, token, "e.txt", "text/plain", content);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    return UUID.fromString(Api.resource(up).getString("id"));
  }

  @Test
  @Order(1)
  void theRelayKilledBetweenCommitAndPublishTheOtherNodePublishesTheEvent() throws Exception {
    // the subscriber's registrations reach A: an event committed through B arrives through A's relay
    UUID first = upload(1, "before".getBytes());
    eventually(Duration.ofSeconds(20), () -> assertThat(of(all, first)).hasSize(1));
    assertThat(relay()).as("node A relays").isEqualTo(0);

    cluster.freeze(0);
    UUID id;
    List<String> rowIds;
    byte[] content = "committed while the relay is frozen".getBytes();
    try {
      id = upload(1, content);
      // committed with its event row, which nobody publishes: the lock is A's
      rowIds = Db.strings(cluster.db(), "SELECT id::text FROM event_outbox WHERE file_id = '" + id + "'"
          + " AND type = 'file.uploaded' AND published_at IS NULL");
      assertThat(rowIds).hasSize(1);
      Thread.sleep(1000); // two polls of B's relay
      assertThat(of(all, id)).isEmpty();
      assertThat(relay()).isEqualTo(0);
    } finally {
      cluster.kill(0); // SIGKILL, also of a stopped process
    }
    long t0 = System.nanoTime();
    eventually(Duration.ofSeconds(20), () -> assertThat(of(all, id)).isNotEmpty());
    System.out.printf("event committed before a SIGKILL of the relaying node: delivered %d ms after the kill%n",
        (System.nanoTime() - t0) / 1_000_000);
    assertThat(cluster.awaitExit(0, 10)).isTrue();
    Thread.sleep(1500); // three polls: a second delivery, if any, has come
    assertDelivered(id, rowIds.get(0), content.length);
    assertThat(relay()).as("node B relays").isEqualTo(1);
    assertThat(Db.count(cluster.db(), "SELECT count(*) FROM event_outbox WHERE file_id = '" + id + "' AND published_at IS NOT NULL"))
        .isEqualTo(1);
    // B relays what comes next
    UUID after = upload(1, "after".getBytes());
    eventually(Duration.ofSeconds(20), () -> assertThat(of(all, after)).hasSize(1));
    assertThat(of(all, first)).hasSize(1);
  }

  /**
   * The relay frozen and never killed: its connection (and lock) stays open, yet once its node lease lapsed
   * the other node ends that connection, takes the lock and publishes; resumed, the frozen node publishes
   * nothing new and does not take the lock back.
   */
  @Test
  @Order(2)
  void theRelayFrozenTheOtherNodeTakesOverOnceItsLeaseLapsed() throws Exception {
    if (!cluster.alive(0)) {
      cluster.start(0);
    }
    int[] relaying = {-1};
    eventually(Duration.ofSeconds(30), () -> assertThat(relaying[0] = relay()).isNotNegative());
    int r = relaying[0];
    int o = 1 - r;
    UUID warm = upload(o, "warm".getBytes());
    eventually(Duration.ofSeconds(20), () -> assertThat(of(all, warm)).hasSize(1));

    cluster.freeze(r);
    UUID id;
    byte[] content = "committed while the relay is frozen, and it stays frozen".getBytes();
    try {
      id = upload(o, content);
      long t0 = System.nanoTime();
      eventually(Duration.ofSeconds(30), () -> assertThat(of(all, id)).isNotEmpty());
      System.out.printf("event committed while the relaying node is frozen: delivered %d ms after the commit%n",
          (System.nanoTime() - t0) / 1_000_000);
      assertThat(relay()).as("the other node relays").isEqualTo(o);
    } finally {
      cluster.thaw(r);
    }
    List<String> rowIds = Db.strings(cluster.db(), "SELECT id::text FROM event_outbox WHERE file_id = '" + id + "'");
    assertThat(rowIds).hasSize(1);
    eventually(Duration.ofSeconds(20), () -> assertThat(cluster.log(r))
        .contains("outbox relay: connection to the database lost"));
    Thread.sleep(1500); // three polls of the resumed node
    assertThat(relay()).as("the other node keeps the lock").isEqualTo(o);
    assertDelivered(id, rowIds.get(0), content.length);
    assertThat(cluster.log(o)).contains("held the relay lock though its node lease had lapsed");
    UUID after = upload(o, "after".getBytes());
    eventually(Duration.ofSeconds(20), () -> assertThat(of(all, after)).hasSize(1));
  }

  /** The event of {@code file}'s upload came once or twice, always with the outbox row's id, on both addresses. */
  private void assertDelivered(UUID file, String rowId, long size) {
    for (List<JsonObject> seen : List.of(of(all, file), of(ofCompany, file))) {
      assertThat(seen).hasSizeBetween(1, 2);
      assertThat(seen).allSatisfy(e -> {
        assertThat(e.getString("id")).isEqualTo(rowId);
        assertThat(e.getString("type")).isEqualTo("file.uploaded");
        assertThat(e.getString("company_id")).isEqualTo(company.toString());
        assertThat(e.getJsonObject("resource").getString("id")).isEqualTo(file.toString());
        assertThat(e.getJsonObject("resource").getJsonObject("upload_data").getLong("size")).isEqualTo(size);
      });
    }
  }
}

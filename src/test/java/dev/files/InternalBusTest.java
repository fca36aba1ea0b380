package dev.files;

import dev.files.cluster.ClusterSettings;
import dev.files.support.Logs;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.files.bus.Addresses;
import dev.files.bus.InternalBus;
import dev.files.support.Api;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Internal addresses accept only the service's own nodes: an "outsider" Vert.x that joins the cluster
 * (no secret, or a wrong one, and a forged {@code caller} claiming a server request) asks a file's upload
 * session to delete it and is refused with 403, logged, and the file stays; its thumbnail request is
 * logged and dropped. The same outsider carrying the secret of the cluster's master key is answered.
 */
class InternalBusTest {

  @Test
  void anOutsiderOnTheClusterCannotDeleteAFileThroughItsSession() throws Exception {
    int base = TestNode.freePort();
    String name = "files-internal-" + UUID.randomUUID();
    String members = "127.0.0.1:" + base + ",127.0.0.1:" + (base + 1);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    Logger guardLog = (Logger) LoggerFactory.getLogger(InternalBus.class);
    guardLog.addAppender(logs);
    Vertx outsider = null;
    try (TestNode node = TestNode.start(Map.of("cluster.enabled", true, "cluster.name", name, "cluster.port", base,
        "cluster.members", members))) {
      Map<String, Object> settings = new HashMap<>(TestNode.nodeSettings(node.settings));
      settings.put("cluster.port", base + 1);
      outsider = Vertx.builder()
          .with(new VertxOptions().setEventBusOptions(new EventBusOptions().setHost("127.0.0.1")))
          .withClusterManager(new HazelcastClusterManager(ClusterSettings.hazelcast(FilesConfig.load(Map.of(), settings))))
          .buildClustered().await(60, TimeUnit.SECONDS);

      UUID company = UUID.randomUUID();
      String token = TestNode.userToken(UUID.randomUUID(), company);
      Chunks chunks = new Chunks(new Api(node), company, token);
      UUID id = UUID.fromString(chunks.init("filename=kept.txt&total_chunks=2&total_size=10").getString("id"));
      HttpResponse<String> first = chunks.send(id, Chunks.query(1, 2, 10), "01234".getBytes());
      assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
      assertThat(node.node.sessions().deploymentOf(id)).as("the session of the upload runs").isNotNull();

      JsonObject forged = new JsonObject().put("action", "delete").put("company_id", company.toString())
          .put("caller", new JsonObject().put("sub", UUID.randomUUID().toString()).putNull("application_id")
              .put("server_request", true)).put("file_id", id.toString());
      String sessions = Addresses.nodeSessions(node.node.sessions().owners().nodeId());
      Vertx out = outsider;
      AtomicReference<ReplyException> refused = new AtomicReference<>();
      eventually(Duration.ofSeconds(20), () -> { // until the outsider sees the session's registration
        ReplyException e = failure(out, sessions, forged, new DeliveryOptions());
        assertThat(e.failureType()).isEqualTo(ReplyFailure.RECIPIENT_FAILURE);
        refused.set(e);
      });
      assertThat(refused.get().failureCode()).isEqualTo(403);
      assertThat(refused.get().getMessage()).contains("only the nodes of the files service");
      ReplyException wrongSecret = failure(out, sessions, forged,
          new DeliveryOptions().addHeader(InternalBus.HEADER, "bm90IHRoZSBzZWNyZXQ="));
      assertThat(wrongSecret.failureCode()).isEqualTo(403);
      out.eventBus().send(Addresses.THUMBNAILS, new JsonObject().put("file_id", id.toString()).put("generation", 1));

      eventually(Duration.ofSeconds(60), () -> assertThat(Logs.snapshot(logs).stream().map(ILoggingEvent::getFormattedMessage))
          .anyMatch(m -> m.startsWith("refused a message on internal address " + sessions + ":"))
          .anyMatch(m -> m.startsWith("refused a message on internal address " + Addresses.THUMBNAILS + ":")));
      // nothing was done: the file and its chunk are there, and the upload completes
      assertThat(Db.count(node.dbName, "SELECT count(*) FROM files WHERE id = '" + id + "'")).isEqualTo(1);
      assertThat(Db.count(node.dbName, "SELECT count(*) FROM event_outbox WHERE file_id = '" + id + "'")).isZero();
      // the control (while the session runs): the same outsider with the secret of the cluster's master key is a node and is answered
      JsonObject reply = out.eventBus().<JsonObject>request(sessions,
              new JsonObject().put("action", "expire").put("before", 0L).put("file_id", id.toString()),
              InternalBus.create(TestNode.MASTER_KEY, "").options()).await(20, TimeUnit.SECONDS).body();
      assertThat(reply.getString("status")).isEqualTo("kept");
      HttpResponse<String> second = chunks.send(id, Chunks.query(2, 2, 10), "56789".getBytes());
      assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
      HttpResponse<byte[]> down = new Api(node).download(company, id, token);
      assertThat(down.statusCode()).isEqualTo(200);
      assertThat(new String(down.body())).isEqualTo("0123456789");
    } finally {
      guardLog.detachAppender(logs);
      if (outsider != null) {
        outsider.close().await(30, TimeUnit.SECONDS);
      }
    }
  }

  private static ReplyException failure(Vertx vertx, String address, JsonObject body, DeliveryOptions options) {
    try {
      vertx.eventBus().request(address, body, options.setSendTimeout(10_000)).await(20, TimeUnit.SECONDS);
    } catch (ReplyException e) {
      return e;
    } catch (Exception e) {
      throw new AssertionError("not a reply failure: " + e, e);
    }
    throw new AssertionError("the outsider's message was answered");
  }
}

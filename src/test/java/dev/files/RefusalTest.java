package dev.files;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.files.support.Api;
import dev.files.support.TestCluster;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Refusals say what happened: a clustered node that sees no majority of the leased nodes takes no
 * upload session and says so (503, Retry-After 1, "not in the majority of the cluster"), keeps no
 * object of the refused chunk, and logs no exception; once it sees a majority again the same chunk
 * is recorded.
 */
class RefusalTest {

  final UUID company = UUID.randomUUID();
  final String token = TestNode.userToken(UUID.randomUUID(), company);

  private static List<Path> objectsOf(TestNode n, UUID file) throws Exception {
    try (var s = Tree.walk(n.storage)) {
      return s.filter(Files::isRegularFile).filter(p -> p.toString().contains(file.toString())).toList();
    }
  }

  @Test
  void aNodeWithoutAMajorityRefusesWithItsOwnMessage() throws Exception {
    Path xml = Files.createTempFile("refusal", ".xml");
    Files.writeString(xml, TestCluster.HAZELCAST_XML);
    int port = 20000 + (int) (Math.random() * 20000);
    List<String> logged = new java.util.concurrent.CopyOnWriteArrayList<>();
    ch.qos.logback.core.AppenderBase<ILoggingEvent> logs = new ch.qos.logback.core.AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent e) {
        logged.add(e.getFormattedMessage() + " " + (e.getThrowableProxy() == null ? "" : e.getThrowableProxy().getMessage()));
      }
    };
    logs.start();
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.addAppender(logs);
    try (TestNode n = TestNode.start(Map.of("cluster.enabled", true, "cluster.config", xml.toString(),
        "cluster.name", "files-refusal-" + UUID.randomUUID(), "cluster.port", port,
        "cluster.members", "127.0.0.1:" + port, "thumbnails.workers", 0))) {
      Api api = new Api(n);
      byte[] content = Samples.random(new Random(3), 50_000);
      UUID file = UUID.fromString(new Chunks(api, company, token)
          .init("filename=r.bin&total_chunks=1&total_size=" + content.length).getString("id"));

      // two more nodes hold a lease but are not members of this node's cluster: 1 of 3 is no majority
      Db.execute(n.dbName, "INSERT INTO nodes (node_id, lease_until, started_at) VALUES"
          + " ('elsewhere-1', now() + interval '1 hour', now()), ('elsewhere-2', now() + interval '1 hour', now())");
      eventually(Duration.ofSeconds(30), () -> { // once its next lease refresh has counted the leases
        HttpResponse<String> init = Api.CLIENT.send(api.request(api.files(company) + "?total_chunks=1", token)
            .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(init.statusCode()).as(init.body()).isEqualTo(503);
        assertThat(new JsonObject(init.body()).getString("message")).contains("not in the majority of the cluster");
      });
      HttpResponse<String> r = api.post(api.file(company, file) + "?" + Chunks.query(1, 1, content.length), token,
          new Api.Multipart().filename("blob"), content);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
      assertThat(r.headers().firstValue("Retry-After")).contains("1");
      assertThat(new JsonObject(r.body()).getString("message"))
          .startsWith("this node takes no upload session: it is not in the majority of the cluster (it sees 1 cluster member(s) of 3 leased nodes)");
      // the refused chunk's object is not kept; nothing recorded
      eventually(Duration.ofSeconds(60), () -> assertThat(objectsOf(n, file)).isEmpty());
      assertThat(Db.count(n.dbName, "SELECT count(*) FROM chunks")).isZero();
      assertThat(logged).noneMatch(m -> m.contains("Recursive update") || m.contains("database unavailable"));

      Db.execute(n.dbName, "DELETE FROM nodes WHERE node_id LIKE 'elsewhere-%'");
      eventually(Duration.ofSeconds(30), () -> {
        HttpResponse<String> ok = api.post(api.file(company, file) + "?" + Chunks.query(1, 1, content.length), token,
            new Api.Multipart().filename("blob"), content);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
      });
      assertThat(api.download(company, file, token).body()).isEqualTo(content);
    } finally {
      root.detachAppender(logs);
      Files.deleteIfExists(xml);
    }
  }
}

package dev.files;

import dev.files.support.Api;
import dev.files.support.TestCluster;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.Eventually;
import dev.files.support.Samples;
import dev.files.support.TcpCut;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A chunk whose commit question reached the owner's session, but whose answer never came back to the
 * node that stored it: that node does not know whether the chunk was recorded, so it keeps the
 * object, answers 503 "outcome unknown" (safe to repeat), and the file stays readable once the owner
 * recorded the chunk. Two clustered nodes in one JVM on one database and one storage directory; the
 * asking node reaches PostgreSQL through a relay the test cuts.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UncertainCommitTest {

  static final int CHUNK = 64 * 1024;

  TestCluster cluster;
  TestNode owner;
  TestNode asker;
  TcpCut askerDb;
  final UUID company = UUID.randomUUID();
  final String token = TestNode.userToken(UUID.randomUUID(), company);
  final Random random = new Random(18);

  @BeforeAll
  void start() throws Exception {
    cluster = TestCluster.configure("files-uncertain", 2, Map.of("thumbnails.workers", 0,
        "cluster.session_send_timeout_ms", 1500));
    owner = cluster.startInJvm(0);
    int pgPort = Integer.parseInt(TestNode.PG.replaceFirst(".*:", ""));
    askerDb = TcpCut.start(pgPort);
    cluster.settings(1).put("db.url", "postgresql://postgres@127.0.0.1:" + askerDb.port() + "/" + owner.dbName);
    asker = cluster.startInJvm(1);
    cluster.awaitJvmMembers();
  }

  @AfterAll
  void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    if (askerDb != null) {
      askerDb.close();
    }
  }

  private HttpResponse<String> send(TestNode n, UUID file, byte[] content, List<long[]> parts, int i) throws Exception {
    Api api = new Api(n);
    return api.post(api.file(company, file) + "?" + Chunks.query(i + 1, parts.size(), content.length), token,
        new Api.Multipart().filename("blob"), Chunks.slice(content, parts.get(i)));
  }

  @Test
  void aCommitWhoseAnswerIsLostKeepsItsObjectAndTheFileStaysReadable() throws Exception {
    byte[] content = Samples.random(random, 3 * CHUNK);
    List<long[]> parts = Chunks.split(content.length, CHUNK);
    UUID file = UUID.fromString(new Chunks(new Api(owner), company, token)
        .init("filename=u.bin&total_chunks=3&total_size=" + content.length).getString("id"));
    HttpResponse<String> third = send(owner, file, content, parts, 2);
    assertThat(third.statusCode()).as(third.body()).isEqualTo(200);
    assertThat(Db.strings(owner.dbName, "SELECT owner_node FROM upload_sessions WHERE file_id = '" + file + "'"))
        .as("the owner node runs the session").containsExactly(owner.node.sessions().owners().nodeId());

    HttpResponse<String> first;
    try (Connection c = Db.connect(owner.dbName)) {
      c.setAutoCommit(false);
      try (PreparedStatement lock = c.prepareStatement("SELECT id FROM files WHERE id = ? FOR UPDATE")) {
        lock.setObject(1, file);
        lock.executeQuery().close(); // the owner's commit of chunk 1 waits for this row
      }
      Api api = new Api(asker);
      Api.Multipart form = new Api.Multipart().filename("blob");
      CompletableFuture<HttpResponse<String>> sent = Api.CLIENT.sendAsync(api.request(api.file(company, file) + "?"
              + Chunks.query(1, 3, content.length), token).header("Content-Type", form.contentType())
          .POST(form.body(Chunks.slice(content, parts.get(0)))).build(), HttpResponse.BodyHandlers.ofString());
      // the question reached the owner's session once its transaction waits for the row
      Eventually.eventually(Duration.ofSeconds(60), () -> assertThat(Db.count(owner.dbName,
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
          .isPositive());
      askerDb.cut(); // the asking node loses its database: it cannot learn what became of the question
      first = sent.get(120, TimeUnit.SECONDS);
      askerDb.restore();
      c.rollback(); // the owner's commit goes on
    }
    assertThat(first.statusCode()).as(first.body()).isEqualTo(503);
    assertThat(first.headers().firstValue("Retry-After")).contains("1");
    assertThat(new JsonObject(first.body()).getString("message"))
        .contains("outcome").contains("unknown").contains("safe to repeat");

    // the owner recorded chunk 1 with the object the asking node stored: the object is still there
    eventually(Duration.ofSeconds(30), () -> assertThat(Db.count(owner.dbName,
        "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(2));
    HttpResponse<String> second = send(owner, file, content, parts, 1);
    assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
    assertThat(Api.resource(second).getString("upload_status")).isEqualTo("complete");
    for (TestNode n : List.of(owner, asker)) {
      HttpResponse<byte[]> down = new Api(n).download(company, file, token);
      assertThat(down.statusCode()).isEqualTo(200);
      assertThat(Api.sha256(down.body())).as("download through " + n.port).isEqualTo(Api.sha256(content));
    }

    // the client repeats the request whose outcome was unknown: success, the file unchanged
    HttpResponse<String> again = send(asker, file, content, parts, 0);
    assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
    assertThat(Api.resource(again).getString("upload_status")).isEqualTo("complete");
    assertThat(Api.resource(again).getJsonObject("upload_data").getLong("size")).isEqualTo(content.length);
    HttpResponse<byte[]> down = new Api(asker).download(company, file, token);
    assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));
    assertThat(Db.count(owner.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(3);
  }

  /**
   * A new file's whole-file upload (no session) whose COMMIT the database carried out while the node
   * lost its connection: the node cannot tell, keeps the object and answers 503 "outcome unknown";
   * the file that was recorded is whole.
   */
  @Test
  void aNewFileWhoseCommitWasNotConfirmedKeepsItsObject() throws Exception {
    Map<String, Object> s = TestNode.settings(Map.of("thumbnails.workers", 0));
    String db = (String) s.get("test.db_name");
    int pgPort = Integer.parseInt(TestNode.PG.replaceFirst(".*:", ""));
    try (TcpCut relay = TcpCut.start(pgPort)) {
      Map<String, Object> o = new HashMap<>(s);
      o.put("db.url", "postgresql://postgres@127.0.0.1:" + relay.port() + "/" + db);
      try (TestNode n = TestNode.start(o)) {
        // the COMMIT of a new file's row is slow, and the database finishes it whatever the client does
        Db.execute(n.dbName, "CREATE FUNCTION slow_commit() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(2);"
            + " RETURN NULL; END $$ LANGUAGE plpgsql");
        Db.execute(n.dbName, "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON files DEFERRABLE INITIALLY DEFERRED"
            + " FOR EACH ROW EXECUTE FUNCTION slow_commit()");
        byte[] content = Samples.random(random, 100_000);
        Api api = new Api(n);
        Api.Multipart form = new Api.Multipart().filename("n.bin");
        CompletableFuture<HttpResponse<String>> sent = Api.CLIENT.sendAsync(api.request(api.files(company), token)
            .header("Content-Type", form.contentType()).POST(form.body(content)).build(), HttpResponse.BodyHandlers.ofString());
        Eventually.eventually(Duration.ofSeconds(60), () -> assertThat(Db.count(n.dbName,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'"))
            .isPositive());
        relay.cut(); // the node loses the connection while its COMMIT runs
        HttpResponse<String> r = sent.get(120, TimeUnit.SECONDS);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
        assertThat(r.headers().firstValue("Retry-After")).contains("1");
        assertThat(new JsonObject(r.body()).getString("message")).contains("outcome is unknown");
        relay.restore();
        Db.execute(n.dbName, "DROP TRIGGER slow_commit ON files");
        // the database did record the file: it is whole
        List<String> ids = Db.strings(n.dbName, "SELECT id FROM files");
        assertThat(ids).hasSize(1);
        HttpResponse<byte[]> down = api.download(company, UUID.fromString(ids.get(0)), token);
        assertThat(down.statusCode()).isEqualTo(200);
        assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));
      }
    }
  }

  /**
   * A tus PATCH whose chunk the upload session's COMMIT recorded while the node lost its database
   * connection: the outcome is unknown for another reason than a timeout, and the PATCH's object
   * stays, as for every upload (the recorded chunk names it); the upload goes on from the offset
   * that HEAD reports.
   */
  @Test
  void aTusAppendWhoseCommitWasNotConfirmedKeepsItsObject() throws Exception {
    Map<String, Object> s = TestNode.settings(Map.of("thumbnails.workers", 0));
    String db = (String) s.get("test.db_name");
    int pgPort = Integer.parseInt(TestNode.PG.replaceFirst(".*:", ""));
    try (TcpCut relay = TcpCut.start(pgPort)) {
      Map<String, Object> o = new HashMap<>(s);
      o.put("db.url", "postgresql://postgres@127.0.0.1:" + relay.port() + "/" + db);
      try (TestNode n = TestNode.start(o)) {
        Api api = new Api(n);
        byte[] content = Samples.random(random, 2 * 50_000);
        String uploads = "http://127.0.0.1:" + n.port + "/internal/services/files/v1/companies/" + company + "/uploads";
        HttpResponse<String> created = Api.CLIENT.send(api.request(uploads, token).header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", Integer.toString(content.length)).POST(HttpRequest.BodyPublishers.noBody()).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        String location = "http://127.0.0.1:" + n.port + created.headers().firstValue("Location").orElseThrow();
        UUID file = UUID.fromString(location.substring(location.lastIndexOf('/') + 1));
        // the COMMIT of the chunk's row is slow, and the database finishes it whatever the client does
        Db.execute(n.dbName, "CREATE FUNCTION slow_commit() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(2);"
            + " RETURN NULL; END $$ LANGUAGE plpgsql");
        Db.execute(n.dbName, "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON chunks DEFERRABLE INITIALLY DEFERRED"
            + " FOR EACH ROW EXECUTE FUNCTION slow_commit()");
        CompletableFuture<HttpResponse<String>> sent = Api.CLIENT.sendAsync(api.request(location, token)
            .header("Tus-Resumable", "1.0.0").header("Upload-Offset", "0")
            .header("Content-Type", "application/offset+octet-stream")
            .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(Arrays.copyOf(content, 50_000))).build(),
            HttpResponse.BodyHandlers.ofString());
        Eventually.eventually(Duration.ofSeconds(60), () -> assertThat(Db.count(n.dbName,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'"))
            .isPositive());
        relay.cut(); // the node loses the connection while its COMMIT runs
        HttpResponse<String> r = sent.get(120, TimeUnit.SECONDS);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
        assertThat(new JsonObject(r.body()).getString("message")).contains("outcome is unknown")
            .doesNotContain("did not answer in time");
        relay.restore();
        Db.execute(n.dbName, "DROP TRIGGER slow_commit ON chunks");
        // the database did record the chunk: its object is still there, and the upload goes on from it
        assertThat(Db.strings(n.dbName, "SELECT storage_key FROM chunks WHERE file_id = '" + file + "'")).hasSize(1)
            .allSatisfy(key -> assertThat(n.storage.resolve(key)).as("the object of the recorded chunk").isRegularFile());
        HttpResponse<String> head = Api.CLIENT.send(api.request(location, token).header("Tus-Resumable", "1.0.0")
            .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(head.headers().firstValue("Upload-Offset")).contains("50000");
        HttpResponse<String> rest = Api.CLIENT.send(api.request(location, token).header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", "50000").header("Content-Type", "application/offset+octet-stream")
            .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(Arrays.copyOfRange(content, 50_000, content.length)))
            .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(rest.statusCode()).as(rest.body()).isEqualTo(204);
        HttpResponse<byte[]> down = api.download(company, file, token);
        assertThat(down.statusCode()).isEqualTo(200);
        assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));
      }
    }
  }

  /**
   * A commit whose session could not decide it within {@code upload.commit_timeout_ms}: the client
   * gets 503 "outcome unknown", the object stays; the session, reached later, refuses it (older than
   * the commit timeout: its asker gave up), so nothing is recorded; the repeat is recorded once.
   */
  @Test
  void aCommitDecidedAfterItsTimeoutIsNotMadeAndItsRepeatIs() throws Exception {
    try (TestNode n = TestNode.start(Map.of("upload.commit_timeout_ms", 2000))) {
      Api api = new Api(n);
      Chunks chunks = new Chunks(api, company, token);
      byte[] content = Samples.random(random, 2 * 40_000);
      List<long[]> parts = Chunks.split(content.length, 40_000);
      UUID file = UUID.fromString(chunks.init("total_chunks=2&total_size=" + content.length).getString("id"));
      HttpResponse<String> first;
      try (Connection c = Db.connect(n.dbName)) {
        c.setAutoCommit(false);
        try (PreparedStatement lock = c.prepareStatement("SELECT id FROM files WHERE id = ? FOR UPDATE")) {
          lock.setObject(1, file);
          lock.executeQuery().close();
        }
        first = chunks.send(file, Chunks.query(1, 2, content.length), Chunks.slice(content, parts.get(0)));
        c.rollback();
      }
      assertThat(first.statusCode()).as(first.body()).isEqualTo(503);
      assertThat(first.headers().firstValue("Retry-After")).contains("1");
      assertThat(new JsonObject(first.body()).getString("message")).contains("the outcome is unknown")
          .contains("did not answer in time");
      // the session decides once the row is free: too late, nothing recorded; the object is the orphan scan's
      eventually(Duration.ofSeconds(30), () -> assertThat(Db.count(n.dbName,
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).isZero());
      assertThat(Db.count(n.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isZero();
      try (var objects = Tree.walk(n.storage)) {
        assertThat(objects.filter(Files::isRegularFile).filter(p -> p.toString().contains(file.toString())))
            .as("the object of the commit whose outcome was unknown").hasSize(1);
      }
      for (int i = 0; i < 2; i++) {
        HttpResponse<String> r = chunks.send(file, Chunks.query(i + 1, 2, content.length), Chunks.slice(content, parts.get(i)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      }
      assertThat(Db.count(n.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(2);
      assertThat(Api.sha256(api.download(company, file, token).body())).isEqualTo(Api.sha256(content));
    }
  }
}

package dev.files;

import dev.files.support.Api;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import dev.files.upload.ChunkCommit;
import dev.files.upload.Requester;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the database says is stored is stored, and what is served is what was accepted: completion
 * needs every chunk 1..total_chunks, a commit delivered twice takes effect once, superseded copies
 * are retired (not deleted at once), and generation numbers are never used twice.
 */
class UploadIntegrityTest extends NodeTest {

  static final int CHUNK = 64 * 1024;

  final Random random = new Random(8);
  final UUID app = UUID.randomUUID();
  String appToken;
  Chunks chunks;

  @BeforeAll
  void start() {
    chunks = new Chunks(api, company, token);
    appToken = TestNode.appToken(app, company);
  }

  // ---------------------------------------------------------------- helpers

  private static void assertOk(HttpResponse<String> r) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
  }

  private static String status(HttpResponse<String> r) {
    assertOk(r);
    return Api.resource(r).getString("upload_status");
  }

  private static String sql(String query, UUID file) {
    return query.replace("?", "'" + file + "'");
  }

  private static List<String> strings(TestNode n, String query, UUID file) throws Exception {
    return Db.strings(n.dbName, sql(query, file));
  }

  private static long count(TestNode n, String query, UUID file) throws Exception {
    return Db.count(n.dbName, sql(query, file));
  }

  private static boolean stored(TestNode n, String key) {
    return Files.isRegularFile(n.storage.resolve(key));
  }

  /** Every chunk row of the file points at an object that is in the store, and none at a retired one. */
  private static void assertEveryRowHasItsObject(TestNode n, UUID file) throws Exception {
    List<String> keys = strings(n, "SELECT storage_key FROM chunks WHERE file_id = ?", file);
    assertThat(keys).isNotEmpty();
    assertThat(keys).allMatch(k -> stored(n, k), "object in the store");
    assertThat(count(n, "SELECT count(*) FROM chunks c JOIN retired_chunks r ON r.storage_key = c.storage_key"
        + " WHERE c.file_id = ?", file)).as("live rows pointing at retired objects").isZero();
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  private void assertServes(Api api, UUID file, byte[] expected) throws Exception {
    HttpResponse<byte[]> d = api.download(company, file, token);
    assertThat(d.statusCode()).isEqualTo(200);
    assertThat(d.body().length).isEqualTo(expected.length);
    assertThat(Api.sha256(d.body())).isEqualTo(Api.sha256(expected));
  }

  // ---------------------------------------------------------------- completion needs 1..N

  /**
   * The reported case: total_size of 3 chunks, no total_chunks; chunks 1 and 5 without it, then
   * chunk 2 with total_chunks=3. Before, that reply was "complete" and the download served 1, 2, 5.
   */
  @Test
  void aChunkAboveTotalChunksStoredWhileItWasUnknownIsDroppedAndNeverCompletesTheUpload() throws Exception {
    try (TestNode n = TestNode.start(Map.of("upload.retire_grace_ms", 1000, "upload.sweep_interval_ms", 300))) {
      Api api = new Api(n);
      Chunks chunks = new Chunks(api, company, token);
      byte[] content = Samples.random(random, 3 * CHUNK);
      List<long[]> parts = Chunks.split(content.length, CHUNK);
      UUID file = UUID.fromString(chunks.init("filename=gap.bin&total_size=" + content.length).getString("id"));
      String size = "&total_size=" + content.length;

      assertThat(status(chunks.send(file, "chunk_number=1" + size, Chunks.slice(content, parts.get(0))))).isEqualTo("pending");
      assertThat(status(chunks.send(file, "chunk_number=5" + size, Samples.random(random, CHUNK)))).isEqualTo("pending");
      String five = strings(n, "SELECT storage_key FROM chunks WHERE file_id = ? AND chunk_number = 5", file).get(0);
      assertThat(stored(n, five)).isTrue();

      HttpResponse<String> second = chunks.send(file, "chunk_number=2&total_chunks=3" + size, Chunks.slice(content, parts.get(1)));
      assertThat(status(second)).as("chunks 1, 2 and 5 of 3").isEqualTo("pending");
      assertThat(Api.resource(second).getJsonObject("upload_data"))
          .isEqualTo(new JsonObject().put("size", 2L * CHUNK).put("chunks", 3));
      HttpResponse<byte[]> early = api.download(company, file, token);
      assertThat(early.statusCode()).isEqualTo(409);
      assertThat(new JsonObject(new String(early.body())).getInteger("statusCode")).isEqualTo(409);
      assertThat(strings(n, "SELECT chunk_number::text FROM chunks WHERE file_id = ? ORDER BY chunk_number", file))
          .containsExactly("1", "2");

      assertThat(status(chunks.send(file, "chunk_number=3&total_chunks=3" + size, Chunks.slice(content, parts.get(2)))))
          .isEqualTo("complete");
      assertServes(api, file, content);
      assertEveryRowHasItsObject(n, file);
      eventually(Duration.ofSeconds(60), () -> {
        assertThat(stored(n, five)).as("chunk 5's object").isFalse();
        assertThat(count(n, "SELECT count(*) FROM chunks WHERE file_id = ? AND chunk_number = 5", file)).isZero();
        assertThat(Db.count(n.dbName, "SELECT count(*) FROM retired_chunks WHERE storage_key = '" + five + "'")).isZero();
      });
      assertServes(api, file, content);
    }
  }

  /**
   * Totals that arrive late decide what counts before the body is read, as the rules do: chunks 1 and 3
   * stored without totals, then chunk 2 with total_chunks=2 and total_size=10. Chunk 3 is dropped, so
   * chunk 2 may hold 5 bytes; before, the early check counted chunk 3 and refused chunk 2 (400).
   */
  @Test
  void aLateTotalDoesNotCountTheChunksItDrops() throws Exception {
    UUID file = UUID.fromString(chunks.init("filename=late.txt").getString("id"));
    assertThat(status(chunks.send(file, "chunk_number=1", "AAAAA".getBytes()))).isEqualTo("pending");
    assertThat(status(chunks.send(file, "chunk_number=3", "CCCCC".getBytes()))).isEqualTo("pending");
    HttpResponse<String> last = chunks.send(file, "chunk_number=2&total_chunks=2&total_size=10", "BBBBB".getBytes());
    assertThat(status(last)).isEqualTo("complete");
    assertThat(Api.resource(last).getJsonObject("upload_data").getLong("size")).isEqualTo(10L);
    assertServes(api, file, "AAAAABBBBB".getBytes());
  }

  // ---------------------------------------------------------------- commits delivered twice

  /**
   * Commit A (key 1) is delivered again after the client re-sent the chunk as B (key 2), as a
   * session question retried after a timeout is: A's second delivery must change nothing. Before,
   * it re-recorded key 1 (whose object B had deleted) and deleted key 2.
   */
  @Test
  void aCommitDeliveredAgainAfterTheChunkWasResentChangesNothing() throws Exception {
    byte[] a = Samples.random(random, CHUNK);
    byte[] b = Samples.random(random, CHUNK);
    byte[] two = Samples.random(random, CHUNK);
    UUID file = UUID.fromString(chunks.init("filename=replay.bin&total_chunks=2&total_size=" + 2 * CHUNK).getString("id"));
    assertOk(chunks.send(file, Chunks.query(1, 2, 2 * CHUNK), a));
    List<String> rowA = strings(node, "SELECT storage_key || ' ' || commit_id || ' ' || size || ' ' || sha256 || ' ' || generation"
        + " FROM chunks WHERE file_id = ?", file);
    assertThat(rowA).hasSize(1);
    String[] fields = rowA.get(0).split(" ");
    String keyA = fields[0];
    ChunkCommit commitA = new ChunkCommit(new ChunkCommit.Upload(file, company, new Requester(user, null, false), false),
        new ChunkCommit.Declared(false, 2, 2L * CHUNK, null, null, null),
        new ChunkCommit.Stored(1, Integer.parseInt(fields[4]), keyA, Long.parseLong(fields[2]), fields[3], null, null), UUID.fromString(fields[1]));

    assertOk(chunks.send(file, Chunks.query(1, 2, 2 * CHUNK), b)); // B: the client re-sends chunk 1
    String keyB = strings(node, "SELECT storage_key FROM chunks WHERE file_id = ?", file).get(0);
    assertThat(keyB).isNotEqualTo(keyA);

    JsonObject replayed = node.node.sessions().commit(commitA).await(30, TimeUnit.SECONDS); // A, delivered again
    assertThat(replayed.getString("upload_status")).isEqualTo("pending");
    assertThat(replayed.getJsonObject("upload_data")).isEqualTo(new JsonObject().put("size", (long) CHUNK).put("chunks", 2));

    assertThat(strings(node, "SELECT storage_key FROM chunks WHERE file_id = ?", file)).containsExactly(keyB);
    assertEveryRowHasItsObject(node, file);
    assertThat(stored(node, keyA)).as("A's copy, retired, stays for the grace").isTrue();
    assertThat(strings(node, "SELECT storage_key FROM retired_chunks WHERE file_id = ?", file)).containsExactly(keyA);

    assertThat(status(chunks.send(file, Chunks.query(2, 2, 2 * CHUNK), two))).isEqualTo("complete");
    assertServes(api, file, concat(b, two));
    assertEveryRowHasItsObject(node, file);
  }

  @Test
  void aSupersededCopyOfAChunkIsRetiredWithTheGraceNotDeletedAtOnce() throws Exception {
    byte[] first = Samples.random(random, 1000);
    byte[] again = Samples.random(random, 1000);
    long before = System.currentTimeMillis();
    UUID pending = UUID.fromString(chunks.init("filename=again2.bin&total_chunks=2&total_size=2000").getString("id"));
    assertOk(chunks.send(pending, Chunks.query(1, 2, 2000), first));
    String superseded = strings(node, "SELECT storage_key FROM chunks WHERE file_id = ?", pending).get(0);
    assertOk(chunks.send(pending, Chunks.query(1, 2, 2000), again));
    long after = System.currentTimeMillis();

    assertThat(stored(node, superseded)).isTrue();
    List<String> retired = strings(node, "SELECT storage_key || ' ' || delete_after FROM retired_chunks WHERE file_id = ?", pending);
    assertThat(retired).hasSize(1);
    String[] r = retired.get(0).split(" ");
    assertThat(r[0]).isEqualTo(superseded);
    long grace = 3_600_000L; // upload.retire_grace_ms by default
    assertThat(Long.parseLong(r[1])).isBetween(before + grace, after + grace);
    assertEveryRowHasItsObject(node, pending);

    assertThat(status(chunks.send(pending, Chunks.query(2, 2, 2000), first))).isEqualTo("complete");
    assertServes(api, pending, concat(again, first));
    assertThat(stored(node, superseded)).as("retired until the grace ends").isTrue();
  }

  /**
   * A COMMIT that PostgreSQL does not confirm (here a deferred trigger fails it; a lost connection
   * does the same) has an unknown outcome: the client gets 503 and the chunk's object stays for the
   * orphan scan. Before, the handler deleted it, though the row might have been committed.
   */
  @Test
  void anUnconfirmedCommitLeavesTheObjectToTheOrphanScan() throws Exception {
    Db.execute(node.dbName, """
        CREATE FUNCTION refuse_4242() RETURNS trigger AS $$
        BEGIN IF NEW.size = 4242 THEN RAISE EXCEPTION 'refused at commit'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql""");
    Db.execute(node.dbName, """
        CREATE CONSTRAINT TRIGGER refuse_4242_at_commit AFTER INSERT ON chunks DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION refuse_4242()""");
    UUID file = UUID.fromString(chunks.init("filename=unsure.bin&total_chunks=2&total_size=5242").getString("id"));
    HttpResponse<String> r = chunks.send(file, Chunks.query(1, 2, 5242), Samples.random(random, 4242));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
    assertThat(new JsonObject(r.body()).getInteger("statusCode")).isEqualTo(503);
    assertThat(count(node, "SELECT count(*) FROM chunks WHERE file_id = ?", file)).isZero();
    String id = file.toString();
    java.nio.file.Path dir = node.storage.resolve(id.substring(0, 2)).resolve(id);
    Thread.sleep(1500); // an object removed after the reply would be gone by now
    try (var objects = Files.list(dir)) {
      assertThat(objects.filter(Files::isRegularFile).count()).as("the chunk's object, left to the orphan scan").isEqualTo(1);
    }
    assertOk(chunks.send(file, Chunks.query(1, 2, 5242), Samples.random(random, 4000))); // other commits go on
  }

  // ---------------------------------------------------------------- generation numbers

  /**
   * An overwrite started and abandoned took generation 2; the next overwrite must not take 2 again
   * (a late chunk of the abandoned one, encrypted for 2, would otherwise be accepted into it).
   */
  @Test
  void anOverwriteAfterAnAbandonedOneGetsAGenerationNeverUsedBefore() throws Exception {
    byte[] live = Samples.random(random, 2 * CHUNK);
    UUID file = UUID.fromString(chunks.init("filename=gen.bin&total_chunks=2&total_size=" + live.length).getString("id"));
    List<long[]> parts = Chunks.split(live.length, CHUNK);
    for (int i = 0; i < 2; i++) {
      assertOk(chunks.send(file, Chunks.query(i + 1, 2, live.length), Chunks.slice(live, parts.get(i))));
    }
    assertThat(strings(node, "SELECT generation::text FROM files WHERE id = ?", file)).containsExactly("1");

    byte[] abandoned = Samples.random(random, CHUNK);
    assertOk(api.post(api.file(company, file) + "?" + Chunks.query(1, 2, 2L * CHUNK), appToken,
        new Api.Multipart().filename("blob"), abandoned));
    assertThat(strings(node, "SELECT upload_generation::text FROM files WHERE id = ?", file)).containsExactly("2");
    JsonObject expired = node.node.sessions().expire(file, System.currentTimeMillis() + 1).await(30, TimeUnit.SECONDS);
    assertThat(expired.getString("status")).isEqualTo("expired");
    assertThat(strings(node, "SELECT coalesce(upload_generation::text, 'none') FROM files WHERE id = ?", file)).containsExactly("none");
    assertServes(api, file, live);

    byte[] fresh = Samples.random(random, 2 * CHUNK + 3);
    List<long[]> freshParts = Chunks.split(fresh.length, CHUNK);
    assertOk(api.post(api.file(company, file) + "?" + Chunks.query(1, 2, fresh.length), appToken,
        new Api.Multipart().filename("blob"), Chunks.slice(fresh, freshParts.get(0))));
    assertThat(strings(node, "SELECT upload_generation || ' ' || last_generation FROM files WHERE id = ?", file))
        .containsExactly("3 3");
    HttpResponse<String> done = api.post(api.file(company, file) + "?" + Chunks.query(2, 2, fresh.length), appToken,
        new Api.Multipart().filename("blob"), Chunks.slice(fresh, freshParts.get(1)));
    assertThat(status(done)).isEqualTo("complete");
    assertThat(strings(node, "SELECT generation::text FROM files WHERE id = ?", file)).containsExactly("3");
    assertThat(strings(node, "SELECT DISTINCT generation::text FROM chunks WHERE file_id = ?", file)).containsExactly("3");
    assertServes(api, file, fresh);
    assertEveryRowHasItsObject(node, file);
  }
}

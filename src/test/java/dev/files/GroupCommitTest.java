package dev.files;

import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import dev.files.support.Samples;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Group commit of new files (README, {@code upload.group_commit_max}; docs/architecture.md): classic
 * uploads sent at once share transactions, and every one still reads back byte-exact with one row,
 * one chunk row and one {@code file.uploaded} event. Which transaction inserted a row is PostgreSQL's
 * own record of it: the row's {@code xmin}; fewer distinct ones than files means files shared one.
 */
class GroupCommitTest extends NodeTest {

  /** Uploads sent at once in a round. */
  private static final int AT_ONCE = 40;
  /** Rounds at most until a round shows a shared transaction (one is nearly always enough). */
  private static final int ROUNDS = 10;

  private record Sent(String name, byte[] content, HttpResponse<String> answer) {
  }

  /** Sends {@code names.size()} classic uploads at once (64 KiB of random bytes each) and waits for every answer. */
  private List<Sent> uploadAtOnce(List<String> names, long seed) throws Exception {
    Random random = new Random(seed);
    List<Callable<Sent>> calls = new ArrayList<>();
    for (String name : names) {
      byte[] content = Samples.random(random, 64 * 1024);
      calls.add(() -> new Sent(name, content, api.upload(company, token, name, "application/octet-stream", content)));
    }
    ExecutorService pool = Executors.newFixedThreadPool(names.size());
    try {
      List<Sent> sent = new ArrayList<>();
      for (Future<Sent> f : pool.invokeAll(calls, 5, TimeUnit.MINUTES)) {
        sent.add(f.get());
      }
      return sent;
    } finally {
      pool.shutdownNow();
    }
  }

  /** The distinct transactions (xmin) that inserted the rows of these files. */
  private long transactions(List<UUID> ids) throws Exception {
    return Db.count(node.dbName, "SELECT count(DISTINCT xmin::text) FROM files WHERE id IN ("
        + String.join(",", ids.stream().map(id -> "'" + id + "'").toList()) + ")");
  }

  /** Checks one answered upload against the database and a download; answers its id. */
  private UUID checkStored(Sent s) throws Exception {
    assertThat(s.answer().statusCode()).as(s.answer().body()).isEqualTo(200);
    JsonObject r = Api.resource(s.answer());
    UUID id = UUID.fromString(r.getString("id"));
    assertThat(r.getString("upload_status")).isEqualTo("complete");
    assertThat(r.getJsonObject("metadata").getString("name")).isEqualTo(s.name());
    assertThat(r.getJsonObject("upload_data").getLong("size")).isEqualTo(s.content().length);
    HttpResponse<byte[]> down = api.download(company, id, token);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(s.content()));
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM files WHERE id = '" + id + "' AND generation = 1"
        + " AND size = " + s.content().length)).isEqualTo(1);
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + id + "'")).isEqualTo(1);
    assertThat(Db.strings(node.dbName, "SELECT type FROM event_outbox WHERE file_id = '" + id + "'"))
        .containsExactly("file.uploaded");
    return id;
  }

  @Test
  void uploadsSentAtOnceShareTransactionsAndEachIsStoredWhole() throws Exception {
    long fewest = Long.MAX_VALUE;
    for (int round = 0; round < ROUNDS && fewest >= AT_ONCE; round++) {
      List<String> names = new ArrayList<>();
      for (int i = 0; i < AT_ONCE; i++) {
        names.add("r" + round + "-file-" + i + ".bin");
      }
      List<UUID> ids = new ArrayList<>();
      for (Sent s : uploadAtOnce(names, round)) {
        ids.add(checkStored(s));
      }
      assertThat(new HashSet<>(ids)).hasSize(AT_ONCE);
      fewest = Math.min(fewest, transactions(ids));
    }
    assertThat(fewest).as("transactions for %d files sent at once", AT_ONCE).isLessThan(AT_ONCE);
  }

  @Test
  void aMemberTheDatabaseRefusesFailsAloneAndTheOthersAreStored() throws Exception {
    // a real failure of PostgreSQL for some rows: a trigger refuses files named poison-*
    Db.execute(node.dbName, """
        CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.name LIKE 'poison-%' THEN RAISE EXCEPTION 'poisoned file %', NEW.name; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_poison BEFORE INSERT ON files FOR EACH ROW EXECUTE FUNCTION refuse_poison();""");
    try {
      long fewest = Long.MAX_VALUE;
      for (int round = 0; round < ROUNDS && fewest >= AT_ONCE - AT_ONCE / 5; round++) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < AT_ONCE; i++) {
          names.add((i % 5 == 2 ? "poison-" : "good-") + round + "-" + i + ".bin");
        }
        List<UUID> good = new ArrayList<>();
        Set<String> refused = new HashSet<>();
        for (Sent s : uploadAtOnce(names, 100 + round)) {
          if (s.name().startsWith("poison-")) {
            assertThat(s.answer().statusCode()).as(s.answer().body()).isEqualTo(503);
            refused.add(s.name());
          } else {
            good.add(checkStored(s));
          }
        }
        assertThat(refused).hasSize(AT_ONCE / 5);
        assertThat(Db.count(node.dbName, "SELECT count(*) FROM files WHERE name LIKE 'poison-%'")).isZero();
        assertThat(Db.count(node.dbName, "SELECT count(*) FROM event_outbox WHERE body->'resource'->'metadata'->>'name'"
            + " LIKE 'poison-%'")).isZero();
        fewest = Math.min(fewest, transactions(good));
      }
      assertThat(fewest).as("transactions for %d good files sent at once", AT_ONCE - AT_ONCE / 5)
          .isLessThan(AT_ONCE - AT_ONCE / 5);
    } finally {
      Db.execute(node.dbName, "DROP TRIGGER refuse_poison ON files; DROP FUNCTION refuse_poison()");
    }
  }
}

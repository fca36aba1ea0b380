package dev.files.upload;

import dev.files.bus.InternalBus;
import dev.files.db.Database;
import dev.files.db.FileRepository;
import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.events.Outbox;
import dev.files.ops.ServiceMetrics;
import dev.files.support.Db;
import dev.files.support.TestNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A group commit of new files ({@link Commits#commitNewAll}) whose commits the rules all refuse runs
 * no transaction: PostgreSQL's count of committed transactions of the database
 * ({@code pg_stat_database.xact_commit}) moves only by the test's own statements. The pool has one
 * connection, the test's database has no other client, and that connection flushes its statistics
 * ({@code pg_stat_force_next_flush()}) before each read, so the count is exact.
 */
class NewFileGroupTransactionsTest {

  @Test
  void aGroupWhoseCommitsAreAllRefusedRunsNoTransaction() throws Exception {
    Vertx vertx = Vertx.vertx();
    String db = "files_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try {
      Pool pool = Database.open(vertx, TestNode.PG + "/" + db, 1).await(120, TimeUnit.SECONDS);
      InternalBus bus = InternalBus.create(TestNode.MASTER_KEY, "");
      Commits commits = new Commits(vertx, new FileRepository(pool), new SessionSettings(60_000, 5_000, 60_000, 60_000,
          60_000), ServiceMetrics.NONE, bus, new Outbox(vertx, bus));
      // the migrations' connections are gone (their statistics are flushed when they end)
      eventually(Duration.ofSeconds(60), () -> assertThat(value(pool,
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))
          .as("other connections to the test database").isZero());
      UUID company = UUID.randomUUID();
      long now = System.currentTimeMillis();

      long before = committedTransactions(pool);
      List<Future<Commits.Outcome>> answers = commits.commitNewAll(List.of(withoutDataKey(company), withoutDataKey(company)),
          List.of(now, now)).await(60, TimeUnit.SECONDS);
      long after = committedTransactions(pool);

      assertThat(answers).hasSize(2).allSatisfy(a -> assertThat(a.cause()).isInstanceOfSatisfying(ServiceException.class,
          e -> assertThat(e.kind()).isEqualTo(Kind.BAD_REQUEST)).hasMessage("a new file's first chunk must come with its data key"));
      // between the two reads: the first read's own transaction and the second flush's; none of the group
      assertThat(after - before).as("transactions committed between the two reads").isEqualTo(2);
      assertThat(value(pool, "SELECT count(*) FROM files")).isZero();
      pool.close().await(30, TimeUnit.SECONDS);
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
      Db.drop(db);
    }
  }

  /** A whole-file commit of a new file that the rules refuse: it carries no data key. */
  private static ChunkCommit withoutDataKey(UUID company) {
    UUID file = UUID.randomUUID();
    return new ChunkCommit(new ChunkCommit.Upload(file, company, new Requester(UUID.randomUUID(), null, false), true),
        new ChunkCommit.Declared(true, 1, 5L, "a.txt", "text/plain", null),
        new ChunkCommit.Stored(1, 1, "k" + file, 5, "0".repeat(64), null, null), null);
  }

  /**
   * {@code xact_commit} of the test database, read on the pool's one connection after it flushed its
   * own statistics (the flush happens when that connection goes idle after asking for it).
   */
  private static long committedTransactions(Pool pool) throws Exception {
    value(pool, "SELECT 0 FROM pg_stat_force_next_flush()");
    return value(pool, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
  }

  /** The first column of the first row of {@code sql}, run on the pool, as a long. */
  private static long value(Pool pool, String sql) throws Exception {
    return pool.query(sql).execute().map(rows -> rows.iterator().next().getLong(0)).await(30, TimeUnit.SECONDS);
  }
}

package dev.files.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.files.support.Db;
import dev.files.support.TestNode;
import io.vertx.pgclient.PgConnectOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Nodes of a cluster start together against one database that does not exist yet: each must find
 * it created (by itself or by another), none may fail its start. PostgreSQL reports the loser of
 * two concurrent {@code CREATE DATABASE} either as 42P04 or as a unique violation (23505).
 */
class DatabaseCreateRaceTest {

  @Test
  void nodesCreatingOneDatabaseAtOnceAllStart() throws Exception {
    int nodes = 6;
    ExecutorService pool = Executors.newFixedThreadPool(nodes);
    try {
      for (int round = 0; round < 5; round++) {
        String name = "files_race_" + UUID.randomUUID().toString().substring(0, 8);
        PgConnectOptions options = PgConnectOptions.fromUri(TestNode.PG).setDatabase(name);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> starts = new ArrayList<>();
        for (int i = 0; i < nodes; i++) {
          starts.add(pool.submit(() -> {
            go.await();
            Database.ensureDatabase(options);
            return null;
          }));
        }
        go.countDown();
        try {
          for (Future<?> f : starts) {
            f.get(30, TimeUnit.SECONDS); // throws the SQLException of a node that failed its start
          }
          assertThat(Db.count("postgres", "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'"))
              .isEqualTo(1);
        } finally {
          Db.drop(name);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }
}

package dev.files;

import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import dev.files.support.Samples;
import dev.files.support.Tree;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * New files' uploads waiting for a group commit are bounded by {@code db.wait_queue} (README), as they
 * were when each waited for a database connection: with the bound at 0, uploads sent at once beyond
 * the transactions in flight are refused with 503 "database busy, try again shortly" and
 * {@code Retry-After: 1}, leaving no row and no object; every other one is stored whole.
 */
class GroupCommitQueueTest extends NodeTest {

  private static final int AT_ONCE = 40;

  @Override
  protected Map<String, ?> settings() {
    return Map.of("db.wait_queue", 0);
  }

  private record Sent(String name, byte[] content, HttpResponse<String> answer) {
  }

  @Test
  void uploadsBeyondTheQueueAreRefusedAsBusyAndLeaveNothing() throws Exception {
    int refused = 0;
    int stored = 0;
    for (int round = 0; round < 10 && refused == 0; round++) {
      Random random = new Random(round);
      List<Callable<Sent>> calls = new ArrayList<>();
      for (int i = 0; i < AT_ONCE; i++) {
        String name = "q" + round + "-" + i + ".bin";
        byte[] content = Samples.random(random, 64 * 1024);
        calls.add(() -> new Sent(name, content, api.upload(company, token, name, "application/octet-stream", content)));
      }
      ExecutorService pool = Executors.newFixedThreadPool(AT_ONCE);
      List<Sent> sent = new ArrayList<>();
      try {
        for (Future<Sent> f : pool.invokeAll(calls, 5, TimeUnit.MINUTES)) {
          sent.add(f.get());
        }
      } finally {
        pool.shutdownNow();
      }
      for (Sent s : sent) {
        if (s.answer().statusCode() == 503) {
          refused++;
          assertThat(s.answer().body()).contains("database busy, try again shortly");
          assertThat(s.answer().headers().firstValue("retry-after")).hasValue("1");
          assertThat(Db.count(node.dbName, "SELECT count(*) FROM files WHERE name = '" + s.name() + "'")).isZero();
        } else {
          assertThat(s.answer().statusCode()).as(s.answer().body()).isEqualTo(200);
          stored++;
          String id = Api.resource(s.answer()).getString("id");
          HttpResponse<byte[]> down = api.download(company, java.util.UUID.fromString(id), token);
          assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(s.content()));
        }
      }
    }
    assertThat(refused).as("uploads refused as busy").isPositive();
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM files")).isEqualTo(stored);
    // a refused upload's object is deleted before its answer: the store holds the stored files' only
    assertThat(objects()).isEqualTo(stored);
  }

  /** Object files in the store (not the store's own marker, nor temporaries, which start with a dot). */
  private long objects() throws Exception {
    try (Stream<Path> s = Tree.walk(node.storage)) {
      return s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
          .filter(p -> p.getParent().getParent() != null && !p.getParent().equals(node.storage)).count();
    }
  }
}

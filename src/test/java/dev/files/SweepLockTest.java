package dev.files;

import dev.files.support.Api;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import dev.files.upload.UploadSweepVerticle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two nodes on one database and one store directory: the sweep (and its orphan scan) runs only on
 * a node that holds the PostgreSQL advisory lock {@link UploadSweepVerticle#SWEEP_LOCK}. While
 * someone else holds it, neither node removes anything; once it is free, an old orphan goes and the
 * referenced objects stay.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SweepLockTest {

  /** Frequent passes, small listing pages, and one pooled connection: the lock's connection is not one of the pool's. */
  private static final Map<String, Object> SWEEP = Map.of("upload.sweep_interval_ms", 100,
      "upload.orphan_scan_interval_ms", 100, "storage.list_page_size", 2, "db.pool_size", 1);

  private final Random random = new Random(5);
  private TestNode a;
  private TestNode b;

  @BeforeAll
  void start() throws Exception {
    a = TestNode.start(SWEEP);
    Map<String, Object> same = new HashMap<>(SWEEP);
    same.put("db.url", a.settings.get("db.url"));
    same.put("storage.local.path", a.settings.get("storage.local.path"));
    b = TestNode.start(same);
  }

  @AfterAll
  void stop() throws Exception {
    if (b != null) {
      b.stop(); // keeps a's database and directory, which a's close removes
    }
    if (a != null) {
      a.close();
    }
  }

  private Connection connect() throws Exception {
    String hostPort = TestNode.PG.replaceFirst("^postgresql://([^@]*@)?", "");
    return DriverManager.getConnection("jdbc:postgresql://" + hostPort + "/" + a.dbName + "?user=postgres");
  }

  private Path oldOrphan() throws Exception {
    String id = UUID.randomUUID().toString();
    Path p = a.storage.resolve(id.substring(0, 2)).resolve(id).resolve(UUID.randomUUID() + ".chunk");
    Files.createDirectories(p.getParent());
    Files.write(p, Samples.random(random, 100));
    Files.setLastModifiedTime(p, FileTime.fromMillis(System.currentTimeMillis() - 2 * 86_400_000L));
    return p;
  }

  @Test
  void noNodeSweepsWhileTheLockIsHeldElsewhereAndOneDoesOnceItIsFree() throws Exception {
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    byte[] content = Samples.random(random, 10_000);
    UUID file = UUID.fromString(Api.resource(new Api(a).upload(company, token, "k.bin", null, content)).getString("id"));
    try (Stream<Path> s = Tree.walk(a.storage)) {
      for (Path p : s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).toList()) {
        Files.setLastModifiedTime(p, FileTime.fromMillis(System.currentTimeMillis() - 2 * 86_400_000L)); // old, but referenced
      }
    }

    Path orphan;
    try (Connection c = connect(); Statement s = c.createStatement()) {
      boolean held = false;
      for (int i = 0; i < 100 && !held; i++) { // a node may be in a pass: the lock is free between passes
        try (ResultSet rs = s.executeQuery("SELECT pg_try_advisory_lock(" + UploadSweepVerticle.SWEEP_LOCK + ")")) {
          rs.next();
          held = rs.getBoolean(1);
        }
        if (!held) {
          Thread.sleep(20);
        }
      }
      assertThat(held).as("the test takes the sweep lock").isTrue();
      orphan = oldOrphan();
      Thread.sleep(2000); // 20 sweep intervals of each node: every pass is skipped
      assertThat(orphan).as("no node swept while another session held the lock").exists();
    } // the connection closes: the lock is released

    eventually(Duration.ofSeconds(60), () -> assertThat(orphan).doesNotExist());
    assertThat(new Api(b).download(company, file, token).body()).isEqualTo(content);
    assertThat(new Api(a).download(company, file, token).body()).isEqualTo(content);
  }
}

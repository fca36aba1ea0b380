package dev.files.storage.local;

import dev.files.storage.IoExecutor;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.ObjectStoreException.Reason;
import dev.files.support.ByteStream;
import dev.files.support.Eventually;
import dev.files.support.Tree;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Many durable writes at once through {@link LocalObjectStore}, with its sync threads
 * ({@link Durability}) and without them (0: forced on the storage queue): each object reads back
 * byte-exact (SHA-256 of the file), no temporary file is left, and a write that fails (a key whose
 * directory cannot be created, a key another write took first) fails alone. A write that creates
 * directories has their names synced in their parents, once, and a write into a directory whose name
 * is not yet synced waits for that sync.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DurableWritesTest {

  private static final int MIB = 1024 * 1024;

  @TempDir
  Path dir;

  private Vertx vertx;
  private Context context;
  private IoExecutor io;
  private final Random random = new Random(20261207);

  @BeforeAll
  void start() {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    io = new IoExecutor(vertx, 4);
  }

  @AfterAll
  void stop() throws Exception {
    vertx.close().await(30, TimeUnit.SECONDS);
    io.close();
  }

  private byte[] bytes(int size) {
    byte[] data = new byte[size];
    random.nextBytes(data);
    return data;
  }

  /** Starts {@code store.write(key, data)} on the test's context; the future completes off it. */
  private CompletableFuture<Long> write(LocalObjectStore store, String key, byte[] data) {
    CompletableFuture<Long> done = new CompletableFuture<>();
    context.runOnContext(v -> store.write(key, new ByteStream(context, data)).onComplete(ar -> {
      if (ar.succeeded()) {
        done.complete(ar.result());
      } else {
        done.completeExceptionally(ar.cause());
      }
    }));
    return done;
  }

  /** What the write failed with, or null when it succeeded; waits up to 2 minutes. */
  private static Throwable outcome(CompletableFuture<Long> write) throws Exception {
    try {
      write.get(120, TimeUnit.SECONDS);
      return null;
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause();
    }
  }

  private static String sha256(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  /** The hidden temporary files left below {@code root}. */
  private static List<Path> temporaries(Path root) throws Exception {
    try (Stream<Path> files = Tree.walk(root)) {
      return files.filter(p -> p.getFileName().toString().startsWith(".") && p.getFileName().toString().endsWith(".tmp"))
          .toList();
    }
  }

  @ParameterizedTest(name = "{0} sync threads")
  @ValueSource(ints = {4, 0})
  void fiftyConcurrentWritesReadBackByteExact(int syncThreads) throws Exception {
    Path root = dir.resolve("fifty-" + syncThreads);
    LocalObjectStore store = new LocalObjectStore(vertx, io, root, true, syncThreads);
    List<String> keys = new ArrayList<>();
    List<byte[]> bodies = new ArrayList<>();
    List<CompletableFuture<Long>> writes = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      // ten directories of five objects (they may share a directory sync), the sizes from empty to
      // 64 KiB, and two objects of 9 MiB, which start writeback while they stream
      String key = "d" + (i % 10) + "/o" + i;
      byte[] body = bytes(i == 7 || i == 31 ? 9 * MIB : i * 1337 % (64 * 1024 + 1));
      keys.add(key);
      bodies.add(body);
      writes.add(write(store, key, body));
    }
    for (int i = 0; i < 50; i++) {
      assertThat(outcome(writes.get(i))).as(keys.get(i)).isNull();
      assertThat(writes.get(i).get()).isEqualTo(bodies.get(i).length);
      assertThat(sha256(Files.readAllBytes(root.resolve(keys.get(i))))).as(keys.get(i)).isEqualTo(sha256(bodies.get(i)));
    }
    assertThat(temporaries(root)).isEmpty();
    store.close();
  }

  @ParameterizedTest(name = "{0} sync threads")
  @ValueSource(ints = {4, 0})
  void aFailedWriteFailsAlone(int syncThreads) throws Exception {
    Path root = dir.resolve("failing-" + syncThreads);
    LocalObjectStore store = new LocalObjectStore(vertx, io, root, true, syncThreads);
    Files.createDirectories(root);
    Files.write(root.resolve("blocked"), new byte[] {1}); // a file where a key needs a directory
    List<CompletableFuture<Long>> good = new ArrayList<>();
    List<byte[]> goodBodies = new ArrayList<>();
    List<CompletableFuture<Long>> same = new ArrayList<>();
    List<byte[]> sameBodies = new ArrayList<>();
    CompletableFuture<Long> blocked = null;
    for (int i = 0; i < 20; i++) {
      byte[] body = bytes(64 * 1024);
      goodBodies.add(body);
      good.add(write(store, "good/o" + i, body));
      if (i % 2 == 0) { // ten writes of one key, among the others: one takes the name
        byte[] other = bytes(64 * 1024);
        sameBodies.add(other);
        same.add(write(store, "same/key", other));
      }
      if (i == 10) {
        blocked = write(store, "blocked/o", bytes(64 * 1024));
      }
    }
    Throwable refused = outcome(blocked);
    assertThat(refused).isInstanceOf(ObjectStoreException.class);
    assertThat(((ObjectStoreException) refused).reason()).isEqualTo(Reason.UNAVAILABLE);
    for (int i = 0; i < good.size(); i++) {
      assertThat(outcome(good.get(i))).isNull();
      assertThat(sha256(Files.readAllBytes(root.resolve("good/o" + i)))).isEqualTo(sha256(goodBodies.get(i)));
    }
    int stored = -1;
    for (int i = 0; i < same.size(); i++) {
      Throwable t = outcome(same.get(i));
      if (t == null) {
        assertThat(stored).as("a second write of the key succeeded").isEqualTo(-1);
        stored = i;
      } else {
        assertThat(t).isInstanceOf(ObjectStoreException.class);
        assertThat(((ObjectStoreException) t).reason()).isEqualTo(Reason.EXISTS);
      }
    }
    assertThat(stored).as("no write of the key succeeded").isNotEqualTo(-1);
    assertThat(sha256(Files.readAllBytes(root.resolve("same/key")))).isEqualTo(sha256(sameBodies.get(stored)));
    assertThat(temporaries(root)).isEmpty();
    assertThat(Files.readAllBytes(root.resolve("blocked"))).containsExactly(1);
    store.close();
  }

  /** Directory syncs counted by entries ({@link DirectorySyncs#OBJECT}, {@link DirectorySyncs#DIRECTORY}). */
  private static class Counted implements DirectorySyncs {
    final AtomicInteger objects = new AtomicInteger();
    final AtomicInteger directories = new AtomicInteger();

    @Override
    public void synced(String entries) {
      (DIRECTORY.equals(entries) ? directories : objects).incrementAndGet();
    }
  }

  @ParameterizedTest(name = "{0} sync threads")
  @ValueSource(ints = {4, 0})
  void newDirectoriesHaveTheirNamesSyncedInTheirParentsOnce(int syncThreads) throws Exception {
    Path root = dir.resolve("names-" + syncThreads);
    Files.createDirectories(root);
    Counted counted = new Counted();
    LocalObjectStore store = new LocalObjectStore(vertx, io, root, true, syncThreads, counted);
    byte[] first = bytes(64 * 1024);
    assertThat(outcome(write(store, "ab/f1/c1", first))).isNull();
    // "ab" named in the root, "f1" in "ab"; the object named in "f1"
    assertThat(counted.directories.get()).isEqualTo(2);
    assertThat(counted.objects.get()).isEqualTo(1);
    byte[] second = bytes(64 * 1024);
    assertThat(outcome(write(store, "ab/f1/c2", second))).isNull();
    assertThat(counted.directories.get()).as("a second object in the same directory").isEqualTo(2);
    assertThat(counted.objects.get()).isEqualTo(2);
    byte[] third = bytes(1000);
    assertThat(outcome(write(store, "ab/f2/c1", third))).isNull();
    assertThat(counted.directories.get()).as("a new directory in an existing one").isEqualTo(3);
    assertThat(counted.objects.get()).isEqualTo(3);
    assertThat(sha256(Files.readAllBytes(root.resolve("ab/f1/c1")))).isEqualTo(sha256(first));
    assertThat(sha256(Files.readAllBytes(root.resolve("ab/f1/c2")))).isEqualTo(sha256(second));
    assertThat(sha256(Files.readAllBytes(root.resolve("ab/f2/c1")))).isEqualTo(sha256(third));
    store.close();

    Counted none = new Counted();
    LocalObjectStore unsynced = new LocalObjectStore(vertx, io, root, false, syncThreads, none);
    assertThat(outcome(write(unsynced, "cd/f3/c1", third))).isNull();
    assertThat(none.objects.get() + none.directories.get()).as("syncs without fsync").isZero();
    unsynced.close();
  }

  /**
   * The names of the directories a write created are synced while its body streams; a second write
   * into that directory, which finds it there, is not answered before those syncs have run either
   * (else its object could vanish with the directory in a power loss). The syncs are held in the
   * counting callback until the second object is on disk and its own directory synced.
   */
  @Test
  void aWriteIntoADirectoryAnotherJustCreatedWaitsForItsName() throws Exception {
    Path root = dir.resolve("race");
    Files.createDirectories(root);
    CountDownLatch gate = new CountDownLatch(1);
    Counted counted = new Counted() {
      @Override
      public void synced(String entries) {
        super.synced(entries);
        if (DIRECTORY.equals(entries)) {
          try {
            gate.await(120, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
    };
    LocalObjectStore store = new LocalObjectStore(vertx, io, root, true, 4, counted);
    byte[] a = bytes(64 * 1024);
    byte[] b = bytes(64 * 1024);
    CompletableFuture<Long> first = write(store, "ab/f1/a", a);
    Eventually.eventually(Duration.ofSeconds(60), () -> {
      assertThat(root.resolve("ab/f1/a")).exists();
      assertThat(counted.objects.get()).isEqualTo(1);
    });
    CompletableFuture<Long> second = write(store, "ab/f1/b", b);
    Eventually.eventually(Duration.ofSeconds(60), () -> {
      assertThat(root.resolve("ab/f1/b")).exists();
      assertThat(counted.objects.get()).isEqualTo(2);
    });
    // both objects durable in their directory, whose names are not: neither write is answered
    assertThat(catchThrowable(() -> second.get(500, TimeUnit.MILLISECONDS))).isInstanceOf(TimeoutException.class);
    assertThat(first).isNotDone();
    gate.countDown();
    assertThat(outcome(first)).isNull();
    assertThat(outcome(second)).isNull();
    assertThat(counted.directories.get()).as("the second write created no directory").isEqualTo(2);
    assertThat(sha256(Files.readAllBytes(root.resolve("ab/f1/b")))).isEqualTo(sha256(b));
    store.close();
  }
}

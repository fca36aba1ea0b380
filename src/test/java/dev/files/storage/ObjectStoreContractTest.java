package dev.files.storage;

import dev.files.storage.ObjectStoreException.Reason;
import dev.files.storage.local.LocalObjectStore;
import dev.files.storage.s3.S3ObjectStore;
import dev.files.storage.s3.S3Options;
import dev.files.support.ByteStream;
import dev.files.support.FaultProxy;
import dev.files.support.S3ProxyServer;
import dev.files.support.Samples;
import dev.files.support.Tree;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.WriteStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@link ObjectStore} contract, run against both stores: {@link LocalObjectStore} on a
 * temporary directory and {@link S3ObjectStore} on a real S3 server (S3Proxy, filesystem back end)
 * reached through a {@link FaultProxy} that breaks chosen requests. Bytes are checked with
 * SHA-256; the S3 store uses 8 MiB parts, so 20 MiB is a multipart upload of 3 parts.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ObjectStoreContractTest {

  enum Kind { LOCAL, S3 }

  private static final int MIB = 1024 * 1024;
  private static final String BUCKET = "files-test";
  private static final AtomicInteger RUN = new AtomicInteger();

  private Vertx vertx;
  private Context context;
  private IoExecutor io;
  private Path localRoot;
  private S3ProxyServer s3proxy;
  private FaultProxy faults;
  private LocalObjectStore local;
  private S3ObjectStore s3;
  private final Random random = new Random(20261201);

  @BeforeAll
  void start() throws Exception {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    io = new IoExecutor(vertx, 4);
    localRoot = Files.createTempDirectory("objects-");
    local = new LocalObjectStore(vertx, io, localRoot.resolve("store"), true);
    s3proxy = S3ProxyServer.start();
    faults = FaultProxy.start(s3proxy.port());
    s3 = S3ObjectStore.create(vertx, new S3Options("http://127.0.0.1:" + faults.port(), BUCKET, "us-east-1",
        S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY, true, 8 * MIB, 8)).await(60, TimeUnit.SECONDS);
    s3.client().createBucket(b -> b.bucket(BUCKET)).get(30, TimeUnit.SECONDS);
  }

  @AfterAll
  void stop() throws Exception {
    if (s3 != null) {
      s3.close().await(30, TimeUnit.SECONDS);
    }
    if (faults != null) {
      faults.close();
    }
    if (s3proxy != null) {
      s3proxy.close();
    }
    if (vertx != null) {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
    io.close();
    try (Stream<Path> files = Tree.walk(localRoot)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @AfterEach
  void disarm() {
    faults.clear();
  }

  private ObjectStore store(Kind kind) {
    return kind == Kind.LOCAL ? local : s3;
  }

  /** A key prefix no other test uses. */
  private static String prefix() {
    return "t" + RUN.incrementAndGet() + "-" + System.nanoTime() + "/";
  }

  /** Runs {@code op} on the test's Vert.x context and waits for its result. */
  private <T> T on(Supplier<Future<T>> op) throws Exception {
    CompletableFuture<T> done = new CompletableFuture<>();
    context.runOnContext(v -> op.get().onComplete(ar -> {
      if (Vertx.currentContext() != context) { // the store hands every result back to its caller's context
        done.completeExceptionally(new AssertionError("completed off the caller's context"));
      } else if (ar.succeeded()) {
        done.complete(ar.result());
      } else {
        done.completeExceptionally(ar.cause());
      }
    }));
    try {
      return done.get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  private long write(ObjectStore store, String key, byte[] data) throws Exception {
    return on(() -> store.write(key, new ByteStream(context, data)));
  }

  /** The bytes of a range, read to the end; fails as the stream fails. */
  private byte[] read(ObjectStore store, String key, long offset, long length) throws Exception {
    return on(() -> store.read(key, offset, length).compose(read -> {
      Promise<byte[]> bytes = Promise.promise();
      Buffer all = Buffer.buffer();
      read.handler(b -> {
        if (Vertx.currentContext() != context) {
          bytes.tryFail(new AssertionError("data delivered off the caller's context"));
        }
        all.appendBuffer(b);
      });
      read.exceptionHandler(err -> {
        read.close();
        bytes.tryFail(err);
      });
      read.endHandler(v -> {
        read.close();
        bytes.tryComplete(all.getBytes());
      });
      return bytes.future();
    }));
  }

  private static Reason reasonOf(Throwable t) {
    assertThat(t).isInstanceOf(ObjectStoreException.class);
    return ((ObjectStoreException) t).reason();
  }

  private List<ObjectInfo> listAll(ObjectStore store, String prefix, int pageSize) throws Exception {
    List<ObjectInfo> all = new ArrayList<>();
    String token = null;
    do {
      String t = token;
      ObjectPage page = on(() -> store.list(prefix, t, pageSize));
      assertThat(page.objects().size()).isLessThanOrEqualTo(pageSize);
      all.addAll(page.objects());
      token = page.next();
    } while (token != null);
    return all;
  }

  static String sha256(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  static Stream<Arguments> sizes() {
    List<Arguments> out = new ArrayList<>();
    for (Kind kind : Kind.values()) {
      for (int size : new int[] {0, 1, 5 * MIB - 1, 20 * MIB}) {
        out.add(Arguments.of(kind, size));
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0}: {1} bytes")
  @MethodSource("sizes")
  void writesAndReadsBackByteExact(Kind kind, int size) throws Exception {
    ObjectStore store = store(kind);
    String key = prefix() + "object";
    byte[] data = Samples.random(random, size);

    assertThat(write(store, key, data)).isEqualTo(size);

    byte[] back = read(store, key, 0, size);
    assertThat(back.length).isEqualTo(size);
    assertThat(sha256(back)).isEqualTo(sha256(data));
    List<ObjectInfo> listed = listAll(store, key, 10);
    assertThat(listed).extracting(ObjectInfo::key, ObjectInfo::size).containsExactly(org.assertj.core.groups.Tuple.tuple(key, (long) size));
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void readsRangesAtTheBoundaries(Kind kind) throws Exception {
    ObjectStore store = store(kind);
    String key = prefix() + "ranged";
    int size = 16 * MIB + 3; // parts of 8 MiB, 8 MiB and 3 bytes on S3
    byte[] data = Samples.random(random, size);
    write(store, key, data);

    long[][] ranges = {
        {0, 1}, {0, size}, {size - 1, 1}, {8 * MIB - 1, 2}, {8 * MIB, 8 * MIB}, {16 * MIB - 5, 8},
        {12345, 3 * MIB}, {size, 0}, {0, 0}};
    for (long[] r : ranges) {
      byte[] got = read(store, key, r[0], r[1]);
      byte[] want = Arrays.copyOfRange(data, (int) r[0], (int) (r[0] + r[1]));
      assertThat(sha256(got)).as("range %d+%d", r[0], r[1]).isEqualTo(sha256(want));
    }
    assertThatThrownBy(() -> read(store, key, size - 1, 2)).satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.SHORT));
    assertThatThrownBy(() -> read(store, key, size + 1, 0)).satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.SHORT));
    assertThatThrownBy(() -> read(store, key, size, 1)).satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.SHORT));
    assertThatThrownBy(() -> read(store, key + "-missing", 0, 1)).satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.NOT_FOUND));
    assertThatThrownBy(() -> read(store, key + "-missing", 0, 0)).satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.NOT_FOUND));
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void refusesToReplaceAnObject(Kind kind) throws Exception {
    ObjectStore store = store(kind);
    String prefix = prefix();
    byte[] first = Samples.random(random, 1000);
    write(store, prefix + "small", first);
    assertThatThrownBy(() -> write(store, prefix + "small", Samples.random(random, 10)))
        .satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.EXISTS))
        .hasMessage("storing an object failed: an object is already stored under this key");
    assertThat(sha256(read(store, prefix + "small", 0, 1000))).isEqualTo(sha256(first));

    byte[] big = Samples.random(random, 9 * MIB); // a multipart upload on S3
    write(store, prefix + "big", big);
    assertThatThrownBy(() -> write(store, prefix + "big", Samples.random(random, 9 * MIB)))
        .satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.EXISTS));
    assertThat(sha256(read(store, prefix + "big", 0, big.length))).isEqualTo(sha256(big));
    assertThat(listAll(store, prefix, 10)).extracting(ObjectInfo::key).containsExactly(prefix + "big", prefix + "small");
  }

  /** Two writers race for one key: exactly one stores its bytes, the other is refused. */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void oneOfTwoConcurrentWritesWins(Kind kind) throws Exception {
    ObjectStore store = store(kind);
    String key = prefix() + "raced";
    byte[] a = Samples.random(random, 2 * MIB);
    byte[] b = Samples.random(random, 2 * MIB);
    List<Future<Long>> writes = on(() -> Future.succeededFuture(List.of(
        store.write(key, new ByteStream(context, a)), store.write(key, new ByteStream(context, b)))));
    on(() -> Future.join(writes.get(0), writes.get(1)).recover(err -> Future.succeededFuture()));

    assertThat(writes.stream().filter(Future::succeeded).count()).isEqualTo(1);
    Future<Long> lost = writes.get(0).failed() ? writes.get(0) : writes.get(1);
    assertThat(reasonOf(lost.cause())).isEqualTo(Reason.EXISTS);
    byte[] winner = writes.get(0).succeeded() ? a : b;
    assertThat(sha256(read(store, key, 0, winner.length))).isEqualTo(sha256(winner));
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void deletesABatch(Kind kind) throws Exception {
    ObjectStore store = store(kind);
    String prefix = prefix();
    for (String name : List.of("a", "b/c", "b/d", "e")) {
      write(store, prefix + name, Samples.random(random, 100));
    }
    on(() -> store.delete(List.of(prefix + "a", prefix + "b/c", prefix + "b/d", prefix + "never-written")));

    assertThat(listAll(store, prefix, 10)).extracting(ObjectInfo::key).containsExactly(prefix + "e");
    assertThatThrownBy(() -> read(store, prefix + "b/c", 0, 1)).satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.NOT_FOUND));
    on(() -> store.delete(List.of())); // nothing to do
    if (kind == Kind.LOCAL) { // emptied directories go too
      assertThat(local.root().resolve(prefix + "b")).doesNotExist();
    }
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void listsPageByPage(Kind kind) throws Exception {
    ObjectStore store = store(kind);
    String prefix = prefix();
    List<String> names = List.of("p/c", "p/b/d", "p/a", "p/b.e", "p/b/c", "q");
    for (String name : names) {
      write(store, prefix + name, Samples.random(random, 10));
    }

    List<List<String>> pages = new ArrayList<>();
    String token = null;
    do {
      String t = token;
      ObjectPage page = on(() -> store.list(prefix + "p/", t, 2));
      pages.add(page.objects().stream().map(ObjectInfo::key).toList());
      token = page.next();
    } while (token != null && pages.size() < 10);

    assertThat(pages).containsExactly(
        List.of(prefix + "p/a", prefix + "p/b.e"),
        List.of(prefix + "p/b/c", prefix + "p/b/d"),
        List.of(prefix + "p/c"));
    assertThat(listAll(store, prefix + "p/b", 2)).extracting(ObjectInfo::key)
        .containsExactly(prefix + "p/b.e", prefix + "p/b/c", prefix + "p/b/d");
    assertThat(listAll(store, prefix, 1000)).hasSize(6).allSatisfy(o -> {
      assertThat(o.size()).isEqualTo(10);
      assertThat(o.modifiedMs()).isGreaterThan(System.currentTimeMillis() - 600_000);
    });
    assertThat(listAll(store, prefix + "nothing/", 2)).isEmpty();
  }

  /**
   * A consumer that stops taking data: the store must stop reading (memory stays bounded) and go on
   * where it stopped once the consumer drains.
   */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void readsNoFasterThanTheConsumer(Kind kind) throws Exception {
    ObjectStore store = store(kind);
    String key = prefix() + "big";
    byte[] data = Samples.random(random, 32 * MIB);
    write(store, key, data);

    PausingSink sink = new PausingSink(MIB);
    long forwardedBefore = faults.responseBytes();
    ObjectRead read = on(() -> store.read(key, 0, data.length));
    Future<Void> piped = on(() -> Future.succeededFuture(read.pipeTo(sink)));
    Thread.sleep(2000);

    assertThat(piped.isComplete()).isFalse();
    long received = sink.bytes.get();
    assertThat(received).isBetween((long) MIB, 2L * MIB); // 1 MiB accepted, then at most a buffer or two
    if (kind == Kind.S3) { // nor does the HTTP connection run ahead: it stops once the socket buffers are full
      long forwarded = faults.responseBytes();
      for (int i = 0; i < 60; i++) { // until it has not moved for a second (the machine may be slow)
        Thread.sleep(1000);
        long now = faults.responseBytes();
        if (now == forwarded) {
          break;
        }
        forwarded = now;
      }
      System.out.printf("S3 read paused: %d bytes delivered, %d bytes came over HTTP%n", received, forwarded - forwardedBefore);
      assertThat(forwarded - forwardedBefore).isLessThan(24L * MIB);
      assertThat(piped.isComplete()).isFalse();
    }

    context.runOnContext(v -> sink.release());
    on(() -> piped);
    assertThat(sink.bytes.get()).isEqualTo(data.length);
    assertThat(sha256(sink.all.getBytes())).isEqualTo(sha256(data));
  }

  /**
   * A server that stops taking a part: the write stops reading its body, holding at most about two
   * parts (one being sent, one full and waiting) plus what the sockets hold, then completes once the
   * server goes on.
   */
  @Test
  void s3WritesNoFasterThanTheServerTakesParts() throws Exception {
    String key = prefix() + "held";
    byte[] data = Samples.random(random, 32 * MIB);
    faults.holdRequests(r -> r.method().equals("PUT") && r.target().contains(key) && r.target().contains("partNumber=1"));
    ByteStream body = new ByteStream(context, data);
    Future<Long> written = on(() -> Future.succeededFuture(s3.write(key, body)));
    Thread.sleep(2000);

    assertThat(written.isComplete()).isFalse();
    long read = on(() -> Future.succeededFuture((long) body.position()));
    System.out.printf("S3 write held: %d bytes taken from the body%n", read);
    assertThat(read).isBetween(16L * MIB, 16L * MIB + 12L * MIB); // two parts, plus socket buffers at most

    faults.clear();
    assertThat(on(() -> written)).isEqualTo(data.length);
    assertThat(sha256(read(s3, key, 0, data.length))).isEqualTo(sha256(data));
  }

  /** The body fails half-way (the client went away): the write fails and leaves nothing. */
  @ParameterizedTest
  @EnumSource(Kind.class)
  void aFailedBodyLeavesNothing(Kind kind) throws Exception {
    ObjectStore store = store(kind);
    String prefix = prefix();
    byte[] data = Samples.random(random, 20 * MIB);
    for (int failAt : new int[] {3 * MIB, 17 * MIB}) { // within the first part; after two parts went
      String key = prefix + "cut-" + failAt;
      assertThatThrownBy(() -> on(() -> store.write(key, new ByteStream(context, data, 64 * 1024, failAt))))
          .satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.BODY));
      assertThatThrownBy(() -> read(store, key, 0, 0)).satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.NOT_FOUND));
    }
    assertThat(listAll(store, prefix, 10)).isEmpty();
    assertNoUnfinishedWrites(kind, prefix);
  }

  private void assertNoUnfinishedWrites(Kind kind, String prefix) throws Exception {
    if (kind == Kind.S3) {
      assertThat(s3.client().listMultipartUploads(b -> b.bucket(BUCKET).prefix(prefix)).get(30, TimeUnit.SECONDS).uploads())
          .isEmpty();
    } else {
      Path dir = local.root().resolve(prefix);
      if (Files.exists(dir)) {
        try (Stream<Path> files = Tree.walk(dir)) {
          assertThat(files.filter(Files::isRegularFile).toList()).isEmpty();
        }
      }
    }
  }

  /** A temporary file left by a crashed write is never listed, and goes once old enough. */
  @Test
  void localTemporariesOfCrashedWritesAreHiddenThenRemoved() throws Exception {
    String prefix = prefix();
    write(local, prefix + "kept", Samples.random(random, 10));
    Path dir = local.root().resolve(prefix);
    Path old = Files.write(dir.resolve(".crashed.1234.tmp"), Samples.random(random, 10));
    Files.setLastModifiedTime(old, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 7_200_000));
    Path recent = Files.write(dir.resolve(".writing.5678.tmp"), Samples.random(random, 10));

    assertThat(listAll(local, prefix, 10)).extracting(ObjectInfo::key).containsExactly(prefix + "kept");
    assertThat(on(() -> local.removeTemporaries(3_600_000))).isEqualTo(1);
    assertThat(old).doesNotExist();
    assertThat(recent).exists(); // maybe a write in progress
    assertThat(dir.resolve("kept")).exists();
  }

  /** A PUT cut by the network, every time it is tried: a clear failure, nothing stored. */
  @Test
  void s3ACutPutLeavesNothing() throws Exception {
    String prefix = prefix();
    String one = prefix + "one-put";
    faults.cutRequests(r -> r.method().equals("PUT") && r.target().contains(one));
    assertThatThrownBy(() -> write(s3, one, Samples.random(random, MIB)))
        .satisfies(t -> {
          assertThat(reasonOf(t)).isEqualTo(Reason.UNAVAILABLE);
          assertThat(t.getMessage()).isEqualTo("storing an object failed: storage is unavailable")
              .doesNotContain("127.0.0.1").doesNotContain(String.valueOf(faults.port()));
        });
    assertThat(faults.faults()).isGreaterThanOrEqualTo(1);

    String multi = prefix + "multipart";
    int before = faults.faults();
    faults.cutRequests(r -> r.method().equals("PUT") && r.target().contains(multi) && r.target().contains("partNumber=2"));
    assertThatThrownBy(() -> write(s3, multi, Samples.random(random, 20 * MIB)))
        .satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.UNAVAILABLE));
    assertThat(faults.faults()).isGreaterThan(before);
    faults.clear();

    for (String key : List.of(one, multi)) {
      assertThatThrownBy(() -> read(s3, key, 0, 0)).satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.NOT_FOUND));
    }
    assertThat(listAll(s3, prefix, 10)).isEmpty();
    assertNoUnfinishedWrites(Kind.S3, prefix); // the multipart upload was aborted
    byte[] data = Samples.random(random, 9 * MIB); // and the same key can be written afterwards
    write(s3, multi, data);
    assertThat(sha256(read(s3, multi, 0, data.length))).isEqualTo(sha256(data));
  }

  /** A GET cut by the network mid-body: the stream fails (no end), and a new read works. */
  @Test
  void s3ACutGetFailsTheStream() throws Exception {
    String key = prefix() + "cut-get";
    byte[] data = Samples.random(random, 4 * MIB);
    write(s3, key, data);
    faults.cutResponses(r -> r.method().equals("GET") && r.target().contains(key), MIB);

    AtomicLong received = new AtomicLong();
    Throwable failure = on(() -> s3.read(key, 0, data.length).compose(read -> {
      Promise<Throwable> p = Promise.promise();
      read.handler(b -> received.addAndGet(b.length()));
      read.endHandler(v -> p.tryFail("the stream ended although it was cut"));
      read.exceptionHandler(err -> {
        read.close();
        p.tryComplete(err);
      });
      return p.future();
    }));
    assertThat(reasonOf(failure)).isEqualTo(Reason.UNAVAILABLE);
    assertThat(failure.getMessage()).isEqualTo("reading an object failed: storage is unavailable");
    assertThat(received.get()).isLessThan(data.length);

    faults.clear();
    assertThat(sha256(read(s3, key, 0, data.length))).isEqualTo(sha256(data));
  }

  @Test
  void probesTell() throws Exception {
    on(() -> local.probe());
    on(() -> s3.probe());
    faults.cutRequests(r -> r.method().equals("HEAD")); // a server that resets every connection
    assertThatThrownBy(() -> on(() -> s3.probe())).satisfies(t -> {
      assertThat(reasonOf(t)).isEqualTo(Reason.UNAVAILABLE);
      assertThat(t.getMessage()).isEqualTo("checking storage failed: storage is unavailable");
    });
    faults.clear();
    on(() -> s3.probe());
    LocalObjectStore onAFile = new LocalObjectStore(vertx, io, Files.createTempFile(localRoot, "not-a-dir", ""), true);
    assertThatThrownBy(() -> on(onAFile::probe)).satisfies(t -> assertThat(reasonOf(t)).isEqualTo(Reason.UNAVAILABLE));
  }

  /** A WriteStream that takes {@code limit} bytes, then reports itself full until released. */
  private static final class PausingSink implements WriteStream<Buffer> {
    final AtomicLong bytes = new AtomicLong();
    final Buffer all = Buffer.buffer();
    private final long limit;
    private boolean released;
    private Handler<Void> drain;

    PausingSink(long limit) {
      this.limit = limit;
    }

    void release() {
      released = true;
      if (drain != null) {
        Handler<Void> d = drain;
        drain = null;
        d.handle(null);
      }
    }

    @Override
    public Future<Void> write(Buffer data) {
      bytes.addAndGet(data.length());
      all.appendBuffer(data);
      return Future.succeededFuture();
    }

    @Override
    public boolean writeQueueFull() {
      return !released && bytes.get() >= limit;
    }

    @Override
    public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
      drain = handler;
      return this;
    }

    @Override
    public Future<Void> end() {
      return Future.succeededFuture();
    }

    @Override
    public WriteStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
      return this;
    }

    @Override
    public WriteStream<Buffer> setWriteQueueMaxSize(int maxSize) {
      return this;
    }
  }
}

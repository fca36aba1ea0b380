package dev.files.content;

import dev.files.crypto.ChunkKeys;
import dev.files.crypto.DataKeys;
import dev.files.crypto.EncryptedObjects;
import dev.files.model.ChunkRecord;
import dev.files.model.FileRecord;
import dev.files.storage.IoExecutor;
import dev.files.storage.ObjectRead;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.PooledBuffers;
import dev.files.storage.StorageException;
import dev.files.storage.local.LocalObjectStore;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static dev.files.support.ProcessResources.openFiles;
import static dev.files.support.ProcessResources.takenDirectBuffers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static dev.files.support.Eventually.eventually;

/**
 * A file's content read through {@link FileContent} from encrypted chunk objects in a local
 * directory: any range, within one chunk or across several (an empty chunk among them), comes back
 * byte-exact, also to a slow reader, through the heap streams ({@code open}) and the pooled direct
 * buffers of downloads ({@code openDirect}); the pieces are cut where the chunks meet; a missing
 * first object fails the open, a missing later one fails the stream.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FileContentTest {

  private static final int[] CHUNK_SIZES = {100_000, 0, 1, 300_000, 65_497};

  private final Random random = new Random(7);
  private Vertx vertx;
  private IoExecutor io;
  private Path dir;
  private EncryptedObjects objects;
  private FileContent content;
  private FileRecord file;
  private List<ChunkRecord> chunks;
  private byte[] plain;

  @BeforeAll
  void start() throws Exception {
    vertx = Vertx.vertx();
    io = new IoExecutor(vertx, 2);
    dir = Files.createTempDirectory("file-content");
    objects = new EncryptedObjects(vertx, io, new LocalObjectStore(vertx, io, dir, false));
    DataKeys keys = DataKeys.create(TestNode.MASTER_KEY, TestNode.MASTER_KEY_ID, "", false);
    content = new FileContent(vertx, objects, keys);
    UUID id = UUID.randomUUID();
    DataKeys.NewKey key = keys.newDataKey(id);
    chunks = new ArrayList<>();
    plain = new byte[Arrays.stream(CHUNK_SIZES).sum()];
    random.nextBytes(plain);
    int at = 0;
    for (int i = 0; i < CHUNK_SIZES.length; i++) {
      String objectKey = ChunkKeys.newKey(id);
      byte[] part = Arrays.copyOfRange(plain, at, at + CHUNK_SIZES[i]);
      int number = i + 1;
      var stored = vertx.executeBlocking(() -> null, false)
          .compose(x -> objects.create(objectKey, DataKeys.cipher(key.aead(), id, 1, number)))
          .compose(w -> w.write(Buffer.buffer(part)).compose(v -> w.commit()))
          .await(60, TimeUnit.SECONDS);
      chunks.add(new ChunkRecord(number, stored.size(), stored.sha256(), objectKey));
      at += CHUNK_SIZES[i];
    }
    file = new FileRecord(id, UUID.randomUUID(), "user", UUID.randomUUID(), UUID.randomUUID(), null, "f.bin",
        "application/octet-stream", 1, plain.length, chunks.size(), null, null, null, null, null, plain.length,
        new JsonArray(), "none", 0, 0, key.wrapped().masterKeyId(), key.wrapped().bytes());
  }

  @AfterAll
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
    io.close();
    try (var s = Tree.walk(dir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** The range as read through {@link FileContent}; a slow reader takes one buffer at a time. */
  private byte[] read(List<ChunkRecord> chunks, long offset, long length, boolean slow) throws Exception {
    return read(chunks, offset, length, slow, false);
  }

  /** As above; {@code direct}: through {@link FileContent.Content#openDirect} (pooled direct buffers). */
  private byte[] read(List<ChunkRecord> chunks, long offset, long length, boolean slow, boolean direct) throws Exception {
    FileContent.Content c = content.of(file, chunks);
    return vertx.<Void>executeBlocking(() -> null, false)
        .compose(x -> direct ? c.openDirect(offset, length) : c.open(offset, length)).compose(r -> drain(r, slow))
        .await(60, TimeUnit.SECONDS);
  }

  private Future<byte[]> drain(ObjectRead r, boolean slow) {
    Buffer all = Buffer.buffer();
    Promise<byte[]> done = Promise.promise();
    if (slow) {
      r.pause();
    }
    r.handler(b -> {
      all.appendBuffer(b);
      PooledBuffers.release(b);
      if (slow) {
        vertx.setTimer(1, t -> r.fetch(1));
      }
    }).exceptionHandler(done::tryFail).endHandler(v -> done.tryComplete(all.getBytes()));
    if (slow) {
      r.fetch(1);
    }
    return done.future().eventually(r::close);
  }

  @Test
  void anyRangeComesBackExact() throws Exception {
    assertThat(FileContent.addsUp(file, chunks)).isTrue();
    long size = plain.length;
    long[][] ranges = {{0, size}, {0, 1}, {99_999, 2}, {100_000, 1}, {100_000, 2}, {99_000, 302_000},
        {100_001, 300_000}, {size - 1, 1}, {5, 0}, {size, 0}, {12_345, size - 12_345 - 7}};
    for (boolean direct : new boolean[] {false, true}) {
      for (long[] r : ranges) {
        assertThat(read(chunks, r[0], r[1], false, direct)).as("range %d+%d, direct %s", r[0], r[1], direct)
            .isEqualTo(Arrays.copyOfRange(plain, (int) r[0], (int) (r[0] + r[1])));
      }
      assertThat(read(chunks, 0, size, true, direct)).as("a slow reader, direct %s", direct).isEqualTo(plain);
    }
    FileContent.Content c = content.of(file, chunks);
    assertThat(vertx.<Void>executeBlocking(() -> null, false).compose(x -> c.readAll()).await(60, TimeUnit.SECONDS).getBytes())
        .isEqualTo(plain);
  }

  /**
   * A consumer that sets its handlers after the read has already found that there is nothing to read
   * (an empty range, pumped on its context before the consumer came) still gets the end. The end was
   * lost once, and the consumer waited for ever: {@link #anyRangeComesBackExact} timed out after 60 s
   * on a loaded machine, now and then, on the range 5+0.
   */
  @Test
  void anEndBeforeTheConsumersHandlersReachesThemOnceSet() throws Exception {
    FileContent.Content c = content.of(file, chunks);
    for (boolean direct : new boolean[] {false, true}) {
      io.vertx.core.Context ctx = vertx.getOrCreateContext();
      Promise<ObjectRead> opened = Promise.promise();
      ctx.runOnContext(v -> (direct ? c.openDirect(5, 0) : c.open(5, 0)).onComplete(opened));
      ObjectRead r = opened.future().await(60, TimeUnit.SECONDS);
      // everything the read queued on its context before this has run: its pump found the range empty
      Promise<Void> barrier = Promise.promise();
      ctx.runOnContext(v -> barrier.complete());
      barrier.future().await(60, TimeUnit.SECONDS);

      Promise<Void> ended = Promise.promise();
      r.handler(b -> ended.tryFail("a buffer of an empty range: " + b.length() + " bytes"))
          .exceptionHandler(ended::tryFail).endHandler(v -> ended.tryComplete());
      assertThat(ended.future().await(30, TimeUnit.SECONDS)).as("direct %s", direct).isNull();
      r.close();
    }
  }

  @Test
  void piecesAreCutWhereTheChunksMeet() throws Exception {
    List<FileContent.Piece> pieces = FileContent.pieces(file, null, chunks, 99_999, 100_002);
    assertThat(pieces).extracting(FileContent.Piece::key)
        .containsExactly(chunks.get(0).storageKey(), chunks.get(2).storageKey(), chunks.get(3).storageKey());
    assertThat(pieces).extracting(FileContent.Piece::offset).containsExactly(99_999L, 0L, 0L);
    assertThat(pieces).extracting(FileContent.Piece::length).containsExactly(1L, 1L, 1L);
    assertThat(FileContent.pieces(file, null, chunks, 100_000, 100_000)).isEmpty();
    assertThatThrownBy(() -> content.of(file, chunks).open(1, plain.length)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aMissingFirstObjectFailsTheOpenAndALaterOneTheStream() throws Exception {
    List<ChunkRecord> gone = new ArrayList<>(chunks);
    ChunkRecord first = gone.get(0);
    gone.set(0, new ChunkRecord(first.chunkNumber(), first.size(), first.sha256(), ChunkKeys.newKey(file.id())));
    List<ChunkRecord> later = new ArrayList<>(chunks);
    ChunkRecord fourth = later.get(3);
    later.set(3, new ChunkRecord(fourth.chunkNumber(), fourth.size(), fourth.sha256(), ChunkKeys.newKey(file.id())));
    for (boolean direct : new boolean[] {false, true}) {
      assertThat(storeFailure(() -> read(gone, 0, 10, false, direct)).reason()).isEqualTo(ObjectStoreException.Reason.NOT_FOUND);
      assertThat(storeFailure(() -> read(later, 0, plain.length, false, direct)).reason())
          .isEqualTo(ObjectStoreException.Reason.NOT_FOUND);
    }
  }

  /** The {@link ObjectStoreException} that {@code call} fails with, wherever it is in the chain of causes. */
  private static ObjectStoreException storeFailure(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
    Throwable e = org.assertj.core.api.Assertions.catchThrowable(call);
    assertThat(e).isNotNull();
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ObjectStoreException o) {
        return o;
      }
    }
    throw new AssertionError("no ObjectStoreException in " + e, e);
  }

  /**
   * A file made of chunks moved from other files (a tus final upload): each chunk is decrypted with
   * its source's data key and associated data (source file id, generation, chunk number), not the
   * file's own; ranges within and across such chunks come back exact.
   */
  @Test
  void chunksMovedFromOtherFilesReadWithTheirSourcesKeys() throws Exception {
    DataKeys keys = DataKeys.create(TestNode.MASTER_KEY, TestNode.MASTER_KEY_ID, "", false);
    UUID other = UUID.randomUUID();
    DataKeys.NewKey otherKey = keys.newDataKey(other);
    byte[] tail = new byte[70_000];
    random.nextBytes(tail);
    String objectKey = ChunkKeys.newKey(other);
    var stored = vertx.executeBlocking(() -> null, false)
        .compose(x -> objects.create(objectKey, DataKeys.cipher(otherKey.aead(), other, 1, 1)))
        .compose(w -> w.write(Buffer.buffer(tail)).compose(v -> w.commit()))
        .await(60, TimeUnit.SECONDS);
    ChunkRecord fourth = chunks.get(3); // 300,000 bytes of the file above, its chunk 4 of generation 1
    List<ChunkRecord> moved = List.of(
        new ChunkRecord(1, fourth.size(), fourth.sha256(), fourth.storageKey(),
            new ChunkRecord.Source(file.id(), 1, 4, file.dataKeyId(), file.dataKey())),
        new ChunkRecord(2, stored.size(), stored.sha256(), objectKey,
            new ChunkRecord.Source(other, 1, 1, otherKey.wrapped().masterKeyId(), otherKey.wrapped().bytes())));
    UUID id = UUID.randomUUID();
    DataKeys.NewKey own = keys.newDataKey(id);
    FileRecord joined = new FileRecord(id, file.companyId(), "user", UUID.randomUUID(), UUID.randomUUID(), null, "j.bin",
        "application/octet-stream", 1, 370_000, 2, null, null, null, null, null, 370_000,
        new JsonArray(), "none", 0, 0, own.wrapped().masterKeyId(), own.wrapped().bytes());
    byte[] expected = new byte[370_000];
    System.arraycopy(plain, 100_001, expected, 0, 300_000);
    System.arraycopy(tail, 0, expected, 300_000, 70_000);
    FileContent.Content c = content.of(joined, moved);
    long[][] ranges = {{0, 370_000}, {299_990, 20}, {300_000, 70_000}, {5, 100}};
    for (boolean direct : new boolean[] {false, true}) {
      for (long[] r : ranges) {
        byte[] got = vertx.<Void>executeBlocking(() -> null, false)
            .compose(x -> direct ? c.openDirect(r[0], r[1]) : c.open(r[0], r[1]))
            .compose(read -> drain(read, false)).await(60, TimeUnit.SECONDS);
        assertThat(got).as("range %d+%d, direct %s", r[0], r[1], direct)
            .isEqualTo(Arrays.copyOfRange(expected, (int) r[0], (int) (r[0] + r[1])));
      }
    }
  }

  /**
   * {@link FileContent.Content#openDirect} over a chunk of several batches (3 MiB and a bit: four
   * storage tasks of 16 segments): ranges that start, end and cross batch boundaries come back
   * exact; every pooled buffer goes back to the pool and the object's file is closed after a whole
   * read, after a reader that closes the stream after its first buffer (a client gone away), and
   * after a segment that does not authenticate (which fails the stream as damaged data).
   */
  @Test
  void directReadsAreExactAndGiveBackTheirBuffersAndFiles() throws Exception {
    DataKeys keys = DataKeys.create(TestNode.MASTER_KEY, TestNode.MASTER_KEY_ID, "", false);
    UUID id = UUID.randomUUID();
    DataKeys.NewKey key = keys.newDataKey(id);
    byte[] big = new byte[3 * 1024 * 1024 + 12_345];
    random.nextBytes(big);
    String objectKey = ChunkKeys.newKey(id);
    var stored = vertx.executeBlocking(() -> null, false)
        .compose(x -> objects.create(objectKey, DataKeys.cipher(key.aead(), id, 1, 1)))
        .compose(w -> w.write(Buffer.buffer(big)).compose(v -> w.commit()))
        .await(60, TimeUnit.SECONDS);
    List<ChunkRecord> one = List.of(new ChunkRecord(1, stored.size(), stored.sha256(), objectKey));
    FileRecord f = new FileRecord(id, file.companyId(), "user", UUID.randomUUID(), UUID.randomUUID(), null, "b.bin",
        "application/octet-stream", 1, big.length, 1, null, null, null, null, null, big.length,
        new JsonArray(), "none", 0, 0, key.wrapped().masterKeyId(), key.wrapped().bytes());
    FileContent.Content c = content.of(f, one);
    long batch = 16L * (DataKeys.SEGMENT_BYTES - 16) - 40; // plaintext of the first batch (header: 40 bytes)
    long[][] ranges = {{0, big.length}, {batch - 1, 2}, {batch, 1}, {1, big.length - 2}, {batch - 5, 2 * batch},
        {big.length - 1, 1}, {big.length - 70_000, 70_000}};
    long fds = openFiles();
    long taken = takenDirectBuffers();
    for (long[] r : ranges) {
      byte[] got = vertx.<Void>executeBlocking(() -> null, false).compose(x -> c.openDirect(r[0], r[1]))
          .compose(read -> drain(read, r[1] > batch)).await(60, TimeUnit.SECONDS);
      assertThat(got).as("range %d+%d", r[0], r[1]).isEqualTo(Arrays.copyOfRange(big, (int) r[0], (int) (r[0] + r[1])));
    }
    eventually(Duration.ofSeconds(30), () -> {
      assertThat(takenDirectBuffers()).as("pooled buffers still taken after whole reads").isEqualTo(taken);
      assertThat(openFiles()).as("open files after whole reads").isEqualTo(fds);
    });

    // a reader that goes away after its first buffer
    Promise<Void> first = Promise.promise();
    ObjectRead abandoned = vertx.<Void>executeBlocking(() -> null, false).compose(x -> c.openDirect(0, big.length))
        .await(60, TimeUnit.SECONDS);
    vertx.runOnContext(v -> abandoned.handler(b -> {
      abandoned.pause();
      PooledBuffers.release(b);
      abandoned.close();
      first.tryComplete();
    }));
    first.future().await(60, TimeUnit.SECONDS);
    eventually(Duration.ofSeconds(30), () -> {
      assertThat(takenDirectBuffers()).as("pooled buffers still taken after a reader went away").isEqualTo(taken);
      assertThat(openFiles()).as("open files after a reader went away").isEqualTo(fds);
    });

    // a damaged segment in the third batch: the bytes before it come, then the stream fails
    Path object = dir.resolve(objectKey);
    byte[] cipher = Files.readAllBytes(object);
    int damaged = 40 * DataKeys.SEGMENT_BYTES + 100;
    cipher[damaged] ^= 1;
    Files.write(object, cipher);
    Throwable failed = org.assertj.core.api.Assertions.catchThrowable(() -> vertx.<Void>executeBlocking(() -> null, false)
        .compose(x -> c.openDirect(0, big.length)).compose(read -> drain(read, false)).await(60, TimeUnit.SECONDS));
    assertThat(failed).isInstanceOf(StorageException.class).hasMessageContaining("cannot read an object");
    eventually(Duration.ofSeconds(30), () -> {
      assertThat(takenDirectBuffers()).as("pooled buffers still taken after a damaged segment").isEqualTo(taken);
      assertThat(openFiles()).as("open files after a damaged segment").isEqualTo(fds);
    });
  }
}

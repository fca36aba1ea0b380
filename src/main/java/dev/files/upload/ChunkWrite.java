package dev.files.upload;

import dev.files.crypto.ChunkCipher;
import dev.files.crypto.EncryptedObjects;
import dev.files.crypto.EncryptedWrite;
import dev.files.crypto.StoredChunk;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.WriteStream;

import java.util.ArrayList;
import java.util.List;

/**
 * One chunk's bytes on their way into a new store object, opened by {@link Uploads#open}: a write
 * stream that counts the bytes, limits them, keeps the first {@value #HEAD_BYTES} for content sniffing,
 * and hands them to an {@link EncryptedWrite} (encrypted with the file's data key, for its generation
 * and chunk number, and hashed) into the object named {@link #key()}.
 *
 * <p>The object is created asynchronously; until it is open, writes are held and
 * {@link #writeQueueFull()} is true, so the request pauses. A write that takes the count past the
 * limit fails with {@link TooLargeException} and forwards nothing (nor does any later write).
 * {@link #end()} commits the object and completes {@link #stored()}; {@link #abort()} removes the
 * object whatever stage it reached. Once stored, {@link #size()}, {@link #sha256()} and
 * {@link #head()} describe the bytes for the commit ({@link Uploads#commit}).
 */
public final class ChunkWrite implements WriteStream<Buffer> {

  /** How many leading bytes are kept for {@link #head()}. */
  static final int HEAD_BYTES = 64;

  /** Thrown (as a failed write) when the body exceeds the limit. */
  public static final class TooLargeException extends RuntimeException {
    public TooLargeException(long limit) {
      super("body exceeds the limit of " + limit + " bytes");
    }
  }

  private final EncryptedObjects store;
  private final String key;
  private final int chunkNumber;
  private final long limit;
  private final Promise<Void> stored = Promise.promise();
  /** The encrypted object's write, once the store has created it. */
  private final Future<EncryptedWrite> target;
  /** Buffers written before the object was open, in order. */
  private final List<Buffer> held = new ArrayList<>();
  private final byte[] head = new byte[HEAD_BYTES];
  /** Bytes handed to the object so far. */
  private long count;
  private boolean tooLarge;
  /** What the committed write stored; null until {@link #end()} succeeded. */
  private StoredChunk written;
  private Handler<Void> drainHandler;
  private boolean ended;
  private boolean dropped;

  /**
   * @param key         the new object's storage key
   * @param limit       the most bytes the chunk may hold
   * @param chunkNumber the chunk the bytes are encrypted for
   */
  ChunkWrite(EncryptedObjects store, String key, long limit, int chunkNumber, ChunkCipher cipher) {
    this.store = store;
    this.key = key;
    this.chunkNumber = chunkNumber;
    this.limit = limit;
    this.target = store.create(key, cipher);
    target.onComplete(ar -> {
      if (ar.failed()) {
        stored.tryFail(ar.cause());
        return;
      }
      if (dropped) {
        ar.result().abort();
        return;
      }
      for (Buffer b : held) {
        forward(ar.result(), b).onFailure(stored::tryFail);
      }
      held.clear();
      if (drainHandler != null) {
        ar.result().drainHandler(drainHandler);
      }
      if (ended) {
        commit(ar.result());
      } else if (drainHandler != null && !ar.result().writeQueueFull()) {
        drainHandler.handle(null);
      }
    });
  }

  /** The store key of the chunk's object. */
  public String key() {
    return key;
  }

  /** The 1-based chunk number the bytes are encrypted for. */
  public int chunkNumber() {
    return chunkNumber;
  }

  /**
   * Completes once the object is committed ({@link #end()}); fails when the object cannot be made or
   * written, a write goes beyond the limit, or the write was aborted.
   */
  public Future<Void> stored() {
    return stored.future();
  }

  /** True once the object is open for writing (bytes written now reach it). */
  public boolean open() {
    return target.succeeded();
  }

  /** Plaintext bytes stored; only once {@link #stored()} succeeded. */
  public long size() {
    return written.size();
  }

  /** SHA-256 of the plaintext bytes, hex; only once {@link #stored()} succeeded. */
  public String sha256() {
    return written.sha256();
  }

  /** The first {@code min(bytes written, 64)} bytes, for content sniffing. */
  public byte[] head() {
    return java.util.Arrays.copyOf(head, (int) Math.min(count, HEAD_BYTES));
  }

  @Override
  public Future<Void> write(Buffer data) {
    if (target.succeeded()) {
      return forward(target.result(), data);
    }
    if (target.failed()) {
      return Future.failedFuture(target.cause());
    }
    held.add(data);
    return Future.succeededFuture();
  }

  /** Counts {@code data} against the limit, keeps what belongs to the head, and hands it to the object. */
  private Future<Void> forward(EncryptedWrite write, Buffer data) {
    int n = data.length();
    if (tooLarge || count + n > limit) {
      tooLarge = true;
      return Future.failedFuture(new TooLargeException(limit));
    }
    if (count < HEAD_BYTES) {
      int k = (int) Math.min(n, HEAD_BYTES - count);
      data.getBytes(0, k, head, (int) count);
    }
    count += n;
    return write.write(data);
  }

  @Override
  public Future<Void> end() {
    ended = true;
    if (target.succeeded()) {
      commit(target.result());
    }
    return stored.future();
  }

  /** Commits the object, then completes {@link #stored} once: a chunk refused while it streams has already failed it. */
  private void commit(EncryptedWrite write) {
    write.commit().onComplete((AsyncResult<StoredChunk> ar) -> {
      if (ar.succeeded()) {
        written = ar.result();
        stored.tryComplete();
      } else {
        stored.tryFail(ar.cause());
      }
    });
  }

  /**
   * Drops the chunk: its object is removed, whether it is being written, being committed (the write
   * ended before the request failed) or already committed. Never fails.
   */
  public Future<Void> abort() {
    dropped = true;
    stored.tryFail("dropped");
    if (!target.succeeded()) {
      return Future.succeededFuture(); // still being created: the creation handler aborts it
    }
    return target.result().abort().transform(v -> store.delete(key)).recover(e -> Future.succeededFuture());
  }

  @Override
  public boolean writeQueueFull() {
    return !target.succeeded() || target.result().writeQueueFull();
  }

  @Override
  public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
    drainHandler = handler;
    if (target.succeeded()) {
      target.result().drainHandler(handler);
    }
    return this;
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

package dev.files.upload;

import dev.files.crypto.ChunkCipher;
import dev.files.crypto.EncryptedObjects;
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
 * stream that encrypts (with the file's data key, for its generation and chunk number), hashes,
 * counts and limits the bytes ({@link ChunkSink}) into the object named {@link #key()}.
 *
 * <p>The object is created asynchronously; until it is open, writes are held and
 * {@link #writeQueueFull()} is true, so the request pauses. {@link #end()} commits the object and
 * completes {@link #stored()}; a write beyond the limit fails with {@link ChunkSink.TooLargeException};
 * {@link #abort()} removes the object whatever stage it reached. Once stored, {@link #size()},
 * {@link #sha256()} and {@link #head()} describe the bytes for the commit ({@link Uploads#commit}).
 */
public final class ChunkWrite implements WriteStream<Buffer> {
  private final EncryptedObjects store;
  private final String key;
  private final int chunkNumber;
  private final Promise<Void> stored = Promise.promise();
  private final Future<ChunkSink> sink;
  private final List<Buffer> held = new ArrayList<>();
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
    this.sink = store.create(key, cipher).map(write -> new ChunkSink(write, limit));
    sink.onComplete(ar -> {
      if (ar.failed()) {
        stored.tryFail(ar.cause());
        return;
      }
      if (dropped) {
        ar.result().target().abort();
        return;
      }
      for (Buffer b : held) {
        ar.result().write(b).onFailure(stored::tryFail);
      }
      held.clear();
      if (drainHandler != null) {
        ar.result().drainHandler(drainHandler);
      }
      if (ended) {
        ar.result().end().onComplete(this::settle);
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
    return sink.succeeded();
  }

  /** Plaintext bytes stored; only once {@link #stored()} succeeded. */
  public long size() {
    return sink.result().stored().size();
  }

  /** SHA-256 of the plaintext bytes, hex; only once {@link #stored()} succeeded. */
  public String sha256() {
    return sink.result().stored().sha256();
  }

  /** The first (at most 64) bytes written, for content sniffing. */
  public byte[] head() {
    return sink.result().head();
  }

  @Override
  public Future<Void> write(Buffer data) {
    if (sink.succeeded()) {
      return sink.result().write(data);
    }
    if (sink.failed()) {
      return Future.failedFuture(sink.cause());
    }
    held.add(data);
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> end() {
    ended = true;
    if (sink.succeeded()) {
      sink.result().end().onComplete(this::settle);
    }
    return stored.future();
  }

  /**
   * Drops the chunk: its object is removed, whether it is being written, being committed (the write
   * ended before the request failed) or already committed. Never fails.
   */
  public Future<Void> abort() {
    dropped = true;
    stored.tryFail("dropped");
    if (!sink.succeeded()) {
      return Future.succeededFuture(); // still being created: the creation handler aborts it
    }
    return sink.result().target().abort().transform(v -> store.delete(key)).recover(e -> Future.succeededFuture());
  }

  @Override
  public boolean writeQueueFull() {
    return !sink.succeeded() || sink.result().writeQueueFull();
  }

  @Override
  public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
    drainHandler = handler;
    if (sink.succeeded()) {
      sink.result().drainHandler(handler);
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

  /** Completes {@link #stored} once: a chunk refused while it streams has already failed it. */
  private void settle(AsyncResult<Void> ar) {
    if (ar.succeeded()) {
      stored.tryComplete();
    } else {
      stored.tryFail(ar.cause());
    }
  }
}

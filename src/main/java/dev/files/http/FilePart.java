package dev.files.http;

import dev.files.crypto.ChunkCipher;
import dev.files.storage.ChunkSink;
import dev.files.crypto.EncryptedObjects;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.WriteStream;

import java.util.ArrayList;
import java.util.List;

/**
 * The file part of an upload request: a write stream into a new chunk store object (counted and
 * limited by a {@link ChunkSink}). The object is created asynchronously; until it is open, writes
 * are held and {@link #writeQueueFull()} is true, so the request pauses. {@link #end()} commits the
 * object and completes {@link #stored}; {@link #abort()} removes it whatever stage it reached.
 *
 * <p>{@code name}, {@code filename}, {@code contentType}: the part's form name, file name (as sent)
 * and type; {@code key}: the object's storage key; {@code chunkNumber}: the chunk its bytes are
 * encrypted for.
 */
final class FilePart implements WriteStream<Buffer> {
  private final EncryptedObjects store;
  final String name;
  final String filename;
  final String contentType;
  final String key;
  final int chunkNumber;
  final Promise<Void> stored = Promise.promise();
  final Future<ChunkSink> sink;
  private final List<Buffer> held = new ArrayList<>();
  private Handler<Void> drainHandler;
  private boolean ended;
  private boolean dropped;

  FilePart(EncryptedObjects store, String name, String filename, String contentType, String key, long limit, int chunkNumber,
           ChunkCipher cipher) {
    this.store = store;
    this.name = name;
    this.filename = filename;
    this.contentType = contentType;
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
   * Drops the part: its object is removed, whether it is being written, being committed (the part
   * ended before the request failed) or already committed.
   */
  Future<Void> abort() {
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

  /** Completes {@link #stored} once: a part refused while it streams has already failed it. */
  private void settle(io.vertx.core.AsyncResult<Void> ar) {
    if (ar.succeeded()) {
      stored.tryComplete();
    } else {
      stored.tryFail(ar.cause());
    }
  }
}

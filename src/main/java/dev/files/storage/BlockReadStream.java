package dev.files.storage;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;

import java.util.ArrayDeque;

/**
 * A {@link ChunkRead} over a blocking source of blocks: {@code next} runs on a storage thread (one
 * call at a time) and returns the next block, or null at the end. At most {@value #PREFETCH} blocks
 * are read ahead of the consumer's demand; blocks, the end and failures are delivered on the
 * context that created the stream (the storage executor completes its futures there). {@code close} runs once, on a storage thread, after the last read.
 */
final class BlockReadStream implements ChunkRead {

  static final int PREFETCH = 2;

  /** What the stream reads from. */
  interface Source {
    /** The next block, or null at the end; runs on a storage thread. */
    Buffer next() throws Exception;

    /** Releases the source; runs on a storage thread. */
    void close() throws Exception;
  }

  private final IoExecutor.Serial serial;
  private final Source source;
  private final ArrayDeque<Buffer> ready = new ArrayDeque<>();
  private long demand = Long.MAX_VALUE;
  private boolean reading;
  private boolean eof;
  private boolean ended;
  private boolean closed;
  private Throwable failure;
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;

  BlockReadStream(IoExecutor io, Source source) {
    this.serial = io.serial();
    this.source = source;
  }

  @Override
  public ChunkRead handler(Handler<Buffer> handler) {
    this.handler = handler;
    if (handler != null) {
      pump();
    }
    return this;
  }

  @Override
  public ChunkRead pause() {
    demand = 0;
    return this;
  }

  @Override
  public ChunkRead resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public ChunkRead fetch(long amount) {
    demand = demand + amount < 0 ? Long.MAX_VALUE : demand + amount;
    pump();
    return this;
  }

  @Override
  public ChunkRead endHandler(Handler<Void> endHandler) {
    this.endHandler = endHandler;
    return this;
  }

  @Override
  public ChunkRead exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    return this;
  }

  /** Delivers what is ready and can be delivered, then reads ahead. Runs on the context. */
  private void pump() {
    if (ended) {
      return;
    }
    while (demand > 0 && handler != null && !ready.isEmpty()) {
      if (demand != Long.MAX_VALUE) {
        demand--;
      }
      handler.handle(ready.poll());
    }
    if (failure != null && ready.isEmpty()) {
      ended = true;
      if (exceptionHandler != null) {
        exceptionHandler.handle(failure);
      }
      return;
    }
    if (eof && ready.isEmpty()) {
      ended = true;
      if (endHandler != null) {
        endHandler.handle(null);
      }
      return;
    }
    if (!reading && !eof && failure == null && !closed && ready.size() < PREFETCH && handler != null) {
      reading = true;
      serial.run(source::next).onComplete(ar -> {
        reading = false;
        if (ar.failed()) {
          failure = ar.cause();
        } else if (ar.result() == null) {
          eof = true;
        } else {
          ready.add(ar.result());
        }
        pump();
      });
    }
  }

  @Override
  public Future<Void> close() {
    if (closed) {
      return Future.succeededFuture();
    }
    closed = true;
    return serial.run(() -> {
      source.close();
      return null;
    }).<Void>mapEmpty().recover(err -> Future.succeededFuture());
  }
}

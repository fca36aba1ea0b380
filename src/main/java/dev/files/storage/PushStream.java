package dev.files.storage;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.streams.ReadStream;

import java.util.ArrayDeque;
import java.util.List;

/**
 * Bytes pushed by a writer as the stream an {@link ObjectStore#write} reads: the writer pushes
 * buffers, then the end or a failure; the store's demand decides when they are delivered. The
 * encrypted write ({@code dev.files.crypto.EncryptedWrite}) pushes its ciphertext through one; the
 * store identity ({@link StoreSide}) its one line. Everything runs on one Vert.x context.
 */
public final class PushStream implements ReadStream<Buffer> {

  private final ContextInternal ctx;
  private final ArrayDeque<Buffer> queue = new ArrayDeque<>();
  private long demand = Long.MAX_VALUE;
  private long queuedBytes;
  private boolean ending;
  private boolean finished;
  private Throwable failure;
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;
  private final Runnable onDelivered;

  /** @param onDelivered called on the context after buffers were taken by the store */
  public PushStream(ContextInternal ctx, Runnable onDelivered) {
    this.ctx = ctx;
    this.onDelivered = onDelivered;
  }

  /** Bytes pushed and not yet taken by the store. */
  public long queuedBytes() {
    return queuedBytes;
  }

  public void push(List<Buffer> buffers) {
    if (finished || ending) {
      return;
    }
    for (Buffer b : buffers) {
      queue.add(b);
      queuedBytes += b.length();
    }
    pump();
  }

  public void end() {
    ending = true;
    pump();
  }

  public void fail(Throwable error) {
    if (failure == null) {
      failure = error;
    }
    pump();
  }

  private void pump() {
    if (finished) {
      return;
    }
    if (failure != null) {
      queue.clear();
      queuedBytes = 0;
      if (exceptionHandler != null) {
        finished = true;
        exceptionHandler.handle(failure);
      }
      return;
    }
    boolean delivered = false;
    while (demand > 0 && handler != null && !queue.isEmpty()) {
      if (demand != Long.MAX_VALUE) {
        demand--;
      }
      Buffer b = queue.poll();
      queuedBytes -= b.length();
      delivered = true;
      handler.handle(b);
      if (finished || failure != null) {
        return;
      }
    }
    if (queue.isEmpty() && ending && handler != null) {
      finished = true;
      if (endHandler != null) {
        endHandler.handle(null);
      }
      return;
    }
    if (delivered) {
      onDelivered.run();
    }
  }

  @Override
  public ReadStream<Buffer> handler(Handler<Buffer> handler) {
    this.handler = handler;
    if (handler != null) {
      ctx.runOnContext(v -> pump());
    }
    return this;
  }

  @Override
  public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    if (handler != null && failure != null) {
      ctx.runOnContext(v -> pump());
    }
    return this;
  }

  @Override
  public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
    this.endHandler = endHandler;
    return this;
  }

  @Override
  public ReadStream<Buffer> pause() {
    demand = 0;
    return this;
  }

  @Override
  public ReadStream<Buffer> resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public ReadStream<Buffer> fetch(long amount) {
    demand = demand + amount < 0 ? Long.MAX_VALUE : demand + amount;
    ctx.runOnContext(v -> pump());
    return this;
  }
}

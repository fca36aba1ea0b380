package dev.files.storage;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;

import java.util.ArrayDeque;

/**
 * The consumer's side of an {@link ObjectRead}, shared by the stores: the handlers, the demand
 * ({@link #pause()}, {@link #resume()}, {@link #fetch(long)}) and the queue of buffers read ahead,
 * delivered on the caller's context. A store's read fills {@link #ready} and says in
 * {@link #pump()} when to read more, when the stream ends and when it fails.
 *
 * <p>An end or a failure that comes before its handler is set (a consumer that sets its handlers
 * after the stream, run on its context, found nothing to read) is kept and delivered, on the
 * context, once the handler is set: a consumer never waits for an end that already happened.
 * Handlers set from another thread take effect on the context.
 */
public abstract class QueuedRead implements ObjectRead {

  protected final ContextInternal ctx;
  /** Buffers read and not yet delivered, in order. */
  protected final ArrayDeque<Buffer> ready = new ArrayDeque<>();
  /** Buffers the consumer still wants ({@code Long.MAX_VALUE}: flowing). */
  protected long demand = Long.MAX_VALUE;
  /** The end or the failure was delivered. */
  protected boolean ended;
  /** {@link #close()} was called, or the stream released what it held. */
  protected boolean closed;
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;
  /** The stream ended before an end handler was set. */
  private boolean endPending;
  /** The failure that came before an exception handler was set, else null. */
  private Throwable failurePending;

  protected QueuedRead(ContextInternal ctx) {
    this.ctx = ctx;
  }

  /** On the context: delivers, reads ahead, ends or fails, as the store's state says. */
  protected abstract void pump();

  /**
   * On the context: stops the stream and gives back what it holds (queued buffers, the file or the
   * request it reads from), once; sets {@link #closed}. Called by {@link #close()} and by a read
   * that ends or fails.
   */
  protected abstract void release();

  /** Stops the stream: {@link #release()} on the context. Completes at once. */
  @Override
  public final Future<Void> close() {
    ctx.runOnContext(v -> release());
    return Future.succeededFuture();
  }

  /** True once the consumer has set a data handler (nothing is read before). */
  protected final boolean hasHandler() {
    return handler != null;
  }

  /**
   * On the context: hands queued buffers to the consumer while it wants them.
   *
   * @return false when the stream ended or was closed meanwhile (nothing more to do)
   */
  protected final boolean deliver() {
    if (ended || closed) {
      return false;
    }
    while (demand > 0 && handler != null && !ready.isEmpty()) {
      if (demand != Long.MAX_VALUE) {
        demand--;
      }
      handler.handle(ready.poll());
      if (ended || closed) {
        return false;
      }
    }
    return true;
  }

  /** On the context: ends the stream (once). */
  protected final void end() {
    ended = true;
    if (endHandler != null) {
      endHandler.handle(null);
    } else {
      endPending = true;
    }
  }

  /** On the context: fails the stream with {@code error} (once). */
  protected final void fail(Throwable error) {
    ended = true;
    if (exceptionHandler != null) {
      exceptionHandler.handle(error);
    } else {
      failurePending = error;
    }
  }

  /** Runs {@code action} now when on the context, else on the context. */
  private void onContext(Runnable action) {
    if (ctx.isRunningOnContext()) {
      action.run();
    } else {
      ctx.runOnContext(v -> action.run());
    }
  }

  @Override
  public ObjectRead handler(Handler<Buffer> handler) {
    onContext(() -> this.handler = handler);
    ctx.runOnContext(v -> pump());
    return this;
  }

  @Override
  public ObjectRead pause() {
    demand = 0;
    return this;
  }

  @Override
  public ObjectRead resume() {
    return fetch(Long.MAX_VALUE);
  }

  @Override
  public ObjectRead fetch(long amount) {
    demand = demand + amount < 0 ? Long.MAX_VALUE : demand + amount;
    ctx.runOnContext(v -> pump());
    return this;
  }

  @Override
  public ObjectRead endHandler(Handler<Void> endHandler) {
    onContext(() -> {
      this.endHandler = endHandler;
      if (endPending && endHandler != null) {
        endPending = false;
        endHandler.handle(null);
      }
    });
    return this;
  }

  @Override
  public ObjectRead exceptionHandler(Handler<Throwable> handler) {
    onContext(() -> {
      this.exceptionHandler = handler;
      Throwable pending = failurePending;
      if (pending != null && handler != null) {
        failurePending = null;
        handler.handle(pending);
      }
    });
    return this;
  }
}

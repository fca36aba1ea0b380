package dev.files.support;

import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/**
 * A ReadStream of given bytes, in buffers of {@code bufferBytes}, that honours pause, resume and
 * fetch (so a writer's back-pressure is real), starting paused. With {@code failAt} ≥ 0 it fails
 * instead of handing out byte {@code failAt}, like a request whose client went away. Runs on
 * {@code context}.
 */
public final class ByteStream implements ReadStream<Buffer> {

  private final Context context;
  private final byte[] bytes;
  private final int bufferBytes;
  private final long failAt;
  private int position;
  private long demand;
  private boolean scheduled;
  private boolean done;
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;

  public ByteStream(Context context, byte[] bytes, int bufferBytes, long failAt) {
    this.context = context;
    this.bytes = bytes;
    this.bufferBytes = bufferBytes;
    this.failAt = failAt;
  }

  public ByteStream(Context context, byte[] bytes) {
    this(context, bytes, 64 * 1024, -1);
  }

  /** How many bytes were handed out. */
  public int position() {
    return position;
  }

  @Override
  public ReadStream<Buffer> handler(Handler<Buffer> handler) {
    this.handler = handler;
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
    schedule();
    return this;
  }

  @Override
  public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
    this.endHandler = endHandler;
    return this;
  }

  @Override
  public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
    this.exceptionHandler = handler;
    return this;
  }

  private void schedule() {
    if (!scheduled && !done) {
      scheduled = true;
      context.runOnContext(v -> {
        scheduled = false;
        emit();
      });
    }
  }

  /** Hands out a few buffers per turn of the event loop, as a socket would. */
  private void emit() {
    for (int i = 0; i < 16 && demand > 0 && !done && handler != null; i++) {
      if (position == bytes.length) {
        done = true;
        if (endHandler != null) {
          endHandler.handle(null);
        }
        return;
      }
      if (failAt >= 0 && position + bufferBytes > failAt) {
        done = true;
        if (exceptionHandler != null) {
          exceptionHandler.handle(new java.io.IOException("connection reset by client"));
        }
        return;
      }
      int n = Math.min(bufferBytes, bytes.length - position);
      Buffer b = Buffer.buffer(n).appendBytes(bytes, position, n);
      position += n;
      if (demand != Long.MAX_VALUE) {
        demand--;
      }
      handler.handle(b);
    }
    if (demand > 0 && !done) {
      schedule();
    }
  }
}

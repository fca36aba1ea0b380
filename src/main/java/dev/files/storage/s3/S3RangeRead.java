package dev.files.storage.s3;

import dev.files.storage.QueuedRead;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.ObjectStoreException.Reason;
import io.netty.buffer.Unpooled;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.buffer.BufferInternal;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.async.ResponsePublisher;

import java.nio.ByteBuffer;

/**
 * The body of a ranged GET as an {@link dev.files.storage.ObjectRead}: a Reactive Streams subscriber that asks the
 * SDK for one buffer at a time, and only while the consumer wants data (not paused, or fetched), so
 * at most {@value #PREFETCH} buffers wait here and the HTTP connection is read no faster than the
 * consumer writes. Everything after the subscription runs on the caller's context: signals from the
 * SDK's threads are handed over, and requests and cancellation go out from there, one at a time.
 */
final class S3RangeRead extends QueuedRead implements Subscriber<ByteBuffer> {

  /** Buffers requested or waiting ahead of the consumer, at most. */
  static final int PREFETCH = 2;

  private final long length;
  private Subscription subscription;
  private int requested; // asked of the SDK, not yet arrived
  private long received;
  private boolean complete;
  private Throwable failure;

  /** Subscribes to {@code response}'s body at once (an unsubscribed body would hold its connection). */
  S3RangeRead(ContextInternal ctx, ResponsePublisher<?> response, long length) {
    super(ctx);
    this.length = length;
    response.subscribe(this);
  }

  private S3RangeRead(ContextInternal ctx) {
    super(ctx);
    this.length = 0;
    this.complete = true;
  }

  /** A read of zero bytes: ends as soon as a handler is set. */
  static S3RangeRead empty(ContextInternal ctx) {
    return new S3RangeRead(ctx);
  }

  // --- Reactive Streams signals, on the SDK's threads: handed to the context ---

  @Override
  public void onSubscribe(Subscription s) {
    ctx.runOnContext(v -> {
      subscription = s;
      if (closed) {
        s.cancel();
      } else {
        pump();
      }
    });
  }

  @Override
  public void onNext(ByteBuffer bytes) {
    // the SDK hands over a buffer of its own (copied out of Netty's): wrapped, not copied again
    Buffer buffer = BufferInternal.buffer(Unpooled.wrappedBuffer(bytes));
    ctx.runOnContext(v -> {
      requested--;
      if (closed) {
        return;
      }
      received += buffer.length();
      ready.add(buffer);
      pump();
    });
  }

  @Override
  public void onError(Throwable t) {
    ctx.runOnContext(v -> {
      if (failure == null) {
        failure = t;
      }
      pump();
    });
  }

  @Override
  public void onComplete() {
    ctx.runOnContext(v -> {
      complete = true;
      pump();
    });
  }

  /** Delivers what can be delivered, ends or fails when due, and asks the SDK for more if wanted. */
  @Override
  protected void pump() {
    if (!deliver() || !ready.isEmpty()) {
      return;
    }
    if (failure == null && complete && received != length) {
      failure = new ObjectStoreException("reading an object", Reason.SHORT, null);
    }
    if (failure != null) {
      cancel();
      fail(S3ObjectStore.failure("reading an object", failure));
      return;
    }
    if (complete) {
      end();
      return;
    }
    if (subscription != null && hasHandler() && demand > 0 && requested + ready.size() < PREFETCH) {
      requested++;
      subscription.request(1);
    }
  }

  private void cancel() {
    if (subscription != null && !complete) {
      subscription.cancel();
    }
  }

  @Override
  protected void release() {
    if (!closed) {
      closed = true;
      ready.clear();
      cancel();
    }
  }
}

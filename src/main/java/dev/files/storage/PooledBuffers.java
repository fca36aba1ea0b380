package dev.files.storage;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.buffer.impl.BufferImpl;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.streams.WriteStream;

import java.util.Collection;

/**
 * Direct memory for downloads, from Netty's pooled allocator: a storage task reads and decrypts
 * into such a buffer, and the response writes it to the socket as it is (a heap buffer would be
 * copied into direct memory by the socket write first). A pooled buffer must go back to the pool
 * exactly once: {@link #release} when it is written, dropped or abandoned. Buffers of other
 * kinds pass {@link #release} untouched, so a consumer may call it on every buffer of a read.
 */
public final class PooledBuffers {

  /** The allocator of the buffers {@link #release} returns to the pool. */
  public static final ByteBufAllocator ALLOCATOR = PooledByteBufAllocator.DEFAULT;

  private PooledBuffers() {
  }

  /** A direct buffer of {@code capacity} bytes from the pool (on any thread); the caller releases it. */
  public static ByteBuf direct(int capacity) {
    return ALLOCATOR.directBuffer(capacity, capacity);
  }

  /**
   * A heap buffer of {@code capacity} bytes from the pool (on any thread), whose array a cipher
   * works on; the caller releases it. Pooled, so a download allocates no new arrays.
   */
  public static ByteBuf heap(int capacity) {
    return ALLOCATOR.heapBuffer(capacity, capacity);
  }

  /** {@code buf} as a Vert.x buffer, without a copy; {@link #release} gives it back. */
  public static Buffer wrap(ByteBuf buf) {
    return BufferInternal.buffer(buf);
  }

  /** True when {@code b} holds pooled memory of {@link #ALLOCATOR} that is still taken. */
  public static boolean pooled(Buffer b) {
    return b instanceof BufferImpl impl && impl.byteBuf().alloc() == ALLOCATOR && impl.byteBuf().isDirect()
        && impl.byteBuf().refCnt() > 0;
  }

  /** Returns {@code b}'s memory to the pool when it is a pooled buffer (else nothing). */
  public static void release(Buffer b) {
    if (pooled(b)) {
      ((BufferImpl) b).byteBuf().release();
    }
  }

  /** {@link #release Releases} every buffer of {@code buffers} and empties it. */
  public static void releaseAll(Collection<Buffer> buffers) {
    for (Buffer b : buffers) {
      release(b);
    }
    buffers.clear();
  }

  /**
   * Pipes {@code src} into {@code dst} with back-pressure, releasing each buffer once {@code dst}
   * has written it (or failed to): what {@code ReadStream.pipe().endOnComplete(false).to(dst)}
   * does, for pooled buffers, which a write stream never releases itself (Vert.x hands the socket
   * an unreleasable view). Does not end {@code dst} nor close {@code src}.
   *
   * @return succeeds when {@code src} ended and every buffer was handed to {@code dst}; fails with
   *         {@code src}'s failure, or with {@code dst}'s (a write that failed, a closed connection)
   */
  public static Future<Void> pipe(ObjectRead src, WriteStream<Buffer> dst) {
    Promise<Void> done = Promise.promise();
    dst.exceptionHandler(done::tryFail);
    dst.drainHandler(v -> src.resume());
    src.exceptionHandler(done::tryFail);
    src.endHandler(v -> done.tryComplete());
    src.handler(b -> {
      if (done.future().isComplete()) {
        release(b);
        return;
      }
      Future<Void> written;
      try {
        written = dst.write(b);
      } catch (RuntimeException e) { // a stream already ended
        release(b);
        done.tryFail(e);
        return;
      }
      written.onComplete(ar -> {
        release(b);
        if (ar.failed()) {
          done.tryFail(ar.cause());
        }
      });
      if (dst.writeQueueFull()) {
        src.pause();
      }
    });
    return done.future().andThen(ar -> {
      dst.exceptionHandler(null);
      dst.drainHandler(null);
    });
  }
}

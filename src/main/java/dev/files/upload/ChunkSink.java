package dev.files.upload;

import dev.files.crypto.EncryptedWrite;
import dev.files.crypto.StoredChunk;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.WriteStream;


/**
 * The write side of a chunk upload, inside a {@link ChunkWrite}: forwards bytes to an
 * {@link EncryptedWrite} while counting them and keeping the first {@link #HEAD_BYTES} for content
 * sniffing. A write that takes the count past {@code maxBytes} (bytes) fails with
 * {@link TooLargeException} and forwards nothing. {@link #end()} commits the chunk write;
 * {@link #stored()} then tells its size (bytes of plaintext) and SHA-256.
 */
public final class ChunkSink implements WriteStream<Buffer> {

  /** How many leading bytes are kept for {@link #head()}. */
  static final int HEAD_BYTES = 64;

  /** Thrown (as a failed write) when the body exceeds the limit. */
  public static final class TooLargeException extends RuntimeException {
    public TooLargeException(long limit) {
      super("body exceeds the limit of " + limit + " bytes");
    }
  }

  private final EncryptedWrite target;
  private final long maxBytes;
  private StoredChunk stored;
  private final byte[] head = new byte[HEAD_BYTES];
  private long count;
  private boolean tooLarge;

  /** @param maxBytes the largest number of bytes accepted */
  ChunkSink(EncryptedWrite target, long maxBytes) {
    this.target = target;
    this.maxBytes = maxBytes;
  }

  @Override
  public Future<Void> write(Buffer data) {
    int n = data.length();
    if (tooLarge || count + n > maxBytes) {
      tooLarge = true;
      return Future.failedFuture(new TooLargeException(maxBytes));
    }
    if (count < HEAD_BYTES) {
      int k = (int) Math.min(n, HEAD_BYTES - count);
      data.getBytes(0, k, head, (int) count);
    }
    count += n;
    return target.write(data);
  }

  @Override
  public Future<Void> end() {
    return target.commit().map(s -> {
      stored = s;
      return null;
    });
  }

  @Override
  public WriteStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
    target.exceptionHandler(handler);
    return this;
  }

  @Override
  public WriteStream<Buffer> setWriteQueueMaxSize(int maxSize) {
    target.setWriteQueueMaxSize(maxSize);
    return this;
  }

  @Override
  public boolean writeQueueFull() {
    return target.writeQueueFull();
  }

  @Override
  public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
    target.drainHandler(handler);
    return this;
  }

  /** The chunk write the bytes go to. */
  EncryptedWrite target() {
    return target;
  }

  /** What the committed write stored (size, SHA-256); null until {@link #end()} succeeded. */
  StoredChunk stored() {
    return stored;
  }

  /** The first {@code min(count, HEAD_BYTES)} bytes. */
  byte[] head() {
    return java.util.Arrays.copyOf(head, (int) Math.min(count, HEAD_BYTES));
  }
}

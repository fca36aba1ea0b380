package dev.files.storage.local;

import dev.files.storage.IoExecutor;
import dev.files.storage.ObjectStore;
import dev.files.storage.QueuedRead;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.ObjectStoreException.Reason;
import io.netty.buffer.Unpooled;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.buffer.BufferInternal;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Bytes {@code [offset, offset + length)} of a file as an {@link dev.files.storage.ObjectRead}: positioned reads of
 * {@value LocalObjectStore#READ_BLOCK_BYTES} bytes on a storage queue, at most {@value #PREFETCH}
 * blocks ahead of the consumer's demand, delivered on the caller's context. The file is closed at
 * the end, on failure and on {@link #close()}.
 */
final class FileRangeRead extends QueuedRead {

  static final int PREFETCH = 2;

  private final IoExecutor.Serial serial;
  private final FileChannel channel;
  private long position;
  private long remaining;
  private boolean reading;
  private Throwable failure;

  FileRangeRead(ContextInternal ctx, IoExecutor.Serial serial, FileChannel channel, long offset, long length) {
    super(ctx);
    this.serial = serial;
    this.channel = channel;
    this.position = offset;
    this.remaining = length;
  }

  @Override
  protected void pump() {
    if (!deliver()) {
      return;
    }
    if (ready.isEmpty() && !reading && failure != null) {
      release();
      fail(ObjectStoreException.of("reading an object", Reason.UNAVAILABLE, failure));
      return;
    }
    if (ready.isEmpty() && !reading && remaining == 0) {
      release();
      end();
      return;
    }
    if (!reading && failure == null && remaining > 0 && hasHandler() && ready.size() < PREFETCH) {
      reading = true;
      int size = (int) Math.min(LocalObjectStore.READ_BLOCK_BYTES, remaining);
      long at = position;
      position += size;
      remaining -= size;
      serial.run(() -> readBlock(at, size)).onComplete(ar -> {
        reading = false;
        if (ar.failed()) {
          failure = ar.cause();
        } else if (!closed) {
          ready.add(ar.result());
        }
        pump();
      });
    }
  }

  /** On a storage thread: {@code size} bytes at {@code at}; fails if the file ends first. */
  private Buffer readBlock(long at, int size) {
    ByteBuffer block = ByteBuffer.allocate(size);
    ObjectStore.readFully(channel, block, at);
    return BufferInternal.buffer(Unpooled.wrappedBuffer(block.flip()));
  }

  /** On the context: stops the stream and closes the file (after a read in progress). */
  @Override
  protected void release() {
    if (!closed) {
      closed = true;
      ready.clear();
      serial.run(() -> {
        channel.close();
        return null;
      });
    }
  }
}

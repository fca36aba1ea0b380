package dev.files.crypto;

import dev.files.storage.IoExecutor;
import dev.files.storage.ObjectRead;
import dev.files.storage.ObjectStore;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.PooledBuffers;
import dev.files.storage.QueuedRead;
import dev.files.storage.StorageException;
import io.netty.buffer.ByteBuf;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.security.GeneralSecurityException;
import java.util.ArrayDeque;

/**
 * Plaintext bytes {@code [offset, offset + length)} of an object the store keeps as a local file
 * ({@link ObjectStore#openFile}), in pooled direct buffers ({@link PooledBuffers}), for a consumer
 * that releases them (a download, through {@link PooledBuffers#pipe}). Each storage task reads
 * the ciphertext of up to {@value #BATCH_SEGMENTS} whole segments (1 MiB with 64 KiB segments;
 * the first task {@value #FIRST_BATCH_SEGMENTS};
 * every read starts and ends on a segment boundary, the header once) with one positioned read
 * into a pooled heap buffer, decrypts them segment by segment into another
 * ({@link ChunkCipher.SegmentDecryptor}; the native AES-GCM is ten times faster on arrays than on
 * direct memory), copies the range's bytes into a pooled direct buffer and hands that one out:
 * the socket writes it as it is, no array is allocated, and the event loop copies nothing. With no
 * cipher ({@code encryption.null_cipher}) a task reads the plaintext straight into the direct
 * buffer handed out, {@value #PLAIN_BLOCK_BYTES} bytes at a time.
 *
 * <p>Up to {@value #IN_FLIGHT} tasks run at once (two storage threads decrypt two batches; the
 * first task alone, as it reads the header), handed on in the order of their bytes, while at most
 * {@value #AHEAD} buffers wait for the consumer and the tasks together (so a slow client holds at
 * most three batches, 3 MiB of direct memory, per download; the heap buffers of a task go back
 * to the pool when it ends).
 * A segment that does not authenticate fails the stream before any byte of its batch goes out;
 * an object shorter than its chunk fails it as a damaged one. {@link #close()} releases what waits
 * and closes the file after a task in progress, whose buffer is then released too.
 */
final class DirectRead extends QueuedRead {

  /** Segments read and decrypted in one task. */
  static final int BATCH_SEGMENTS = 16;
  /**
   * Segments of the first task: fewer, so the first bytes go out soon, and an object damaged
   * further on cuts the download rather than refusing it (as {@link DecryptingRead}'s first window).
   */
  static final int FIRST_BATCH_SEGMENTS = 4;
  /** Bytes read in one task without a cipher. */
  static final int PLAIN_BLOCK_BYTES = 1024 * 1024;
  /** Buffers waiting for the consumer before the next task waits too. */
  static final int AHEAD = 2;

  /** Tasks running at once: two batches in flight, decrypted on two storage threads. */
  static final int IN_FLIGHT = 2;

  private final IoExecutor io;
  private final FileChannel channel;
  private final ChunkCipher.Layout layout; // null: the object holds the plaintext as it is
  private final ChunkCipher.SegmentOpener opener;
  private final long plainSize;
  private final long cipherSize;
  private final int lastObjectSegment;
  private byte[] header; // the object's header, read by the first task; null before
  /** The tasks queued or running, in the order of their bytes. */
  private final ArrayDeque<Slot> inFlight = new ArrayDeque<>();
  private boolean channelClosed;
  private final long start;
  private long plainPos;
  private final long plainEnd;
  private Throwable failure;

  /** One task's outcome, kept until the tasks before it have handed theirs on. */
  private static final class Slot {
    Batch batch;
    Throwable error;
    boolean done;
  }

  /** What a task returns: the plaintext, and the object's header when it read it. */
  private record Batch(Buffer data, byte[] header) {
  }

  private DirectRead(ContextInternal ctx, IoExecutor io, FileChannel channel, ChunkCipher cipher, long plainSize,
                     long offset, long length) {
    super(ctx);
    this.io = io;
    this.channel = channel;
    this.layout = cipher.layout();
    this.opener = cipher.segmentOpener();
    this.plainSize = plainSize;
    this.cipherSize = layout == null ? plainSize : layout.ciphertextSize(plainSize);
    this.lastObjectSegment = layout == null ? 0 : (int) (layout.segments(plainSize) - 1);
    this.start = offset;
    this.plainPos = offset;
    this.plainEnd = offset + length;
  }

  /** True when objects of {@code cipher} can be read this way (no cipher, or one that decrypts whole segments). */
  static boolean applies(ChunkCipher cipher) {
    return cipher.layout() == null || cipher.segmentOpener() != null;
  }

  /**
   * Opens the read when {@code store} keeps the object as a local file; null (succeeded) when it
   * does not, and the caller reads through the store's streams instead.
   *
   * @param length bytes of plaintext, &gt; 0
   * @throws ObjectStoreException (failed future) {@code NOT_FOUND} when the object is gone; an
   *         object shorter than its chunk fails the stream when encrypted (as a segment that does
   *         not decrypt), the future when not (as {@link ObjectStore#read} does)
   */
  static Future<ObjectRead> open(ContextInternal ctx, IoExecutor io, ObjectStore store, String key, ChunkCipher cipher,
                                 long plainSize, long offset, long length) {
    ChunkCipher.Layout layout = cipher.layout();
    long stored = layout == null ? offset + length // all of it: as ObjectStore.read checks
        : Math.min(layout.cipherStart(Math.min(layout.segmentOf(offset) + FIRST_BATCH_SEGMENTS,
            layout.segmentOf(offset + length - 1) + 1)), layout.ciphertextSize(plainSize)); // the first task's
    return store.openFile(key, stored).<ObjectRead>map(channel -> channel == null ? null
            : new DirectRead(ctx, io, channel, cipher, plainSize, offset, length))
        .recover(err -> {
          if (layout != null && err instanceof ObjectStoreException e && e.reason() == ObjectStoreException.Reason.SHORT) {
            DirectRead damaged = new DirectRead(ctx, io, null, cipher, plainSize, offset, length);
            damaged.failure = err;
            return Future.succeededFuture(damaged);
          }
          return Future.failedFuture(err);
        });
  }

  @Override
  protected void pump() {
    if (!deliver()) {
      return;
    }
    if (ready.isEmpty() && inFlight.isEmpty() && failure != null) {
      release();
      fail(failure instanceof StorageException s ? s : StorageException.of("cannot read an object", failure));
      return;
    }
    if (ready.isEmpty() && inFlight.isEmpty() && plainPos >= plainEnd) {
      release();
      end();
      return;
    }
    // the first task reads the header; the others wait for it
    while (failure == null && plainPos < plainEnd && hasHandler() && inFlight.size() < IN_FLIGHT
        && ready.size() + inFlight.size() <= AHEAD && (layout == null || header != null || inFlight.isEmpty())) {
      submit();
    }
  }

  /** Queues the task of the next batch (on the context). */
  private void submit() {
    long from = plainPos;
    long to;
    long first;
    long end;
    if (layout == null) {
      first = end = 0;
      to = Math.min(plainEnd, from + PLAIN_BLOCK_BYTES);
    } else {
      first = layout.segmentOf(from);
      end = Math.min(first + (from == start ? FIRST_BATCH_SEGMENTS : BATCH_SEGMENTS),
          layout.segmentOf(plainEnd - 1) + 1);
      to = Math.min(plainEnd, layout.plainStart(end));
    }
    plainPos = to;
    byte[] known = header;
    Slot slot = new Slot();
    inFlight.add(slot);
    io.run(() -> layout == null ? new Batch(readPlain(from, to), null) : readSegments(known, first, end, from, to))
        .onComplete(ar -> {
          slot.done = true;
          if (ar.failed()) {
            slot.error = ar.cause();
          } else {
            slot.batch = ar.result();
          }
          handOn();
          pump();
        });
  }

  /** On the context: the outcomes of the tasks done, in order, up to the first still running. */
  private void handOn() {
    while (!inFlight.isEmpty() && inFlight.peek().done) {
      Slot s = inFlight.poll();
      if (s.error != null) {
        if (failure == null) {
          failure = s.error;
        }
      } else if (closed || failure != null) {
        PooledBuffers.release(s.batch.data());
      } else {
        if (s.batch.header() != null) {
          header = s.batch.header();
        }
        ready.add(s.batch.data());
      }
    }
    if (closed && inFlight.isEmpty()) {
      closeChannel();
    }
  }

  /** On a storage thread: plaintext bytes {@code [from, to)} of an object stored as it is. */
  private Buffer readPlain(long from, long to) {
    int n = (int) (to - from);
    ByteBuf buf = PooledBuffers.direct(n);
    try {
      ObjectStore.readFully(channel, buf.nioBuffer(0, n), from);
      buf.writerIndex(n);
      return PooledBuffers.wrap(buf);
    } catch (RuntimeException e) {
      buf.release();
      throw e;
    }
  }

  /**
   * On a storage thread: segments {@code [first, end)} read whole and decrypted; the plaintext
   * bytes {@code [from, to)} of the object out of them.
   */
  private Batch readSegments(byte[] known, long first, long end, long from, long to) {
    byte[] head = known;
    if (head == null) {
      ByteBuffer h = ByteBuffer.allocate(layout.headerBytes());
      ObjectStore.readFully(channel, h, 0);
      head = h.array();
    }
    ChunkCipher.SegmentDecryptor segments;
    try {
      segments = opener.open(ByteBuffer.wrap(head)); // a cipher of its own: tasks run in parallel
    } catch (GeneralSecurityException e) {
      throw StorageException.of("cannot read an object", "the header does not open", e);
    }
    long cipherFrom = layout.cipherStart(first);
    long cipherTo = Math.min(layout.cipherStart(end), cipherSize);
    long plainFrom = layout.plainStart(first);
    int cipherBytes = (int) (cipherTo - cipherFrom);
    int plainBytes = (int) (Math.min(layout.plainStart(end), plainSize) - plainFrom);
    ByteBuf ciphertext = PooledBuffers.heap(cipherBytes);
    ByteBuf plaintext = PooledBuffers.heap(plainBytes);
    try {
      ByteBuffer in = ciphertext.nioBuffer(0, cipherBytes);
      ObjectStore.readFully(channel, in, cipherFrom);
      ByteBuffer out = plaintext.nioBuffer(0, plainBytes);
      long at = cipherFrom;
      for (long s = first; s < end; s++) {
        long next = Math.min(layout.cipherStart(s + 1), cipherSize);
        in.limit((int) (next - cipherFrom)).position((int) (at - cipherFrom));
        try {
          segments.decrypt((int) s, s == lastObjectSegment, in, out);
        } catch (GeneralSecurityException e) {
          throw StorageException.of("cannot read an object", "segment " + s + " does not decrypt", e);
        }
        at = next;
      }
      int n = (int) (to - from);
      ByteBuf direct = PooledBuffers.direct(n);
      direct.writeBytes(plaintext, (int) (from - plainFrom), n);
      return new Batch(PooledBuffers.wrap(direct), known == null ? head : null);
    } finally {
      ciphertext.release();
      plaintext.release();
    }
  }

  /** On the context: gives back what waits and closes the file (after a task in progress). */
  @Override
  protected void release() {
    if (!closed) {
      closed = true;
      PooledBuffers.releaseAll(ready);
      if (inFlight.isEmpty()) {
        closeChannel();
      }
    }
  }

  /** Closes the file once no task reads it any more (on the context). */
  private void closeChannel() {
    if (channel != null && !channelClosed) {
      channelClosed = true;
      io.execute(() -> {
        try {
          channel.close();
        } catch (IOException e) {
          // nothing was written: nothing lost
        }
      });
    }
  }
}

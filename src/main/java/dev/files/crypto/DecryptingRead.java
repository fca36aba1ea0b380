package dev.files.crypto;

import dev.files.storage.IoExecutor;
import dev.files.storage.ObjectStore;
import dev.files.storage.ObjectRead;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.StorageException;
import dev.files.storage.QueuedRead;
import io.netty.buffer.Unpooled;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.buffer.BufferInternal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.util.ArrayDeque;

/**
 * Plaintext bytes {@code [offset, offset + length)} of an encrypted object as a stream: the
 * ciphertext of only the segments that hold them is read from the {@link ObjectStore} (the header
 * once, then windows of {@value #FIRST_WINDOW_SEGMENTS} and then {@value #WINDOW_SEGMENTS}
 * segments, each one ranged read), gathered on the context and decrypted {@value #BATCH_SEGMENTS}
 * segments at a time on a storage queue, at most {@value #PREFETCH} batches ahead of the consumer.
 * A segment that does not authenticate (tampered, swapped, truncated object) fails the stream
 * before any of its bytes is handed out; the plaintext of the segments before it goes out first.
 * No thread waits for the store.
 */
final class DecryptingRead extends QueuedRead {

  static final int PREFETCH = 8;
  /**
   * Segments decrypted in one task: 4 × 64 KiB keeps every array of a read below half a G1 region
   * (1 MiB for heaps up to 2 GiB), so none is a "humongous" object (16 segments made each batch
   * allocate three 1 MiB arrays, and G1 ran concurrent cycles without pause during a download).
   */
  static final int BATCH_SEGMENTS = 4;
  /** The first window is small, so the first bytes come quickly (and a damaged tail is a cut, not a refusal). */
  static final int FIRST_WINDOW_SEGMENTS = 8;
  static final int WINDOW_SEGMENTS = 128;
  /** Ciphertext gathered ahead of the decryption before the store's read is paused. */
  private static final int GATHER_BYTES = 2 * 1024 * 1024;

  private final ObjectStore store;
  private final String key;
  private final ChunkCipher cipher;
  private final ChunkCipher.Layout layout;
  private final IoExecutor.Serial serial;
  private final long cipherSize;
  private final long firstSegment; // of the range
  private final long lastSegment; // of the range
  private byte[] header;
  private long plainPos;
  private final long plainEnd;
  private long nextSegment; // first segment of the next batch; gathered starts at its ciphertext
  private long requestedEnd; // segments below this were asked of the store
  private final Gathered gathered = new Gathered();
  private ObjectRead window;
  private boolean windowPaused;
  private boolean opening;
  private boolean decrypting;
  private Throwable failure;

  private DecryptingRead(ContextInternal ctx, IoExecutor io, ObjectStore store, String key, ChunkCipher cipher,
                         long plainSize, long offset, long length) {
    super(ctx);
    this.store = store;
    this.key = key;
    this.cipher = cipher;
    this.layout = cipher.layout();
    this.serial = io.serial();
    this.cipherSize = layout.ciphertextSize(plainSize);
    this.plainPos = offset;
    this.plainEnd = offset + length;
    this.nextSegment = layout.segmentOf(offset);
    this.requestedEnd = nextSegment;
    this.firstSegment = nextSegment;
    this.lastSegment = length == 0 ? nextSegment - 1 : layout.segmentOf(offset + length - 1);
  }

  /**
   * Opens the read: the header and the first window are asked of the store now, so that a missing
   * object ({@code NOT_FOUND}) or a store that fails fails the returned future; an object shorter
   * than its chunk ({@code SHORT}: damaged) fails the stream instead, as a segment that does not
   * decrypt does.
   */
  static Future<ObjectRead> open(ContextInternal ctx, IoExecutor io, ObjectStore store, String key, ChunkCipher cipher,
                                 long plainSize, long offset, long length) {
    DecryptingRead read = new DecryptingRead(ctx, io, store, key, cipher, plainSize, offset, length);
    if (length == 0) {
      return Future.succeededFuture(read);
    }
    Future<Void> header = read.nextSegment == 0 ? Future.succeededFuture() // the first window starts with it
        : readAll(store, key, 0, read.layout.headerBytes()).map(h -> {
          read.header = h;
          return null;
        });
    return header.compose(v -> read.openWindow())
        .<ObjectRead>map(v -> read)
        .recover(err -> {
          if (err instanceof ObjectStoreException e && e.reason() != ObjectStoreException.Reason.SHORT) {
            return Future.failedFuture(e);
          }
          read.failure = err;
          return Future.succeededFuture(read);
        });
  }

  /** All {@code length} bytes at {@code offset} of an object (a small read: the header). */
  private static Future<byte[]> readAll(ObjectStore store, String key, long offset, int length) {
    return store.read(key, offset, length).compose(r -> {
      Buffer all = Buffer.buffer(length);
      r.handler(all::appendBuffer);
      io.vertx.core.Promise<byte[]> done = io.vertx.core.Promise.promise();
      r.exceptionHandler(done::tryFail);
      r.endHandler(v -> done.tryComplete(all.getBytes()));
      return done.future().eventually(r::close);
    });
  }

  /** Asks the store for the next window of segments. */
  private Future<Void> openWindow() {
    long first = requestedEnd;
    long count = first == firstSegment ? FIRST_WINDOW_SEGMENTS : WINDOW_SEGMENTS;
    long last = Math.min(first + count - 1, lastSegment);
    long from = first == 0 ? 0 : layout.cipherStart(first);
    long to = Math.min(layout.cipherStart(last + 1), cipherSize);
    requestedEnd = last + 1;
    opening = true;
    return store.read(key, from, to - from).map(r -> {
      opening = false;
      if (closed) {
        r.close();
        return null;
      }
      window = r;
      r.pause();
      windowPaused = true;
      r.handler(this::onCipher);
      r.exceptionHandler(err -> {
        window = null;
        r.close();
        onFailure(err);
      });
      r.endHandler(v -> {
        window = null;
        r.close();
        pump();
      });
      pump();
      return (Void) null;
    }).onFailure(err -> opening = false);
  }

  private void onCipher(Buffer data) {
    if (header == null) { // the first window starts with the header
      int h = layout.headerBytes();
      gathered.append(data);
      if (gathered.length() < h) {
        return;
      }
      header = gathered.take(h);
    } else {
      gathered.append(data);
    }
    pump();
  }

  private void onFailure(Throwable err) {
    if (failure == null) {
      failure = err;
    }
    pump();
  }

  /** The segments of the next batch, as the exclusive end; only within what was asked of the store. */
  private long batchEnd() {
    return Math.min(Math.min(nextSegment + BATCH_SEGMENTS, lastSegment + 1), requestedEnd);
  }

  private long cipherEnd(long segmentEnd) {
    return Math.min(layout.cipherStart(segmentEnd), cipherSize);
  }

  /** True when the ciphertext of the next batch is all gathered. */
  private boolean batchGathered() {
    if (header == null || nextSegment > lastSegment || nextSegment >= requestedEnd) {
      return false;
    }
    return gathered.length() >= cipherEnd(batchEnd()) - layout.cipherStart(nextSegment);
  }

  @Override
  protected void pump() {
    if (!deliver()) {
      return;
    }
    if (failure != null && ready.isEmpty() && !decrypting && !batchGathered()) {
      release();
      fail(failure instanceof StorageException ? failure : StorageException.of("cannot read an object", failure));
      return;
    }
    if (plainPos >= plainEnd && ready.isEmpty() && !decrypting) {
      release();
      end();
      return;
    }
    if (!hasHandler()) {
      return;
    }
    if (!decrypting && ready.size() < PREFETCH && batchGathered()) {
      decrypt();
    }
    if (failure == null && window == null && !opening && requestedEnd <= lastSegment && gathered.length() < GATHER_BYTES
        && !closed && header != null) {
      openWindow().onFailure(this::onFailure);
    }
    if (window != null) {
      boolean full = gathered.length() >= GATHER_BYTES || closed;
      if (full && !windowPaused) {
        windowPaused = true;
        window.pause();
      } else if (!full && windowPaused) {
        windowPaused = false;
        window.resume();
      }
    }
  }

  private void decrypt() {
    long first = nextSegment;
    long end = batchEnd();
    int bytes = (int) (cipherEnd(end) - layout.cipherStart(first));
    byte[] ciphertext = gathered.take(bytes);
    long from = Math.max(plainPos, layout.plainStart(first));
    long to = Math.min(plainEnd, layout.plainStart(end));
    nextSegment = end;
    plainPos = to;
    decrypting = true;
    byte[] head = header;
    serial.run(() -> {
      try (SeekableByteChannel plain = cipher.decrypting(new Window(head, layout.cipherStart(first), ciphertext, cipherSize))) {
        ByteBuffer out = ByteBuffer.allocate((int) (to - from));
        plain.position(from);
        while (out.hasRemaining()) {
          if (plain.read(out) < 0) {
            throw new IOException("plaintext ends early");
          }
        }
        return BufferInternal.buffer(Unpooled.wrappedBuffer(out.flip()));
      }
    }).onComplete(ar -> {
      decrypting = false;
      if (ar.failed()) {
        gathered.clear();
        onFailure(StorageException.of("cannot read an object", "segments " + first + ".." + (end - 1)
            + " do not decrypt", ar.cause()));
      } else {
        if (!closed) {
          ready.add(ar.result());
        }
        pump();
      }
    });
  }

  @Override
  protected void release() {
    if (!closed) {
      closed = true;
      ready.clear();
      gathered.clear();
      if (window != null) {
        window.close();
        window = null;
      }
    }
  }

  /**
   * Ciphertext received and not yet decrypted: the store's buffers as they came, copied once, into
   * the array of the batch that takes them (appending to one growing buffer copied them at every
   * doubling, into arrays of up to 2 MiB).
   */
  private static final class Gathered {
    private final ArrayDeque<Buffer> parts = new ArrayDeque<>();
    private int length;

    void append(Buffer b) {
      if (b.length() > 0) {
        parts.add(b);
        length += b.length();
      }
    }

    int length() {
      return length;
    }

    /** The first {@code n} bytes (at most {@link #length()}), removed. */
    byte[] take(int n) {
      byte[] out = new byte[n];
      int at = 0;
      while (at < n) {
        Buffer first = parts.peekFirst();
        int k = Math.min(first.length(), n - at);
        first.getBytes(0, k, out, at);
        at += k;
        parts.removeFirst();
        if (k < first.length()) {
          parts.addFirst(first.slice(k, first.length()));
        }
      }
      length -= n;
      return out;
    }

    void clear() {
      parts.clear();
      length = 0;
    }
  }

  /**
   * The ciphertext as the cipher sees it: the header at 0 and the batch's segments at their place
   * in an object of {@code size} bytes; a read anywhere else is an error (never asked for).
   */
  private static final class Window implements SeekableByteChannel {
    private final byte[] header;
    private final long start;
    private final byte[] data;
    private final long size;
    private long position;

    Window(byte[] header, long start, byte[] data, long size) {
      this.header = header;
      this.start = start;
      this.data = data;
      this.size = size;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      if (position >= size) {
        return -1;
      }
      int n;
      if (position < header.length) {
        n = (int) Math.min(dst.remaining(), header.length - position);
        dst.put(header, (int) position, n);
      } else if (position >= start && position < start + data.length) {
        n = (int) Math.min(dst.remaining(), start + data.length - position);
        dst.put(data, (int) (position - start), n);
      } else {
        throw new IOException("ciphertext outside of the segments read");
      }
      position += n;
      return n;
    }

    @Override
    public long position() {
      return position;
    }

    @Override
    public SeekableByteChannel position(long newPosition) {
      position = newPosition;
      return this;
    }

    @Override
    public long size() {
      return size;
    }

    @Override
    public int write(ByteBuffer src) {
      throw new NonWritableChannelException();
    }

    @Override
    public SeekableByteChannel truncate(long size) {
      throw new NonWritableChannelException();
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {
      // nothing held
    }
  }
}

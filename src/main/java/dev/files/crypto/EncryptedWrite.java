package dev.files.crypto;

import dev.files.storage.IoExecutor;
import dev.files.storage.ObjectStore;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.StorageException;
import dev.files.storage.PushStream;
import io.netty.buffer.Unpooled;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.streams.WriteStream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A new object being written through {@link EncryptedObjects#create}: plaintext written here is
 * hashed (SHA-256) and encrypted on the storage threads, two queues side by side, and its
 * ciphertext streams into {@link ObjectStore#write} under the key. Nothing is visible under the key
 * until {@link #commit()} succeeds; {@link #abort()} (or any failure) leaves nothing behind.
 *
 * <p>Back-pressure: {@link #writeQueueFull()} while more than {@value #QUEUE_BYTES} bytes wait to
 * be encrypted or taken by the store. Failures are {@link StorageException}s (an
 * {@link ObjectStoreException} from the store: {@code FULL} maps to HTTP 507).
 */
public final class EncryptedWrite implements WriteStream<Buffer> {

  /** Incoming buffers are handed to the storage threads in batches of about this many bytes. */
  private static final int BATCH_BYTES = 256 * 1024; // below half a G1 region: no humongous array per batch
  /** Bytes waiting (to be encrypted, or for the store) before the writer is told to wait. */
  private static final int QUEUE_BYTES = 4 * 1024 * 1024;

  private final IoExecutor.Serial encrypting;
  private final IoExecutor.Serial hashing;
  private final MessageDigest sha256 = sha256();
  private final Collector collector;
  private final WritableByteChannel out;
  private final PushStream body;
  private final Future<Long> stored;
  private List<Buffer> batch = new ArrayList<>();
  private int batchBytes;
  private long size;
  private long pending; // plaintext handed to the storage threads, not yet encrypted
  private Throwable failure;
  private Handler<Void> drainHandler;
  private boolean done;
  /**
   * Encryption steps in submission order. Their results go to the store strictly in this order: a
   * step's callback may run before the one of the step before it (a future already complete calls
   * back at once, an earlier one through the event loop's queue), so a callback only hands on the
   * steps that are complete at the head.
   */
  private final ArrayDeque<Step> steps = new ArrayDeque<>();

  /** One encryption step: its ciphertext, the plaintext bytes it took, whether it is the last. */
  private record Step(Future<List<Buffer>> ciphertext, int plainBytes, boolean last) {
  }

  EncryptedWrite(ContextInternal ctx, IoExecutor io, ObjectStore store, String key, Collector collector,
                 WritableByteChannel out) {
    this.encrypting = io.serial();
    this.hashing = io.serial();
    this.collector = collector;
    this.out = out;
    this.body = new PushStream(ctx, this::checkDrain);
    this.stored = store.write(key, body);
    stored.onFailure(err -> {
      if (failure == null) {
        failure = err;
      }
      Handler<Void> drain = drainHandler; // a writer waiting for room must come back to see the failure
      drainHandler = null;
      if (drain != null) {
        drain.handle(null);
      }
    });
  }

  /** Where the encrypting channel writes: ciphertext gathered as buffers, taken after each step. */
  static final class Collector implements WritableByteChannel {
    private List<Buffer> buffers = new ArrayList<>();

    @Override
    public int write(ByteBuffer src) {
      int n = src.remaining();
      byte[] copy = new byte[n];
      src.get(copy);
      buffers.add(BufferInternal.buffer(Unpooled.wrappedBuffer(copy)));
      return n;
    }

    List<Buffer> take() {
      List<Buffer> taken = buffers;
      buffers = new ArrayList<>();
      return taken;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {
      // the end of the ciphertext is the end of the stream, sent by the commit
    }
  }

  @Override
  public Future<Void> write(Buffer data) {
    if (failure != null) {
      return Future.failedFuture(failure);
    }
    if (done) {
      return Future.failedFuture(new IllegalStateException("object write already ended"));
    }
    batch.add(data);
    batchBytes += data.length();
    size += data.length();
    if (batchBytes >= BATCH_BYTES) {
      flush();
    }
    return Future.succeededFuture();
  }

  private void flush() {
    if (batchBytes > 0) {
      submit(false);
    }
  }

  /**
   * Hands the batch to the storage threads: hashed on one queue, encrypted on the other. With
   * {@code last}, the same two tasks also make the digest and seal the last segment, so a body that
   * fits one batch (a small file) costs one task on each queue, not two.
   *
   * @return the plaintext's SHA-256 (hex) when {@code last}, else null
   */
  private Future<String> submit(boolean last) {
    List<Buffer> full = batch;
    int bytes = batchBytes;
    batch = new ArrayList<>();
    batchBytes = 0;
    pending += bytes;
    Future<String> digest = hashing.run(() -> {
      for (Buffer b : full) {
        sha256.update(((BufferInternal) b).getByteBuf().nioBuffer());
      }
      return last ? HexFormat.of().formatHex(sha256.digest()) : null;
    });
    step(encrypting.run(() -> {
      for (Buffer b : full) {
        ByteBuffer plain = ((BufferInternal) b).getByteBuf().nioBuffer();
        while (plain.hasRemaining()) {
          out.write(plain);
        }
      }
      if (last) {
        out.close(); // the last segment
      }
      return collector.take();
    }), bytes, last);
    return digest;
  }

  private void step(Future<List<Buffer>> ciphertext, int plainBytes, boolean last) {
    steps.add(new Step(ciphertext, plainBytes, last));
    ciphertext.onComplete(ar -> handOn());
  }

  /** On the context: hands the ciphertext of the complete steps at the head to the store, in order. */
  private void handOn() {
    while (!steps.isEmpty() && steps.peek().ciphertext().isComplete()) {
      Step s = steps.poll();
      pending -= s.plainBytes();
      if (s.ciphertext().failed()) {
        steps.clear();
        fail(s.ciphertext().cause());
        return;
      }
      body.push(s.ciphertext().result());
      if (s.last()) {
        body.end();
      }
    }
    checkDrain();
  }

  private void fail(Throwable err) {
    if (failure == null) {
      failure = StorageException.of("cannot write an object", err);
    }
    body.fail(failure);
  }

  /** On the context: wakes a waiting writer once the queues are half empty. */
  private void checkDrain() {
    Handler<Void> drain = drainHandler;
    if (drain != null && pending + body.queuedBytes() <= QUEUE_BYTES / 2) {
      drainHandler = null;
      drain.handle(null);
    }
  }

  @Override
  public boolean writeQueueFull() {
    return failure == null && pending + body.queuedBytes() >= QUEUE_BYTES;
  }

  @Override
  public EncryptedWrite setWriteQueueMaxSize(int maxSize) {
    return this;
  }

  @Override
  public EncryptedWrite drainHandler(Handler<Void> handler) {
    drainHandler = handler;
    return this;
  }

  @Override
  public EncryptedWrite exceptionHandler(Handler<Throwable> handler) {
    return this;
  }

  /**
   * Encrypts the last segment, ends the ciphertext and waits for the store to hold the object.
   *
   * @return the plaintext's size (bytes) and SHA-256; fails with the store's failure (the object is
   *         then not stored)
   */
  public Future<StoredChunk> commit() {
    if (done) {
      return Future.failedFuture(new IllegalStateException("object write already ended"));
    }
    done = true;
    long written = size;
    Future<String> digest = submit(true);
    return Future.all(stored, digest).map(v -> new StoredChunk(written, digest.result()))
        .recover(err -> Future.failedFuture(failure instanceof StorageException s ? s
            : StorageException.of("cannot store an object", err)));
  }

  /** Discards the write: the store removes what it held; nothing is left under the key. Never fails. */
  public Future<Void> abort() {
    if (!stored.isComplete()) {
      done = true;
      if (failure == null) {
        failure = new ObjectStoreException("storing an object", ObjectStoreException.Reason.BODY,
            new IOException("aborted"));
      }
      body.fail(failure);
    }
    return stored.<Void>mapEmpty().otherwiseEmpty();
  }

  @Override
  public Future<Void> end() {
    return commit().mapEmpty();
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

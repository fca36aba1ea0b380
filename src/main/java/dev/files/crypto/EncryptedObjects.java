package dev.files.crypto;

import dev.files.storage.IoExecutor;
import dev.files.storage.ObjectStore;
import dev.files.storage.ObjectRead;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.StorageException;
import dev.files.storage.ObjectKeys;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;

import java.util.Collection;
import java.util.List;

/**
 * Chunk and thumbnail objects, encrypted and hashed above an {@link ObjectStore}, so every store
 * (a local directory, S3) gets the same encryption at rest: the store only ever sees ciphertext.
 *
 * <ul>
 *   <li>{@link #create}: plaintext in, its SHA-256 computed and its ciphertext (Tink's
 *       AES-GCM-HKDF streaming format, {@link ChunkCipher}) streamed into a new object.</li>
 *   <li>{@link #read}: a plaintext range; only the ciphertext segments it covers are asked of the
 *       store ({@link ChunkCipher.Layout}), decrypted on the storage threads, and a segment that
 *       does not authenticate fails the stream before any of its bytes goes out.</li>
 * </ul>
 * Both are admitted through the storage queue ({@code storage.io_queue}): when it is full they fail
 * with a busy {@link StorageException} (HTTP 503) before anything is written or read.
 */
public final class EncryptedObjects {

  private final Vertx vertx;
  private final IoExecutor io;
  private final ObjectStore store;

  /** @param io the storage threads (hashing, encryption, decryption) */
  public EncryptedObjects(Vertx vertx, IoExecutor io, ObjectStore store) {
    this.vertx = vertx;
    this.io = io;
    this.store = store;
  }

  /** The store of opaque bytes beneath. */
  public ObjectStore store() {
    return store;
  }

  /**
   * Starts a new object under {@code key} (which must not exist); plaintext written to the result
   * is stored encrypted by {@code cipher} once {@link EncryptedWrite#commit()} succeeds.
   *
   * @throws StorageException (failed future) busy when the storage queue is full
   */
  public Future<EncryptedWrite> create(String key, ChunkCipher cipher) {
    ObjectKeys.check(key);
    ContextInternal ctx = (ContextInternal) vertx.getOrCreateContext();
    EncryptedWrite.Collector collector = new EncryptedWrite.Collector();
    return io.admit("create " + key, () -> cipher.encrypting(collector))
        .map(out -> new EncryptedWrite(ctx, io, store, key, collector, out))
        .recover(err -> Future.failedFuture(StorageException.of("cannot create an object", err)));
  }

  /**
   * Opens plaintext bytes {@code [offset, offset + length)} of the object under {@code key}, which
   * holds {@code plainSize} plaintext bytes encrypted by {@code cipher}. The stream fails, before
   * handing out a byte that did not authenticate, on tampered, swapped or truncated data. The caller
   * closes it when done, also on failure.
   *
   * @throws ObjectStoreException (failed future) {@code NOT_FOUND} when there is no object under
   *         the key ({@link StorageException#missing()}); a busy {@link StorageException} when the
   *         storage queue is full
   */
  public Future<ObjectRead> read(String key, long plainSize, long offset, long length, ChunkCipher cipher) {
    if (offset < 0 || length < 0 || offset + length > plainSize) {
      throw new IllegalArgumentException("range outside of the object");
    }
    ContextInternal ctx = (ContextInternal) vertx.getOrCreateContext();
    return io.admit("read " + key, () -> null).compose(v -> cipher.layout() == null
        ? store.read(key, offset, length)
        : DecryptingRead.open(ctx, io, store, key, cipher, plainSize, offset, length));
  }

  /**
   * As {@link #read}, for a consumer that writes the buffers to a socket and then releases each
   * one ({@link dev.files.storage.PooledBuffers#pipe}, {@link dev.files.storage.PooledBuffers#release}):
   * when the store keeps the object as a local file, the segments are read and decrypted in one
   * storage task into pooled direct buffers ({@link DirectRead}); otherwise (S3, a cipher of
   * another format, an empty range) the buffers are those of {@link #read}, which release leaves alone.
   *
   * @throws ObjectStoreException (failed future) as {@link #read}
   */
  public Future<ObjectRead> readDirect(String key, long plainSize, long offset, long length, ChunkCipher cipher) {
    if (offset < 0 || length < 0 || offset + length > plainSize) {
      throw new IllegalArgumentException("range outside of the object");
    }
    if (length == 0 || !DirectRead.applies(cipher)) {
      return read(key, plainSize, offset, length, cipher);
    }
    ContextInternal ctx = (ContextInternal) vertx.getOrCreateContext();
    return io.admit("read " + key, () -> null)
        .compose(v -> DirectRead.open(ctx, io, store, key, cipher, plainSize, offset, length))
        .compose(r -> r != null ? Future.succeededFuture(r) : cipher.layout() == null
            ? store.read(key, offset, length)
            : DecryptingRead.open(ctx, io, store, key, cipher, plainSize, offset, length));
  }

  /** Removes the object under {@code key}; succeeds when there is none. */
  public Future<Void> delete(String key) {
    return store.delete(List.of(key));
  }

  /** Removes the objects under {@code keys}; a key with no object is not an error. */
  public Future<Void> delete(Collection<String> keys) {
    return store.delete(keys);
  }
}

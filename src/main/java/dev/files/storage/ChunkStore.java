package dev.files.storage;

import io.vertx.core.Future;

/**
 * Where chunk bytes live, encrypted: a flat space of objects named by keys the service generates
 * (never derived from a file name). Writes are all-or-nothing: nothing is visible under a key until
 * {@link ChunkWrite#commit()} succeeds, and {@link ChunkWrite#abort()} leaves nothing behind.
 *
 * <p>Failures are {@link StorageException}s ({@link StorageException#full()} when out of space).
 */
public interface ChunkStore {

  /**
   * Starts writing a new object under {@code key} (which must not exist); the plaintext written is
   * stored encrypted by {@code cipher}.
   */
  Future<ChunkWrite> create(String key, ChunkCipher cipher);

  /**
   * Opens plaintext bytes {@code [offset, offset + length)} of the object under {@code key},
   * decrypted by {@code cipher} (only the segments the range covers are read), as a stream that
   * fails, before handing out a byte that did not authenticate, on tampered or truncated data.
   * The caller closes it ({@link ChunkRead#close()}) when done, also on failure.
   */
  Future<ChunkRead> read(String key, long offset, long length, ChunkCipher cipher);

  /** Removes the object under {@code key}; succeeds when it does not exist. */
  Future<Void> delete(String key);

  /**
   * The objects whose keys start with {@code prefix}, at any depth (unfinished writes included);
   * {@code ""} lists the whole store.
   */
  Future<java.util.List<StoredObject>> list(String prefix);
}

package dev.files.storage;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Collection;
import java.util.UUID;

/**
 * A store of opaque bytes under keys the service gives it (chunk keys it generates, never a file
 * name): write a new object from a stream, read a byte range as a stream, delete a batch, list a
 * prefix page by page. It knows nothing of encryption or hashing; those sit above it, so every
 * implementation gets them unchanged.
 *
 * <p>Implementations: {@code storage.local} (a directory; shared by several nodes only on a shared
 * file system) and {@code storage.s3} (an S3-compatible server).
 *
 * <p>Keys follow {@link ObjectKeys#check(String)}. Sizes and offsets are in bytes. Every future
 * completes on the Vert.x context of the caller, and stream handlers run there too.
 *
 * <p>Failures are {@link ObjectStoreException}s (a {@link StorageException}): their
 * {@link ObjectStoreException#reason() reason} tells what happened and their message says it in
 * the service's terms, never with a path, a host name or the store's own error text (those stay in
 * the cause, for the log).
 *
 * <p>What differs between stores beyond the bytes is asked of the store, never found by its type:
 * how it is named to the operator ({@link #description()}, {@link #settings()}), where it keeps its
 * identity ({@link #readIdentity()}), what readiness checks ({@link #checkReady()}) and what a crash
 * may leave behind ({@link #removeTemporaries(long)}).
 */
public interface ObjectStore {

  /**
   * Stores {@code body} as a new object under {@code key}. The store takes the stream over: it sets
   * its handlers and resumes it, and pauses it while it cannot keep up, so memory stays bounded
   * whatever the length (unknown in advance). Nothing is visible under the key until the whole body
   * is stored; a failure (of the body, of the store) leaves nothing under it, and on failure the
   * body is left paused with its handlers cleared.
   *
   * @return the number of bytes stored
   * @throws ObjectStoreException (failed future) {@code EXISTS} when an object is already stored under
   *         {@code key} (checked atomically by the store where it can: a local directory, an S3
   *         server honouring {@code If-None-Match: *}), {@code UNAVAILABLE} when the store cannot
   *         be reached or fails, {@code FULL} when it has no space, {@code BODY} when the body
   *         stream failed
   */
  Future<Long> write(String key, ReadStream<Buffer> body);

  /**
   * Opens bytes {@code [offset, offset + length)} of the object under {@code key} as a stream with
   * back-pressure: at most a few buffers (≤ 1 MiB) are read ahead of the consumer's demand. The
   * stream ends after exactly {@code length} bytes, or fails ({@code exceptionHandler}) when the
   * store fails mid-way. The caller {@link ObjectRead#close() closes} it when done, also when it
   * abandons it.
   *
   * @param offset first byte, ≥ 0
   * @param length how many bytes, ≥ 0
   * @throws ObjectStoreException (failed future) {@code NOT_FOUND} when there is no object under
   *         {@code key}, {@code SHORT} when the object ends before {@code offset + length},
   *         {@code UNAVAILABLE} when the store cannot be reached or fails
   */
  Future<ObjectRead> read(String key, long offset, long length);

  /**
   * The object under {@code key} opened for positioned reads on the storage threads, when this
   * store keeps objects as local files: a download then reads whole ciphertext segments straight
   * into direct memory and decrypts them there, in one storage task (no stream between). The
   * caller closes the channel. A store that keeps objects elsewhere (S3) answers null, and its
   * objects are read through {@link #read}.
   *
   * @param length the bytes the caller will read, from 0
   * @return the channel, or null (succeeded) when the store has no local files
   * @throws ObjectStoreException (failed future) {@code NOT_FOUND} when there is no object under
   *         {@code key}, {@code SHORT} when it holds fewer than {@code length} bytes,
   *         {@code UNAVAILABLE} when it cannot be opened
   */
  default Future<FileChannel> openFile(String key, long length) {
    return Future.succeededFuture();
  }

  /**
   * Fills the remaining bytes of {@code dst} from {@code channel} (an object's file, as
   * {@link #openFile} or a local store opens it), reading from file position {@code at} on with
   * positioned reads (the channel's own position does not move). Blocking: call it on a storage
   * thread. The one read-until-full loop for object files.
   *
   * @param dst where the bytes go, from its position to its limit; its position ends at its limit
   * @param at  the file position of the byte that goes to {@code dst}'s current position, ≥ 0
   * @throws ObjectStoreException {@code SHORT} when the file ends before {@code dst} is full (the
   *         object is shorter than its record says), {@code UNAVAILABLE} (or {@code FULL}, as
   *         {@link ObjectStoreException#of} tells) when the read fails
   */
  static void readFully(FileChannel channel, ByteBuffer dst, long at) throws ObjectStoreException {
    long base = at - dst.position();
    while (dst.hasRemaining()) {
      int n;
      try {
        n = channel.read(dst, base + dst.position());
      } catch (IOException e) {
        throw ObjectStoreException.of("reading an object", ObjectStoreException.Reason.UNAVAILABLE, e);
      }
      if (n < 0) {
        throw new ObjectStoreException("reading an object", ObjectStoreException.Reason.SHORT, null);
      }
    }
  }

  /**
   * Deletes the objects under {@code keys} (any number; sent in batches the store accepts). A key
   * with no object is not an error.
   *
   * @throws ObjectStoreException (failed future) {@code UNAVAILABLE} when one or more could not be
   *         deleted (the others are gone; deleting again is safe)
   */
  Future<Void> delete(Collection<String> keys);

  /**
   * One page of the objects whose keys start with {@code prefix} ({@code ""}: all), in ascending
   * key order. Only stored objects are listed: never a write in progress or one that failed.
   *
   * @param pageToken {@code null} for the first page, else {@link ObjectPage#next()} of the page
   *                  before (opaque; only valid with the same prefix)
   * @param pageSize  at most this many objects, 1 to 1000
   */
  Future<ObjectPage> list(String prefix, String pageToken, int pageSize);

  /**
   * A cheap check that the store answers and the bucket or directory is there (for readiness).
   *
   * @throws ObjectStoreException (failed future) {@code UNAVAILABLE} otherwise
   */
  Future<Void> probe();

  /** Releases the store's connections and threads; later calls fail. */
  Future<Void> close();

  /**
   * The store as the operator configured it, for messages and the log: {@code storage.local.path
   * /srv/files}, {@code storage.s3.bucket files at https://s3.example}.
   */
  String description();

  /** The settings that choose the store, for messages: {@code storage.local.path (FILES_STORAGE_LOCAL_PATH)}. */
  String settings();

  /**
   * Where the store keeps its identity (the UUID that ties it to one database, {@link StoreSide}),
   * for the log: outside the key space where the store has a place for it (a local directory's
   * {@link StoreMarker#FILE}), else the object {@link StoreSide#OBJECT_KEY} ({@link IdentityObject}).
   */
  String identityLocation();

  /**
   * The identity recorded in the store, or null when there is none.
   *
   * @throws IllegalStateException (failed future) when the marker does not hold a UUID
   */
  Future<UUID> readIdentity();

  /**
   * Records {@code id} as the store's identity unless one is recorded already (the first writer
   * wins, also between nodes).
   *
   * @return the identity the store holds afterwards: {@code id}, or the one found
   */
  Future<UUID> recordIdentity(UUID id);

  /**
   * The readiness check of {@code /health/ready}: by default {@link #probe()} (the store answers);
   * a local directory writes, reads back and deletes a small file in it.
   *
   * @throws Exception (failed future) when the store is not ready; {@link #notReadyReason()} says it to the operator
   */
  default Future<Void> checkReady() {
    return probe();
  }

  /** What a failed {@link #checkReady()} means, one line without a path or host for {@code /health/ready}. */
  default String notReadyReason() {
    return "the object store does not answer";
  }

  /**
   * Removes what writes cut short by a crash left outside the key space (a local directory's
   * temporary files), when older than {@code olderThanMs}; nothing for a store whose writes leave
   * nothing behind (S3 aborts an unfinished multipart upload).
   *
   * @return how many were removed
   */
  default Future<Integer> removeTemporaries(long olderThanMs) {
    return Future.succeededFuture(0);
  }
}

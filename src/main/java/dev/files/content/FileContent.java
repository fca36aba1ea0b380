package dev.files.content;

import com.google.crypto.tink.StreamingAead;
import dev.files.crypto.ChunkCipher;
import dev.files.crypto.DataKeys;
import dev.files.crypto.EncryptedObjects;
import dev.files.model.ChunkRecord;
import dev.files.model.FileRecord;
import dev.files.storage.ObjectRead;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.StorageException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;

import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/**
 * The one way to read a stored file's plaintext: a byte range of its live generation (downloads,
 * thumbnails) or one of its thumbnails. The arithmetic lives here once: a range of the file → the
 * pieces of its chunk objects that hold it ({@link #pieces}) → for each piece, the ciphertext
 * segments that hold it ({@link EncryptedObjects#read}, {@link ChunkCipher.Layout}) → ranged reads
 * of the objects ({@code ObjectStore#read}).
 *
 * <p>Use: {@link #of} unwraps the file's data key once (and fails there when it cannot be
 * unwrapped), then {@link Content#open} streams a range. Offsets and lengths are in bytes of
 * plaintext. Reads are admitted through the storage queue ({@code storage.io_queue}): a full queue
 * fails the read with a busy {@link StorageException}.
 */
public final class FileContent {

  private final Vertx vertx;
  private final EncryptedObjects objects;
  private final DataKeys dataKeys;

  /**
   * @param objects  the encrypted chunk and thumbnail objects
   * @param dataKeys the master keys that unwrap the files' data keys
   */
  public FileContent(Vertx vertx, EncryptedObjects objects, DataKeys dataKeys) {
    this.vertx = vertx;
    this.objects = objects;
    this.dataKeys = dataKeys;
  }

  /** True when the sizes of {@code chunks} add up to the file's size (else its rows are inconsistent). */
  public static boolean addsUp(FileRecord file, List<ChunkRecord> chunks) {
    return chunks.stream().mapToLong(ChunkRecord::size).sum() == file.size();
  }

  /**
   * The content of {@code file}'s live generation, stored in {@code chunks} (in order; empty to read
   * only thumbnails). A chunk moved from another file ({@link ChunkRecord#source}, a partial upload
   * of a tus final upload) is decrypted with its source's data key, also unwrapped here, and its
   * source's associated data.
   *
   * @throws GeneralSecurityException ({@link DataKeys.UnavailableException}) when the file's data
   *         key, or a source's, cannot be unwrapped: its master key is not configured, or does not open it
   */
  public Content of(FileRecord file, List<ChunkRecord> chunks) throws GeneralSecurityException {
    Map<UUID, StreamingAead> sources = new HashMap<>();
    for (ChunkRecord c : chunks) {
      ChunkRecord.Source s = c.source();
      if (s != null && !sources.containsKey(s.fileId())) {
        sources.put(s.fileId(), dataKeys.unwrap(s.fileId(), s.dataKeyId(), s.dataKey()));
      }
    }
    return new Content(file, List.copyOf(chunks),
        dataKeys.unwrap(file.id(), file.dataKeyId(), file.dataKey()), sources);
  }

  /**
   * One piece of one chunk object: plaintext bytes {@code [offset, offset + length)} of the object
   * under {@code key}, which holds {@code size} plaintext bytes, decrypted by {@code cipher}.
   */
  record Piece(String key, long size, long offset, long length, ChunkCipher cipher) {
  }

  /**
   * The pieces of chunk objects that hold bytes {@code [from, to)} of the file, in order (empty
   * chunks and chunks outside the range left out).
   */
  static List<Piece> pieces(FileRecord f, StreamingAead aead, List<ChunkRecord> chunks, long from, long to) {
    return pieces(f, aead, Map.of(), chunks, from, to);
  }

  /**
   * As {@link #pieces(FileRecord, StreamingAead, List, long, long)}, with the data keys of the
   * sources of moved chunks ({@link ChunkRecord#source}) by source file id.
   */
  static List<Piece> pieces(FileRecord f, StreamingAead aead, Map<UUID, StreamingAead> sources,
                            List<ChunkRecord> chunks, long from, long to) {
    List<Piece> out = new ArrayList<>();
    long offset = 0; // of the current chunk within the file
    for (ChunkRecord c : chunks) {
      long chunkStart = offset;
      long chunkEnd = offset + c.size();
      offset = chunkEnd;
      if (chunkEnd <= from || chunkStart >= to || c.size() == 0) {
        continue;
      }
      long readFrom = Math.max(from, chunkStart) - chunkStart;
      ChunkRecord.Source s = c.source();
      ChunkCipher cipher = s == null ? DataKeys.cipher(aead, f.id(), f.generation(), c.chunkNumber())
          : DataKeys.cipher(sources.get(s.fileId()), s.fileId(), s.generation(), s.chunkNumber());
      out.add(new Piece(c.storageKey(), c.size(), readFrom, Math.min(to, chunkEnd) - chunkStart - readFrom, cipher));
    }
    return out;
  }

  /** A file's content with its data key unwrapped: ready to read. */
  public final class Content {
    private final FileRecord file;
    private final List<ChunkRecord> chunks;
    private final StreamingAead aead;
    private final Map<UUID, StreamingAead> sources;

    private Content(FileRecord file, List<ChunkRecord> chunks, StreamingAead aead, Map<UUID, StreamingAead> sources) {
      this.file = file;
      this.chunks = chunks;
      this.aead = aead;
      this.sources = sources;
    }

    /**
     * Opens plaintext bytes {@code [offset, offset + length)} of the file as one stream across its
     * chunk objects, each piece decrypted as it is read (never the whole file in memory). The first
     * piece is opened before the future completes, so that a missing object fails the future, not
     * the stream; a later piece that cannot be opened, or a segment that does not authenticate,
     * fails the stream before any of its bytes goes out. The caller closes the stream when done,
     * also on failure.
     *
     * @throws IllegalArgumentException when the range is outside of the file
     * @throws ObjectStoreException (failed future) {@code NOT_FOUND} when the first piece's object
     *         is gone; a busy {@link StorageException} when the storage queue is full
     */
    public Future<ObjectRead> open(long offset, long length) {
      return open(offset, length, this::read);
    }

    /**
     * As {@link #open}, for a consumer that writes the buffers to a socket and releases each one
     * once written or dropped ({@link dev.files.storage.PooledBuffers#pipe} does): from a local
     * store they are pooled direct memory, read and decrypted in one storage task
     * ({@link EncryptedObjects#readDirect}); a buffer never released is memory lost to the pool.
     */
    public Future<ObjectRead> openDirect(long offset, long length) {
      return open(offset, length, this::readDirect);
    }

    private Future<ObjectRead> open(long offset, long length, Function<Piece, Future<ObjectRead>> opener) {
      if (offset < 0 || length < 0 || offset + length > file.size()) {
        throw new IllegalArgumentException("range outside of the file");
      }
      List<Piece> pieces = pieces(file, aead, sources, chunks, offset, offset + length);
      ContextInternal ctx = (ContextInternal) vertx.getOrCreateContext();
      if (pieces.isEmpty()) {
        return Future.succeededFuture(new ContentRead(ctx, List.of(), null, opener));
      }
      return opener.apply(pieces.get(0)).map(first -> new ContentRead(ctx, pieces, first, opener));
    }

    /**
     * The whole plaintext in one buffer (the thumbnail worker; callers bound the file's size first).
     *
     * @throws ObjectStoreException (failed future) as {@link #open}; a {@link StorageException}
     *         when a segment does not authenticate
     */
    public Future<Buffer> readAll() {
      Buffer all = Buffer.buffer((int) file.size());
      return open(0, file.size()).compose(read -> {
        Promise<Buffer> done = Promise.promise();
        read.exceptionHandler(done::tryFail).endHandler(x -> done.tryComplete(all)).handler(all::appendBuffer);
        return done.future().eventually(read::close);
      });
    }

    /**
     * Opens thumbnail {@code index} of the live generation, stored under {@code key} with
     * {@code size} plaintext bytes. The caller closes the stream.
     *
     * @throws ObjectStoreException (failed future) {@code NOT_FOUND} when its object is gone
     */
    public Future<ObjectRead> thumbnail(int index, String key, long size) {
      return objects.read(key, size, 0, size, thumbnailCipher(index));
    }

    /** The cipher of thumbnail {@code index} of the live generation (to write it). */
    public ChunkCipher thumbnailCipher(int index) {
      return DataKeys.thumbnailCipher(aead, file.id(), file.generation(), index);
    }

    private Future<ObjectRead> read(Piece p) {
      return objects.read(p.key(), p.size(), p.offset(), p.length(), p.cipher());
    }

    private Future<ObjectRead> readDirect(Piece p) {
      return objects.readDirect(p.key(), p.size(), p.offset(), p.length(), p.cipher());
    }
  }
}

package dev.files.upload;

import dev.files.error.Kind;
import dev.files.error.ServiceException;
import com.google.crypto.tink.StreamingAead;
import dev.files.db.FileRepository;
import dev.files.model.ChunkRecord;
import dev.files.model.ContentTypes;
import dev.files.model.FileRecord;
import dev.files.crypto.ChunkKeys;
import dev.files.crypto.DataKeys;
import dev.files.crypto.EncryptedObjects;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.GeneralSecurityException;
import java.util.List;
import java.util.UUID;

/**
 * The upload use case, the one path of every upload's chunk whatever front door it came through
 * (multipart and the Resumable.js / Flow.js chunk dialect, tus and the IETF draft, {@code files.api
 * create}): the adapters parse their protocol, call these four steps in order, and answer in their
 * protocol.
 * <ol>
 *   <li>{@link #admit} (or {@link #admitAppend}): the rules that the request line and the file's row
 *       already decide, before any byte of the body ({@link UploadRules#allowance}), and how the
 *       chunk's bytes are encrypted (the file's data key, or a new file's new one, and the generation
 *       its upload session will record): a {@link Target};</li>
 *   <li>{@link #open}: the chunk write, body → encryption ({@link DataKeys#cipher}) → hashing and
 *       counting → a new store object under {@link ChunkKeys#newKey};</li>
 *   <li>{@link #commit}: the {@link ChunkCommit}, sent to the file's upload session
 *       ({@link UploadSessions#commit}), or for a file this request made, committed directly
 *       ({@link UploadSessions#commitNew});</li>
 *   <li>clean-up: a chunk that fails before its commit is aborted ({@link ChunkWrite#abort}); after a
 *       failed commit its object is deleted (before the failure is reported) only when
 *       {@link ServiceException#objectMayBeReferenced} is false, else it stays for the orphan sweep
 *       (docs/architecture.md, "Where objects are deleted").</li>
 * </ol>
 * Failures are {@link ServiceException}s with the status the edges answer (404, 403, 400, 503), and
 * the store's and the database's own failures.
 */
public final class Uploads {

  private static final Logger LOG = LoggerFactory.getLogger(Uploads.class);

  private final FileRepository files;
  private final EncryptedObjects store;
  private final DataKeys dataKeys;
  private final UploadSessions sessions;

  public Uploads(FileRepository files, EncryptedObjects store, DataKeys dataKeys, UploadSessions sessions) {
    this.files = files;
    this.store = store;
    this.dataKeys = dataKeys;
    this.sessions = sessions;
  }

  /** The upload sessions the commits go to (for the adapters' other questions: init, delete, settings). */
  public UploadSessions sessions() {
    return sessions;
  }

  /**
   * Where a chunk goes, decided before its body.
   *
   * @param fileId     the file
   * @param companyId  the company of the request
   * @param requester  who uploads
   * @param create     the file is new, made by this request (committed without a session)
   * @param aead       the file's streaming AEAD (null: the null cipher)
   * @param generation the generation the chunk is encrypted for (the upload in progress, else the next one)
   * @param newKey     a new file's wrapped data key, for its first commit to record; else null
   * @param allowance  the most bytes the chunk may hold for {@code total_size}
   *                   ({@link UploadRules#NO_LIMIT}: no limit beyond the configured ones)
   */
  public record Target(UUID fileId, UUID companyId, Requester requester, boolean create, StreamingAead aead,
                       int generation, DataKeys.Wrapped newKey, long allowance) {
  }

  /**
   * Admits an upload into a file before its body is read.
   *
   * @param create the file is new, its id made by this request: no row is read, a new data key is made
   * @param q      what the request says before its body
   * @return the target; failed with {@link ServiceException} 404 (no such file in the company), 403 or
   *     400 ({@link UploadRules#allowance}), 503 (the file's data key cannot be opened); for a new
   *     file with the {@link GeneralSecurityException} of a data key that could not be made
   */
  public Future<Target> admit(UUID fileId, UUID companyId, Requester requester, boolean create, UploadRules.Request q) {
    if (create) {
      try {
        long allowance = UploadRules.allowance(null, requester, q, List.of());
        DataKeys.NewKey key = dataKeys.newDataKey(fileId);
        return Future.succeededFuture(new Target(fileId, companyId, requester, true, key.aead(), 1, key.wrapped(), allowance));
      } catch (GeneralSecurityException | ServiceException e) {
        return Future.failedFuture(e);
      }
    }
    // the row and the chunks the rules may need, in one statement: one round trip before the body
    return files.findForUpload(fileId).compose(found -> {
      FileRecord f = found == null ? null : found.file();
      if (f == null || !f.companyId().equals(companyId)) {
        throw new ServiceException(Kind.NOT_FOUND, UploadRules.notFound(fileId));
      }
      Integer generation = UploadRules.generationToRead(f, requester, q);
      Integer read = f.uploadGeneration() != null ? f.uploadGeneration() : f.generation();
      Future<List<ChunkRecord>> chunks = generation == null ? Future.succeededFuture(List.of())
          : generation.equals(read) ? Future.succeededFuture(found.chunks())
          : files.chunks(files.pool(), fileId, generation); // not the generation read with the row
      return chunks.map(list -> existing(f, requester, UploadRules.allowance(f, requester, q, list)));
    });
  }

  /**
   * Admits an append to an upload in progress whose row the adapter read and checked (tus PATCH): how
   * its bytes are encrypted, and its chunk number (after the chunks stored).
   *
   * @return the target and the chunk number; failed with {@link ServiceException} 503 when the file's
   *     data key cannot be opened
   */
  public Future<Append> admitAppend(FileRecord f, Requester requester) {
    Target target;
    try {
      target = existing(f, requester, UploadRules.NO_LIMIT);
    } catch (ServiceException e) {
      return Future.failedFuture(e);
    }
    Future<Integer> count = f.uploadGeneration() == null ? Future.succeededFuture(0)
        : files.chunks(files.pool(), f.id(), target.generation()).map(List::size);
    return count.map(n -> new Append(target, n + 1));
  }

  /** An admitted append: where it goes, and its chunk number. */
  public record Append(Target target, int chunkNumber) {
  }

  /**
   * How the chunk's bytes of an existing file are encrypted: its data key, unwrapped, and the
   * generation its upload session will record (the upload in progress, else the next one).
   */
  private Target existing(FileRecord f, Requester requester, long allowance) {
    int generation = f.nextUploadGeneration(); // never a number this file had before
    try {
      return new Target(f.id(), f.companyId(), requester, false, dataKeys.unwrap(f.id(), f.dataKeyId(), f.dataKey()), generation, null, allowance);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new ServiceException(Kind.UNAVAILABLE, "file " + f.id() + " cannot be encrypted: " + DataKeys.unavailableReason(e));
    }
  }

  /**
   * Opens the write of one chunk into a new object of the target's file: the body written to it is
   * encrypted for the target's generation and {@code chunkNumber}, hashed and counted.
   *
   * @param chunkNumber the chunk's 1-based number (part of the encryption's associated data, so it
   *                    is known before the first byte)
   * @param limit       the most bytes the chunk may hold (beyond: {@link ChunkWrite.TooLargeException})
   */
  public ChunkWrite open(Target t, int chunkNumber, long limit) {
    return new ChunkWrite(store, ChunkKeys.newKey(t.fileId()), limit, chunkNumber,
        DataKeys.cipher(t.aead(), t.fileId(), t.generation(), chunkNumber));
  }

  /**
   * Marks the new file {@code fileId}, made by this request (nobody else knows its id yet: no
   * session is needed to order this with other changes), as a tus partial upload (docs/api.md,
   * "Concatenation"): it stays a pending file when all its bytes are stored, until a final upload
   * takes its chunks or the sweep expires it.
   *
   * @return failed with the database's exception
   */
  public Future<Void> markPartial(UUID fileId) {
    return files.recordConcat(files.pool(), fileId, null);
  }

  /**
   * Makes a tus final upload (docs/api.md, "Concatenation"): the new file {@code fileId} (made by
   * this request) whose content is the partial uploads {@code parts}' content in order, their stored
   * chunks reused (no byte copied): a new data key for the file (its thumbnails, later overwrites),
   * then {@link UploadSessions#concatenate}. The caller has checked that the requester may use
   * each partial.
   *
   * @param name sanitised file name, or null
   * @param mime usable declared type, or null
   * @return the final file's resource; failed with {@link ServiceException} 404 (a partial gone),
   *     400 (not a partial upload, or not complete), 503, or the {@link GeneralSecurityException}
   *     of a data key that could not be made
   */
  public Future<JsonObject> concatenate(UUID fileId, UUID companyId, Requester requester, List<UUID> parts,
                                        String name, String mime) {
    DataKeys.NewKey key;
    try {
      key = dataKeys.newDataKey(fileId);
    } catch (GeneralSecurityException e) {
      return Future.failedFuture(e);
    }
    return sessions.concatenate(new Commits.Concatenation(fileId, companyId, requester, List.copyOf(parts), name, mime,
        key.wrapped()));
  }

  /**
   * Commits a stored chunk ({@link ChunkWrite#stored()} succeeded): the one place a
   * {@link ChunkCommit} is built. A new file's id is this request's own: its commit needs no session
   * to be ordered with others. Each call is one commit (a new commit id; the session's retries of it
   * are recognised).
   *
   * @return the file's resource after the commit; on failure, the chunk's object is deleted first
   *     when the commit is known to have changed nothing (a refusal, a rollback, a question never
   *     delivered); when its answer was lost it may be recorded: the object stays (the orphan sweep
   *     removes it if no row names it) and the failure says the request is safe to repeat
   */
  public Future<JsonObject> commit(Target t, ChunkWrite w, ChunkCommit.Declared d) {
    byte[] head = w.head();
    ChunkCommit commit = new ChunkCommit(
        new ChunkCommit.Upload(t.fileId(), t.companyId(), t.requester(), t.create()),
        d,
        new ChunkCommit.Stored(w.chunkNumber(), t.generation(), w.key(), w.size(), w.sha256(),
            ContentTypes.sniff(head, head.length), t.newKey()),
        UUID.randomUUID());
    return (t.create() ? sessions.commitNew(commit) : sessions.commit(commit))
        .recover(err -> {
          if (!ServiceException.objectMayBeReferenced(err)) { // answered once the object is gone
            return store.delete(w.key()).transform(v -> Future.failedFuture(err));
          }
          LOG.info("upload of file {}: chunk {} kept as {}: {}", t.fileId(), w.chunkNumber(), w.key(), err.getMessage());
          return Future.failedFuture(err);
        });
  }
}

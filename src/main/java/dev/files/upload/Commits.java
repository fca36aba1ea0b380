package dev.files.upload;

import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.bus.Addresses;
import dev.files.bus.InternalBus;
import dev.files.db.EventRepository;
import dev.files.db.EventRepository.NewEvent;
import dev.files.db.FileRepository;
import dev.files.events.Outbox;
import dev.files.model.CommittedChunk;
import dev.files.model.FileRecord;
import dev.files.ops.ServiceMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;

import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

/**
 * Records a stored chunk in one transaction: reads the file under its row lock, lets
 * {@link UploadRules} decide, and makes the decision's changes; then counts it
 * ({@link ServiceMetrics#chunkCommitted}, {@link ServiceMetrics#uploadCompleted}). A commit that completes
 * the upload writes its event ({@code file.uploaded}, or {@code file.overwritten} when the file had live
 * content) to the outbox in the same transaction ({@link Outbox}), wakes the relay after the COMMIT,
 * and asks for the thumbnails.
 *
 * <p>Used by a file's {@link UploadSessionVerticle}, and directly by {@link UploadSessions#commitNew}
 * for the whole-file upload of a file id the handler has just made (nobody else can know that id,
 * so no session is needed to order its commits). Objects no longer wanted are retired (the sweep
 * removes them after {@code upload.retire_grace_ms}), never deleted at once.
 */
public final class Commits {

  private final Vertx vertx;
  private final FileRepository files;
  private final SessionSettings settings;
  private final UploadRules rules;
  private final ServiceMetrics metrics;
  private final InternalBus bus;
  private final Outbox outbox;

  /**
   * @param metrics the node's metrics (chunks committed, uploads completed)
   * @param bus     the node's internal event bus (the thumbnail job a completed upload asks for)
   * @param outbox  wakes the node's relay after a COMMIT that wrote events
   */
  public Commits(Vertx vertx, FileRepository files, SessionSettings settings, ServiceMetrics metrics, InternalBus bus,
                 Outbox outbox) {
    this.vertx = vertx;
    this.files = files;
    this.settings = settings;
    this.metrics = metrics;
    this.bus = bus;
    this.outbox = outbox;
    // a commit is made only while its asker may still wait for it (upload.commit_timeout_ms), and
    // while the retired rows that recognise its repeats are kept (upload.retire_grace_ms)
    this.rules = new UploadRules(maxCommitAgeMs(settings));
  }

  /**
   * The longest time (ms) from the first asking of a commit to its decision: the smaller of
   * {@code upload.commit_timeout_ms} (the asker waits no longer; a repeat is a new commit) and
   * {@code upload.retire_grace_ms}. A commit decided later is refused with 409 and changes nothing.
   */
  public static long maxCommitAgeMs(SessionSettings settings) {
    return Math.min(settings.timeoutMs(), settings.retireGraceMs());
  }

  /**
   * What a commit did: the file's row after it, whether it completed the upload, and whether the file
   * is complete with no upload in progress after it (a re-send to a complete file: nothing more for
   * its session to order).
   */
  record Outcome(JsonObject resource, boolean completed, boolean settled) {
  }

  /**
   * Records {@code c}, the whole-file upload of a file id its request has just made (so no other
   * commit of that file exists or can run meanwhile: there is no row to lock), first asked at
   * {@code askedAt} (epoch ms), and answers the resource as the upload stands after it. Refusals fail
   * with {@link dev.files.error.ServiceException} (nothing changed); a COMMIT the database did not confirm fails with
   * {@link OutcomeUnknown}; other failures are the database's.
   *
   * @param again an earlier COMMIT of {@code c} was not confirmed: it may have created the file, so its
   *              row is locked and read first (the commit id then answers the file as it stands,
   *              instead of a second insert failing on the primary key)
   */
  Future<Outcome> commitNew(ChunkCommit c, long askedAt, boolean again) {
    if (!c.upload().create()) {
      throw new IllegalArgumentException("only the upload of a new file id is committed without its session");
    }
    return commit(c, askedAt, again ? conn -> Future.succeededFuture() : null);
  }

  /**
   * Records {@code c} alone, first asked at {@code askedAt} (epoch ms), with {@code guard} as the
   * first statement of the transaction (for {@link #commitNew} after an unconfirmed COMMIT: a no-op,
   * so that the row that COMMIT may have made is locked and read; a file's session records its
   * commits through {@link #commitAll}); when it fails, nothing is changed and the commit fails with its
   * error. Then the file's row is locked and read, {@link UploadRules} decide, and the decision's
   * statements go to the database together (pipelined on the connection, in order), followed by the
   * read of the row as it then stands. Answers and fails as {@link #commitNew}.
   *
   * @param guard the epoch check; null for {@link #commitNew} (no guard, no row to lock)
   */
  Future<Outcome> commit(ChunkCommit c, long askedAt, Function<SqlConnection, Future<Void>> guard) {
    UUID fileId = c.fileId();
    UploadRules.Accepted[] accepted = {null};
    boolean[] hadContent = {false};
    return inTransaction(conn -> locked(conn, fileId, guard)
            .compose(f -> {
              hadContent[0] = f != null && f.generation() != null;
              return state(conn, f, c);
            })
            .compose(state -> {
              // the time of the decision, after the row lock was granted: a commit is decided at most
              // its maximum age after it was first asked (the orphan scan's bound relies on it)
              long now = System.currentTimeMillis();
              UploadRules.Decision d = rules.commit(state, c, askedAt, now);
              if (d instanceof UploadRules.Refused r) {
                return Future.failedFuture(r.exception());
              }
              accepted[0] = (UploadRules.Accepted) d;
              if (state.file() == null) {
                return createWhole(conn, accepted[0], now);
              }
              Future<Void> changed = carryOut(conn, fileId, accepted[0].effects(), now);
              Future<FileRecord> after = files.find(conn, fileId); // pipelined behind the changes
              return Future.join(changed, after).map(v -> after.result())
                  .compose(f -> !accepted[0].completed() ? Future.succeededFuture(f)
                      : EventRepository.insert(conn, completion(hadContent[0], f)).map(f));
            }))
        .map(f -> {
          if (accepted[0].completed()) {
            outbox.wake();
          }
          return committed(c, accepted[0], f);
        });
  }

  /**
   * Records the commits {@code cs} of ONE file, first asked at {@code askedAt} (epoch ms, one per
   * commit), for the file's session, in ONE transaction: a session's group commit (the commits that
   * waited together in its mailbox, {@link UploadSessionVerticle}). {@code guard} (the session's epoch
   * check) is the first statement; then the file's row is locked and read once with the chunks of its
   * upload and whether each commit id is already recorded (sent at once). {@link UploadRules} decide
   * each commit in turn on the state as the ones before it left it ({@link UploadRules.Accepted#next});
   * a refusal leaves that commit out (the state does not move). The statements of the accepted ones
   * go in their order, each followed by a read of the row (the answer of that commit: the file as it
   * stands after it, as if it had been alone), all sent at once; the events of those that completed
   * the upload follow in one statement; then one COMMIT, one WAL flush. After it each is counted and
   * asks for its thumbnails, and the relay is woken once.
   *
   * <p>Answers, in the order of {@code cs}, each commit's outcome or its refusal (a failed
   * {@link ServiceException}). The whole fails as one commit alone does: with the guard's error,
   * with the database's error before the COMMIT (nothing of it was made), or with
   * {@link OutcomeUnknown} when the COMMIT was not confirmed (any of them may have been made).
   */
  Future<List<Future<Outcome>>> commitAll(List<ChunkCommit> cs, List<Long> askedAt,
                                          Function<SqlConnection, Future<Void>> guard) {
    int n = cs.size();
    UUID fileId = cs.get(0).fileId();
    for (ChunkCommit c : cs) {
      if (!c.fileId().equals(fileId)) {
        throw new IllegalArgumentException("a session's group holds the commits of one file");
      }
    }
    List<Future<Outcome>> answers = new java.util.ArrayList<>(java.util.Collections.nCopies(n, null));
    UploadRules.Accepted[] accepted = new UploadRules.Accepted[n];
    @SuppressWarnings("unchecked")
    Future<FileRecord>[] after = new Future[n];
    return inTransaction(conn -> stateAll(conn, fileId, guard, cs)
        .compose(first -> {
          // the time of the decisions, after the row lock was granted (as for one commit)
          long now = System.currentTimeMillis();
          UploadRules.State state = first;
          boolean[] hadContent = new boolean[n];
          List<Future<?>> sent = new java.util.ArrayList<>();
          for (int i = 0; i < n; i++) {
            UploadRules.Decision d = rules.commit(state, cs.get(i), askedAt.get(i), now);
            if (d instanceof UploadRules.Refused r) {
              answers.set(i, Future.failedFuture(r.exception()));
              continue;
            }
            accepted[i] = (UploadRules.Accepted) d;
            hadContent[i] = state.file() != null && state.file().generation() != null;
            state = accepted[i].next();
            sent.add(carryOut(conn, fileId, accepted[i].effects(), now));
            after[i] = files.find(conn, fileId); // pipelined behind its changes: the row as this commit leaves it
            sent.add(after[i]);
          }
          return Future.join(sent).compose(v -> {
            List<NewEvent> events = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
              if (accepted[i] != null && accepted[i].completed()) {
                FileRecord f = after[i].result();
                events.add(completion(hadContent[i], f));
              }
            }
            return EventRepository.insertAll(conn, events);
          });
        }))
        .map(v -> {
          boolean completed = false;
          for (int i = 0; i < n; i++) {
            if (accepted[i] != null) {
              answers.set(i, Future.succeededFuture(committed(cs.get(i), accepted[i], after[i].result())));
              completed |= accepted[i].completed();
            }
          }
          if (completed) {
            outbox.wake(); // once for the whole group
          }
          metrics.sessionGroup(n);
          return answers;
        });
  }

  /**
   * What the rules need of the file for a group of its commits, after {@code guard}: its row
   * (locked), the chunks of the upload in progress (else the live ones), and which of the commit ids
   * are already recorded. Every statement is sent at once, in that order (one round trip; the reads
   * run once the lock is held); a guard that fails wins.
   */
  private Future<UploadRules.State> stateAll(SqlConnection conn, UUID fileId, Function<SqlConnection, Future<Void>> guard,
                                             List<ChunkCommit> cs) {
    List<Future<?>> all = new java.util.ArrayList<>();
    Future<Void> guarded = guard.apply(conn);
    all.add(guarded);
    Future<FileRecord> row = files.lock(conn, fileId);
    all.add(row);
    Future<List<CommittedChunk>> chunks = files.currentChunks(conn, fileId);
    all.add(chunks);
    List<Future<Boolean>> known = new java.util.ArrayList<>(cs.size());
    for (ChunkCommit c : cs) {
      known.add(c.commitId() == null ? Future.succeededFuture(false) : files.knownCommit(conn, fileId, c.commitId()));
    }
    all.addAll(known);
    return Future.join(all).transform(ar -> {
      if (guarded.failed()) {
        return Future.failedFuture(guarded.cause());
      }
      if (ar.failed()) {
        return Future.failedFuture(ar.cause());
      }
      if (row.result() == null) {
        return Future.succeededFuture(new UploadRules.State(null, List.of(), Set.of()));
      }
      Set<UUID> ids = new java.util.HashSet<>();
      for (int i = 0; i < cs.size(); i++) {
        if (known.get(i).result()) {
          ids.add(cs.get(i).commitId());
        }
      }
      return Future.succeededFuture(new UploadRules.State(row.result(), chunks.result(), ids));
    });
  }

  /**
   * After the COMMIT of {@code c}, decided {@code a}, that left the file's row {@code f}: counts it
   * and, when it completed the upload, asks for the thumbnails (the relay is woken by the caller,
   * once per transaction). Answers its outcome.
   */
  private Outcome committed(ChunkCommit c, UploadRules.Accepted a, FileRecord f) {
    if (!a.repeated()) {
      metrics.chunkCommitted(c.stored().size());
    }
    if (a.completed()) {
      metrics.uploadCompleted();
      if ("waiting".equals(f.thumbnailsStatus())) { // asked once, by whoever completed the upload
        vertx.eventBus().send(Addresses.THUMBNAILS,
            new JsonObject().put("file_id", c.fileId().toString()).put("generation", f.generation()),
            bus.options());
      }
    }
    return new Outcome(f.toResource(), a.completed(), f.complete() && f.uploadGeneration() == null);
  }

  /**
   * Records the whole-file uploads {@code cs} of file ids their requests have just made, first asked
   * at {@code askedAt} (epoch ms, one per commit), in ONE transaction: a group commit
   * ({@link NewFileBatches}, {@code upload.group_commit_max}). The rules decide each commit as
   * {@link #commitNew} does; the rows, chunk rows and events of the accepted ones are inserted as
   * arrays, three statements sent at once ({@link FileRepository#insertAll},
   * {@link FileRepository#putChunks}, {@link EventRepository#insertAll}), then one COMMIT; after it each is
   * counted and asks for its thumbnails, and the relay is woken once.
   *
   * <p>Answers, in the order of {@code cs}, each commit's outcome, or its refusal (a failed
   * {@link ServiceException}; a refused commit is simply left out of the transaction, and when every
   * one is refused no transaction is run at all). The whole
   * fails when the transaction does: before its COMMIT with the database's error (nothing of it was
   * changed: the caller tries each commit alone), or with {@link OutcomeUnknown} when the COMMIT was
   * not confirmed (any of them may have been made).
   */
  Future<List<Future<Outcome>>> commitNewAll(List<ChunkCommit> cs, List<Long> askedAt) {
    for (ChunkCommit c : cs) {
      if (!c.upload().create()) {
        throw new IllegalArgumentException("only the upload of a new file id is committed without its session");
      }
    }
    int n = cs.size();
    List<Future<Outcome>> answers = new java.util.ArrayList<>(java.util.Collections.nCopies(n, null));
    UploadRules.Accepted[] accepted = new UploadRules.Accepted[n];
    return files.pool().getConnection().compose(conn -> {
      // the time of the decisions, once a connection is held, as for one commit (no row to lock: new ids)
      long now = System.currentTimeMillis();
      List<UploadRules.Accepted> rows = new java.util.ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        UploadRules.Decision d = rules.commit(new UploadRules.State(null, List.of(), Set.of()), cs.get(i), askedAt.get(i), now);
        if (d instanceof UploadRules.Refused r) {
          answers.set(i, Future.failedFuture(r.exception()));
          continue;
        }
        accepted[i] = (UploadRules.Accepted) d;
        rows.add(accepted[i]);
      }
      // every commit refused: nothing to write, so no transaction (no BEGIN, no COMMIT)
      Future<Void> written = rows.isEmpty() ? Future.succeededFuture() : inTransaction(conn, c -> createAll(c, rows, now));
      return written.eventually(conn::close);
    }).map(v -> {
      boolean completed = false;
      for (int i = 0; i < n; i++) {
        if (accepted[i] != null) {
          answers.set(i, Future.succeededFuture(committed(cs.get(i), accepted[i], accepted[i].next().file())));
          completed |= accepted[i].completed();
        }
      }
      if (completed) {
        outbox.wake(); // once for the whole group
      }
      return answers;
    });
  }

  /**
   * A tus final upload (docs/api.md, "Concatenation"): the new file {@code fileId} (an id its request
   * has just made) of {@code companyId}, owned by {@code requester}, whose content is the content of
   * the partial uploads {@code parts}, in that order.
   *
   * @param name the file's sanitised name, or null ("unnamed")
   * @param mime its usable declared type, or null (the first partial's type)
   * @param key  its new data key, wrapped (for its thumbnails and later overwrites)
   */
  public record Concatenation(UUID fileId, UUID companyId, Requester requester, List<UUID> parts, String name,
                              String mime, dev.files.crypto.DataKeys.Wrapped key) {
  }

  /**
   * Makes a final upload in one transaction: locks the partials' rows (in id order), checks again
   * that each is still there in the company (else 404), a partial upload (else 400) with all its
   * bytes stored (else 400), then inserts the final file live at generation 1, moves the partials'
   * chunk rows to it ({@link FileRepository#moveChunks}: renumbered in order, their objects and
   * encryption untouched, their source recorded), removes the partials
   * ({@link FileRepository#consume}; no event: like an expired pending upload they were never
   * complete files), records the final's role and writes its {@code file.uploaded} event. After the
   * COMMIT it counts the completion, wakes the relay and asks for thumbnails. No object is deleted or
   * copied. Refusals fail with {@link ServiceException} (nothing changed); a COMMIT the database did
   * not confirm with {@link OutcomeUnknown}.
   */
  Future<Outcome> concatenate(Concatenation c) {
    List<UUID> parts = c.parts();
    return inTransaction(conn -> {
      Future<List<FileRecord>> locked = files.lockAll(conn, parts);
      Future<Set<UUID>> partials = files.partials(conn, parts);
      return Future.join(locked, partials).compose(v -> {
        java.util.Map<UUID, FileRecord> byId = new java.util.HashMap<>();
        locked.result().forEach(f -> byId.put(f.id(), f));
        long size = 0;
        for (UUID id : parts) {
          FileRecord p = byId.get(id);
          if (p == null || !p.companyId().equals(c.companyId())) {
            throw new ServiceException(Kind.NOT_FOUND, "partial upload " + id + " not found");
          }
          if (!partials.result().contains(id)) {
            throw new ServiceException(Kind.BAD_REQUEST, "upload " + id + " is not a partial upload (Upload-Concat: partial)");
          }
          if (p.uploadGeneration() == null || p.totalSize() == null || p.storedBytes() != p.totalSize()) {
            throw new ServiceException(Kind.BAD_REQUEST, "partial upload " + id + " is not complete: " + p.storedBytes() + " of "
                + (p.totalSize() == null ? "an unknown number of" : p.totalSize().toString()) + " bytes stored");
          }
          size += p.totalSize();
        }
        List<Future<List<dev.files.model.ChunkRecord>>> chunkLists = new java.util.ArrayList<>();
        for (UUID id : parts) {
          chunkLists.add(files.chunks(conn, id, byId.get(id).uploadGeneration()));
        }
        long total = size;
        FileRecord first = byId.get(parts.get(0));
        return Future.all(chunkLists).compose(x -> {
          int count = chunkLists.stream().mapToInt(l -> l.result().size()).sum();
          long now = System.currentTimeMillis();
          String mime = c.mime() != null ? c.mime() : first.uploadMime() != null ? first.uploadMime() : first.mime();
          FileRecord created = UploadRules.newFile(c.fileId(), c.companyId(), c.requester(), c.name(), mime, null, null,
              now, c.key());
          FileRecord f = new FileRecord(created.id(), created.companyId(), created.ownerType(), created.ownerId(),
              created.userId(), created.applicationId(), created.name(), created.mime(), 1, total, count, null, null,
              null, null, null, 0, created.thumbnails(), created.thumbnailsStatus(), now, now, created.dataKeyId(),
              created.dataKey(), 1);
          // sent at once, run in order: the row, the chunks moved to it, the partials gone, its role, its event
          Future<Void> inserted = files.insert(conn, f);
          Future<Integer> moved = files.moveChunks(conn, f.id(), parts);
          Future<Void> consumed = files.consume(conn, parts, now + settings.retireGraceMs());
          Future<Void> role = files.recordConcat(conn, f.id(), parts);
          Future<Void> event = EventRepository.insert(conn, new NewEvent(Outbox.UPLOADED, f.id(), f.companyId(), f.toResource()));
          return Future.join(inserted, moved, consumed, role, event).compose(y -> moved.result() == count
              ? Future.succeededFuture(f)
              : Future.failedFuture(new IllegalStateException("moved " + moved.result() + " chunk rows, expected " + count)));
        });
      });
    }).map(f -> {
      metrics.uploadCompleted();
      outbox.wake();
      if ("waiting".equals(f.thumbnailsStatus())) {
        vertx.eventBus().send(Addresses.THUMBNAILS,
            new JsonObject().put("file_id", f.id().toString()).put("generation", f.generation()),
            bus.options());
      }
      return new Outcome(f.toResource(), true, true);
    });
  }

  /**
   * The file's row, locked, after the guard (both sent at once; a guard that fails wins); no guard:
   * a new file id, no row.
   */
  private Future<FileRecord> locked(SqlConnection conn, UUID fileId, Function<SqlConnection, Future<Void>> guard) {
    if (guard == null) {
      return Future.succeededFuture(null);
    }
    Future<Void> guarded = guard.apply(conn);
    Future<FileRecord> row = files.lock(conn, fileId);
    return Future.join(guarded, row).transform(ar -> guarded.failed() ? Future.failedFuture(guarded.cause()) : row);
  }

  /** What the rules need of the file: its row, the chunks of the upload in progress (else the live ones), the commit id. */
  private Future<UploadRules.State> state(SqlConnection conn, FileRecord f, ChunkCommit c) {
    if (f == null) {
      return Future.succeededFuture(new UploadRules.State(null, List.of(), Set.of()));
    }
    UUID fileId = c.fileId();
    Integer gen = f.uploadGeneration() != null ? f.uploadGeneration() : f.generation();
    Future<List<CommittedChunk>> chunks = gen == null ? Future.succeededFuture(List.of())
        : files.committedChunks(conn, fileId, gen);
    Future<Boolean> known = c.commitId() == null ? Future.succeededFuture(false)
        : files.knownCommit(conn, fileId, c.commitId()); // sent together with the chunks' query
    return Future.join(chunks, known).map(v ->
        new UploadRules.State(f, chunks.result(), known.result() ? Set.of(c.commitId()) : Set.of()));
  }

  /**
   * The changes of a decision that creates the file: the row is inserted as the decision leaves it
   * ({@link UploadRules.Accepted#next}, the rules' own model of what their statements do), with its
   * chunk rows and, when the upload completed, its {@code file.uploaded} event ({@link #createAll}),
   * where the general path sends one statement per effect and reads the row back. Answers that row.
   */
  private Future<FileRecord> createWhole(SqlConnection conn, UploadRules.Accepted accepted, long now) {
    return createAll(conn, List.of(accepted), now).map(v -> accepted.next().file());
  }

  /**
   * Inserts what decisions that create files leave: their rows, their chunk rows and, for each that
   * completed its upload, its {@code file.uploaded} event: three statements sent at once (one per
   * table, arrays; run in order), whatever the number of files.
   */
  private Future<Void> createAll(SqlConnection conn, List<UploadRules.Accepted> decisions, long now) {
    List<FileRecord> rows = new java.util.ArrayList<>(decisions.size());
    List<UUID> chunkFiles = new java.util.ArrayList<>();
    List<CommittedChunk> chunks = new java.util.ArrayList<>();
    List<NewEvent> events = new java.util.ArrayList<>();
    for (UploadRules.Accepted a : decisions) {
      FileRecord f = a.next().file();
      rows.add(f);
      for (UploadRules.Effect e : a.effects()) {
        if (e instanceof UploadRules.PutChunk x) {
          chunkFiles.add(f.id());
          chunks.add(x.chunk());
        } else if (!(e instanceof UploadRules.CreateFile || e instanceof UploadRules.RecordUpload
            || e instanceof UploadRules.Complete)) {
          throw new IllegalStateException("a new file's commit cannot " + e);
        }
      }
      if (a.completed()) {
        events.add(new NewEvent(Outbox.UPLOADED, f.id(), f.companyId(), f.toResource()));
      }
    }
    Future<Void> inserted = files.insertAll(conn, rows);
    Future<Void> put = chunks.isEmpty() ? Future.succeededFuture() : files.putChunks(conn, chunkFiles, chunks, now);
    Future<Void> written = EventRepository.insertAll(conn, events);
    return Future.join(inserted, put, written).mapEmpty();
  }

  /**
   * Makes the database changes of a decision in the transaction of {@code conn}: every statement is
   * sent at once (the connection pipelines them and PostgreSQL runs them in order; one that fails
   * makes the rest fail, and the transaction is rolled back). Completes when all have answered.
   */
  private Future<Void> carryOut(SqlConnection conn, UUID fileId, List<UploadRules.Effect> effects, long now) {
    List<Future<Void>> sent = new java.util.ArrayList<>(effects.size());
    for (UploadRules.Effect e : effects) {
      sent.add(carryOut(conn, fileId, e, now));
    }
    return Future.join(sent).mapEmpty();
  }

  private Future<Void> carryOut(SqlConnection conn, UUID fileId, UploadRules.Effect e, long now) {
    long retireUntil = now + settings.retireGraceMs();
    if (e instanceof UploadRules.CreateFile x) {
      return files.insert(conn, x.file());
    } else if (e instanceof UploadRules.RecordUpload x) {
      return files.recordUpload(conn, fileId, x.generation(), x.totalChunks(), x.totalSize(), x.name(), x.mime(), now);
    } else if (e instanceof UploadRules.Retire x) {
      return files.retire(conn, fileId, x.chunks().stream().map(CommittedChunk::storageKey).toList(), retireUntil);
    } else if (e instanceof UploadRules.PutChunk x) {
      return files.putChunk(conn, fileId, x.chunk(), now);
    } else if (e instanceof UploadRules.Complete x) {
      return files.complete(conn, fileId, x.generation(), x.size(), x.chunks(), now, retireUntil, x.thumbnailsStatus());
    } else if (e instanceof UploadRules.Discard x) {
      return files.retireUnrecorded(conn, fileId, x.copy(), retireUntil);
    }
    throw new IllegalStateException("unknown effect " + e);
  }

  /**
   * Runs {@code work} in a transaction. A failure before COMMIT rolls back (nothing changed); a
   * failed COMMIT fails with {@link OutcomeUnknown}: the changes may or may not have been made.
   */
  private <T> Future<T> inTransaction(Function<SqlConnection, Future<T>> work) {
    return files.pool().getConnection().compose(conn -> inTransaction(conn, work).eventually(conn::close));
  }

  /**
   * Runs {@code work} in a transaction of {@code conn}, a connection the caller holds and closes:
   * COMMIT when it succeeds, ROLLBACK when it fails; fails with {@link OutcomeUnknown} when the
   * COMMIT is not confirmed.
   */
  private static <T> Future<T> inTransaction(SqlConnection conn, Function<SqlConnection, Future<T>> work) {
    return conn.begin().compose(tx -> work.apply(conn).transform(ar -> {
      if (ar.failed()) {
        return tx.rollback().transform(ignored -> Future.<T>failedFuture(ar.cause()));
      }
      return tx.commit().transform(done -> done.succeeded() ? Future.succeededFuture(ar.result())
          : Future.<T>failedFuture(new OutcomeUnknown(done.cause())));
    }));
  }

  /** The database did not confirm a COMMIT: the commit may or may not have taken effect. */
  static final class OutcomeUnknown extends RuntimeException {
    OutcomeUnknown(Throwable cause) {
      super("the database did not confirm the commit", cause);
    }
  }

  /**
   * The event of a completed upload (docs/event-bus.md): {@code file.overwritten} when the file had
   * content before this generation, else {@code file.uploaded}; its resource is the file's row after the commit.
   */
  private static NewEvent completion(boolean hadContent, FileRecord after) {
    return new NewEvent(hadContent ? Outbox.OVERWRITTEN : Outbox.UPLOADED, after.id(), after.companyId(), after.toResource());
  }

}

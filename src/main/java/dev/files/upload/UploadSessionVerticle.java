package dev.files.upload;

import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.bus.Addresses;
import dev.files.db.EventRepository;
import dev.files.db.FileRepository;
import dev.files.events.Outbox;
import dev.files.model.ContentTypes;
import dev.files.model.FileRecord;
import dev.files.crypto.ChunkKeys;
import dev.files.crypto.EncryptedObjects;
import dev.files.crypto.DataKeys;
import dev.files.storage.ObjectInfo;
import dev.files.storage.ObjectPage;
import dev.files.ops.ServiceMetrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.UUID;

/**
 * The upload session of one file: the actor that alone accepts its chunks, decides that its upload
 * is complete, switches an overwrite live, and deletes it (docs/architecture.md, "The actor owns the state, PostgreSQL guards it").
 *
 * <p>It listens on {@code files.upload.<file_id>} of its own node only (a local consumer: other
 * nodes reach it through {@link UploadSessions}, which routes by the owner row) and handles one
 * message at a time, in order, except that the {@code commit} messages waiting together at the head
 * of its mailbox (at most {@code upload.group_commit_max}) are recorded in one transaction
 * ({@link Commits#commitAll}: group commit), each answered with its own outcome. It runs with the epoch its node took ({@link SessionOwnership#take}); the first
 * statement of each of its transactions checks that epoch ({@link SessionOwnership#check}), so once
 * another node took the session over, it changes nothing, answers {@link UploadSessions#MOVED}
 * (the asker looks the owner up again) and stops. Its state is the file's rows in PostgreSQL, read
 * under a row lock in each message's transaction, so a session started later (or elsewhere)
 * continues where another stopped. Messages (JSON, field {@code action}):
 * <ul>
 *   <li>{@code commit}: see {@link ChunkCommit}; replies with the API resource;</li>
 *   <li>{@code expire}: {@code {before: epoch ms}} abandons a stale upload (the sweep's request);</li>
 *   <li>{@code init}: {@code {company_id, caller, total_chunks?, total_size?, name, mime}} creates the
 *       pending file; replies with the resource;</li>
 *   <li>{@code delete}: {@code {company_id, caller}} removes the file and writes {@code file.deleted} to the
 *       event outbox in the same transaction; replies {@code {"status":"success"}}.</li>
 * </ul>
 * What becomes of a chunk is decided by {@link UploadRules}; this actor reads the state and carries
 * out the decision in one transaction ({@link Commits}).
 * Failures fail the message with the {@link dev.files.error.Kind#replyCode()} of their kind, which the
 * asking node turns back into the same {@link ServiceException}: refusals (bad request, forbidden, not
 * found, conflict), a full database pool ({@code BUSY}), other database failures ({@code UNAVAILABLE}),
 * and a commit whose COMMIT the database did not confirm ({@code OUTCOME_UNKNOWN}).
 * The session stops after its upload completes, after answering a chunk re-sent to a complete file
 * (no upload in progress), after init or delete, or after {@code idleMs}
 * without a message; then it removes its owner row (if its epoch is still the row's).
 */
public final class UploadSessionVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(UploadSessionVerticle.class);
  /** Keys per listing page when an expired upload's stray objects are looked for. */
  private static final int ORPHAN_PAGE = 1000;

  private final UUID fileId;
  private final FileRepository files;
  private final EncryptedObjects store;
  private final DataKeys dataKeys;
  private final UploadSessions sessions;
  private final SessionSettings settings;
  private final Commits commits;
  private final SessionOwnership owners;
  private final long epoch;
  private final ServiceMetrics metrics;
  private final Outbox outbox;

  /** Messages received and not yet taken, oldest first. */
  private final java.util.ArrayDeque<Message<JsonObject>> mailbox = new java.util.ArrayDeque<>();
  /** A message (or a group of commits) is being handled: the next waits. */
  private boolean busy;
  private int pending;
  private long idleTimer = -1;
  private boolean closing;
  private boolean stopped;
  /** Another node took the session over: every message is answered {@link UploadSessions#MOVED}. */
  private boolean stale;

  UploadSessionVerticle(UUID fileId, FileRepository files, EncryptedObjects store, DataKeys dataKeys,
                        UploadSessions sessions, SessionSettings settings, Commits commits,
                        SessionOwnership owners, long epoch, ServiceMetrics metrics, Outbox outbox) {
    this.metrics = metrics;
    this.outbox = outbox;
    this.owners = owners;
    this.epoch = epoch;
    this.fileId = fileId;
    this.files = files;
    this.store = store;
    this.dataKeys = dataKeys;
    this.sessions = sessions;
    this.settings = settings;
    this.commits = commits;
  }

  @Override
  public Future<?> start() {
    MessageConsumer<JsonObject> consumer = vertx.eventBus().localConsumer(Addresses.upload(fileId), this::receive);
    armIdle();
    return consumer.completion();
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    sessions.forget(fileId, deploymentID());
    // awaited: a node that stops removes its owner rows before it gives up its lease and leaves
    return owners.release(fileId, epoch).recover(err -> {
      LOG.warn("upload session of file {} (epoch {}): its owner row was not removed: {}", fileId, epoch, err.getMessage());
      return Future.succeededFuture();
    });
  }

  private void receive(Message<JsonObject> msg) {
    if (stopped || stale) {
      msg.fail(UploadSessions.MOVED, "the upload session of file " + fileId + " has stopped on this node");
      return;
    }
    pending++;
    if (idleTimer >= 0) {
      vertx.cancelTimer(idleTimer);
      idleTimer = -1;
    }
    mailbox.add(msg);
    next();
  }

  /**
   * Takes the next message, unless one is being handled: the commits at the head of the mailbox
   * together (at most {@code upload.group_commit_max}, one transaction: {@link #commitGroup}), else
   * the one message at the head. Once the mailbox is empty, the session stops if it is closing, else
   * waits at most its idle time.
   */
  private void next() {
    if (busy || mailbox.isEmpty()) {
      return;
    }
    busy = true;
    List<Message<JsonObject>> taken = new java.util.ArrayList<>();
    taken.add(mailbox.poll());
    if (isCommit(taken.get(0))) {
      while (taken.size() < settings.groupCommitMax() && !mailbox.isEmpty() && isCommit(mailbox.peek())) {
        taken.add(mailbox.poll());
      }
    }
    Future<Void> handled;
    try {
      handled = taken.size() > 1 || isCommit(taken.get(0)) ? commitGroup(taken) : handle(taken.get(0));
    } catch (RuntimeException e) {
      handled = Future.failedFuture(e);
    }
    handled.onComplete(ignored -> {
      busy = false;
      pending -= taken.size();
      if (pending == 0) {
        if (closing) {
          stopSelf();
        } else {
          armIdle();
        }
      }
      next();
    });
  }

  private static boolean isCommit(Message<JsonObject> msg) {
    return "commit".equals(msg.body().getString("action"));
  }

  /**
   * Records the chunk commits {@code msgs} of this file in one transaction ({@link Commits#commitAll}):
   * each is answered with its own outcome (a refusal of the rules fails only its own message); a
   * transaction that fails fails each of them as one commit alone would fail (rolled back, outcome
   * unknown, taken over).
   */
  private Future<Void> commitGroup(List<Message<JsonObject>> msgs) {
    if (stale) {
      msgs.forEach(msg -> msg.fail(UploadSessions.MOVED, "the upload session of file " + fileId + " moved to another node"));
      return Future.succeededFuture();
    }
    List<Message<JsonObject>> asked = new java.util.ArrayList<>(msgs.size());
    List<ChunkCommit> cs = new java.util.ArrayList<>(msgs.size());
    List<Long> askedAt = new java.util.ArrayList<>(msgs.size());
    for (Message<JsonObject> msg : msgs) {
      try {
        cs.add(ChunkCommit.fromJson(fileId, msg.body()));
        askedAt.add(msg.body().getLong("asked_at", 0L));
        asked.add(msg);
      } catch (RuntimeException e) { // malformed message: only it fails
        answer(msg, Future.failedFuture(new ServiceException(Kind.BAD_REQUEST, "malformed upload session message: " + e.getMessage())));
      }
    }
    if (cs.isEmpty()) {
      return Future.succeededFuture();
    }
    Future<List<Future<Commits.Outcome>>> done;
    try {
      done = commits.commitAll(cs, askedAt, this::guard);
    } catch (RuntimeException e) {
      done = Future.failedFuture(e);
    }
    return done.transform(ar -> {
      for (int i = 0; i < asked.size(); i++) {
        if (ar.failed()) {
          answer(asked.get(i), Future.failedFuture(ar.cause()));
          continue;
        }
        Future<Commits.Outcome> o = ar.result().get(i);
        if (o.succeeded() && (o.result().completed() || o.result().settled())) {
          closing = true; // complete, nothing in progress: the session ends after its answers
        }
        answer(asked.get(i), o.map(Commits.Outcome::resource));
      }
      return Future.succeededFuture();
    });
  }

  private Future<Void> handle(Message<JsonObject> msg) {
    JsonObject body = msg.body();
    Future<JsonObject> result;
    if (stale) {
      msg.fail(UploadSessions.MOVED, "the upload session of file " + fileId + " moved to another node");
      return Future.succeededFuture();
    }
    try {
      result = switch (body.getString("action", "")) {
        case "init" -> init(body);
        case "delete" -> delete(body);
        case "expire" -> expire(body.getLong("before"));
        default -> Future.failedFuture(new ServiceException(Kind.BAD_REQUEST, "unknown action " + body.getString("action")));
      };
    } catch (RuntimeException e) { // malformed message
      result = Future.failedFuture(new ServiceException(Kind.BAD_REQUEST, "malformed upload session message: " + e.getMessage()));
    }
    return result.andThen(ar -> answer(msg, ar)).mapEmpty();
  }

  /** Answers {@code msg} with {@code ar}: the result, or the failure's code for the asker to rebuild. */
  private void answer(Message<JsonObject> msg, io.vertx.core.AsyncResult<JsonObject> ar) {
    if (ar.succeeded()) {
      msg.reply(ar.result());
    } else if (ar.cause() instanceof StaleSessionException) {
      if (!stale) {
        LOG.info("upload session of file {} (epoch {}) was taken over by another node: it stops", fileId, epoch);
      }
      stale = true;
      closing = true;
      msg.fail(UploadSessions.MOVED, ar.cause().getMessage());
    } else if (ar.cause() instanceof Commits.OutcomeUnknown) {
      LOG.error("upload session of file {}: commit outcome unknown, its object is left to the orphan sweep",
          fileId, ar.cause().getCause());
      msg.fail(UploadSessions.OUTCOME_UNKNOWN, "the database did not confirm the change");
    } else if (ar.cause() instanceof ServiceException se) { // the asker rebuilds it from the kind's code
      if (se.getCause() != null) {
        LOG.error("upload session of file {} failed: {}", fileId, se.getMessage(), se.getCause());
      }
      msg.fail(se.kind().replyCode(), se.publicMessage());
    } else if (dev.files.db.DatabaseBusy.is(ar.cause())) { // overload: the asker answers 503 busy and logs it
      msg.fail(Kind.BUSY.replyCode(), dev.files.db.DatabaseBusy.MESSAGE);
    } else {
      LOG.error("upload session of file {} failed", fileId, ar.cause());
      msg.fail(Kind.UNAVAILABLE.replyCode(), "database unavailable: the upload could not be recorded"); // details logged above
    }
  }

  private Future<JsonObject> init(JsonObject body) {
    long now = System.currentTimeMillis();
    UUID companyId = UUID.fromString(body.getString("company_id"));
    Requester requester = Requester.fromJson(body.getJsonObject("caller"));
    Integer totalChunks = body.getInteger("total_chunks");
    Long totalSize = body.getLong("total_size");
    String name = body.getString("name");
    String mime = body.getString("mime");
    return files.pool().withTransaction(conn -> guard(conn).compose(v -> files.lock(conn, fileId)).compose(existing -> {
      if (existing != null) { // a retried init that already took effect
        checkCompany(existing, companyId);
        return Future.succeededFuture();
      }
      DataKeys.Wrapped key;
      try {
        key = dataKeys.newDataKey(fileId).wrapped();
      } catch (java.security.GeneralSecurityException e) {
        return Future.failedFuture(e);
      }
      FileRecord fresh = UploadRules.newFile(fileId, companyId, requester, name, mime, totalChunks, totalSize, now, key);
      return files.insert(conn, fresh)
          .compose(v -> files.recordUpload(conn, fileId, 1, totalChunks, totalSize, fresh.name(), fresh.mime(), now));
    }).compose(v -> files.find(conn, fileId))).map(f -> {
      closing = true;
      return f.toResource();
    });
  }

  private Future<JsonObject> delete(JsonObject body) {
    UUID companyId = UUID.fromString(body.getString("company_id"));
    Requester r = Requester.fromJson(body.getJsonObject("caller"));
    return files.pool().withTransaction(conn -> guard(conn).compose(v -> files.lock(conn, fileId)).compose(f -> {
      if (f == null) {
        throw new ServiceException(Kind.NOT_FOUND, "file " + fileId + " not found");
      }
      checkCompany(f, companyId);
      boolean owner = f.ownerType().equals(r.ownerType()) && f.ownerId().equals(r.ownerId());
      if (!(owner || r.application() || r.serverRequest())) {
        throw new ServiceException(Kind.FORBIDDEN, "only the owner of file " + fileId + ", an application or a server may delete it");
      }
      return files.delete(conn, fileId).compose(keys -> EventRepository.insert(conn,
          new EventRepository.NewEvent(Outbox.DELETED, fileId, companyId, null)).map(keys));
    })).map(keys -> {
      removeObjects(keys);
      closing = true;
      outbox.wake();
      return new JsonObject().put("status", "success");
    });
  }

  /**
   * The sweep's request: when the upload in progress was last touched before {@code before}
   * (epoch ms), abandon it: a file that never completed is removed, a pending overwrite is dropped
   * and the live content kept. Objects under the file's prefix that no row refers to and that are
   * older than {@code before} (failed or interrupted writes) are removed too. Replies
   * {@code {"status": "expired" | "kept"}}.
   */
  private Future<JsonObject> expire(long before) {
    long now = System.currentTimeMillis();
    return files.pool().withTransaction(conn -> guard(conn).compose(v -> files.lock(conn, fileId)).compose(f -> {
      if (f == null || f.uploadGeneration() == null || f.updatedAt() >= before) {
        return Future.succeededFuture((List<String>) null);
      }
      return f.complete() ? files.dropUpload(conn, fileId, f.uploadGeneration(), now) : files.delete(conn, fileId);
    })).compose(keys -> {
      if (keys == null) {
        return Future.succeededFuture(new JsonObject().put("status", "kept"));
      }
      removeObjects(keys);
      closing = true;
      LOG.info("file {}: abandoned upload expired, {} chunk(s) removed", fileId, keys.size());
      return removeOrphans(before, null).map(v -> new JsonObject().put("status", "expired"));
    });
  }

  /** The first statement of each transaction: this session's epoch is still the owner row's. */
  private Future<Void> guard(io.vertx.sqlclient.SqlConnection conn) {
    return owners.check(conn, fileId, epoch);
  }

  /** Removes, page by page from {@code token}, the file's objects older than {@code before} that no row refers to. */
  private Future<Void> removeOrphans(long before, String token) {
    return store.store().list(ChunkKeys.prefix(fileId), token, ORPHAN_PAGE).compose((ObjectPage page) ->
        files.unreferenced(page.objects().stream().filter(o -> o.modifiedMs() < before).map(ObjectInfo::key).toList())
            .compose(orphans -> {
              removeObjects(orphans);
              return page.hasNext() ? removeOrphans(before, page.next()) : Future.<Void>succeededFuture();
            }));
  }

  private void checkCompany(FileRecord f, UUID companyId) {
    if (!f.companyId().equals(companyId)) { // never reveal another company's file
      throw new ServiceException(Kind.NOT_FOUND, "file " + fileId + " not found");
    }
  }

  private void removeObjects(List<String> keys) {
    if (!keys.isEmpty()) {
      store.delete(keys).onFailure(err -> LOG.warn("file {}: could not remove {} chunk object(s): {}",
          fileId, keys.size(), err.getMessage()));
    }
  }

  private void armIdle() {
    idleTimer = vertx.setTimer(settings.idleMs(), t -> {
      idleTimer = -1;
      closing = true;
      metrics.sessionTimedOut();
      if (pending == 0) {
        stopSelf();
      }
    });
  }

  private void stopSelf() {
    if (stopped) {
      return;
    }
    stopped = true;
    vertx.undeploy(deploymentID()).onFailure(err -> LOG.debug("session {} undeploy: {}", fileId, err.getMessage()));
  }
}

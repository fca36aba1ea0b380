package dev.files.upload;

import dev.files.bus.Addresses;
import dev.files.db.FileRepository;
import dev.files.storage.EncryptedObjects;
import dev.files.storage.DataKeys;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds the {@link UploadSessionVerticle} of a file, starting it when none runs, and asks it over
 * the event bus ({@code files.upload.<file_id>}). At most one session per file is started by this
 * node; sessions stop themselves when idle, and the next question starts a new one, which reads the
 * file's state from PostgreSQL.
 *
 * <p>Every question has a timeout ({@code upload.commit_timeout_ms}). A question that found no
 * session, or timed out, is asked again (up to {@value #ATTEMPTS} times): every session action is
 * idempotent. Answers are the API resource JSON; refusals fail with {@link UploadException}.
 *
 * <p>A session's mailbox is bounded: while {@code upload.session_queue} questions of one file wait
 * for their answers, another is refused before it is sent ({@link SessionBusyException}, 503).
 */
public final class UploadSessions {

  private static final int ATTEMPTS = 3;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(UploadSessions.class);
  /**
   * Failure code (not an HTTP status) of a session whose database did not confirm a change: it may
   * or may not have been made. A commit is asked again (its commit id makes that safe); other
   * questions, and a commit still unconfirmed, fail with {@link SessionTimeoutException}.
   */
  static final int OUTCOME_UNKNOWN = 1503;

  private final Vertx vertx;
  private final FileRepository files;
  private final EncryptedObjects store;
  private final SessionSettings settings;
  private final DataKeys dataKeys;
  private final Map<UUID, Future<String>> running = new ConcurrentHashMap<>();
  /** Questions asked and not yet answered, per file. */
  private final Map<UUID, Integer> asking = new ConcurrentHashMap<>();
  private final int maxAsking;
  private final Commits commits;

  public UploadSessions(Vertx vertx, FileRepository files, EncryptedObjects store, DataKeys dataKeys,
                        SessionSettings settings) {
    this(vertx, files, store, dataKeys, settings, Integer.MAX_VALUE);
  }

  /**
   * @param maxAsking questions of one file that may wait for its session at once
   *                  ({@code upload.session_queue}); one more is refused with {@link SessionBusyException}
   */
  public UploadSessions(Vertx vertx, FileRepository files, EncryptedObjects store, DataKeys dataKeys,
                        SessionSettings settings, int maxAsking) {
    this.maxAsking = maxAsking;
    this.vertx = vertx;
    this.files = files;
    this.store = store;
    this.dataKeys = dataKeys;
    this.settings = settings;
    this.commits = new Commits(vertx, files, settings);
  }

  /** The timings sessions run with. */
  public SessionSettings settings() {
    return settings;
  }

  /**
   * Records a stored chunk; answers the resource as the upload stands after it. The question
   * carries the time it was first asked ({@code asked_at}, epoch ms): a session reached later than
   * {@code upload.retire_grace_ms} after it refuses it (409).
   */
  public Future<JsonObject> commit(ChunkCommit commit) {
    return ask(commit.fileId(), commit.toJson().put("asked_at", System.currentTimeMillis()));
  }

  /**
   * Records the whole-file upload of a file id the caller has just made ({@code commit.create()},
   * a new random id nobody else knows yet): no other commit of that file can come, so no session is
   * started and nothing goes over the event bus; {@link UploadRules} decide in one transaction
   * ({@link Commits}), whose end is durable in PostgreSQL before the answer. A COMMIT the database
   * did not confirm is tried again (the commit id makes that safe), up to {@value #ATTEMPTS} times,
   * then fails with {@link SessionTimeoutException}; refusals fail with {@link UploadException},
   * database failures with {@link UploadException} 503. Answers the resource.
   */
  public Future<JsonObject> commitNew(ChunkCommit commit) {
    if (!commit.create()) {
      return Future.failedFuture(new IllegalArgumentException("only the upload of a new file id is committed without its session"));
    }
    return commitNew(commit, System.currentTimeMillis(), ATTEMPTS);
  }

  private Future<JsonObject> commitNew(ChunkCommit commit, long askedAt, int attemptsLeft) {
    return commits.commit(commit, askedAt).map(Commits.Outcome::resource).recover(err -> {
      if (err instanceof UploadException) {
        return Future.failedFuture(err);
      }
      if (err instanceof Commits.OutcomeUnknown) {
        LOG.error("file {}: commit outcome unknown{}", commit.fileId(), attemptsLeft > 1 ? ", asking again" : "", err.getCause());
        return attemptsLeft > 1 ? commitNew(commit, askedAt, attemptsLeft - 1)
            : Future.failedFuture(new SessionTimeoutException("the change to file " + commit.fileId()
                + " was not confirmed by the database; it may have been made"));
      }
      LOG.error("upload of file {} could not be recorded", commit.fileId(), err);
      return Future.failedFuture(new UploadException(503, "database unavailable: the upload could not be recorded"));
    });
  }

  /**
   * Creates a pending file for a chunked upload (API.md, initialisation): JSON of
   * {@link UploadSessionVerticle} action {@code init}. Answers the resource.
   */
  public Future<JsonObject> init(UUID fileId, UUID companyId, Requester requester, Integer totalChunks,
                                 Long totalSize, String name, String mime) {
    JsonObject msg = new JsonObject().put("action", "init")
        .put("company_id", companyId.toString()).put("caller", requester.toJson())
        .put("total_chunks", totalChunks).put("total_size", totalSize).put("name", name).put("mime", mime);
    return ask(fileId, msg);
  }

  /** Deletes a file, its chunks and thumbnails; answers {@code {"status":"success"}}. */
  public Future<JsonObject> delete(UUID fileId, UUID companyId, Requester requester) {
    JsonObject msg = new JsonObject().put("action", "delete")
        .put("company_id", companyId.toString()).put("caller", requester.toJson());
    return ask(fileId, msg);
  }

  /**
   * Abandons the file's upload in progress if it was last touched before {@code before} (epoch ms);
   * answers {@code {"status": "expired" | "kept"}}.
   */
  public Future<JsonObject> expire(UUID fileId, long before) {
    return ask(fileId, new JsonObject().put("action", "expire").put("before", before));
  }

  /** Number of sessions this node runs (for tests and metrics). */
  public int size() {
    return running.size();
  }

  /** The deployment id of the running session of a file, or null. */
  public String deploymentOf(UUID fileId) {
    Future<String> f = running.get(fileId);
    return f != null && f.succeeded() ? f.result() : null;
  }

  /** Asks the file's session, unless {@code maxAsking} questions of the file already wait. */
  private Future<JsonObject> ask(UUID fileId, JsonObject msg) {
    int waiting = asking.merge(fileId, 1, Integer::sum);
    if (waiting > maxAsking) {
      done(fileId);
      return Future.failedFuture(new SessionBusyException("the upload session of file " + fileId + " already has "
          + maxAsking + " requests waiting; try again shortly"));
    }
    return ask(fileId, msg, ATTEMPTS).andThen(ar -> done(fileId));
  }

  private void done(UUID fileId) {
    asking.computeIfPresent(fileId, (k, n) -> n <= 1 ? null : n - 1);
  }

  private Future<JsonObject> ask(UUID fileId, JsonObject msg, int attemptsLeft) {
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(settings.timeoutMs());
    return session(fileId)
        .compose(id -> vertx.eventBus().<JsonObject>request(Addresses.upload(fileId), msg, options))
        .map(Message::body)
        .recover(err -> {
          if (err instanceof ReplyException re && re.failureType() == ReplyFailure.RECIPIENT_FAILURE
              && re.failureCode() == OUTCOME_UNKNOWN) {
            return "commit".equals(msg.getString("action")) && attemptsLeft > 1
                ? ask(fileId, msg, attemptsLeft - 1)
                : Future.failedFuture(new SessionTimeoutException("the change to file " + fileId
                    + " was not confirmed by the database; it may have been made"));
          }
          if (err instanceof ReplyException re && re.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
            return Future.failedFuture(new UploadException(re.failureCode(), re.getMessage()));
          }
          boolean retry = err instanceof ReplyException re
              && (re.failureType() == ReplyFailure.NO_HANDLERS || re.failureType() == ReplyFailure.TIMEOUT);
          if (retry && attemptsLeft > 1) {
            running.computeIfPresent(fileId, (k, f) -> f.failed() || ((ReplyException) err).failureType() == ReplyFailure.NO_HANDLERS ? null : f);
            return ask(fileId, msg, attemptsLeft - 1);
          }
          if (err instanceof UploadException) {
            return Future.failedFuture(err);
          }
          LOG.warn("upload session of file {} did not answer: {}", fileId, err.toString());
          return Future.failedFuture(new SessionTimeoutException("the upload session of file " + fileId
              + " did not answer in time; the change may still take effect"));
        });
  }

  private Future<String> session(UUID fileId) {
    return running.computeIfAbsent(fileId, id -> {
      Future<String> deployed = vertx.deployVerticle(
          new UploadSessionVerticle(id, files, store, dataKeys, this, settings, commits));
      deployed.onFailure(err -> running.remove(id, deployed));
      return deployed;
    });
  }

  /** Called by a session that stops: the next question for the file starts a new one. */
  void forget(UUID fileId, String deploymentId) {
    running.computeIfPresent(fileId, (k, f) -> f.succeeded() && f.result().equals(deploymentId) ? null : f);
  }
}

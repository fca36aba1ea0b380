package dev.files.upload;

import dev.files.bus.Addresses;
import dev.files.bus.InternalBus;
import dev.files.db.FileRepository;
import dev.files.events.Outbox;
import dev.files.ops.ServiceMetrics;
import dev.files.crypto.EncryptedObjects;
import dev.files.crypto.DataKeys;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import dev.files.error.Kind;
import dev.files.error.ServiceException;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds the {@link UploadSessionVerticle} of a file, wherever it runs in the cluster, and asks it.
 * One session per file runs in the cluster: its owner row in PostgreSQL ({@link SessionOwnership})
 * names the node and the epoch. A question goes:
 * <ul>
 *   <li>to this node's session when the row names this node, when no row exists, or when the node it
 *       names is not a live cluster member or has no valid lease: this node then takes the session
 *       ({@link SessionOwnership#take}) and deploys it;</li>
 *   <li>otherwise to the owner's node address {@code files.node.<node_id>.sessions} (one consumer per
 *       node, which hands the question to its local session), with the short send timeout
 *       {@code cluster.session_send_timeout_ms}.</li>
 * </ul>
 * A question that finds no session, times out, is answered {@link #MOVED} (stale session), or was in
 * flight to a member Hazelcast reports removed or whose process is found gone (its event-bus port
 * refuses connections: probed after {@value #PROBE_AFTER_MS} ms without an answer; such a question
 * fails at once, without waiting for its timeout) is asked again after looking the owner up again
 * (a gone owner's session is taken over), until {@code upload.commit_timeout_ms} has elapsed.
 * Every session action is idempotent (commits carry a commit id), so asking again after an unknown
 * outcome is safe. Answers are the API resource JSON. Failures are of two kinds:
 * <ul>
 *   <li>definite, nothing was changed ({@link ServiceException#mayHaveBeenRecorded()} false): a
 *       refusal of the rules ({@link Kind#refusal()}), a session's rollback ({@link Kind#UNAVAILABLE}),
 *       no majority on this node or a full mailbox ({@link Kind#BUSY}), a failure before any question
 *       was sent;</li>
 *   <li>outcome unknown, once an attempt may have taken effect (no answer in time, the owner's node
 *       left or was found gone, a COMMIT not confirmed): every later failure is of kind
 *       {@link Kind#OUTCOME_UNKNOWN} ({@link ServiceException#outcomeUnknown}), or a refusal marked
 *       {@link ServiceException#mayHaveBeenRecorded()}: the caller must keep the chunk's object.</li>
 * </ul>
 *
 * <p>A session's mailbox is bounded: while {@code upload.session_queue} questions of one file wait
 * for their answers on this node, another is refused before it is sent ({@link Kind#BUSY}).
 */
public final class UploadSessions {

  private static final int ATTEMPTS = 3;
  /** A question to another node not answered within this (ms) has that node probed ({@link SessionOwnership#probe}). */
  private static final long PROBE_AFTER_MS = 250;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(UploadSessions.class);
  /**
   * Failure code of a session whose database did not confirm a change: it may or may not have been
   * made ({@link Kind#OUTCOME_UNKNOWN}). A commit is asked again (its commit id makes that safe);
   * other questions, and a commit still unconfirmed, fail with {@link ServiceException#outcomeUnknown}.
   */
  static final int OUTCOME_UNKNOWN = Kind.OUTCOME_UNKNOWN.replyCode();
  /**
   * Failure code (not an HTTP status) of a node that does not (or no longer) run the session of the
   * file: its epoch is stale or it cannot take the session. The asker looks the owner up again.
   */
  static final int MOVED = 1307;

  private final Vertx vertx;
  private final FileRepository files;
  private final EncryptedObjects store;
  private final SessionSettings settings;
  private final DataKeys dataKeys;
  private final SessionOwnership owners;
  private final long sendTimeoutMs;
  private final Map<UUID, Future<String>> running = new ConcurrentHashMap<>();
  /** Set by {@link #close()}: this node takes no session any more. */
  private volatile boolean closing;
  /** Questions asked and not yet answered, per file. */
  private final Map<UUID, Integer> asking = new ConcurrentHashMap<>();
  /** Questions in flight to another node, by node id: failed at once when that node leaves. */
  private final Map<String, Set<Promise<JsonObject>>> inFlight = new ConcurrentHashMap<>();
  private final int maxAsking;
  private final Commits commits;
  private final ServiceMetrics metrics;
  private final InternalBus bus;
  private final Outbox outbox;
  /** The first attempt of a new file's commit, grouped with others arriving meanwhile. */
  private final NewFileBatches newFiles;

  /**
   * @param maxAsking     questions of one file that may wait for its session at once
   *                      ({@code upload.session_queue}); one more is refused with {@link Kind#BUSY}
   * @param owners        the owner rows and this node's id and members
   * @param sendTimeoutMs how long a question to another node waits for its answer before the owner is
   *                      looked up again, ms ({@code cluster.session_send_timeout_ms})
   * @param metrics       the node's metrics (commits, completions, sessions timed out)
   * @param bus           the node's internal event bus: the guard of this node's sessions address and the
   *                      options of the questions and thumbnail jobs sent on it
   * @param outbox        wakes the node's relay after a COMMIT that wrote events
   */
  public UploadSessions(Vertx vertx, FileRepository files, EncryptedObjects store, DataKeys dataKeys,
                        SessionSettings settings, int maxAsking, SessionOwnership owners, long sendTimeoutMs,
                        ServiceMetrics metrics, InternalBus bus, Outbox outbox) {
    this.metrics = metrics;
    this.bus = bus;
    this.outbox = outbox;
    this.maxAsking = maxAsking;
    this.vertx = vertx;
    this.files = files;
    this.store = store;
    this.dataKeys = dataKeys;
    this.settings = settings;
    this.owners = owners;
    this.sendTimeoutMs = sendTimeoutMs;
    this.commits = new Commits(vertx, files, settings, metrics, bus, outbox);
    this.newFiles = new NewFileBatches(vertx, commits, settings.groupCommitMax(), settings.groupCommitInFlight(),
        settings.groupCommitQueue());
  }

  /**
   * Listens on this node's address {@code files.node.<node_id>.sessions}: a question there is JSON of
   * {@link UploadSessionVerticle} with {@code file_id} added; it is answered by this node's session of
   * the file (taken when this node may), or failed with {@link #MOVED}.
   */
  public Future<Void> start() {
    MessageConsumer<JsonObject> consumer = vertx.eventBus().consumer(Addresses.nodeSessions(owners.nodeId()), bus.<JsonObject>guard(msg -> {
      UUID fileId;
      try {
        fileId = UUID.fromString(msg.body().getString("file_id"));
      } catch (RuntimeException e) {
        msg.fail(Kind.BAD_REQUEST.replyCode(), "malformed upload session message: no file_id");
        return;
      }
      local(fileId, msg.body(), settings.timeoutMs()).onComplete(ar -> {
        if (ar.succeeded()) {
          msg.reply(ar.result());
        } else if (ar.cause() instanceof ReplyException re && re.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
          msg.fail(re.failureCode(), re.getMessage());
        } else if (ar.cause() instanceof ReplyException re && re.failureType() == ReplyFailure.TIMEOUT) {
          // the session has the question and did not answer in time: it may still act on it
          msg.fail(OUTCOME_UNKNOWN, "the upload session of file " + fileId + " did not answer in time");
        } else if (ar.cause() instanceof ServiceException se) { // the asker rebuilds it from the kind's code
          msg.fail(se.kind().replyCode(), se.publicMessage());
        } else {
          msg.fail(MOVED, "the upload session of file " + fileId + " is not available on this node: " + ar.cause().getMessage());
        }
      });
    }));
    return consumer.completion();
  }

  /** The owner rows, this node's id and its members. */
  public SessionOwnership owners() {
    return owners;
  }

  /**
   * A cluster member left (Hazelcast): the questions in flight to it are asked again at once, without
   * waiting for their send timeout, and the owner rows naming nodes that are no longer members are
   * removed ({@link SessionOwnership#memberLeft}). Thread-safe.
   */
  public void memberLeft(String nodeId) {
    Set<Promise<JsonObject>> waiting = inFlight.remove(nodeId);
    if (waiting != null) {
      for (Promise<JsonObject> p : waiting) {
        p.tryFail(new ReplyException(ReplyFailure.NO_HANDLERS, "cluster member " + nodeId + " left"));
      }
    }
    // the departed node's owner rows go with it (a takeover would replace them one file at a time)
    owners.memberLeft();
  }

  /**
   * Stops every session this node runs (fencing: a cluster merge, no majority, a lapsed lease; and
   * before the node stops). Their owner rows are removed when their epoch is still the row's.
   */
  public Future<Void> stopAll(String why) {
    List<Future<?>> stops = new java.util.ArrayList<>();
    for (Map.Entry<UUID, Future<String>> e : running.entrySet()) {
      Future<String> f = e.getValue();
      if (f.succeeded()) {
        stops.add(vertx.undeploy(f.result()).recover(err -> Future.succeededFuture()));
      }
      running.remove(e.getKey(), f);
    }
    if (!stops.isEmpty()) {
      LOG.warn("stopping the {} upload session(s) of this node: {}", stops.size(), why);
    }
    return Future.join(stops).mapEmpty();
  }

  /**
   * Before the node stops: it takes no session any more (a question for a file then answers
   * {@link #MOVED}, and the asker looks the owner up again, taking the session itself once this node
   * removed its owner row), then stops every session it runs ({@link #stopAll}), removing their owner rows.
   */
  public Future<Void> close() {
    closing = true;
    return stopAll("the node stops");
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
   * Records the whole-file upload of a file id the caller has just made ({@code commit.upload().create()},
   * a new random id nobody else knows yet): no other commit of that file can come, so no session is
   * started and nothing goes over the event bus; {@link UploadRules} decide in one transaction
   * ({@link Commits}; new files arriving together share it: {@link NewFileBatches},
   * {@code upload.group_commit_max}), whose end is durable in PostgreSQL before the answer. A COMMIT the database
   * did not confirm is tried again (the commit id makes that safe), up to {@value #ATTEMPTS} times,
   * then fails with {@link ServiceException#outcomeUnknown}; refusals fail with a
   * {@link ServiceException} of their kind, database failures with {@link Kind#BUSY} (pool full) or
   * {@link Kind#UNAVAILABLE}. Answers the resource.
   */
  public Future<JsonObject> commitNew(ChunkCommit commit) {
    if (!commit.upload().create()) {
      return Future.failedFuture(new IllegalArgumentException("only the upload of a new file id is committed without its session"));
    }
    return commitNew(commit, System.currentTimeMillis(), ATTEMPTS);
  }

  private Future<JsonObject> commitNew(ChunkCommit commit, long askedAt, int attemptsLeft) {
    boolean uncertain = attemptsLeft < ATTEMPTS; // an earlier COMMIT was not confirmed: it may have been made
    // the first attempt may share a transaction with others (group commit); retries after an
    // unconfirmed COMMIT go alone, reading the row first
    Future<Commits.Outcome> attempt = uncertain ? commits.commitNew(commit, askedAt, true)
        : newFiles.commit(commit, askedAt);
    return attempt.map(Commits.Outcome::resource).recover(err -> {
      if (err instanceof Commits.OutcomeUnknown) {
        LOG.warn("file {}: the database did not confirm the commit{}: {}", commit.fileId(),
            attemptsLeft > 1 ? ", asking again" : "", String.valueOf(err.getCause()));
        return attemptsLeft > 1 ? commitNew(commit, askedAt, attemptsLeft - 1)
            : Future.failedFuture(ServiceException.outcomeUnknown("the database did not confirm the upload of file "
                + commit.fileId()));
      }
      if (err instanceof ServiceException se) {
        return Future.failedFuture(uncertain ? se.mayHaveBeenRecordedToo() : se);
      }
      if (uncertain) {
        LOG.warn("file {}: the upload could not be confirmed: {}", commit.fileId(), err.toString());
        return Future.failedFuture(ServiceException.outcomeUnknown("the database did not confirm the upload of file "
            + commit.fileId()));
      }
      if (dev.files.db.DatabaseBusy.is(err)) { // nothing was asked of PostgreSQL: overload, not an outage
        return Future.failedFuture(ServiceException.databaseBusy());
      }
      LOG.error("upload of file {} could not be recorded", commit.fileId(), err);
      return Future.failedFuture(new ServiceException(Kind.UNAVAILABLE, "database unavailable: the upload could not be recorded"));
    });
  }

  /**
   * Makes a tus final upload, a new file id the caller has just made, from its partial uploads
   * ({@link Commits#concatenate}), in one transaction of this node: the partials' rows are locked
   * there, so the transaction takes its turn with their sessions' commits, deletes and expiries.
   * Answers the final file's resource. Refusals fail with a {@link ServiceException} of kind NOT_FOUND or BAD_REQUEST;
   * a COMMIT the database did not confirm is settled by reading the final file's row (there: made;
   * absent: {@link ServiceException#outcomeUnknown}); database failures are of kind UNAVAILABLE.
   */
  public Future<JsonObject> concatenate(Commits.Concatenation c) {
    return commits.concatenate(c).map(Commits.Outcome::resource).recover(err -> {
      if (err instanceof ServiceException) {
        return Future.failedFuture(err);
      }
      if (err instanceof Commits.OutcomeUnknown) {
        LOG.warn("file {}: the database did not confirm the concatenation: {}", c.fileId(), String.valueOf(err.getCause()));
        return files.find(c.fileId()).recover(e -> Future.succeededFuture(null)).compose(f -> f != null
            ? Future.succeededFuture(f.toResource())
            : Future.failedFuture(ServiceException.outcomeUnknown("the database did not confirm the upload of file " + c.fileId())));
      }
      if (dev.files.db.DatabaseBusy.is(err)) {
        return Future.failedFuture(ServiceException.databaseBusy());
      }
      LOG.error("final upload {} could not be recorded", c.fileId(), err);
      return Future.failedFuture(new ServiceException(Kind.UNAVAILABLE, "database unavailable: the upload could not be recorded"));
    });
  }

  /**
   * Creates a pending file for a chunked upload (docs/api.md, initialisation): JSON of
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

  /** Number of sessions this node runs, so owns (for tests and the metric {@code files_upload_sessions}). */
  public int size() {
    return (int) running.values().stream().filter(Future::succeeded).count();
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
      return Future.failedFuture(new ServiceException(Kind.BUSY, "the upload session of file " + fileId + " already has "
          + maxAsking + " requests waiting; try again shortly"));
    }
    long deadline = System.currentTimeMillis() + settings.timeoutMs();
    return ask(fileId, msg, deadline, ATTEMPTS, 0, false, null).andThen(ar -> done(fileId));
  }

  private void done(UUID fileId) {
    asking.computeIfPresent(fileId, (k, n) -> n <= 1 ? null : n - 1);
  }

  /**
   * One attempt: to this node's session or to the owner's node; on a retryable failure, the next
   * attempt after a short pause (growing with {@code tries}, at most 200 ms) while time remains.
   * {@code uncertain}: an earlier attempt may have taken effect (it timed out, or its node left); a
   * delete then answered 404 was that earlier attempt's work, and is answered as done.
   */
  private Future<JsonObject> ask(UUID fileId, JsonObject msg, long deadline, int unknownLeft, int tries,
                                 boolean uncertain, String last) {
    long remaining = deadline - System.currentTimeMillis();
    if (remaining <= 0) {
      LOG.warn("upload session of file {} did not answer within upload.commit_timeout_ms", fileId);
      return Future.failedFuture(uncertain
          ? ServiceException.outcomeUnknown(what(fileId, msg) + ": the upload session did not answer in time"
              + (last == null ? "" : " (last: " + last + ")"))
          : new ServiceException(Kind.UNAVAILABLE, "the upload session of file " + fileId + " could not be reached in time"
              + (last == null ? "" : " (last: " + last + ")") + "; nothing was changed; try again"));
    }
    return route(fileId)
        .compose(node -> node.equals(owners.nodeId()) ? local(fileId, msg, remaining)
            : remote(node, fileId, msg, Math.min(sendTimeoutMs, remaining)))
        .recover(err -> {
          if (err instanceof ReplyException re && re.failureType() == ReplyFailure.RECIPIENT_FAILURE
              && re.failureCode() == OUTCOME_UNKNOWN) {
            return "commit".equals(msg.getString("action")) && unknownLeft > 1
                ? ask(fileId, msg, deadline, unknownLeft - 1, tries + 1, true, re.getMessage())
                : Future.failedFuture(ServiceException.outcomeUnknown(what(fileId, msg) + ": " + re.getMessage()));
          }
          boolean again = err instanceof Moved
              || err instanceof ReplyException re && (re.failureType() != ReplyFailure.RECIPIENT_FAILURE
                  || re.failureCode() == MOVED);
          if (again) {
            if (tries == 0) {
              LOG.info("upload session of file {}: {}; looking its owner up again", fileId, err.getMessage());
            } else {
              LOG.debug("upload session of file {}: {}; looking its owner up again", fileId, err.getMessage());
            }
            long pause = Math.min(200, 10L * (1L << Math.min(tries, 5)));
            // no answer (a timeout; the node left or is gone): the question may have been delivered and acted on
            boolean mayHaveRun = uncertain || err instanceof ReplyException re && re.failureType() != ReplyFailure.RECIPIENT_FAILURE;
            return after(pause).compose(v -> ask(fileId, msg, deadline, unknownLeft, tries + 1, mayHaveRun, err.getMessage()));
          }
          if (uncertain && "delete".equals(msg.getString("action")) && err instanceof ReplyException re
              && re.failureCode() == Kind.NOT_FOUND.replyCode()) {
            return Future.succeededFuture(new JsonObject().put("status", "success"));
          }
          ServiceException failure;
          if (err instanceof ReplyException re) { // the session's failure, rebuilt from its kind's code
            ServiceException rebuilt = ServiceException.ofReply(re.failureCode(), re.getMessage());
            failure = rebuilt != null ? rebuilt : new ServiceException(Kind.UNAVAILABLE, re.getMessage());
          } else if (err instanceof ServiceException se) {
            failure = se;
          } else if (uncertain) {
            LOG.warn("upload session of file {} could not be asked again: {}", fileId, err.toString());
            return Future.failedFuture(ServiceException.outcomeUnknown(what(fileId, msg)
                + ": its upload session could not be asked again (database unavailable)"));
          } else {
            LOG.error("upload session of file {} could not be reached", fileId, err);
            failure = new ServiceException(Kind.UNAVAILABLE, "database unavailable: the upload could not be recorded");
          }
          if (!uncertain) {
            return Future.failedFuture(failure); // nothing was changed
          }
          // an earlier attempt may have taken effect: a refusal now says how the file stands, but
          // the chunk may be recorded; anything else leaves the outcome unknown
          return Future.failedFuture(failure.kind().refusal()
              ? failure.mayHaveBeenRecordedToo()
              : ServiceException.outcomeUnknown(what(fileId, msg) + ": " + failure.getMessage()));
        });
  }

  /** What a question asks, for messages: "the commit of chunk 3 of file …", "the deletion of file …". */
  private static String what(UUID fileId, JsonObject msg) {
    return switch (msg.getString("action", "")) {
      case "commit" -> "the commit of chunk " + msg.getValue("chunk_number") + " of file " + fileId;
      case "delete" -> "the deletion of file " + fileId;
      case "init" -> "the creation of file " + fileId;
      default -> "the change to file " + fileId;
    };
  }

  private Future<Void> after(long ms) {
    return Future.future(p -> vertx.setTimer(ms, t -> p.complete()));
  }

  /**
   * The node to ask: this one when it runs the session, when no owner row exists, or when the owner
   * it names is not a live member or has no valid lease (this node will take it over); else the owner.
   */
  private Future<String> route(UUID fileId) {
    Future<String> mine = running.get(fileId);
    if (mine != null && !mine.failed()) {
      return Future.succeededFuture(owners.nodeId());
    }
    return owners.owner(fileId).map(o -> o == null || o.node().equals(owners.nodeId())
        || !o.leased() || !owners.members().contains(o.node()) ? owners.nodeId() : o.node());
  }

  /** Asks this node's session of the file, taking the session first when none runs here. */
  private Future<JsonObject> local(UUID fileId, JsonObject msg, long timeoutMs) {
    DeliveryOptions options = new DeliveryOptions().setLocalOnly(true).setSendTimeout(timeoutMs);
    return session(fileId).compose(id -> vertx.eventBus().<JsonObject>request(Addresses.upload(fileId), msg, options)
        .map(Message::body)
        .recover(err -> {
          if (err instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS) {
            running.computeIfPresent(fileId, (k, f) -> f.succeeded() && f.result().equals(id) ? null : f);
            return Future.failedFuture(new Moved("the upload session of file " + fileId + " had stopped"));
          }
          return Future.failedFuture(err);
        }));
  }

  /** Asks the session on another node; fails at once when that node leaves the cluster. */
  private Future<JsonObject> remote(String node, UUID fileId, JsonObject msg, long timeoutMs) {
    owners.remember(node);
    Promise<JsonObject> answer = Promise.promise();
    Set<Promise<JsonObject>> waiting = inFlight.computeIfAbsent(node, k -> ConcurrentHashMap.newKeySet());
    waiting.add(answer);
    vertx.eventBus().<JsonObject>request(Addresses.nodeSessions(node), msg.copy().put("file_id", fileId.toString()),
        bus.options().setSendTimeout(timeoutMs)).map(Message::body).onComplete(ar -> {
          // the question may already have been failed (the node left, or its process was found gone)
          if (!(ar.succeeded() ? answer.tryComplete(ar.result()) : answer.tryFail(ar.cause()))) {
            LOG.debug("upload session of file {}: a late {} from node {} ignored", fileId,
                ar.succeeded() ? "answer" : "failure (" + ar.cause().getMessage() + ")", node);
          }
        });
    if (!owners.members().contains(node)) { // left between the look-up and the registration
      answer.tryFail(new ReplyException(ReplyFailure.NO_HANDLERS, "cluster member " + node + " left"));
    }
    // no answer soon: is the node's process gone? (a crash is seen before Hazelcast reports it)
    long probe = vertx.setTimer(PROBE_AFTER_MS, t -> owners.probe(node).onSuccess(gone -> {
      if (gone) {
        answer.tryFail(new ReplyException(ReplyFailure.NO_HANDLERS, "cluster member " + node + " is gone"));
      }
    }));
    answer.future().onComplete(ar -> vertx.cancelTimer(probe));
    io.vertx.core.Context context = vertx.getOrCreateContext();
    return answer.future().transform(ar -> {
      waiting.remove(answer);
      // a failure from a membership event arrives on a Hazelcast thread: continue on this context
      return Future.<JsonObject>future(p -> context.runOnContext(v -> p.handle(ar)));
    });
  }

  /** This node's running session of the file (its deployment id), taking the session when none runs. */
  private Future<String> session(UUID fileId) {
    if (closing) {
      return Future.failedFuture(new Moved("this node is stopping: it takes no upload session of file " + fileId));
    }
    Future<String> known = running.get(fileId);
    if (known != null) {
      return known;
    }
    // Registered before the take is asked: a take that fails at once (no majority) completes the
    // promise outside the map's update, and the entry is removed before the failure is seen.
    Promise<String> starting = Promise.promise();
    Future<String> raced = running.putIfAbsent(fileId, starting.future());
    if (raced != null) {
      return raced;
    }
    Future<String> deployed;
    try {
      deployed = owners.take(fileId).compose(epoch -> epoch == null
          ? Future.failedFuture(new Moved("the upload session of file " + fileId + " runs on another node"))
          : vertx.deployVerticle(new UploadSessionVerticle(fileId, files, store, dataKeys, this, settings, commits,
              owners, epoch, metrics, outbox)));
    } catch (RuntimeException e) {
      deployed = Future.failedFuture(e);
    }
    deployed.onComplete(ar -> {
      if (ar.failed()) {
        running.remove(fileId, starting.future());
      }
      starting.handle(ar);
    });
    return starting.future();
  }

  /** Called by a session that stops: the next question for the file looks its owner up again. */
  void forget(UUID fileId, String deploymentId) {
    running.computeIfPresent(fileId, (k, f) -> f.succeeded() && f.result().equals(deploymentId) ? null : f);
  }

  /** The session of the file runs elsewhere, or has stopped: look the owner up again. */
  static final class Moved extends RuntimeException {
    Moved(String message) {
      super(message, null, false, false);
    }
  }
}

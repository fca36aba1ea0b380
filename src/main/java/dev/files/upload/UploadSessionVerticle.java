package dev.files.upload;

import dev.files.bus.Addresses;
import dev.files.db.FileRepository;
import dev.files.model.ChunkRecord;
import dev.files.model.ContentTypes;
import dev.files.model.FileRecord;
import dev.files.storage.ChunkKeys;
import dev.files.storage.ChunkStore;
import dev.files.storage.DataKeys;
import dev.files.storage.StoredObject;
import dev.files.ops.ServiceMetrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The upload session of one file: the actor that alone accepts its chunks, decides that its upload
 * is complete, switches an overwrite live, and deletes it (DESIGN.md, "The actor owns the state").
 *
 * <p>It listens on {@code files.upload.<file_id>} and handles one message at a time. Its state is
 * the file's rows in PostgreSQL, read under a row lock in each message's transaction, so a session
 * started later (or elsewhere) continues where another stopped. Messages (JSON, field {@code action}):
 * <ul>
 *   <li>{@code commit}: see {@link ChunkCommit}; replies with the API resource;</li>
 *   <li>{@code expire}: {@code {before: epoch ms}} abandons a stale upload (the sweep's request);</li>
 *   <li>{@code init}: {@code {company_id, caller, total_chunks?, total_size?, name, mime}} creates the
 *       pending file; replies with the resource;</li>
 *   <li>{@code delete}: {@code {company_id, caller}} removes the file; replies {@code {"status":"success"}}.</li>
 * </ul>
 * Refusals fail the message with the HTTP status as code (400, 403, 404), database failures with 503.
 * The session stops after its upload completes, after init or delete, or after {@code idleMs}
 * without a message.
 */
public final class UploadSessionVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(UploadSessionVerticle.class);

  private final UUID fileId;
  private final FileRepository files;
  private final ChunkStore store;
  private final DataKeys dataKeys;
  private final UploadSessions sessions;
  private final SessionSettings settings;

  private Future<Void> tail = Future.succeededFuture();
  private int pending;
  private long idleTimer = -1;
  private boolean closing;
  private boolean stopped;

  UploadSessionVerticle(UUID fileId, FileRepository files, ChunkStore store, DataKeys dataKeys,
                        UploadSessions sessions, SessionSettings settings) {
    this.fileId = fileId;
    this.files = files;
    this.store = store;
    this.dataKeys = dataKeys;
    this.sessions = sessions;
    this.settings = settings;
  }

  @Override
  public Future<?> start() {
    MessageConsumer<JsonObject> consumer = vertx.eventBus().consumer(Addresses.upload(fileId), this::receive);
    armIdle();
    return consumer.completion();
  }

  private void receive(Message<JsonObject> msg) {
    pending++;
    if (idleTimer >= 0) {
      vertx.cancelTimer(idleTimer);
      idleTimer = -1;
    }
    tail = tail.transform(ignored -> handle(msg)).transform(ignored -> {
      pending--;
      if (pending == 0) {
        if (closing) {
          stopSelf();
        } else {
          armIdle();
        }
      }
      return Future.succeededFuture();
    });
  }

  private Future<Void> handle(Message<JsonObject> msg) {
    JsonObject body = msg.body();
    Future<JsonObject> result;
    try {
      result = switch (body.getString("action", "")) {
        case "commit" -> commit(ChunkCommit.fromJson(fileId, body));
        case "init" -> init(body);
        case "delete" -> delete(body);
        case "expire" -> expire(body.getLong("before"));
        default -> Future.failedFuture(new UploadException(400, "unknown action " + body.getString("action")));
      };
    } catch (RuntimeException e) { // malformed message
      result = Future.failedFuture(new UploadException(400, "malformed upload session message: " + e.getMessage()));
    }
    return result.andThen(ar -> {
      if (ar.succeeded()) {
        msg.reply(ar.result());
      } else if (ar.cause() instanceof UploadException ue) {
        msg.fail(ue.status(), ue.getMessage());
      } else {
        LOG.error("upload session of file {} failed", fileId, ar.cause());
        msg.fail(503, "database unavailable: the upload could not be recorded"); // details logged above
      }
    }).mapEmpty();
  }

  private Future<JsonObject> commit(ChunkCommit c) {
    long now = System.currentTimeMillis();
    List<String> garbage = new ArrayList<>();
    boolean[] completed = {false};
    boolean[] recorded = {false};
    return files.pool().withTransaction(conn -> files.lock(conn, fileId)
            .compose(f -> f != null ? Future.succeededFuture(f) : create(conn, c, now))
            .compose(f -> files.hasChunk(conn, fileId, c.storageKey()).compose(seen -> seen
                ? Future.succeededFuture() // a retried commit that already took effect
                : record(conn, f, c, now, garbage, completed).andThen(x -> recorded[0] = x.succeeded())))
            .compose(v -> files.find(conn, fileId)))
        .map(f -> {
          removeObjects(garbage);
          JsonObject resource = f.toResource();
          if (recorded[0]) {
            ServiceMetrics.of(vertx).chunkCommitted(c.size());
          }
          if (completed[0]) {
            ServiceMetrics.of(vertx).uploadCompleted();
            closing = true;
            publish("file.completed", f.companyId(), resource);
            if ("waiting".equals(f.thumbnailsStatus())) { // asked once, by the actor that completed the upload
              vertx.eventBus().send(Addresses.THUMBNAILS,
                  new JsonObject().put("file_id", fileId.toString()).put("generation", f.generation()));
            }
          }
          return resource;
        });
  }

  private Future<FileRecord> create(SqlConnection conn, ChunkCommit c, long now) {
    if (!c.create()) {
      return Future.failedFuture(new UploadException(404, "file " + fileId + " not found"));
    }
    if (c.dataKey() == null) {
      return Future.failedFuture(new UploadException(400, "a new file's first chunk must come with its data key"));
    }
    FileRecord fresh = newFile(c.companyId(), c.requester(), c.name(), c.mime(), null, null, now, c.dataKey());
    return files.insert(conn, fresh).map(fresh);
  }

  private Future<Void> record(SqlConnection conn, FileRecord f, ChunkCommit c, long now,
                              List<String> garbage, boolean[] completed) {
    checkCompany(f, c.companyId());
    boolean fresh = f.uploadGeneration() == null; // a new upload starts: nothing recorded applies
    if (fresh && f.complete() && !c.whole()) {
      // A chunk arriving after completion that is the same as the live one (a client retrying a
      // request whose answer it lost) changes nothing; different bytes start an overwrite.
      return files.chunks(conn, fileId, f.generation()).compose(live -> {
        boolean same = live.stream().anyMatch(x -> x.chunkNumber() == c.chunkNumber() && x.size() == c.size()
            && x.sha256().equals(c.sha256()))
            && (c.totalChunks() == null || c.totalChunks() == f.chunks());
        if (same) {
          garbage.add(c.storageKey());
          return Future.succeededFuture();
        }
        return recordChunk(conn, f, c, now, garbage, completed);
      });
    }
    return recordChunk(conn, f, c, now, garbage, completed);
  }

  private Future<Void> recordChunk(SqlConnection conn, FileRecord f, ChunkCommit c, long now,
                                   List<String> garbage, boolean[] completed) {
    checkUploadRights(f, c.requester());
    boolean fresh = f.uploadGeneration() == null;
    int gen = fresh ? (f.generation() == null ? 1 : f.generation() + 1) : f.uploadGeneration();
    if (gen != c.generation()) { // the bytes were encrypted for another generation: the upload moved on meanwhile
      throw new UploadException(409, "file " + fileId + " changed while chunk " + c.chunkNumber()
          + " was sent (generation " + c.generation() + ", now " + gen + "); send it again");
    }
    // A whole file is chunk 1 of 1 of its own size, which must agree with what was declared.
    Integer totalChunks = agree("total_chunks", fresh ? null : f.totalChunks(), c.whole() ? Integer.valueOf(1) : c.totalChunks());
    Long totalSize = agree("total_size", fresh ? null : f.totalSize(), c.whole() ? Long.valueOf(c.size()) : c.totalSize());
    if (totalChunks != null && c.chunkNumber() > totalChunks) {
      throw new UploadException(400, "chunk_number " + c.chunkNumber() + " is outside 1.." + totalChunks);
    }
    String name = c.name() != null ? c.name() : (!fresh && f.uploadName() != null ? f.uploadName() : f.name());
    String mime = c.mime() != null ? c.mime() : (!fresh && f.uploadMime() != null ? f.uploadMime() : f.mime());
    if (c.chunkNumber() == 1 && c.mime() == null && ContentTypes.OCTET_STREAM.equals(mime)) {
      mime = c.sniffedMime() == null ? ContentTypes.OCTET_STREAM : c.sniffedMime();
    }
    String finalName = name;
    String finalMime = mime;
    return files.chunks(conn, fileId, gen).compose(existing -> {
      long others = 0;
      int count = 1;
      for (ChunkRecord x : existing) {
        if (x.chunkNumber() == c.chunkNumber()) {
          garbage.add(x.storageKey()); // the last complete copy of a chunk wins
        } else if (!c.whole()) {
          others += x.size();
          count++;
        }
      }
      long stored = others + c.size();
      if (totalSize != null && stored > totalSize) {
        throw new UploadException(400, "chunk " + c.chunkNumber() + " would bring the stored bytes to " + stored
            + ", beyond total_size " + totalSize);
      }
      boolean complete = totalChunks != null && count == totalChunks;
      if (complete && totalSize != null && stored != totalSize) {
        throw new UploadException(400, "all " + totalChunks + " chunks are stored but they hold " + stored
            + " bytes, not total_size " + totalSize + "; chunk " + c.chunkNumber() + " is not kept");
      }
      ChunkRecord chunk = new ChunkRecord(c.chunkNumber(), c.size(), c.sha256(), c.storageKey());
      Future<Void> chain = files.recordUpload(conn, fileId, gen, totalChunks, totalSize, finalName, finalMime, now)
          .compose(v -> files.putChunk(conn, fileId, gen, chunk, now));
      if (c.whole()) {
        chain = chain.compose(v -> files.dropChunksAbove(conn, fileId, gen, 1)).map(keys -> {
          garbage.addAll(keys);
          return null;
        });
      }
      if (complete) {
        boolean thumbnail = ContentTypes.thumbnailCandidate(finalMime, finalName);
        chain = chain.compose(v -> files.complete(conn, fileId, gen, stored, totalChunks, now,
            now + settings.retireGraceMs(), thumbnail ? "waiting" : "none")).map(v -> {
          completed[0] = true;
          return null;
        });
      }
      return chain;
    });
  }

  private Future<JsonObject> init(JsonObject body) {
    long now = System.currentTimeMillis();
    UUID companyId = UUID.fromString(body.getString("company_id"));
    Requester requester = Requester.fromJson(body.getJsonObject("caller"));
    Integer totalChunks = body.getInteger("total_chunks");
    Long totalSize = body.getLong("total_size");
    String name = body.getString("name");
    String mime = body.getString("mime");
    return files.pool().withTransaction(conn -> files.lock(conn, fileId).compose(existing -> {
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
      FileRecord fresh = newFile(companyId, requester, name, mime, totalChunks, totalSize, now, key);
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
    return files.pool().withTransaction(conn -> files.lock(conn, fileId).compose(f -> {
      if (f == null) {
        throw new UploadException(404, "file " + fileId + " not found");
      }
      checkCompany(f, companyId);
      boolean owner = f.ownerType().equals(r.ownerType()) && f.ownerId().equals(r.ownerId());
      if (!(owner || r.application() || r.serverRequest())) {
        throw new UploadException(403, "only the owner of file " + fileId + ", an application or a server may delete it");
      }
      return files.delete(conn, fileId);
    })).map(keys -> {
      removeObjects(keys);
      closing = true;
      publish("file.deleted", companyId, null);
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
    return files.pool().withTransaction(conn -> files.lock(conn, fileId).compose(f -> {
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
      return store.list(ChunkKeys.prefix(fileId))
          .compose(objects -> files.unreferenced(objects.stream()
              .filter(o -> o.modifiedMs() < before).map(StoredObject::key).toList()))
          .map(orphans -> {
            removeObjects(orphans);
            return new JsonObject().put("status", "expired");
          });
    });
  }

  private FileRecord newFile(UUID companyId, Requester r, String name, String mime, Integer totalChunks,
                             Long totalSize, long now, DataKeys.Wrapped key) {
    return new FileRecord(fileId, companyId, r.ownerType(), r.ownerId(), r.subject(), r.applicationId(),
        name == null ? "unnamed" : name, mime == null ? ContentTypes.OCTET_STREAM : mime,
        null, 0, 0, null, totalChunks, totalSize, null, null, 0,
        new JsonArray(), "none", now, now, key.masterKeyId(), key.bytes());
  }

  private void checkCompany(FileRecord f, UUID companyId) {
    if (!f.companyId().equals(companyId)) { // never reveal another company's file
      throw new UploadException(404, "file " + fileId + " not found");
    }
  }

  /** API.md: a complete file is overwritten only by an application (or a server request); a pending
   *  file is uploaded into only by its own user, an application, or a server request. */
  private void checkUploadRights(FileRecord f, Requester r) {
    if (r.application() || r.serverRequest()) {
      return;
    }
    if (f.complete()) {
      throw new UploadException(403, "file " + fileId + " is complete; only an application may overwrite it");
    }
    if (!f.ownerType().equals("user") || !f.ownerId().equals(r.subject())) {
      throw new UploadException(403, "file " + fileId + " is being uploaded by another owner");
    }
  }

  private static <T> T agree(String param, T recorded, T given) {
    if (recorded != null && given != null && !recorded.equals(given)) {
      throw new UploadException(400, param + " " + given + " contradicts the recorded " + recorded);
    }
    return recorded != null ? recorded : given;
  }

  private void removeObjects(List<String> keys) {
    for (String key : keys) {
      store.delete(key).onFailure(err -> LOG.warn("file {}: could not remove chunk object {}: {}",
          fileId, key, err.getMessage()));
    }
  }

  private void publish(String type, UUID companyId, JsonObject resource) {
    JsonObject event = new JsonObject().put("type", type)
        .put("company_id", companyId.toString()).put("file_id", fileId.toString());
    if (resource != null) {
      event.put("resource", resource);
    }
    vertx.eventBus().publish(Addresses.EVENTS, event);
  }

  private void armIdle() {
    idleTimer = vertx.setTimer(settings.idleMs(), t -> {
      idleTimer = -1;
      closing = true;
      ServiceMetrics.of(vertx).sessionTimedOut();
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
    sessions.forget(fileId, deploymentID());
    vertx.undeploy(deploymentID()).onFailure(err -> LOG.debug("session {} undeploy: {}", fileId, err.getMessage()));
  }
}

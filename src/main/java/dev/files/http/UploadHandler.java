package dev.files.http;

import dev.files.auth.Caller;
import dev.files.model.ContentTypes;
import dev.files.model.FileNames;
import com.google.crypto.tink.StreamingAead;
import dev.files.db.FileRepository;
import dev.files.storage.ChunkKeys;
import dev.files.storage.ChunkSink;
import dev.files.storage.EncryptedObjects;
import dev.files.storage.DataKeys;
import dev.files.error.ServiceException;
import dev.files.upload.ChunkCommit;
import dev.files.upload.Requester;
import dev.files.upload.UploadSessions;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import dev.files.bus.Addresses;
import dev.files.bus.InternalBus;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.streams.WriteStream;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.GeneralSecurityException;
import java.util.Locale;
import java.util.UUID;

/**
 * The upload routes (API.md, "POST /companies/:company_id/files" and ".../files/:file_id").
 *
 * <p>A multipart body's file part (the part named {@code file}, else the first file part) streams
 * into the chunk store under a new unique key while it is counted, hashed and limited; once the
 * request has ended and the bytes are durable, the file's upload session is asked to commit the
 * chunk, and its answer is the reply. An upload to a file id this request made (POST .../files) is
 * committed without a session ({@link UploadSessions#commitNew}): nobody else knows that id yet. Every failure before the commit aborts the write, so nothing is left in the store: 413
 * when the body exceeds {@code limits.max_request_bytes} (early, from Content-Length, when present),
 * 507/503 for storage failures, and no reply at all when the client went away (its partial object
 * is removed at once).
 *
 * <p>Before any byte of the body is read, {@link UploadAdmission} decides what the request line,
 * headers and the file's row allow (403, 400); a refusal is sent with the body unread and the
 * connection closed. While the body is read, {@code http.idle_timeout_ms} without a byte, or
 * {@code http.body_timeout_ms} for the whole body, answer 408; a body whose chunked transfer
 * encoding is broken answers 400 (each removing the partial object).
 */
final class UploadHandler {

  private static final Logger LOG = LoggerFactory.getLogger(UploadHandler.class);
  /** Largest non-multipart body accepted (and ignored) by an initialisation, in bytes. */
  private static final int MAX_INIT_BODY = 64 * 1024;

  private final FileRepository files;
  private final EncryptedObjects store;
  private final DataKeys dataKeys;
  private final UploadSessions sessions;
  private final long maxRequestBytes;
  private final long maxFileBytes;
  private final long thumbnailSyncMs;
  private final long idleTimeoutMs;
  private final long bodyTimeoutMs;
  private final Vertx vertx;

  /**
   * @param idleTimeoutMs longest wait for the next byte of a body (0: none), ms
   * @param bodyTimeoutMs longest time to read a whole body (0: none), ms
   */
  UploadHandler(Vertx vertx, FileRepository files, EncryptedObjects store, DataKeys dataKeys, UploadSessions sessions,
                long maxRequestBytes, long maxFileBytes, long thumbnailSyncMs, long idleTimeoutMs, long bodyTimeoutMs) {
    this.vertx = vertx;
    this.idleTimeoutMs = idleTimeoutMs;
    this.bodyTimeoutMs = bodyTimeoutMs;
    this.thumbnailSyncMs = thumbnailSyncMs;
    this.files = files;
    this.store = store;
    this.dataKeys = dataKeys;
    this.sessions = sessions;
    this.maxRequestBytes = maxRequestBytes;
    this.maxFileBytes = maxFileBytes;
  }

  /** POST /companies/:company_id/files: a classic upload (multipart) or a chunked-upload initialisation. */
  void create(RoutingContext ctx) {
    if (isMultipart(ctx.request())) {
      receive(ctx, UUID.randomUUID(), true);
    } else {
      initialise(ctx);
    }
  }

  /** POST /companies/:company_id/files/:file_id: a chunk, or a whole file (overwrite or first upload). */
  void upload(RoutingContext ctx) {
    UUID fileId = AuthHandler.uuidParam(ctx, "file_id");
    if (!isMultipart(ctx.request())) {
      throw new ApiError(415, "send the file as multipart/form-data with the bytes in a part named file");
    }
    receive(ctx, fileId, false);
  }

  private static boolean isMultipart(HttpServerRequest req) {
    String type = req.getHeader("Content-Type");
    return type != null && type.toLowerCase(Locale.ROOT).startsWith("multipart/form-data");
  }

  private void initialise(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    UploadParams params = UploadParams.read(req.params(), MultiMap.caseInsensitiveMultiMap());
    checkDeclaredSize(params.totalSize());
    if (contentLength(req) > MAX_INIT_BODY) {
      throw new ApiError(415, "send the file as multipart/form-data; a non-multipart body initialises a chunked upload and is ignored");
    }
    long[] seen = {0};
    req.handler(buf -> seen[0] += buf.length());
    req.exceptionHandler(err -> {
      if (!clientGone(err)) {
        answerBeforeClose(ctx, 400, malformedBody(err));
      }
    });
    req.endHandler(v -> {
      if (seen[0] > MAX_INIT_BODY) {
        ctx.fail(new ApiError(415, "send the file as multipart/form-data"));
        return;
      }
      Caller caller = ctx.get(AuthHandler.CALLER);
      sessions.init(UUID.randomUUID(), ctx.get(AuthHandler.COMPANY), requester(caller), params.totalChunks(),
              params.totalSize(), params.filename(), params.type())
          .onSuccess(resource -> Replies.resource(ctx, resource))
          .onFailure(ctx::fail);
    });
    continueIfExpected(req);
    req.resume();
  }

  private void receive(RoutingContext ctx, UUID fileId, boolean create) {
    HttpServerRequest req = ctx.request();
    UploadParams early = UploadParams.read(req.params(), MultiMap.caseInsensitiveMultiMap()); // 400 before any byte
    checkDeclaredSize(early.totalSize());
    long contentLength = contentLength(req);
    if (contentLength > maxRequestBytes) {
      throw new ApiError(413, "request body of " + contentLength + " bytes exceeds the limit of "
          + maxRequestBytes + " bytes");
    }
    Receipt receipt = new Receipt(ctx, fileId, create);
    ctx.addEndHandler(ar -> {
      if (ar.failed()) { // the connection closed, or the body could not be decoded, before the answer
        receipt.connectionClosed(ar.cause());
      }
    });
    admission(ctx, fileId, create, early, contentLength)
        .onSuccess(receipt::start)
        .onFailure(err -> {
          if (!receipt.gone) {
            ctx.fail(err);
          }
        });
  }

  /**
   * Everything decided before the body: the file (404 when not in the company), the caller's right
   * to write into it and what {@code total_size} still allows ({@link UploadAdmission}), and how the
   * chunk's bytes are encrypted.
   */
  private Future<Admitted> admission(RoutingContext ctx, UUID fileId, boolean create, UploadParams early,
                                     long contentLength) {
    Caller caller = ctx.get(AuthHandler.CALLER);
    if (create) {
      try {
        long allowance = UploadAdmission.allowance(null, caller, early, contentLength, java.util.List.of());
        DataKeys.NewKey key = dataKeys.newDataKey(fileId);
        return Future.succeededFuture(new Admitted(new Encryption(key.aead(), 1, key.wrapped()), allowance));
      } catch (GeneralSecurityException e) {
        return Future.failedFuture(e);
      } catch (ApiError e) {
        return Future.failedFuture(e);
      }
    }
    UUID company = ctx.get(AuthHandler.COMPANY);
    return files.find(fileId).compose(f -> {
      if (f == null || !f.companyId().equals(company)) {
        throw ApiError.notFound("file " + fileId + " not found");
      }
      Integer generation = UploadAdmission.generationToRead(f, caller, early);
      Future<java.util.List<dev.files.model.ChunkRecord>> chunks = generation == null
          ? Future.succeededFuture(java.util.List.of()) : files.chunks(files.pool(), fileId, generation);
      return chunks.map(list -> {
        long allowance = UploadAdmission.allowance(f, caller, early, contentLength, list);
        return new Admitted(encryption(f), allowance);
      });
    });
  }

  /**
   * How the chunk's bytes of an existing file are encrypted: its data key, unwrapped, and the
   * generation its upload session will record (the upload in progress, else the next one).
   */
  private Encryption encryption(dev.files.model.FileRecord f) {
    int generation = f.nextUploadGeneration(); // never a number this file had before
    try {
      return new Encryption(dataKeys.unwrap(f), generation, null);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new ApiError(503, "file " + f.id() + " cannot be encrypted: " + Errors.keyDetail(e));
    }
  }

  /**
   * @param encryption how the bytes are encrypted
   * @param allowance  the most bytes the file part may hold for {@code total_size} ({@link UploadAdmission#NO_LIMIT}: none)
   */
  private record Admitted(Encryption encryption, long allowance) {
  }

  /**
   * @param aead       the file's streaming AEAD (null: null cipher)
   * @param generation the generation the chunk is encrypted for
   * @param newKey     a new file's wrapped data key, for the session to record; else null
   */
  private record Encryption(StreamingAead aead, int generation, DataKeys.Wrapped newKey) {
  }

  private void checkDeclaredSize(Long totalSize) {
    if (totalSize != null && totalSize > maxFileBytes) {
      throw new ApiError(413, "total_size " + totalSize + " exceeds the limit of " + maxFileBytes + " bytes");
    }
  }

  /**
   * The request's declared body size in bytes, from {@code Content-Length}; -1 when absent or not a
   * number (a chunked body, or one that the HTTP codec refuses before any handler runs).
   */
  static long contentLength(HttpServerRequest req) {
    String h = req.getHeader("Content-Length");
    try {
      return h == null ? -1 : Long.parseLong(h.strip());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** True for the failures of a request whose connection closed (reset or closed by the client). */
  private static boolean clientGone(Throwable err) {
    return err instanceof java.io.IOException || err instanceof io.vertx.core.http.HttpClosedException
        || err instanceof io.vertx.core.VertxException && String.valueOf(err.getMessage()).contains("closed");
  }

  /**
   * Answers a request whose connection Vert.x closes as soon as the current handler returns (the
   * HTTP decoder failed on its body): the answer is written and flushed now, else the close would
   * drop it (Vert.x flushes writes only at the end of a read).
   */
  private static void answerBeforeClose(RoutingContext ctx, int status, String message) {
    Errors.send(ctx, status, message);
    if (ctx.request().connection() instanceof io.vertx.core.net.impl.VertxConnection c) {
      c.flush();
    }
  }

  /** The message of a body the HTTP decoder could not read (broken chunked transfer encoding). */
  private static String malformedBody(Throwable err) {
    String detail = err.getMessage() == null ? "" : err.getMessage().strip().lines().findFirst().orElse("");
    return "malformed request body (chunked transfer encoding)" + (detail.isEmpty() ? "" : ": " + detail);
  }

  private static void continueIfExpected(HttpServerRequest req) {
    String expect = req.getHeader("Expect");
    if (expect != null && expect.equalsIgnoreCase("100-continue")) {
      req.response().writeContinue();
    }
  }

  static Requester requester(Caller caller) {
    return new Requester(caller.subject(), caller.applicationId(), caller.serverRequest());
  }

  /**
   * Under {@code thumbnail_sync}: the resource once its thumbnails are made or failed, at most
   * {@code thumbnails.sync_wait_ms} after the upload completed (then as it stands, "waiting").
   * Files that get no thumbnail ("none") and pending uploads answer at once.
   */
  private Future<JsonObject> afterThumbnails(JsonObject resource) {
    if (!"waiting".equals(resource.getJsonObject("metadata").getString("thumbnails_status"))
        || !"complete".equals(resource.getString("upload_status"))) {
      return Future.succeededFuture(resource);
    }
    UUID fileId = UUID.fromString(resource.getString("id"));
    Promise<Void> ready = Promise.promise();
    var consumer = vertx.eventBus().<JsonObject>consumer(Addresses.thumbnailsReady(fileId),
        InternalBus.of(vertx).guard(m -> ready.tryComplete()));
    long timer = vertx.setTimer(thumbnailSyncMs, t -> ready.tryComplete());
    return consumer.completion()
        // made meanwhile? then no event will come
        .compose(v -> files.find(fileId))
        .compose(f -> f == null || !"waiting".equals(f.thumbnailsStatus()) ? Future.<Void>succeededFuture() : ready.future())
        .eventually(() -> {
          vertx.cancelTimer(timer);
          return consumer.unregister();
        })
        .compose(v -> files.find(fileId))
        .map(f -> f == null ? resource : f.toResource());
  }

  /** One multipart request: parses the body, stores the chosen file part, then commits it. */
  private final class Receipt {
    private final RoutingContext ctx;
    private final UUID fileId;
    private final boolean create;
    private final String boundary;
    private Encryption encryption;
    private long allowance = UploadAdmission.NO_LIMIT;
    private MultipartParser parser;
    private FilePart part;
    private boolean finished;
    private boolean started;
    /** The connection closed (the client reset or closed it). */
    private boolean gone;
    private boolean paused;
    private long lastByteAt;
    private long idleTimer = -1;
    private long bodyTimer = -1;

    Receipt(RoutingContext ctx, UUID fileId, boolean create) {
      this.ctx = ctx;
      this.fileId = fileId;
      this.create = create;
      this.boundary = MultipartParser.boundary(ctx.request().getHeader("Content-Type")); // 400 before any byte
    }

    /** Reads the body into the parser, with back-pressure, deadlines and the client's going away watched. */
    void start(Admitted admitted) {
      HttpServerRequest req = ctx.request();
      if (gone || req.response().closed()) { // the client went away while the request was being decided
        finished = true;
        return;
      }
      started = true;
      encryption = admitted.encryption();
      allowance = admitted.allowance();
      parser = new MultipartParser(boundary, this::filePart);
      lastByteAt = System.nanoTime();
      if (idleTimeoutMs > 0) {
        idleTimer = vertx.setTimer(idleTimeoutMs, t -> idleCheck());
      }
      if (bodyTimeoutMs > 0) {
        bodyTimer = vertx.setTimer(bodyTimeoutMs, t -> {
          bodyTimer = -1;
          fail(new ApiError(408, "the request body was not received within " + bodyTimeoutMs + " ms"));
        });
      }
      req.handler(this::data);
      req.endHandler(v -> bodyEnded());
      req.exceptionHandler(this::broken);
      continueIfExpected(req);
      req.resume();
    }

    private void data(Buffer buf) {
      if (finished) {
        return;
      }
      lastByteAt = System.nanoTime();
      parser.write(buf).onFailure(this::fail);
      if (!finished && parser.writeQueueFull()) {
        HttpServerRequest req = ctx.request();
        req.pause();
        paused = true;
        parser.drainHandler(v -> {
          paused = false;
          lastByteAt = System.nanoTime(); // waiting for the store is not the client's idleness
          if (!finished) {
            req.resume();
          }
        });
      }
    }

    private void bodyEnded() {
      if (finished) {
        return;
      }
      cancelTimers();
      parser.end().onComplete(ar -> {
        if (ar.failed()) {
          fail(ar.cause());
        } else if (part == null) {
          fail(ApiError.badRequest("the multipart body has no file part (expected a part named file with a filename; a part without one is a text field)"));
        } else {
          FilePart p = part;
          p.stored.future().onSuccess(v -> commit(p));
        }
      });
    }

    /** The request failed: the connection closed, or the HTTP decoder could not read the body. */
    private void broken(Throwable err) {
      if (clientGone(err)) {
        connectionClosed(err);
      } else if (!finished) {
        // The connection is closed right after this handler: the answer goes out now, the partial
        // object is removed just after.
        finished = true;
        cancelTimers();
        answerBeforeClose(ctx, 400, malformedBody(err));
        if (part != null) {
          part.abort();
        }
      }
    }

    /**
     * The response failed before the answer: the connection closed (the partial object is closed and
     * removed at once), or the HTTP decoder failed on the body ({@link #broken}).
     */
    void connectionClosed(Throwable cause) {
      if (cause != null && !clientGone(cause)) {
        broken(cause);
        return;
      }
      gone = true;
      if (started) {
        fail(cause == null ? new io.vertx.core.http.HttpClosedException("connection closed") : cause);
      }
    }

    /** {@code http.idle_timeout_ms} without a byte (while the request is not paused for the store): 408. */
    private void idleCheck() {
      idleTimer = -1;
      if (finished) {
        return;
      }
      long idleMs = (System.nanoTime() - lastByteAt) / 1_000_000;
      if (paused || idleMs < idleTimeoutMs) {
        idleTimer = vertx.setTimer(paused ? idleTimeoutMs : Math.max(1, idleTimeoutMs - idleMs), t -> idleCheck());
      } else {
        fail(new ApiError(408, "no byte of the request body for " + idleTimeoutMs + " ms"));
      }
    }

    private void cancelTimers() {
      if (idleTimer >= 0) {
        vertx.cancelTimer(idleTimer);
        idleTimer = -1;
      }
      if (bodyTimer >= 0) {
        vertx.cancelTimer(bodyTimer);
        bodyTimer = -1;
      }
    }

    /** The part named {@code file} is the file, else the first file part; other file parts are dropped. */
    private WriteStream<Buffer> filePart(String name, String filename, String contentType) {
      FilePart previous = part;
      if (previous != null && ("file".equals(previous.name) || !"file".equals(name))) {
        return null;
      }
      // The chunk number is part of the encryption's associated data: it must come before the bytes.
      Integer number = UploadParams.read(ctx.request().params(), parser.fields()).chunkNumber();
      int chunkNumber = number == null ? 1 : number;
      FilePart chosen = new FilePart(store, name, filename, contentType, ChunkKeys.newKey(fileId), partLimit(),
          chunkNumber, DataKeys.cipher(encryption.aead(), fileId, encryption.generation(), chunkNumber));
      part = chosen;
      if (previous != null) {
        previous.abort(); // a part named file came after another file part: it wins
      }
      chosen.stored.future().onFailure(err -> {
        if (part == chosen) { // not a part dropped for a better one
          fail(err);
        }
      });
      return chosen;
    }

    private void commit(FilePart p) {
      if (finished) {
        return;
      }
      finished = true;
      UploadParams params;
      try {
        params = UploadParams.read(ctx.request().params(), parser.fields());
        checkDeclaredSize(params.totalSize());
      } catch (ApiError e) {
        store.delete(p.key);
        ctx.fail(e);
        return;
      }
      boolean whole = params.chunkNumber() == null;
      if ((whole ? 1 : params.chunkNumber()) != p.chunkNumber) {
        store.delete(p.key);
        ctx.fail(ApiError.badRequest("chunk_number must be given before the file part (in the query or an earlier field)"));
        return;
      }
      // A whole file is named and typed by its part when the parameters do not say; a chunk's part
      // is a slice ("blob", "part.01"…) whose name and type say nothing about the file.
      String partName = whole ? UploadParams.multipartFilename(p.filename) : null;
      String name = params.filename() != null ? params.filename()
          : partName != null && !partName.isEmpty() ? FileNames.sanitize(partName) : null;
      String mime = params.type() != null ? params.type() : whole ? ContentTypes.usable(p.contentType) : null;
      ChunkSink sink = p.sink.result();
      byte[] head = sink.head();
      Caller caller = ctx.get(AuthHandler.CALLER);
      ChunkCommit commit = new ChunkCommit(fileId, ctx.get(AuthHandler.COMPANY), requester(caller), create, whole,
          whole ? 1 : params.chunkNumber(), params.totalChunks(), params.totalSize(), name, mime,
          ContentTypes.sniff(head, head.length), p.key, sink.stored().size(), sink.stored().sha256(),
          encryption.generation(), encryption.newKey(), UUID.randomUUID()); // the commit id: retries of this request are one commit
      // A new file's id is this request's own: its commit needs no session to be ordered with others.
      // The object is deleted only when the commit is known to have changed nothing (a refusal, a
      // rollback, a question never delivered); when its answer was lost it may be recorded: it stays
      // (the orphan sweep removes it if no row names it), and the client is told to repeat.
      // the refusal is answered once the object is gone, so that nothing is left behind at the answer
      (create ? sessions.commitNew(commit) : sessions.commit(commit))
          .recover(err -> {
            if (!ServiceException.objectMayBeReferenced(err)) {
              return store.delete(p.key).transform(v -> Future.failedFuture(err));
            }
            LOG.info("upload of file {}: chunk {} kept as {}: {}", fileId, commit.chunkNumber(), p.key, err.getMessage());
            return Future.failedFuture(err);
          })
          .compose(resource -> params.thumbnailSync() ? afterThumbnails(resource) : Future.succeededFuture(resource))
          .onSuccess(resource -> Replies.resource(ctx, resource))
          .onFailure(ctx::fail);
    }

    /** The most bytes the file part may hold: the configured limits, and what total_size still allows. */
    private long partLimit() {
      return Math.min(Math.min(maxRequestBytes, maxFileBytes), allowance);
    }

    private void fail(Throwable cause) {
      if (finished) {
        return;
      }
      finished = true;
      cancelTimers();
      Future<Void> aborted = part == null ? Future.succeededFuture() : part.abort();
      if (gone) {
        LOG.debug("upload of file {}: the client went away ({}); partial object removed", fileId, cause.toString());
        return;
      }
      aborted.onComplete(v -> {
        if (cause instanceof ChunkSink.TooLargeException && allowance < Math.min(maxRequestBytes, maxFileBytes)) {
          ctx.fail(ApiError.badRequest("chunk " + part.chunkNumber + " holds more than the " + allowance
              + " bytes total_size still allows"));
        } else if (cause instanceof ChunkSink.TooLargeException) {
          ctx.fail(new ApiError(413, "file exceeds the limit of " + Math.min(maxRequestBytes, maxFileBytes) + " bytes"));
        } else if (cause instanceof ServiceException) {
          ctx.fail(cause);
        } else {
          LOG.debug("upload of file {} interrupted: {}", fileId, cause.toString());
          ctx.fail(new ApiError(400, "upload interrupted: " + cause.getMessage()));
        }
      });
    }
  }
}

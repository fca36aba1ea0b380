package dev.files.http;

import dev.files.error.Kind;
import dev.files.auth.Caller;
import dev.files.model.ContentTypes;
import dev.files.model.FileNames;
import dev.files.db.FileRepository;
import dev.files.upload.ChunkWrite;
import dev.files.upload.Requester;
import dev.files.upload.UploadRules;
import dev.files.upload.ChunkCommit;
import dev.files.upload.Uploads;
import dev.files.error.ServiceException;
import io.vertx.core.Future;
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

import java.util.Locale;
import java.util.UUID;

/**
 * The multipart upload routes (docs/api.md, "POST /companies/C/files — classic upload, or
 * initialisation of a chunked upload" and "POST /companies/C/files/F — a chunk, or a whole file"),
 * the classic upload and the Resumable.js / Flow.js chunk dialect alike: an adapter over
 * {@link Uploads} that parses the protocol and answers in it.
 *
 * <p>The query's parameters ({@link UploadParams}) are read once, before the body: with
 * Content-Length, they let {@link Uploads#admit} refuse (404, 403, 400) what the request line and
 * the file's row already decide; a refusal is sent with the body unread and the connection closed.
 * The body's file part (the part named {@code file}, else the first file part) streams into the
 * {@link ChunkWrite} that {@link Uploads#open} gives (its chunk number must be known by then: in the
 * query or an earlier field); once the request has ended and the bytes are durable,
 * {@link Uploads#commit} records the chunk and its answer is the reply. Every failure before the
 * commit aborts the write, so nothing is left in the store: 413 when the body exceeds
 * {@code limits.max_request_bytes} (early, from Content-Length, when present), 507/503 for storage
 * failures, and no reply at all when the client went away (its partial object is removed at once).
 * While the body is read, {@code http.idle_timeout_ms} without a byte ({@link IdleTimer}), or
 * {@code http.body_timeout_ms} for the whole body, answer 408; a body whose chunked transfer
 * encoding is broken answers 400 (each removing the partial object).
 */
final class UploadHandler {

  private static final Logger LOG = LoggerFactory.getLogger(UploadHandler.class);
  /** Largest non-multipart body accepted (and ignored) by an initialisation, in bytes. */
  private static final int MAX_INIT_BODY = 64 * 1024;

  private final FileRepository files;
  private final Uploads uploads;
  private final long maxRequestBytes;
  private final long maxFileBytes;
  private final long thumbnailSyncMs;
  private final long idleTimeoutMs;
  private final long bodyTimeoutMs;
  private final Vertx vertx;
  private final InternalBus bus;

  /**
   * @param idleTimeoutMs longest wait for the next byte of a body (0: none), ms
   * @param bodyTimeoutMs longest time to read a whole body (0: none), ms
   * @param bus           the node's internal event bus (the guard of {@code files.thumbnails.ready.<file id>})
   */
  UploadHandler(Vertx vertx, FileRepository files, Uploads uploads,
                long maxRequestBytes, long maxFileBytes, long thumbnailSyncMs, long idleTimeoutMs, long bodyTimeoutMs,
                InternalBus bus) {
    this.vertx = vertx;
    this.bus = bus;
    this.idleTimeoutMs = idleTimeoutMs;
    this.bodyTimeoutMs = bodyTimeoutMs;
    this.thumbnailSyncMs = thumbnailSyncMs;
    this.files = files;
    this.uploads = uploads;
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
      throw new ServiceException(Kind.UNSUPPORTED_TYPE, "send the file as multipart/form-data with the bytes in a part named file");
    }
    receive(ctx, fileId, false);
  }

  private static boolean isMultipart(HttpServerRequest req) {
    String type = req.getHeader("Content-Type");
    return type != null && type.toLowerCase(Locale.ROOT).startsWith("multipart/form-data");
  }

  private void initialise(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    UploadParams params = UploadParams.read(req.params());
    checkDeclaredSize(params.totalSize());
    if (contentLength(req) > MAX_INIT_BODY) {
      throw new ServiceException(Kind.UNSUPPORTED_TYPE, "send the file as multipart/form-data; a non-multipart body initialises a chunked upload and is ignored");
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
        ctx.fail(new ServiceException(Kind.UNSUPPORTED_TYPE, "send the file as multipart/form-data"));
        return;
      }
      Caller caller = ctx.get(AuthHandler.CALLER);
      uploads.sessions().init(UUID.randomUUID(), ctx.get(AuthHandler.COMPANY), Requester.of(caller), params.totalChunks(),
              params.totalSize(), params.filename(), params.type())
          .onSuccess(resource -> Replies.resource(ctx, resource))
          .onFailure(ctx::fail);
    });
    continueIfExpected(req);
    req.resume();
  }

  private void receive(RoutingContext ctx, UUID fileId, boolean create) {
    HttpServerRequest req = ctx.request();
    UploadParams query = UploadParams.read(req.params()); // 400 before any byte
    checkDeclaredSize(query.totalSize());
    long contentLength = contentLength(req);
    if (contentLength > maxRequestBytes) {
      throw new ServiceException(Kind.TOO_LARGE, "request body of " + contentLength + " bytes exceeds the limit of "
          + maxRequestBytes + " bytes");
    }
    Receipt receipt = new Receipt(ctx, fileId, create, query);
    ctx.addEndHandler(ar -> {
      if (ar.failed()) { // the connection closed, or the body could not be decoded, before the answer
        receipt.connectionClosed(ar.cause());
      }
    });
    // the file part holds at least Content-Length minus what the rest of the form may hold
    long leastPart = contentLength < 0 ? 0 : Math.max(0, contentLength - MultipartParser.MAX_FORM_BYTES);
    UploadRules.Request asked = new UploadRules.Request(query.chunkNumber(), query.totalChunks(), query.totalSize(),
        contentLength, leastPart);
    uploads.admit(fileId, ctx.get(AuthHandler.COMPANY), Requester.of(ctx.get(AuthHandler.CALLER)), create, asked)
        .onSuccess(receipt::start)
        .onFailure(err -> {
          if (!receipt.gone) {
            ctx.fail(err);
          }
        });
  }

  private void checkDeclaredSize(Long totalSize) {
    if (totalSize != null && totalSize > maxFileBytes) {
      throw new ServiceException(Kind.TOO_LARGE, "total_size " + totalSize + " exceeds the limit of " + maxFileBytes + " bytes");
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

  static void continueIfExpected(HttpServerRequest req) {
    String expect = req.getHeader("Expect");
    if (expect != null && expect.equalsIgnoreCase("100-continue")) {
      req.response().writeContinue();
    }
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
        bus.guard(m -> ready.tryComplete()));
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

  /**
   * A file part of the body: its form name, file name (as sent) and type, and the chunk write its
   * bytes go to.
   */
  private record Part(String name, String filename, String contentType, ChunkWrite write) {
  }

  /** One multipart request: parses the body, stores the chosen file part, then commits it. */
  private final class Receipt {
    private final RoutingContext ctx;
    private final UUID fileId;
    private final boolean create;
    private final String boundary;
    /** The query's parameters, read once before the body. */
    private final UploadParams query;
    private Uploads.Target target;
    private long allowance = UploadRules.NO_LIMIT;
    private MultipartParser parser;
    private Part part;
    private boolean finished;
    private boolean started;
    /** The connection closed (the client reset or closed it). */
    private boolean gone;
    private IdleTimer idle;
    private long bodyTimer = -1;

    Receipt(RoutingContext ctx, UUID fileId, boolean create, UploadParams query) {
      this.ctx = ctx;
      this.fileId = fileId;
      this.create = create;
      this.query = query;
      this.boundary = MultipartParser.boundary(ctx.request().getHeader("Content-Type")); // 400 before any byte
    }

    /** The request's parameters: the query's, completed with the multipart fields read so far. */
    private UploadParams params() {
      return query.withFields(ctx.request().params(), parser.fields());
    }

    /** Reads the body into the parser, with back-pressure, deadlines and the client's going away watched. */
    void start(Uploads.Target admitted) {
      HttpServerRequest req = ctx.request();
      if (gone || req.response().closed()) { // the client went away while the request was being decided
        finished = true;
        return;
      }
      started = true;
      target = admitted;
      allowance = admitted.allowance();
      parser = new MultipartParser(boundary, this::filePart);
      idle = new IdleTimer(vertx, idleTimeoutMs,
          () -> fail(new ServiceException(Kind.TIMEOUT, "no byte of the request body for " + idleTimeoutMs + " ms")));
      idle.start();
      if (bodyTimeoutMs > 0) {
        bodyTimer = vertx.setTimer(bodyTimeoutMs, t -> {
          bodyTimer = -1;
          fail(new ServiceException(Kind.TIMEOUT, "the request body was not received within " + bodyTimeoutMs + " ms"));
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
      idle.touch();
      parser.write(buf).onFailure(this::fail);
      if (!finished && parser.writeQueueFull()) {
        HttpServerRequest req = ctx.request();
        req.pause();
        idle.paused(true);
        parser.drainHandler(v -> {
          idle.paused(false); // waiting for the store is not the client's idleness
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
          fail(ServiceException.badRequest("the multipart body has no file part (expected a part named file with a filename; a part without one is a text field)"));
        } else {
          Part p = part;
          p.write().stored().onSuccess(v -> commit(p));
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
          part.write().abort();
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

    private void cancelTimers() {
      if (idle != null) {
        idle.stop();
      }
      if (bodyTimer >= 0) {
        vertx.cancelTimer(bodyTimer);
        bodyTimer = -1;
      }
    }

    /** The part named {@code file} is the file, else the first file part; other file parts are dropped. */
    private WriteStream<Buffer> filePart(String name, String filename, String contentType) {
      Part previous = part;
      if (previous != null && ("file".equals(previous.name()) || !"file".equals(name))) {
        return null;
      }
      // The chunk number is part of the encryption's associated data: it must come before the bytes.
      Integer number = params().chunkNumber();
      int chunkNumber = number == null ? 1 : number;
      Part chosen = new Part(name, filename, contentType, uploads.open(target, chunkNumber, partLimit()));
      part = chosen;
      if (previous != null) {
        previous.write().abort(); // a part named file came after another file part: it wins
      }
      chosen.write().stored().onFailure(err -> {
        if (part == chosen) { // not a part dropped for a better one
          fail(err);
        }
      });
      return chosen.write();
    }

    private void commit(Part p) {
      if (finished) {
        return;
      }
      finished = true;
      ChunkWrite w = p.write();
      UploadParams params;
      try {
        params = params();
        checkDeclaredSize(params.totalSize());
      } catch (ServiceException e) {
        w.abort();
        ctx.fail(e);
        return;
      }
      boolean whole = params.chunkNumber() == null;
      if ((whole ? 1 : params.chunkNumber()) != w.chunkNumber()) {
        w.abort();
        ctx.fail(ServiceException.badRequest("chunk_number must be given before the file part (in the query or an earlier field)"));
        return;
      }
      // A whole file is named and typed by its part when the parameters do not say; a chunk's part
      // is a slice ("blob", "part.01"…) whose name and type say nothing about the file.
      String partName = whole ? UploadParams.multipartFilename(p.filename()) : null;
      String name = params.filename() != null ? params.filename()
          : partName != null && !partName.isEmpty() ? FileNames.sanitize(partName) : null;
      String mime = params.type() != null ? params.type() : whole ? ContentTypes.usable(p.contentType()) : null;
      uploads.commit(target, w, new ChunkCommit.Declared(whole, params.totalChunks(), params.totalSize(), name, mime, null))
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
      Future<Void> aborted = part == null ? Future.succeededFuture() : part.write().abort();
      if (gone) {
        LOG.debug("upload of file {}: the client went away ({}); partial object removed", fileId, cause.toString());
        return;
      }
      aborted.onComplete(v -> {
        if (cause instanceof ChunkWrite.TooLargeException && allowance < Math.min(maxRequestBytes, maxFileBytes)) {
          ctx.fail(ServiceException.badRequest("chunk " + part.write().chunkNumber() + " holds more than the " + allowance
              + " bytes total_size still allows"));
        } else if (cause instanceof ChunkWrite.TooLargeException) {
          ctx.fail(new ServiceException(Kind.TOO_LARGE, "file exceeds the limit of " + Math.min(maxRequestBytes, maxFileBytes) + " bytes"));
        } else if (cause instanceof ServiceException) {
          ctx.fail(cause);
        } else {
          LOG.debug("upload of file {} interrupted: {}", fileId, cause.toString());
          ctx.fail(new ServiceException(Kind.BAD_REQUEST, "upload interrupted: " + cause.getMessage()));
        }
      });
    }
  }
}

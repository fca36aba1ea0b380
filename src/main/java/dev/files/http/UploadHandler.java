package dev.files.http;

import dev.files.auth.Caller;
import dev.files.model.ContentTypes;
import dev.files.model.FileNames;
import com.google.crypto.tink.StreamingAead;
import dev.files.db.FileRepository;
import dev.files.storage.ChunkKeys;
import dev.files.storage.ChunkSink;
import dev.files.storage.ChunkStore;
import dev.files.storage.DataKeys;
import dev.files.storage.StorageException;
import dev.files.upload.ChunkCommit;
import dev.files.upload.Requester;
import dev.files.upload.SessionTimeoutException;
import dev.files.upload.UploadException;
import dev.files.upload.UploadSessions;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import dev.files.bus.Addresses;
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
 * request has ended, the file's upload session is asked to commit the chunk, and its answer is the
 * reply. Every failure before the commit aborts the write, so nothing is left in the store: 413
 * when the body exceeds {@code limits.max_request_bytes} (early, from Content-Length, when present),
 * 507/503 for storage failures, and no reply at all when the client went away.
 */
final class UploadHandler {

  private static final Logger LOG = LoggerFactory.getLogger(UploadHandler.class);
  /** Largest non-multipart body accepted (and ignored) by an initialisation, in bytes. */
  private static final int MAX_INIT_BODY = 64 * 1024;

  private final FileRepository files;
  private final ChunkStore store;
  private final DataKeys dataKeys;
  private final UploadSessions sessions;
  private final long maxRequestBytes;
  private final long maxFileBytes;
  private final long thumbnailSyncMs;
  private final Vertx vertx;

  UploadHandler(Vertx vertx, FileRepository files, ChunkStore store, DataKeys dataKeys, UploadSessions sessions,
                long maxRequestBytes, long maxFileBytes, long thumbnailSyncMs) {
    this.vertx = vertx;
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
    if (contentLength(req) > maxRequestBytes) {
      throw new ApiError(413, "request body of " + contentLength(req) + " bytes exceeds the limit of "
          + maxRequestBytes + " bytes");
    }
    encryption(ctx, fileId, create)
        .onSuccess(target -> new Receipt(ctx, fileId, create, target).start())
        .onFailure(ctx::fail);
  }

  /**
   * How the chunk's bytes are encrypted: a new file gets a new data key; an existing file's key is
   * unwrapped, and the generation is the one its upload session will record (the upload in
   * progress, else the next one). A file not in the company is 404 before any byte is read.
   */
  private Future<Encryption> encryption(RoutingContext ctx, UUID fileId, boolean create) {
    if (create) {
      try {
        DataKeys.NewKey key = dataKeys.newDataKey(fileId);
        return Future.succeededFuture(new Encryption(key.aead(), 1, key.wrapped()));
      } catch (GeneralSecurityException e) {
        return Future.failedFuture(e);
      }
    }
    UUID company = ctx.get(AuthHandler.COMPANY);
    return files.find(fileId).map(f -> {
      if (f == null || !f.companyId().equals(company)) {
        throw ApiError.notFound("file " + fileId + " not found");
      }
      int generation = f.nextUploadGeneration();
      try {
        return new Encryption(dataKeys.unwrap(f), generation, null);
      } catch (GeneralSecurityException | RuntimeException e) {
        throw new ApiError(503, "file " + fileId + " cannot be encrypted: " + Errors.keyDetail(e));
      }
    });
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

  private static long contentLength(HttpServerRequest req) {
    String h = req.getHeader("Content-Length");
    try {
      return h == null ? -1 : Long.parseLong(h.strip());
    } catch (NumberFormatException e) {
      return -1;
    }
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
    var consumer = vertx.eventBus().<JsonObject>consumer(Addresses.thumbnailsReady(fileId), m -> ready.tryComplete());
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
    private final Encryption encryption;
    private MultipartParser parser;
    private FilePart part;
    private boolean finished;

    Receipt(RoutingContext ctx, UUID fileId, boolean create, Encryption encryption) {
      this.ctx = ctx;
      this.fileId = fileId;
      this.create = create;
      this.encryption = encryption;
    }

    void start() {
      HttpServerRequest req = ctx.request();
      parser = new MultipartParser(MultipartParser.boundary(req.getHeader("Content-Type")), this::filePart);
      continueIfExpected(req);
      req.pipeTo(parser).onComplete(ar -> {
        if (ar.failed()) {
          fail(ar.cause());
        } else if (part == null) {
          fail(ApiError.badRequest("the multipart body has no file part (expected a part named file)"));
        } else {
          FilePart p = part;
          p.stored.future().onSuccess(v -> commit(p));
        }
      });
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
      FilePart chosen = new FilePart(store, name, filename, contentType, ChunkKeys.newKey(fileId), Math.min(maxRequestBytes, maxFileBytes),
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
      sessions.commit(commit)
          .compose(resource -> params.thumbnailSync() ? afterThumbnails(resource) : Future.succeededFuture(resource))
          .onSuccess(resource -> Replies.resource(ctx, resource))
          .onFailure(err -> {
            if (!(err instanceof SessionTimeoutException)) { // a timed-out commit may still take effect
              store.delete(p.key);
            }
            ctx.fail(err);
          });
    }

    private void fail(Throwable cause) {
      if (finished) {
        return;
      }
      finished = true;
      Future<Void> aborted = part == null ? Future.succeededFuture() : part.abort();
      aborted.onComplete(v -> {
        if (cause instanceof ChunkSink.TooLargeException) {
          ctx.fail(new ApiError(413, "file exceeds the limit of " + Math.min(maxRequestBytes, maxFileBytes) + " bytes"));
        } else if (cause instanceof ApiError || cause instanceof UploadException || cause instanceof StorageException) {
          ctx.fail(cause);
        } else {
          LOG.debug("upload of file {} interrupted: {}", fileId, cause.toString());
          ctx.fail(new ApiError(400, "upload interrupted: " + cause.getMessage()));
        }
      });
    }
  }
}

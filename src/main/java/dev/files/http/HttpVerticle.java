package dev.files.http;

import dev.files.upload.Uploads;
import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.auth.Caller;
import dev.files.auth.Membership;
import dev.files.auth.TokenVerifier;
import dev.files.db.FileRepository;
import dev.files.events.EventLog;
import dev.files.model.FileRecord;
import dev.files.ops.Operations;
import dev.files.ops.ServiceMetrics;
import dev.files.bus.InternalBus;
import dev.files.content.FileContent;
import dev.files.crypto.EncryptedObjects;
import dev.files.crypto.DataKeys;
import dev.files.upload.UploadSessions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.security.GeneralSecurityException;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP edge (docs/api.md): authentication, parameters, streaming bodies, and the answers of upload
 * sessions. Routes, under {@code /internal/services/files/v1/companies/:company_id/files}:
 * {@code POST /} (classic upload or initialisation), {@code POST /:file_id} (chunk or overwrite),
 * {@code GET /:file_id} (metadata or testChunks probe), {@code GET|HEAD /:file_id/download},
 * {@code GET /:file_id/thumbnails/:index}, {@code DELETE /:file_id}; {@code GET
 * .../companies/:company_id/events} (the company's file events, {@link EventLog}); the tus routes
 * under {@code .../companies/:company_id/uploads} ({@link TusHandler}); and {@code GET /health}, the
 * upload page at {@code /} and {@code GET /openapi.yaml} ({@link WebPage}). CORS for the origins of
 * {@code http.cors.origins} ({@link Cors}).
 */
public final class HttpVerticle extends VerticleBase {

  /**
   * What the HTTP edge needs: shared by all instances of the verticle.
   *
   * @param signer  checks the signed download URLs of files.api "read" (null: none honoured)
   * @param metrics the node's metrics (refusals of full queues, connections closed)
   * @param bus     the node's internal event bus (an upload waiting for its thumbnails)
   */
  public record Services(FileRepository files, EncryptedObjects store, DataKeys dataKeys, UploadSessions sessions,
                         TokenVerifier verifier, Membership membership, dev.files.auth.DownloadSigner signer,
                         Settings settings, ServiceMetrics metrics, InternalBus bus) {
  }

  /**
   * The HTTP edge's settings (README.md, "Configuration").
   *
   * @param host            {@code http.host}, the address to listen on
   * @param port            {@code http.port} (0: any free port)
   * @param maxRequestBytes {@code limits.max_request_bytes}, the most bytes of one request body
   * @param maxFileBytes    {@code limits.max_file_bytes}, the most bytes of one file
   * @param thumbnailSyncMs {@code thumbnails.sync_wait_ms}, the longest wait (ms) of an upload asked with
   *                        {@code thumbnail_sync=1}
   * @param corsOrigins     {@code http.cors.origins}, checked ({@link Cors#origins}); empty: no CORS
   * @param idleTimeoutMs   {@code http.idle_timeout_ms}, the longest wait (ms) for the next byte of a body (0: none)
   * @param bodyTimeoutMs   {@code http.body_timeout_ms}, the longest time (ms) for a whole body (0: none)
   */
  public record Settings(String host, int port, long maxRequestBytes, long maxFileBytes, long thumbnailSyncMs,
                         java.util.List<String> corsOrigins, long idleTimeoutMs, long bodyTimeoutMs) {

    /** Without CORS, with the default body deadlines (60 s without a byte, 1 h for a whole body). */
    public static Settings of(String host, int port, long maxRequestBytes, long maxFileBytes, long thumbnailSyncMs) {
      return new Settings(host, port, maxRequestBytes, maxFileBytes, thumbnailSyncMs, java.util.List.of(), 60_000, 3_600_000);
    }
  }

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(HttpVerticle.class);
  /** {@code http.header_timeout_ms} when the deployment's configuration has no {@code header_timeout_ms}. */
  public static final long DEFAULT_HEADER_TIMEOUT_MS = 10_000;
  /** {@code http.max_connections_per_address} when the deployment's configuration has no {@code max_connections_per_address}. */
  public static final int DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 512;

  /**
   * The node's open connections per remote address ({@code http.max_connections_per_address}): one per
   * node, shared by all instances of the verticle.
   */
  public static final class OpenConnections {
    final java.util.concurrent.ConcurrentHashMap<String, Integer> byAddress = new java.util.concurrent.ConcurrentHashMap<>();
  }

  private final Services s;
  private final Operations ops;
  private final OpenConnections open;
  private FileContent content;

  /** A verticle deployed alone: only {@code GET /health}, its own count of open connections. */
  public HttpVerticle(Services services) {
    this(services, null, new OpenConnections());
  }

  /**
   * @param ops  health, metrics, access log and drain of the node (null: only {@code GET /health})
   * @param open the node's open connections per address, the same for every instance of the verticle
   */
  public HttpVerticle(Services services, Operations ops, OpenConnections open) {
    this.s = services;
    this.ops = ops;
    this.open = open;
  }

  @Override
  public Future<?> start() {
    context.exceptionHandler(Answering::unhandled); // a failure in a callback still answers its request
    Router router = Router.router(vertx);
    AuthHandler auth = new AuthHandler(s.verifier(), s.membership(), false);
    AuthHandler authOrQueryToken = new AuthHandler(s.verifier(), s.membership(), true, s.signer());
    Uploads upload = new Uploads(s.files(), s.store(), s.dataKeys(), s.sessions());
    UploadHandler uploads = new UploadHandler(vertx, s.files(), upload, s.settings().maxRequestBytes(),
        s.settings().maxFileBytes(), s.settings().thumbnailSyncMs(), s.settings().idleTimeoutMs(), s.settings().bodyTimeoutMs(), s.bus());
    content = new FileContent(vertx, s.store(), s.dataKeys());
    DownloadHandler downloads = new DownloadHandler(s.files(), content);

    if (!s.settings().corsOrigins().isEmpty()) { // first, so that every answer (errors included) carries the headers
      router.route().handler(new Cors(s.settings().corsOrigins()));
    }
    if (ops == null) {
      router.get("/health").handler(this::health);
    } else {
      ops.mount(router); // /health, /health/live, /health/ready, /metrics
    }
    WebPage.routes(router, config().getJsonArray("page_api_origins", new io.vertx.core.json.JsonArray()).stream()
        .map(String::valueOf).toList());
    String files = FileRecord.API_PREFIX + "/companies/:company_id/files";
    router.post(files).handler(auth).handler(uploads::create);
    router.post(files + "/:file_id").handler(auth).handler(uploads::upload);
    router.get(files + "/:file_id").handler(auth).handler(this::metadata);
    router.route(files + "/:file_id/download").method(HttpMethod.GET).method(HttpMethod.HEAD)
        .handler(authOrQueryToken).handler(downloads::handle);
    router.get(files + "/:file_id/thumbnails/:index").handler(authOrQueryToken).handler(this::thumbnail);
    router.delete(files + "/:file_id").handler(auth).handler(this::delete);
    EventLog events = new EventLog(s.files().pool());
    router.get(FileRecord.API_PREFIX + "/companies/:company_id/events").handler(auth).handler(ctx -> events(ctx, events));
    new TusHandler(vertx, s.files(), upload, s.settings().maxFileBytes(), s.settings().idleTimeoutMs())
        .mount(router, auth);
    router.route().failureHandler(ctx -> Errors.handle(ctx, 500, s.metrics()));
    for (int status : new int[]{400, 404, 405, 413, 500}) {
      router.errorHandler(status, ctx -> Errors.handle(ctx, status, s.metrics()));
    }

    HttpServerOptions options = new HttpServerOptions()
        .setHost(s.settings().host())
        .setPort(s.settings().port())
        .setHandle100ContinueAutomatically(false)
        // HTTP/1.1 only: no HTTP/2 over cleartext (neither the Upgrade: h2c nor the prior-knowledge
        // preface), so every upload gets the same early answers (413, 403, 408) and connection close
        .setHttp2ClearTextEnabled(false)
        .setIdleTimeout(5)
        .setIdleTimeoutUnit(TimeUnit.MINUTES)
        .setCompressionSupported(false);
    // http.header_timeout_ms and http.max_connections_per_address, from the deployment's configuration
    ConnectionGuard guard = new ConnectionGuard(vertx, config().getLong("header_timeout_ms", DEFAULT_HEADER_TIMEOUT_MS),
        config().getInteger("max_connections_per_address", DEFAULT_MAX_CONNECTIONS_PER_ADDRESS), s.metrics(), open);
    return vertx.createHttpServer(options)
        .connectionHandler(guard::opened)
        .invalidRequestHandler(Errors::invalidRequest)
        .requestHandler(withRequestId(tracked(req -> {
          guard.headArrived(req);
          if (req.version() != io.vertx.core.http.HttpVersion.HTTP_1_0 && req.authority() == null) {
            Errors.send(req, 400, "the Host header is required");
          } else {
            router.handle(req);
          }
        })))
        .listen()
        .andThen(ar -> {
          if (ar.succeeded() && ops != null) {
            ops.serve(ar.result());
          }
        });
  }

  /**
   * The origins of {@code page.api_origins}, checked and normalised: the APIs the upload page may call
   * besides its own (a deployment's {@code page_api_origins}).
   *
   * @throws IllegalStateException for an entry that is not an origin ({@code http(s)://host[:port]})
   */
  public static java.util.List<String> pageOrigins(java.util.List<String> configured) {
    return WebPage.origins(configured);
  }

  /** X-Request-Id on every response, request_id in every error: assigned before anything else sees the request. */
  private static io.vertx.core.Handler<io.vertx.core.http.HttpServerRequest> withRequestId(
      io.vertx.core.Handler<io.vertx.core.http.HttpServerRequest> handler) {
    return req -> {
      Answering.track(req);
      RequestIds.assign(req);
      handler.handle(req);
    };
  }

  private io.vertx.core.Handler<io.vertx.core.http.HttpServerRequest> tracked(
      io.vertx.core.Handler<io.vertx.core.http.HttpServerRequest> handler) {
    return ops == null ? handler : ops.track(handler);
  }

  private void health(RoutingContext ctx) {
    s.files().ping().timeout(3, TimeUnit.SECONDS).onComplete(ar -> {
      JsonObject body = ar.succeeded() ? new JsonObject().put("status", "UP")
          : new JsonObject().put("status", "DOWN").put("message", "database: not answering");
      if (ar.failed()) {
        LOG.warn("request {}: health: database does not answer: {}", RequestIds.of(ctx.request()), ar.cause().toString());
      }
      Replies.json(ctx, ar.succeeded() ? 200 : 503, body);
    });
  }

  /**
   * GET /:file_id: the resource; with {@code chunk_number} (or the Resumable.js / Flow.js name) the
   * testChunks probe: 200 with the resource when that chunk is stored, 204 when it is not, 400 for a
   * number outside 1..total_chunks.
   */
  private void metadata(RoutingContext ctx) {
    UUID company = ctx.get(AuthHandler.COMPANY);
    UUID fileId = AuthHandler.uuidParam(ctx, "file_id");
    UploadParams probe = UploadParams.read(ctx.request().params());
    s.files().find(fileId).<FileRecord>compose(f -> {
      if (f == null || !f.companyId().equals(company)) {
        throw ServiceException.notFound("file " + fileId + " not found");
      }
      if (probe.chunkNumber() == null) {
        return Future.succeededFuture(f);
      }
      int n = probe.chunkNumber();
      Integer total = f.complete() && f.uploadGeneration() == null ? Integer.valueOf(f.chunks()) : f.totalChunks();
      if (total != null && n > total) {
        throw ServiceException.badRequest("chunk_number " + n + " is outside 1.." + total);
      }
      if (f.uploadGeneration() == null) { // nothing in progress: a complete file has every chunk
        return Future.succeededFuture(f.complete() ? f : null);
      }
      return s.files().chunks(s.files().pool(), fileId, f.uploadGeneration())
          .map(chunks -> chunks.stream().anyMatch(c -> c.chunkNumber() == n) ? f : null);
    }).onSuccess(f -> {
      if (f == null) {
        ctx.response().setStatusCode(204).end();
      } else {
        Replies.resource(ctx, f.toResource());
      }
    }).onFailure(ctx::fail);
  }

  /** GET /:file_id/thumbnails/:index: the thumbnail image, decrypted; 404 when there is none. */
  private void thumbnail(RoutingContext ctx) {
    UUID company = ctx.get(AuthHandler.COMPANY);
    UUID fileId = AuthHandler.uuidParam(ctx, "file_id");
    String raw = ctx.pathParam("index");
    int index;
    try {
      index = Integer.parseInt(raw);
    } catch (NumberFormatException e) {
      throw ServiceException.notFound("file " + fileId + " has no thumbnail " + raw);
    }
    s.files().find(fileId).compose(f -> {
      if (f == null || !f.companyId().equals(company)) {
        throw ServiceException.notFound("file " + fileId + " not found");
      }
      return s.files().thumbnail(fileId, index).compose(t -> {
        if (t == null) {
          throw ServiceException.notFound("file " + fileId + " has no thumbnail " + index);
        }
        FileContent.Content plaintext;
        try {
          plaintext = content.of(f, java.util.List.of());
        } catch (GeneralSecurityException e) {
          LOG.error("request {}: the data key of file {} cannot be unwrapped: {}", RequestIds.of(ctx.request()), fileId, e.toString());
          throw new ServiceException(Kind.UNAVAILABLE, "file " + fileId + " cannot be decrypted: " + dev.files.crypto.DataKeys.unavailableReason(e));
        }
        return plaintext.thumbnail(index, t.storageKey(), t.size())
            .compose(read -> {
              ctx.response().putHeader("Content-Type", t.type()).putHeader("Content-Length", Long.toString(t.size()))
                  .putHeader("Cache-Control", "private, max-age=3600").putHeader("X-Content-Type-Options", "nosniff");
              return read.pipeTo(ctx.response()).eventually(read::close);
            });
      });
    }).onFailure(err -> {
      if (ctx.response().headWritten()) {
        ctx.response().reset();
      } else {
        ctx.fail(err);
      }
    });
  }

  /**
   * GET /companies/:company_id/events?after=&amp;limit=: the company's file events after a position
   * ({@link EventLog#replay}): 200 {@code {"events": [...], "next": position}}; 400 for a bad
   * {@code after} or {@code limit}; 410 when events after {@code after} are no longer retained (docs/api.md).
   */
  private void events(RoutingContext ctx, EventLog events) {
    UUID company = ctx.get(AuthHandler.COMPANY);
    long after = EventLog.after(EventLog.query(ctx.request().getParam("after")));
    int limit = EventLog.limit(EventLog.query(ctx.request().getParam("limit")));
    events.replay(company, after, limit)
        .onSuccess(body -> Replies.json(ctx, 200, body))
        .onFailure(ctx::fail);
  }

  /** DELETE /:file_id: owner, an application, or a server request (docs/api.md). */
  private void delete(RoutingContext ctx) {
    UUID company = ctx.get(AuthHandler.COMPANY);
    UUID fileId = AuthHandler.uuidParam(ctx, "file_id");
    Caller caller = ctx.get(AuthHandler.CALLER);
    s.sessions().delete(fileId, company, dev.files.upload.Requester.of(caller))
        .onSuccess(body -> Replies.json(ctx, 200, body))
        .onFailure(ctx::fail);
  }
}

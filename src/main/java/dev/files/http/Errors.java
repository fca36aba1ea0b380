package dev.files.http;

import dev.files.db.DatabaseBusy;
import dev.files.error.ErrorAnswer;
import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.ops.ServiceMetrics;
import dev.files.storage.StorageException;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;


/**
 * Answers failures with Fastify-style JSON errors (docs/api.md, "Errors"):
 * {@code {"statusCode": 404, "error": "Not Found", "message": "...", "request_id": "..."}}, the
 * request id being the response's {@code X-Request-Id} ({@link RequestIds}). The status, the message
 * and the {@code Retry-After} of a 503 come from {@link ErrorAnswer}, the mapping the
 * {@code files.api} edge uses too: client mistakes keep their 4xx, dependency failures become 503
 * with {@code Retry-After} (database, storage, upload session; a full queue too) or 507 (storage
 * full), a missing stored object 500, anything else 500.
 * Messages say what failed in the service's terms; the details (exception, path, host) are logged
 * with the request id, never sent. No stack trace reaches a client.
 */
public final class Errors {

  private static final Logger LOG = LoggerFactory.getLogger(Errors.class);
  /** When the last line about a full queue (other than the database pool's) was logged, and how many since. */
  private static final java.util.concurrent.atomic.AtomicLong lastBusyLog = new java.util.concurrent.atomic.AtomicLong(Long.MIN_VALUE / 2);
  private static final java.util.concurrent.atomic.AtomicLong busyRefused = new java.util.concurrent.atomic.AtomicLong();

  private Errors() {
  }

  /**
   * The router's failure and error handler.
   *
   * @param fallback the status when the context carries neither a failure nor a status code
   * @param metrics  the node's metrics: refusals of a full queue are counted there
   */
  public static void handle(RoutingContext ctx, int fallback, ServiceMetrics metrics) {
    Throwable failure = ctx.failure();
    String requestId = RequestIds.of(ctx.request());
    ErrorAnswer answer;
    if (failure == null) {
      int status = ctx.statusCode() > 0 ? ctx.statusCode() : fallback;
      String message = status == 404 ? "no route for " + ctx.request().method() + " " + ctx.request().path()
          : status == 400 ? "malformed request (path or query encoding)"
          : HttpResponseStatus.valueOf(status).reasonPhrase();
      send(ctx.request(), status, message, DOWN_RETRY_AFTER_S);
      return;
    }
    if (failure instanceof IllegalArgumentException && fallback == 400) {
      answer = ErrorAnswer.of(Kind.BAD_REQUEST, "malformed request: " + failure.getMessage()); // the router could not decode the path or query
    } else {
      answer = ErrorAnswer.of(failure);
    }
    int status = answer.status();
    String message = answer.message();
    if (answer.overload()) { // overload: counted, and a line now and then, no stack trace
      String what = "request " + requestId + ": " + ctx.request().method() + " " + ctx.request().path() + ": " + message;
      if (answer.databaseBusy()) {
        DatabaseBusy.refused(metrics, what);
      } else {
        metrics.busyRefusal(failure instanceof StorageException ? "storage" : "upload_session");
        DatabaseBusy.overloaded(LOG, lastBusyLog, busyRefused, "a queue is full: requests refused with 503 and Retry-After 1; latest: {}", what);
      }
    } else if (status >= 500) { // the details stay here, under the request id the client was given
      if (failure instanceof ServiceException e) {
        LOG.error("request {}: {} {} failed with {}: {}{}", requestId, ctx.request().method(), ctx.request().path(),
            status, message, java.util.Objects.equals(e.getMessage(), message) ? "" : " (" + e.getMessage() + ")", e.getCause());
      } else {
        LOG.error("request {}: {} {} failed with {}: {}", requestId, ctx.request().method(), ctx.request().path(),
            status, message, failure);
      }
    }
    send(ctx.request(), status, message, answer.retryAfterS());
  }


  /**
   * A client's value for a message: control characters as {@code \\uXXXX}, at most 100 characters
   * (then {@code ...}); null as {@code null}.
   */
  static String printable(String raw) {
    if (raw == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < raw.length() && b.length() < 100; i++) {
      char c = raw.charAt(i);
      b.append(Character.isISOControl(c) || Character.isSurrogate(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c));
    }
    return b.length() >= 100 ? b + "..." : b.toString();
  }

  /** Retry-After (s) of a 503 for a dependency that does not answer. */
  private static final int DOWN_RETRY_AFTER_S = ErrorAnswer.DOWN_RETRY_AFTER_S;
  /** Retry-After (s) of a 503 for a full queue: the overload may pass at once. */
  static final int BUSY_RETRY_AFTER_S = ErrorAnswer.BUSY_RETRY_AFTER_S;

  /**
   * Requests that could not be decoded (bad request line, URI or headers too long, bad chunked
   * encoding): a JSON error like any other, then the connection is closed.
   */
  public static void invalidRequest(HttpServerRequest req) {
    Throwable cause = req.decoderResult() == null ? null : req.decoderResult().cause();
    int status = cause instanceof TooLongHttpLineException ? 414
        : cause instanceof TooLongHttpHeaderException ? 431 : 400;
    String message = status == 414 ? "request line too long" : status == 431 ? "request headers too large"
        : "malformed HTTP request" + (cause == null || cause.getMessage() == null ? "" : ": " + cause.getMessage());
    HttpServerResponse resp = req.response();
    if (resp.headWritten() || resp.ended()) {
      req.connection().close();
      return;
    }
    String requestId = RequestIds.of(req);
    resp.setStatusCode(status).putHeader("Content-Type", "application/json; charset=utf-8").putHeader("Connection", "close");
    resp.end(body(status, message, requestId)).onComplete(v -> req.connection().close());
  }

  private static io.vertx.core.buffer.Buffer body(int status, String message, String requestId) {
    return new JsonObject()
        .put("statusCode", status)
        .put("error", HttpResponseStatus.valueOf(status).reasonPhrase())
        .put("message", message)
        .put("request_id", requestId)
        .toBuffer();
  }

  /** Sends the error JSON; closes the connection when the request body was not read. */
  public static void send(RoutingContext ctx, int status, String message) {
    send(ctx.request(), status, message);
  }

  /** Sends the error JSON for {@code req}; closes the connection when its body was not read. */
  public static void send(HttpServerRequest req, int status, String message) {
    send(req, status, message, DOWN_RETRY_AFTER_S);
  }

  /**
   * Sends the error JSON for {@code req} with its {@code request_id}; a 503 carries
   * {@code Retry-After: retryAfterS}. Closes the connection when the body was not read.
   */
  static void send(HttpServerRequest req, int status, String message, int retryAfterS) {
    HttpServerResponse resp = req.response();
    if (resp.headWritten() || resp.ended()) {
      req.connection().close(); // too late for an error response: cut the connection
      return;
    }
    String requestId = RequestIds.of(req);
    boolean unreadBody = !req.isEnded();
    resp.setStatusCode(status).putHeader("Content-Type", "application/json; charset=utf-8");
    resp.headers().remove("Content-Disposition").remove("Content-Length").remove("ETag");
    if (status == 503) {
      resp.putHeader("Retry-After", Integer.toString(retryAfterS));
    }
    if (unreadBody) {
      resp.putHeader("Connection", "close");
    }
    resp.end(body(status, message, requestId));
    if (unreadBody) {
      drainThenClose(req);
    }
  }

  /** Bytes of an unwanted request body read (and dropped) after an early error, at most. */
  private static final long DRAIN_BYTES = 4L * 1024 * 1024;
  /** How long the rest of an unwanted body is read after an early error, at most (ms). */
  private static final long DRAIN_MS = 2000;

  /**
   * After an error answered before the request body was read: reads and drops the rest of the body
   * (bounded), then closes the connection. Closing at once with unread bytes in the socket makes the
   * kernel reset the connection, and the client may lose the error answer.
   */
  private static void drainThenClose(HttpServerRequest req) {
    var connection = req.connection();
    long[] seen = {0};
    long timer = io.vertx.core.Vertx.currentContext().owner().setTimer(DRAIN_MS, t -> connection.close());
    req.handler(b -> {
      seen[0] += b.length();
      if (seen[0] > DRAIN_BYTES) {
        connection.close();
      }
    });
    req.endHandler(v -> {
      io.vertx.core.Vertx.currentContext().owner().cancelTimer(timer);
      connection.close();
    });
    req.exceptionHandler(e -> connection.close());
    req.resume();
  }


}

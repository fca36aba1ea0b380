package dev.files.http;

import dev.files.auth.AuthException;
import dev.files.storage.StorageException;
import dev.files.upload.UploadException;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.pgclient.PgException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.ConnectException;

/**
 * Maps failures to Fastify-style JSON errors (API.md, "Errors"):
 * {@code {"statusCode": 404, "error": "Not Found", "message": "..."}}. Client mistakes keep their
 * 4xx, dependency failures become 503 (database, upload session) or 507 (storage full), anything
 * else 500 with a generic message, logged with its stack trace. No stack trace reaches a client.
 */
public final class Errors {

  private static final Logger LOG = LoggerFactory.getLogger(Errors.class);

  private Errors() {
  }

  /**
   * The router's failure and error handler.
   *
   * @param fallback the status when the context carries neither a failure nor a status code
   */
  public static void handle(RoutingContext ctx, int fallback) {
    Throwable failure = ctx.failure();
    int status;
    String message;
    if (failure == null) {
      status = ctx.statusCode() > 0 ? ctx.statusCode() : fallback;
      message = status == 404 ? "no route for " + ctx.request().method() + " " + ctx.request().path()
          : status == 400 ? "malformed request (path or query encoding)"
          : HttpResponseStatus.valueOf(status).reasonPhrase();
    } else if (failure instanceof ApiError e) {
      status = e.status();
      message = e.getMessage();
    } else if (failure instanceof AuthException e) {
      status = 401;
      message = e.getMessage();
    } else if (failure instanceof UploadException e) {
      status = e.status();
      message = e.getMessage();
    } else if (failure instanceof StorageException e) {
      status = e.full() ? 507 : 503;
      message = e.getMessage();
      LOG.error("storage failure on {} {}", ctx.request().method(), ctx.request().path(), e);
    } else if (isDatabase(failure)) {
      status = 503;
      message = "database unavailable: " + failure.getMessage();
      LOG.error("database failure on {} {}", ctx.request().method(), ctx.request().path(), failure);
    } else if (failure instanceof IllegalArgumentException && fallback == 400) {
      status = 400; // the router could not decode the path or query
      message = "malformed request: " + failure.getMessage();
    } else {
      status = 500;
      message = "internal error";
      LOG.error("unexpected failure on {} {}", ctx.request().method(), ctx.request().path(), failure);
    }
    send(ctx, status, message);
  }

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
    resp.setStatusCode(status).putHeader("Content-Type", "application/json; charset=utf-8").putHeader("Connection", "close");
    resp.end(body(status, message)).onComplete(v -> req.connection().close());
  }

  private static io.vertx.core.buffer.Buffer body(int status, String message) {
    return new JsonObject()
        .put("statusCode", status)
        .put("error", HttpResponseStatus.valueOf(status).reasonPhrase())
        .put("message", message)
        .toBuffer();
  }

  /** Sends the error JSON; closes the connection when the request body was not read. */
  public static void send(RoutingContext ctx, int status, String message) {
    send(ctx.request(), status, message);
  }

  /** Sends the error JSON for {@code req}; closes the connection when its body was not read. */
  public static void send(HttpServerRequest req, int status, String message) {
    HttpServerResponse resp = req.response();
    if (resp.headWritten() || resp.ended()) {
      req.connection().close(); // too late for an error response: cut the connection
      return;
    }
    boolean unreadBody = !req.isEnded();
    resp.setStatusCode(status).putHeader("Content-Type", "application/json; charset=utf-8");
    resp.headers().remove("Content-Disposition").remove("Content-Length").remove("ETag");
    if (unreadBody) {
      resp.putHeader("Connection", "close");
    }
    resp.end(body(status, message));
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

  private static boolean isDatabase(Throwable t) {
    for (Throwable x = t; x != null; x = x.getCause()) {
      if (x instanceof PgException || x instanceof ConnectException
          || x.getClass().getName().startsWith("io.vertx.sqlclient")) {
        return true;
      }
    }
    return false;
  }
}

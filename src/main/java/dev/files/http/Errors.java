package dev.files.http;

import dev.files.auth.AuthException;
import dev.files.storage.StorageException;
import dev.files.upload.UploadException;
import io.netty.handler.codec.http.HttpResponseStatus;
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

  /** The router's failure handler. */
  public static void handle(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    int status;
    String message;
    if (failure == null) {
      status = ctx.statusCode() > 0 ? ctx.statusCode() : 500;
      message = status == 404 ? "no route for " + ctx.request().method() + " " + ctx.request().path()
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
    } else {
      status = 500;
      message = "internal error";
      LOG.error("unexpected failure on {} {}", ctx.request().method(), ctx.request().path(), failure);
    }
    send(ctx, status, message);
  }

  /** Sends the error JSON; closes the connection when the request body was not read. */
  public static void send(RoutingContext ctx, int status, String message) {
    HttpServerResponse resp = ctx.response();
    if (resp.headWritten() || resp.ended()) {
      ctx.request().connection().close(); // too late for an error response: cut the connection
      return;
    }
    boolean unreadBody = !ctx.request().isEnded();
    resp.setStatusCode(status).putHeader("Content-Type", "application/json; charset=utf-8");
    resp.headers().remove("Content-Disposition").remove("Content-Length").remove("ETag");
    if (unreadBody) {
      resp.putHeader("Connection", "close");
    }
    JsonObject body = new JsonObject()
        .put("statusCode", status)
        .put("error", HttpResponseStatus.valueOf(status).reasonPhrase())
        .put("message", message);
    resp.end(body.toBuffer()).onComplete(v -> {
      if (unreadBody) {
        ctx.request().connection().close();
      }
    });
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

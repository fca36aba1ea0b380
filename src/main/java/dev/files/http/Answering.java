package dev.files.http;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.internal.ContextInternal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure no request is left without an answer when code answering it throws outside the
 * router's reach (in a callback of a database query, a storage read, a timer): Vert.x runs each
 * request on a context of its own, which this class tags with the request ({@link #track}); an
 * exception reported on that context ({@link #unhandled}, the verticle's exception handler) ends
 * the exchange: a 500 JSON error ({@code {"statusCode": 500, "error": "Internal Server Error",
 * "message": "internal error", "request_id": ...}}) when no header was sent yet, else a reset of
 * the connection (a client must not take a cut body for a whole one). Either way one ERROR line is
 * logged with the request id, the route and the exception (its type, message and where it was
 * thrown), never sent to the client.
 */
final class Answering {

  private static final Logger LOG = LoggerFactory.getLogger(Answering.class);
  /** Key of the request in the local data of its context. */
  private static final Object KEY = new Object();

  private Answering() {
  }

  /** Tags the current context, the request's own, with {@code req}; call from the request handler. */
  static void track(HttpServerRequest req) {
    if (Vertx.currentContext() instanceof ContextInternal ctx && ctx.isDuplicate()) {
      ctx.localContextData().put(KEY, req);
    }
  }

  /**
   * The exception handler of the HTTP verticles' contexts: answers the request whose context
   * reported {@code failure} (500, or a reset once headers are out), or only logs it when there is
   * none or its answer is complete.
   */
  static void unhandled(Throwable failure) {
    HttpServerRequest req = null;
    if (Vertx.currentContext() instanceof ContextInternal ctx && ctx.isDuplicate()
        && ctx.localContextData().get(KEY) instanceof HttpServerRequest r) {
      req = r;
    }
    String where = failure.getStackTrace().length == 0 ? "" : " at " + failure.getStackTrace()[0];
    if (req == null) {
      LOG.error("unexpected failure outside any request", failure); // no client waits: the whole trace helps most
      return;
    }
    HttpServerResponse resp = req.response();
    if (resp.ended() || resp.closed()) {
      LOG.error("request {}: {} {}: unexpected failure after the answer: {}{}", RequestIds.of(req), req.method(),
          req.path(), failure, where);
      return;
    }
    boolean headersOut = resp.headWritten();
    LOG.error("request {}: {} {} failed while answering ({}): {}{}", RequestIds.of(req), req.method(), req.path(),
        headersOut ? "connection reset" : "500 sent", failure, where);
    if (headersOut) {
      resp.reset();
    } else {
      Errors.send(req, 500, "internal error");
    }
  }
}

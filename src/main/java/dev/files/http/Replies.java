package dev.files.http;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** Successful JSON answers (errors are {@link Errors}). */
final class Replies {

  private Replies() {
  }

  /** {@code status} with {@code body} as {@code application/json; charset=utf-8}. */
  static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json; charset=utf-8").end(body.toBuffer());
  }

  /** 200 with {@code {"resource": ...}}, the shape of every file answer (docs/api.md, "The file resource"). */
  static void resource(RoutingContext ctx, JsonObject resource) {
    json(ctx, 200, new JsonObject().put("resource", resource));
  }
}

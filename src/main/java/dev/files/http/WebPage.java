package dev.files.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * What the node serves to people and tools besides the API (API.md, "Operations and browsers"):
 * <ul>
 *   <li>{@code GET /}: the upload page ({@code webroot/index.html} on the classpath) with its script
 *       {@code /upload.js}, style sheet {@code /upload.css} and icon {@code /favicon.svg} (which the page
 *       names, so that browsers do not ask for a {@code /favicon.ico}); no token needed (the page asks for one);</li>
 *   <li>{@code GET /openapi.yaml}: the OpenAPI 3.1 description of the API ({@code docs/openapi.yaml},
 *       packed into the jar), {@code application/yaml}.</li>
 * </ul>
 * The page's answers carry a Content-Security-Policy that allows only its own script and style, and
 * connections and images to any http(s) origin (the page may call an API on another origin).
 */
final class WebPage {

  /** The page's Content-Security-Policy: its own script only; API calls and thumbnails to any origin. */
  static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https: blob: data:;"
      + " connect-src 'self' http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  private WebPage() {
  }

  /** Adds the page's and the OpenAPI document's routes. */
  static void routes(Router router) {
    Buffer openapi = resource("openapi.yaml");
    router.route("/openapi.yaml").method(HttpMethod.GET).method(HttpMethod.HEAD).handler(ctx ->
        ctx.response().putHeader("Content-Type", "application/yaml; charset=utf-8")
            .putHeader("Cache-Control", "no-cache")
            .end(openapi));
    StaticHandler files = StaticHandler.create("webroot")
        .setCachingEnabled(false)
        .setDirectoryListing(false)
        .setIncludeHidden(false);
    // a regex route: the static handler then looks the whole path up under webroot/
    router.routeWithRegex("/(index\\.html|upload\\.js|upload\\.css|favicon\\.svg)?").method(HttpMethod.GET).method(HttpMethod.HEAD)
        .handler(WebPage::securityHeaders).handler(files);
  }

  private static void securityHeaders(RoutingContext ctx) {
    ctx.response()
        .putHeader("Content-Security-Policy", CSP)
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Referrer-Policy", "no-referrer")
        .putHeader("Cache-Control", "no-cache");
    ctx.next();
  }

  private static Buffer resource(String name) {
    try (InputStream in = WebPage.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is missing from the classpath");
      }
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

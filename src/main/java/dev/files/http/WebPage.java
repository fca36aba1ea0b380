package dev.files.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * What the node serves to people and tools besides the API (docs/api.md, "Operations routes"):
 * <ul>
 *   <li>{@code GET /}: the upload page ({@code webroot/index.html} on the classpath) with its script
 *       {@code /upload.js}, style sheet {@code /upload.css} and icon {@code /favicon.svg} (which the page
 *       names, so that browsers do not ask for a {@code /favicon.ico}); no token needed (the page asks for one);</li>
 *   <li>{@code GET /openapi.yaml}: the OpenAPI 3.1 description of the API ({@code docs/openapi.yaml},
 *       packed into the jar), {@code application/yaml}.</li>
 * </ul>
 * The page's answers carry a Content-Security-Policy that allows only its own script and style, and
 * connections and images to its own origin and the origins of {@code page.api_origins} only; the page
 * takes an API base URL from a link ({@code #api=}) only on those origins (the list is written into
 * its {@code files-api-origins} meta element), so a crafted link cannot send the page's token elsewhere.
 */
final class WebPage {

  private WebPage() {
  }

  /**
   * The page's Content-Security-Policy: its own script and style only; API calls and thumbnails to its
   * own origin and {@code apiOrigins}.
   */
  static String csp(List<String> apiOrigins) {
    String others = apiOrigins.isEmpty() ? "" : " " + String.join(" ", apiOrigins);
    return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:" + others + ";"
        + " connect-src 'self'" + others + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  }

  /**
   * The origins of {@code page.api_origins}, checked and normalised (lower case, no trailing slash).
   *
   * @throws IllegalStateException for an entry that is not {@code http(s)://host[:port]} (host: a name, an
   *     IPv4 address or a bracketed IPv6 address; no path, wildcard, quote or space)
   */
  public static List<String> origins(List<String> configured) {
    return configured.stream().map(o -> {
      String s = o.strip();
      while (s.endsWith("/")) {
        s = s.substring(0, s.length() - 1);
      }
      if (!s.matches("(?i)https?://([a-z0-9]([a-z0-9.-]*[a-z0-9])?|\\[[0-9a-f:.]+\\])(:[0-9]{1,5})?")) {
        throw new IllegalStateException("page.api_origins: '" + o
            + "' is not an origin (scheme://host[:port], e.g. https://files.example.com)");
      }
      return s.toLowerCase(Locale.ROOT);
    }).toList();
  }

  /** Adds the page's and the OpenAPI document's routes; the page may call its own origin's API only. */
  static void routes(Router router) {
    routes(router, List.of());
  }

  /**
   * Adds the page's and the OpenAPI document's routes.
   *
   * @param apiOrigins the origins (normalised by {@link #origins}) whose API the page may call besides its own
   */
  static void routes(Router router, List<String> apiOrigins) {
    String csp = csp(apiOrigins);
    Buffer page = Buffer.buffer(resource("webroot/index.html").toString(StandardCharsets.UTF_8).replace(
        "<meta name=\"files-api-origins\" content=\"\">",
        "<meta name=\"files-api-origins\" content=\"" + String.join(" ", apiOrigins) + "\">"));
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
    router.routeWithRegex("/(index\\.html)?").method(HttpMethod.GET).method(HttpMethod.HEAD)
        .handler(ctx -> securityHeaders(ctx, csp)).handler(ctx -> ctx.response()
            .putHeader("Content-Type", "text/html;charset=UTF-8").end(page));
    router.routeWithRegex("/(upload\\.js|upload\\.css|favicon\\.svg)").method(HttpMethod.GET).method(HttpMethod.HEAD)
        .handler(ctx -> securityHeaders(ctx, csp)).handler(files);
  }

  private static void securityHeaders(RoutingContext ctx, String csp) {
    ctx.response()
        .putHeader("Content-Security-Policy", csp)
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

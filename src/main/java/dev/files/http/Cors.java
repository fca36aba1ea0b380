package dev.files.http;

import dev.files.error.Kind;
import dev.files.error.ServiceException;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.CorsHandler;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Cross-origin access for web applications (docs/api.md, "CORS"), configured by
 * {@code http.cors.origins}: the origins ({@code scheme://host[:port]}) whose pages may call the API.
 *
 * <p>For a listed origin, a preflight ({@code OPTIONS} with {@code Access-Control-Request-Method})
 * is answered 204 with the allowed methods ({@link #METHODS}) and request headers
 * ({@link #REQUEST_HEADERS}), cacheable for {@link #MAX_AGE_S} seconds; every other answer, errors
 * included, carries {@code Access-Control-Allow-Origin: <origin>} and
 * {@code Access-Control-Expose-Headers} ({@link #EXPOSED_HEADERS}), so that a page can read a 401 or
 * 413 as well as a download's headers. Credentials (cookies) are not allowed: the API authenticates
 * with the {@code Authorization} header.
 *
 * <p>Any other origin gets no CORS header: its preflight is refused (403, JSON error) and its other
 * requests are served as if they had no {@code Origin} (a browser then keeps the answer from the
 * page). They are not refused, because browsers send {@code Origin} on same-origin POSTs too, such as
 * those of the upload page at {@code /}.
 */
public final class Cors implements Handler<RoutingContext> {

  static final Set<HttpMethod> METHODS = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.POST,
      HttpMethod.PATCH, HttpMethod.DELETE, HttpMethod.OPTIONS);

  /**
   * Request headers a page may send: the API's own ({@code Authorization}, {@code Content-Type} for
   * multipart bodies, {@code Range} and {@code If-None-Match} for downloads, {@code X-Request-Id}),
   * and the ones upload libraries add: Dropzone and Fine Uploader send {@code X-Requested-With} and
   * {@code Cache-Control}; Resumable.js, Flow.js and Uppy's XHR upload send only what their
   * {@code headers} option lists (usually {@code Authorization}), and their bodies are multipart;
   * tus clients (tus-js-client, Uppy's tus plugin) send the tus headers ({@link TusHandler}) and
   * the IETF resumable-upload draft's ({@code Upload-Complete}, {@code Upload-Draft-Interop-Version}).
   */
  static final Set<String> REQUEST_HEADERS = Set.of("Authorization", "Content-Type", "Range", "If-None-Match",
      "X-Request-Id", "X-Requested-With", "Cache-Control",
      "Tus-Resumable", "Upload-Length", "Upload-Offset", "Upload-Metadata", "Upload-Defer-Length",
      "Upload-Concat", "Upload-Checksum", "X-HTTP-Method-Override", "Upload-Complete",
      "Upload-Draft-Interop-Version");

  /** Response headers a page may read besides the CORS-safelisted ones. */
  static final Set<String> EXPOSED_HEADERS = Set.of("Content-Disposition", "Content-Range", "Content-Length",
      "ETag", "Accept-Ranges", "X-Request-Id", "Retry-After",
      "Location", "Upload-Offset", "Upload-Length", "Upload-Expires", "Upload-Defer-Length", "Upload-Metadata",
      "Upload-Concat", "Upload-Limit", "Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm");

  /** How long a browser may cache a preflight answer, seconds. */
  static final int MAX_AGE_S = 600;

  private final List<String> origins;
  private final CorsHandler handler;

  /**
   * @param origins the allowed origins, e.g. {@code https://chat.example.com}; not empty
   * @throws IllegalStateException for an entry that is not an origin ({@code *} included)
   */
  Cors(List<String> origins) {
    this.origins = origins(origins);
    this.handler = CorsHandler.create()
        .addOrigins(this.origins)
        .allowedMethods(METHODS)
        .allowedHeaders(REQUEST_HEADERS)
        .exposedHeaders(EXPOSED_HEADERS)
        .allowCredentials(false)
        .maxAgeSeconds(MAX_AGE_S);
  }

  /**
   * The configured origins, checked and normalised (lower case, no trailing slash).
   *
   * @throws IllegalStateException for an entry that is not {@code http(s)://host[:port]} ({@code *} included)
   */
  public static List<String> origins(List<String> configured) {
    return configured.stream().map(Cors::normalise).toList();
  }

  private static String normalise(String origin) {
    String o = origin.strip();
    while (o.endsWith("/")) {
      o = o.substring(0, o.length() - 1);
    }
    if (!o.matches("(?i)https?://[^/\\s?#*]+")) {
      throw new IllegalStateException("http.cors.origins: '" + origin
          + "' is not an origin (scheme://host[:port], e.g. https://chat.example.com)");
    }
    return o.toLowerCase(Locale.ROOT);
  }

  @Override
  public void handle(RoutingContext ctx) {
    String origin = ctx.request().getHeader("Origin");
    boolean preflight = ctx.request().method() == HttpMethod.OPTIONS
        && ctx.request().getHeader("Access-Control-Request-Method") != null;
    if (origin == null || origins.contains(origin.toLowerCase(Locale.ROOT))) {
      if (origins.size() == 1) {
        // the answer depends on Origin (an unlisted one gets no CORS headers): caches must know it;
        // with several origins the CORS handler adds Vary itself
        ctx.response().headers().add("Vary", "Origin");
      }
      handler.handle(ctx); // a listed origin's headers
    } else if (preflight) {
      throw new ServiceException(Kind.FORBIDDEN, "cross-origin requests from " + origin + " are not allowed");
    } else {
      ctx.response().headers().add("Vary", "Origin");
      ctx.next();
    }
  }
}

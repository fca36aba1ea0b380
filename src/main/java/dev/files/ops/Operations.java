package dev.files.ops;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What operators use on the HTTP edge, shared by all instances of the HTTP verticle of one node:
 * <ul>
 *   <li>{@code GET /health/live}: 200 {@code {"status":"UP",...}} while the node answers at all;</li>
 *   <li>{@code GET /health/ready} (and {@code GET /health}, kept for existing checks): 200 UP when every
 *       check of {@code ready} (database, storage, cluster when clustered) is UP, else 503 DOWN; the body
 *       lists each check: {@code {"status":"DOWN","checks":[{"id":"database","status":"DOWN",
 *       "data":{"reason":"..."}},...],"outcome":"DOWN"}};</li>
 *   <li>{@code GET /metrics}: Prometheus text ({@link ServiceMetrics}), when {@code metrics.enabled}. Like
 *       the health routes it needs no token: it is served on the API's port and tells counts only;
 *       firewall it (or bind {@code http.host} to an internal address) where that matters;</li>
 *   <li>the access log: one line per request on the logger {@code dev.files.access} (see {@link #track});</li>
 *   <li>the servers, for the drain on SIGTERM.</li>
 * </ul>
 */
public final class Operations {

  /** The logger of the access log. */
  public static final String ACCESS_LOGGER = "dev.files.access";
  /** The header carrying the request id (set by the edge; read back when the line is written). */
  public static final String REQUEST_ID = "X-Request-Id";

  private static final Logger ACCESS = LoggerFactory.getLogger(ACCESS_LOGGER);
  private static final DateTimeFormatter TIME = DateTimeFormatter.ISO_OFFSET_DATE_TIME;

  private final ServiceMetrics metrics;
  private final HealthChecks live;
  private final HealthChecks ready;
  private final Set<HttpServer> servers = ConcurrentHashMap.newKeySet();
  private final AtomicInteger inFlight = new AtomicInteger();
  /** The end-of-request hooks of requests in flight, by response: the router re-attaches them (see {@link #mount}). */
  private final Map<HttpServerResponse, Handler<Void>> pending = new ConcurrentHashMap<>();

  /**
   * @param metrics the node's metrics ({@link ServiceMetrics#NONE}: no {@code /metrics} route)
   * @param live    the checks of {@code /health/live}
   * @param ready   the checks of {@code /health/ready}
   */
  public Operations(ServiceMetrics metrics, HealthChecks live, HealthChecks ready) {
    this.metrics = metrics;
    this.live = live;
    this.ready = ready;
  }

  /** Adds the health and metrics routes to {@code router}. */
  public void mount(Router router) {
    // vertx-web takes the response's end and close handlers over as soon as anything calls
    // addEndHandler: go through its list so that the access-log line is still written
    router.route().order(Integer.MIN_VALUE).handler(ctx -> {
      Handler<Void> done = pending.get(ctx.response());
      if (done != null) {
        ctx.addEndHandler(ar -> done.handle(null));
      }
      ctx.next();
    });
    HealthCheckHandler readiness = HealthCheckHandler.createWithHealthChecks(ready);
    router.get("/health/live").handler(HealthCheckHandler.createWithHealthChecks(live));
    router.get("/health/ready").handler(readiness);
    router.get("/health").handler(readiness);
    if (metrics.registry() != null) {
      router.get("/metrics").handler(PrometheusScrapingHandler.create(metrics.registry()));
    }
  }

  /** Remembers a listening server (for {@link #servers()}). */
  public void serve(HttpServer server) {
    servers.add(server);
  }

  /** The listening servers of the node. */
  public List<HttpServer> servers() {
    return List.copyOf(servers);
  }

  /** Requests started and not yet answered (or cut). */
  public int inFlight() {
    return inFlight.get();
  }

  /**
   * Wraps the server's request handler: counts the request in flight, gives it a request id when it has
   * none ({@link #REQUEST_ID}), and when the response ends (or the connection closes first) writes its
   * access-log line and counts download bytes. The line:
   * {@code 2026-12-01T06:30:00.123Z 3f2a9c0d1e7b4a55 GET /internal/.../download 200 in=0 out=1048576 12ms 127.0.0.1:50412};
   * the path is written without its query, so a {@code ?token=} never reaches a log. A response cut before
   * its end has status {@code -} (or the status sent) and the bytes sent so far.
   */
  public Handler<HttpServerRequest> track(Handler<HttpServerRequest> next) {
    return req -> {
      long t0 = System.nanoTime();
      inFlight.incrementAndGet();
      HttpServerResponse res = req.response();
      if (res.headers().get(REQUEST_ID) == null) {
        res.putHeader(REQUEST_ID, Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE));
      }
      AtomicBoolean logged = new AtomicBoolean();
      Handler<Void> done = v -> {
        if (logged.compareAndSet(false, true)) {
          pending.remove(res);
          inFlight.decrementAndGet();
          finished(req, t0, res.ended());
        }
      };
      pending.put(res, done);
      res.endHandler(done);
      res.closeHandler(done);
      next.handle(req);
    };
  }

  private void finished(HttpServerRequest req, long t0, boolean ended) {
    HttpServerResponse res = req.response();
    long out = res.bytesWritten();
    int status = res.getStatusCode();
    // counted whether the end or the connection's close is seen first: both may come for a whole download
    if ((status == 200 || status == 206) && req.method() == HttpMethod.GET && req.path() != null
        && req.path().endsWith("/download")) {
      metrics.downloaded(out);
    }
    if (!ACCESS.isInfoEnabled()) {
      return;
    }
    String id = res.headers().get(REQUEST_ID);
    String remote = req.remoteAddress() == null ? "-" : req.remoteAddress().hostAddress() + ":" + req.remoteAddress().port();
    ACCESS.info("{} {} {} {} {} in={} out={} {}ms {}",
        OffsetDateTime.now(ZoneId.systemDefault()).format(TIME), id == null ? "-" : id, req.method(),
        pathOf(req), ended || res.headWritten() ? Integer.toString(status) : "-", req.bytesRead(), out,
        (System.nanoTime() - t0) / 1_000_000, remote);
  }

  /** The request's path without query (a token in the query never reaches the log); "-" when unparsable. */
  static String pathOf(HttpServerRequest req) {
    String uri = req.uri();
    if (uri == null) {
      return "-";
    }
    int q = uri.indexOf('?');
    String path = q < 0 ? uri : uri.substring(0, q);
    int hash = path.indexOf('#');
    return printable(hash < 0 ? path : path.substring(0, hash));
  }

  /**
   * {@code path} with each space and control character (U+0000–U+001F, U+007F: what the regex
   * {@code [\s\p{Cntrl}]} matches) replaced by {@code _}, so that a line of the access log stays one
   * line. Written as a loop: it runs for every request, and a regex would be compiled each time.
   */
  static String printable(String path) {
    int i = 0;
    while (i < path.length() && !blank(path.charAt(i))) {
      i++;
    }
    if (i == path.length()) {
      return path; // the usual case: nothing to replace, nothing copied
    }
    char[] chars = path.toCharArray();
    for (; i < chars.length; i++) {
      if (blank(chars[i])) {
        chars[i] = '_';
      }
    }
    return new String(chars);
  }

  private static boolean blank(char c) {
    return c <= ' ' || c == 0x7F;
  }
}

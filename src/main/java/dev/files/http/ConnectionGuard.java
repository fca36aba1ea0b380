package dev.files.http;

import dev.files.db.DatabaseBusy;
import dev.files.ops.ServiceMetrics;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds what a client can hold without sending a request (README, "Configuration"):
 * <ul>
 *   <li>{@code http.header_timeout_ms}: a connection must deliver a whole request head (request line
 *       and headers) within this many ms of being opened, and of the end of its previous answer; else it
 *       is closed. A client sending its head a byte at a time cannot hold a connection longer (the idle
 *       timeout restarts with every byte; this deadline does not). An idle keep-alive connection is
 *       closed after the same time. 0: no deadline.</li>
 *   <li>{@code http.max_connections_per_address}: open connections from one remote IP address, at most,
 *       across the node's HTTP verticles; one more is closed as soon as it is accepted. 0: no cap.</li>
 * </ul>
 * Each closing is counted in {@code files_connections_refused_total{reason}} ({@code header_timeout},
 * {@code per_address}) and logged as one WARN line at most every 10 s.
 */
final class ConnectionGuard {

  private static final Logger LOG = LoggerFactory.getLogger(ConnectionGuard.class);
  private static final AtomicLong lastLog = new AtomicLong(System.nanoTime() - 60_000_000_000L);
  private static final AtomicLong cut = new AtomicLong();

  private final Vertx vertx;
  private final ServiceMetrics metrics;
  private final long headerTimeoutMs;
  private final int maxPerAddress;
  private final ConcurrentHashMap<String, Integer> open;
  /** The header deadline timer of each connection of this verticle instance (its event loop only). */
  private final Map<HttpConnection, Long> deadlines = new HashMap<>();

  /**
   * @param headerTimeoutMs {@code http.header_timeout_ms} (0: none)
   * @param maxPerAddress   {@code http.max_connections_per_address} (0: no cap)
   * @param metrics         the node's metrics: each closing is counted there
   * @param open            open connections per remote address, shared by the HTTP verticle instances of
   *                        the node ({@link HttpVerticle.OpenConnections})
   */
  ConnectionGuard(Vertx vertx, long headerTimeoutMs, int maxPerAddress, ServiceMetrics metrics,
                  HttpVerticle.OpenConnections open) {
    this.vertx = vertx;
    this.metrics = metrics;
    this.headerTimeoutMs = headerTimeoutMs;
    this.maxPerAddress = maxPerAddress;
    this.open = open.byAddress;
  }

  /** The server's connection handler: counts the connection against its address and arms the header deadline. */
  void opened(HttpConnection conn) {
    String address = conn.remoteAddress() == null || conn.remoteAddress().hostAddress() == null ? "unknown"
        : conn.remoteAddress().hostAddress();
    int[] now = {0};
    open.compute(address, (k, n) -> now[0] = (n == null ? 0 : n) + 1);
    java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
    conn.closeHandler(v -> {
      if (released.compareAndSet(false, true)) { // a connection closed as it was accepted may report its close twice
        open.computeIfPresent(address, (k, n) -> n <= 1 ? null : n - 1);
      }
      Long timer = deadlines.remove(conn);
      if (timer != null) {
        vertx.cancelTimer(timer);
      }
    });
    if (maxPerAddress > 0 && now[0] > maxPerAddress) {
      refuse("per_address", address + " has " + maxPerAddress + " connections open (http.max_connections_per_address)");
      conn.close();
      return;
    }
    arm(conn, address);
  }

  /** Called for every request whose head has arrived: the deadline stops until its answer has been sent. */
  void headArrived(HttpServerRequest req) {
    HttpConnection conn = req.connection();
    Long timer = deadlines.remove(conn);
    if (timer != null) {
      vertx.cancelTimer(timer);
    }
    if (headerTimeoutMs > 0) {
      String address = req.remoteAddress() == null ? "unknown" : req.remoteAddress().hostAddress();
      req.response().bodyEndHandler(v -> arm(conn, address));
    }
  }

  private void arm(HttpConnection conn, String address) {
    if (headerTimeoutMs <= 0) {
      return;
    }
    Long previous = deadlines.put(conn, vertx.setTimer(headerTimeoutMs, t -> {
      if (deadlines.remove(conn) != null) {
        refuse("header_timeout", "a connection from " + address + " sent no whole request head within "
            + headerTimeoutMs + " ms (http.header_timeout_ms)");
        conn.close();
      }
    }));
    if (previous != null) {
      vertx.cancelTimer(previous);
    }
  }

  private void refuse(String reason, String what) {
    metrics.connectionRefused(reason);
    DatabaseBusy.overloaded(LOG, lastLog, cut, "connections closed: latest: {}", what);
  }
}

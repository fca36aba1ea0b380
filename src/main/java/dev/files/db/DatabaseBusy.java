package dev.files.db;

import dev.files.ops.ServiceMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A full database pool is overload, not an outage (docs/api.md, "Errors"): every query waiting for a
 * connection beyond {@code db.wait_queue} fails at once, before PostgreSQL is asked anything. Such a
 * refusal is answered 503 with {@code Retry-After: 1} ("database busy, try again shortly"), counted in
 * {@code files_busy_refusals_total{resource="database"}}, and logged as one WARN line at most every
 * {@value #LOG_EVERY_MS} ms per node with the number refused since (no stack trace): a burst of
 * thousands of requests writes one line, not thousands of stack traces.
 */
public final class DatabaseBusy {

  private static final Logger LOG = LoggerFactory.getLogger(DatabaseBusy.class);
  /** Shortest time between two log lines about refusals, ms. */
  static final long LOG_EVERY_MS = 10_000;
  /** The message of the 503. */
  public static final String MESSAGE = dev.files.error.ServiceException.DATABASE_BUSY;

  private static final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_EVERY_MS * 2_000_000);
  private static final AtomicLong unlogged = new AtomicLong();

  private DatabaseBusy() {
  }

  /** Whether {@code t} (or a cause) is the pool's refusal of a query: its wait queue ({@code db.wait_queue}) is full. */
  public static boolean is(Throwable t) {
    return dev.files.error.ErrorAnswer.isDatabaseBusy(t);
  }

  /**
   * Counts one refusal of a request in the node's {@code metrics}, and logs it when no line was written in
   * the last {@value #LOG_EVERY_MS} ms.
   *
   * @param what what was refused (e.g. {@code "POST /internal/..."}, {@code "files.api create"})
   */
  public static void refused(ServiceMetrics metrics, String what) {
    metrics.busyRefusal("database");
    overloaded(LOG, lastLog, unlogged, "database pool full (db.pool_size, db.wait_queue): requests refused with 503 and Retry-After 1; latest: {}", what);
  }

  /**
   * Rate-limited WARN: logs {@code format} with the count of refusals since the previous line, at most
   * once every {@value #LOG_EVERY_MS} ms for one ({@code last}, {@code count}) pair.
   */
  public static void overloaded(Logger log, AtomicLong last, AtomicLong count, String format, String what) {
    count.incrementAndGet();
    long now = System.nanoTime();
    long previous = last.get();
    if (now - previous >= LOG_EVERY_MS * 1_000_000 && last.compareAndSet(previous, now)) {
      log.warn(format + " ({} refused since the previous such line)", what, count.getAndSet(0));
    }
  }
}

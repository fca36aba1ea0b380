package dev.files.error;

/**
 * How a failure is answered, the same at the HTTP edge and at the {@code files.api} edge
 * (docs/api.md, "Errors"; docs/event-bus.md, "Calling files.api"): the {@link Kind}, the HTTP status
 * (which is also the failure code of a {@code files.api} reply, read by {@code FilesApiFailure}), the
 * public message and the {@code Retry-After} (s) of a 503.
 *
 * <p>{@link #of(Throwable)} classifies any failure: a {@link ServiceException} by its kind and public
 * message; a query the database pool refused (its wait queue is full) as {@link Kind#BUSY}; any other
 * failure of the database as {@link Kind#UNAVAILABLE}; anything else as {@link Kind#INTERNAL} with
 * "internal error". The edges log 5xx answers with the failure's detail and cause; clients get the
 * public message only.
 *
 * @param kind        what kind of failure
 * @param status      the HTTP status, and the {@code files.api} failure code
 * @param message     for clients
 * @param retryAfterS the {@code Retry-After} of a 503, seconds; 0 for other statuses
 */
public record ErrorAnswer(Kind kind, int status, String message, int retryAfterS) {

  /** Retry-After (s) of a 503 for a dependency that does not answer. */
  public static final int DOWN_RETRY_AFTER_S = 5;
  /** Retry-After (s) of a 503 for a full queue or a lost answer: may pass at once. */
  public static final int BUSY_RETRY_AFTER_S = 1;

  /** The answer to {@code failure} (never null; null itself is an internal error). */
  public static ErrorAnswer of(Throwable failure) {
    if (failure instanceof ServiceException e) {
      return of(e.kind(), e.publicMessage());
    }
    if (isDatabaseBusy(failure)) { // nothing was asked of PostgreSQL: overload, not an outage
      return of(Kind.BUSY, ServiceException.DATABASE_BUSY);
    }
    if (isDatabaseFailure(failure)) {
      return of(Kind.UNAVAILABLE, ServiceException.DATABASE_UNAVAILABLE);
    }
    return of(Kind.INTERNAL, "internal error");
  }

  /** The answer of a failure of {@code kind} with {@code message}. */
  public static ErrorAnswer of(Kind kind, String message) {
    int status = status(kind);
    return new ErrorAnswer(kind, status, message, status == 503 ? retryAfterS(kind) : 0);
  }

  /** The HTTP status (and {@code files.api} failure code) of {@code kind}. */
  public static int status(Kind kind) {
    return switch (kind) {
      case BAD_REQUEST -> 400;
      case UNAUTHORIZED -> 401;
      case FORBIDDEN -> 403;
      case NOT_FOUND -> 404;
      case METHOD_NOT_ALLOWED -> 405;
      case TIMEOUT -> 408;
      case CONFLICT -> 409;
      case GONE -> 410;
      case PRECONDITION_FAILED -> 412;
      case TOO_LARGE -> 413;
      case UNSUPPORTED_TYPE -> 415;
      case RANGE_NOT_SATISFIABLE -> 416;
      case CHECKSUM_MISMATCH -> 460;
      case BUSY, UNAVAILABLE, OUTCOME_UNKNOWN -> 503;
      case FULL -> 507;
      case DAMAGED, INTERNAL -> 500;
    };
  }

  /** The {@code Retry-After} (s) of {@code kind}'s 503: 1 for a full queue or a lost answer, else 5. */
  public static int retryAfterS(Kind kind) {
    return kind == Kind.BUSY || kind == Kind.OUTCOME_UNKNOWN ? BUSY_RETRY_AFTER_S : DOWN_RETRY_AFTER_S;
  }

  /** True for a 503 that says a queue is full or an answer was lost (Retry-After 1): overload, counted rather than logged. */
  public boolean overload() {
    return status == 503 && retryAfterS == BUSY_RETRY_AFTER_S;
  }

  /** True for the refusal of a query by the database pool (its wait queue {@code db.wait_queue} is full). */
  public boolean databaseBusy() {
    return kind == Kind.BUSY && ServiceException.DATABASE_BUSY.equals(message);
  }

  /** Whether {@code t} (or a cause) is the database pool's refusal of a query: its wait queue ({@code db.wait_queue}) is full. */
  public static boolean isDatabaseBusy(Throwable t) {
    for (Throwable x = t; x != null; x = x.getCause()) {
      if (x.getClass().getSimpleName().equals("ConnectionPoolTooBusyException")) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code failure} (or a cause) is a failure of PostgreSQL or of the connection to it. */
  public static boolean isDatabaseFailure(Throwable failure) {
    for (Throwable x = failure; x != null; x = x.getCause()) {
      if (x instanceof io.vertx.pgclient.PgException || x instanceof java.net.ConnectException
          || x.getClass().getName().startsWith("io.vertx.sqlclient")) {
        return true;
      }
    }
    return false;
  }
}

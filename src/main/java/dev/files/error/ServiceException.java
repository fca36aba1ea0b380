package dev.files.error;

import java.util.Objects;

/**
 * A failure of the service: its {@link Kind}, a public message and, for the log only, a detail and
 * a cause. The edges answer it through {@link ErrorAnswer} (HTTP status, {@code Retry-After}, bus
 * failure code; docs/api.md, "Errors").
 *
 * <ul>
 *   <li>{@link #publicMessage()}: for clients, in the service's terms; never a path, host, key or a
 *       library's exception text.</li>
 *   <li>{@link #getMessage()}: the detail for the log (may name keys and paths); the public message
 *       when no detail was given.</li>
 *   <li>{@link #getCause()}: the underlying failure, logged, never sent.</li>
 *   <li>{@link #mayHaveBeenRecorded()}: whether the change asked for may have been made despite the
 *       failure (an earlier attempt's answer was lost). The node that stored a chunk's object may delete
 *       it only when this is false (docs/architecture.md, "Where objects are deleted").</li>
 * </ul>
 */
public class ServiceException extends RuntimeException {

  /** The public message of a query the database pool refused because its wait queue ({@code db.wait_queue}) is full. */
  public static final String DATABASE_BUSY = "database busy, try again shortly";
  /** The public message of a database that failed or could not be reached. */
  public static final String DATABASE_UNAVAILABLE = "database unavailable";

  private final Kind kind;
  private final String publicMessage;
  private final boolean mayHaveBeenRecorded;

  /** A failure whose message is public, with no cause; nothing was changed. */
  public ServiceException(Kind kind, String message) {
    this(kind, message, null, null, false, false);
  }

  /** A failure with a public message and a cause for the log; nothing was changed. */
  public ServiceException(Kind kind, String message, Throwable cause) {
    this(kind, message, null, cause, false, false);
  }

  /**
   * @param kind                what kind of failure
   * @param publicMessage       for clients (never a path, host or key)
   * @param detail              for the log (becomes {@link #getMessage()}); null for the public message
   * @param cause               the underlying failure, for the log; may be null
   * @param mayHaveBeenRecorded an earlier attempt of the change may have taken effect
   * @param stackTrace          whether the stack trace is recorded (for unexpected failures worth one)
   */
  protected ServiceException(Kind kind, String publicMessage, String detail, Throwable cause,
                             boolean mayHaveBeenRecorded, boolean stackTrace) {
    super(detail == null ? publicMessage : detail, cause, false, stackTrace);
    this.kind = Objects.requireNonNull(kind, "kind");
    this.publicMessage = publicMessage;
    this.mayHaveBeenRecorded = mayHaveBeenRecorded;
  }

  /** What kind of failure this is. */
  public Kind kind() {
    return kind;
  }

  /** The message for clients, in the service's terms. */
  public String publicMessage() {
    return publicMessage;
  }

  /**
   * Whether the change asked for may have been made despite this failure (an earlier attempt's
   * answer was lost): the asker must not delete the object the change refers to.
   */
  public boolean mayHaveBeenRecorded() {
    return mayHaveBeenRecorded;
  }

  /** This failure, marked as one whose change may have been made (same kind and public message). */
  public ServiceException mayHaveBeenRecordedToo() {
    return mayHaveBeenRecorded ? this : new ServiceException(kind, publicMessage, null, null, true, false);
  }

  /**
   * True unless {@code err} is a failure known to have changed nothing: only then may the object of
   * the chunk the question was about be deleted by the node that stored it.
   */
  public static boolean objectMayBeReferenced(Throwable err) {
    return !(err instanceof ServiceException se) || se.mayHaveBeenRecorded();
  }

  /** 400 with {@code message}. */
  public static ServiceException badRequest(String message) {
    return new ServiceException(Kind.BAD_REQUEST, message);
  }

  /** 401: no usable token ({@code message} says why). */
  public static ServiceException unauthorized(String message) {
    return new ServiceException(Kind.UNAUTHORIZED, message);
  }

  /** 403 with {@code message}. */
  public static ServiceException forbidden(String message) {
    return new ServiceException(Kind.FORBIDDEN, message);
  }

  /** 404 with {@code message}. */
  public static ServiceException notFound(String message) {
    return new ServiceException(Kind.NOT_FOUND, message);
  }

  /** The database pool refused a query: its wait queue ({@code db.wait_queue}) is full; nothing was changed. */
  public static ServiceException databaseBusy() {
    return new ServiceException(Kind.BUSY, DATABASE_BUSY);
  }

  /**
   * The answer to a change (a chunk commit, an init, a delete) was lost: it may or may not have been
   * made; the request is safe to repeat (a repeated chunk is recorded once). The chunk's object is
   * never deleted by the asker.
   *
   * @param what what was asked and what went wrong, e.g. "the commit of chunk 3 of file …: no answer"
   */
  public static ServiceException outcomeUnknown(String what) {
    return new ServiceException(Kind.OUTCOME_UNKNOWN, what + "; the outcome is unknown (the change may or may not"
        + " have been made); the request is safe to repeat", null, null, true, false);
  }

  /**
   * A failure received in an internal event-bus reply ({@link Kind#replyCode()}), rebuilt on the
   * asking node: its kind, its message; {@link Kind#OUTCOME_UNKNOWN} may have been recorded.
   * Null when {@code code} is no kind's.
   */
  public static ServiceException ofReply(int code, String message) {
    Kind kind = Kind.ofReplyCode(code);
    return kind == null ? null
        : new ServiceException(kind, message, null, null, kind == Kind.OUTCOME_UNKNOWN, false);
  }
}

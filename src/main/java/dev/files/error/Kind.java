package dev.files.error;

/**
 * What kind of failure a {@link ServiceException} is, in the service's terms. The HTTP edge and the
 * {@code files.api} edge turn a kind into their answer in one place, {@link ErrorAnswer} (status,
 * {@code Retry-After}, bus failure code; docs/api.md, "Errors"); nothing below those edges knows a status.
 *
 * <p>{@link #replyCode()} is the failure code an internal event-bus reply carries for the kind (an
 * upload session answering another node): the asking node rebuilds the same kind from it
 * ({@link #ofReplyCode(int)}). It equals the HTTP status where one kind alone answers with it, so that
 * codes sent by nodes of the previous release read the same.
 */
public enum Kind {
  /** A malformed or contradictory request (400). */
  BAD_REQUEST(400),
  /** No usable token: missing, malformed, expired, wrongly signed (401). */
  UNAUTHORIZED(401),
  /** The caller may not do this (403). */
  FORBIDDEN(403),
  /** No such file (or route) (404). */
  NOT_FOUND(404),
  /** A method the resource does not take (405). */
  METHOD_NOT_ALLOWED(405),
  /** The request body was not received in time (408). */
  TIMEOUT(408),
  /** The file's state does not allow the request now (409). */
  CONFLICT(409),
  /** What was asked for is no longer kept (410). */
  GONE(410),
  /** A precondition of the protocol failed, e.g. the tus version (412). */
  PRECONDITION_FAILED(412),
  /** More bytes than a limit allows (413). */
  TOO_LARGE(413),
  /** A body of a type the route does not take (415). */
  UNSUPPORTED_TYPE(415),
  /** A byte range outside the file (416). */
  RANGE_NOT_SATISFIABLE(416),
  /** The bytes do not match the checksum the client sent (tus: 460). */
  CHECKSUM_MISMATCH(460),
  /** A queue is full (database pool, storage queue, upload session mailbox): nothing was done; 503, retry after 1 s. */
  BUSY(1529),
  /** A dependency does not answer (database, store, data key): nothing was done; 503, retry after 5 s. */
  UNAVAILABLE(503),
  /**
   * The answer to a change was lost: it may or may not have been made; 503, retry after 1 s (a repeat
   * is safe). Its exceptions say {@link ServiceException#mayHaveBeenRecorded()}.
   */
  OUTCOME_UNKNOWN(1503),
  /** The store has no space left: nothing was stored (507). */
  FULL(507),
  /** Stored data that should exist does not, or is damaged (500). */
  DAMAGED(1500),
  /** Anything unexpected (500). */
  INTERNAL(500);

  private final int replyCode;

  Kind(int replyCode) {
    this.replyCode = replyCode;
  }

  /**
   * True for a refusal of the request as it stands (the client's mistake or the file's state: the
   * kinds up to {@link #CHECKSUM_MISMATCH}); false for a failure of the service or a dependency.
   */
  public boolean refusal() {
    return compareTo(BUSY) < 0;
  }

  /** The failure code of an internal event-bus reply carrying this kind (not an HTTP status for BUSY, OUTCOME_UNKNOWN, DAMAGED). */
  public int replyCode() {
    return replyCode;
  }

  /** The kind an internal reply's failure code stands for, or null when none does. */
  public static Kind ofReplyCode(int code) {
    for (Kind k : values()) {
      if (k.replyCode == code) {
        return k;
      }
    }
    return null;
  }
}

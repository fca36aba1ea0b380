package dev.files.api;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

/**
 * Why a call of {@link FilesApi} failed, read from the failure (docs/event-bus.md, "Calling files.api"):
 * the service fails a call with a {@link ReplyException} whose {@code failureCode()} is the HTTP status
 * the same HTTP call would get; the event bus fails it by itself when no node answers.
 * <pre>{@code
 * files.get(company, id).onFailure(err -> {
 *   FilesApiFailure failure = FilesApiFailure.of(err);
 *   if (failure == FilesApiFailure.NOT_FOUND) {
 *     forget(id);
 *   } else if (failure.retryable()) {
 *     retryLater();
 *   }
 * });
 * }</pre>
 */
public enum FilesApiFailure {
  /** 400: unknown or missing action, a field missing or of the wrong type, a malformed id or cursor. */
  BAD_REQUEST(400, false),
  /** 401: no token, or one malformed, wrongly signed or expired. */
  UNAUTHORIZED(401, false),
  /** 403: not a member of the company, not the file's owner, or the wrong kind of token. */
  FORBIDDEN(403, false),
  /** 404: no such file in the company. */
  NOT_FOUND(404, false),
  /** 409: the file's first upload is not complete ({@code read}). */
  CONFLICT(409, false),
  /**
   * 410: a replay ({@code events}) from a position whose following events are no longer retained
   * ({@code events.retention_ms}); {@link FileEvent#earliestAvailable(String)} reads the earliest
   * position still there from the message.
   */
  GONE(410, false),
  /** 413: {@code create} with more than {@link FilesApi#MAX_CREATE_BYTES}. */
  TOO_LARGE(413, false),
  /** 500: unexpected; the message carries a request id the service logged. */
  INTERNAL(500, false),
  /** 507: the store is full; nothing was stored (docs/api.md, Errors). */
  STORAGE_FULL(507, false),
  /** 503: a dependency of the service failed (database, store, upload session); the message carries a request id. */
  UNAVAILABLE(503, true),
  /** No node of the service runs ({@link ReplyFailure#NO_HANDLERS}): the call was not delivered. */
  NO_SERVICE(-1, true),
  /** No answer within the call's timeout ({@link ReplyFailure#TIMEOUT}, 30 s by default): the outcome is unknown. */
  TIMEOUT(-1, true),
  /** Anything else: another code, or not a failure of the event bus. */
  OTHER(-1, false);

  private final int status;
  private final boolean retryable;

  FilesApiFailure(int status, boolean retryable) {
    this.status = status;
    this.retryable = retryable;
  }

  /** The HTTP status this failure stands for, or -1 for the event bus's own failures and {@link #OTHER}. */
  public int status() {
    return status;
  }

  /** True when the same call may succeed later: 503, no service running, a timeout. */
  public boolean retryable() {
    return retryable;
  }

  /** The failure of {@code err}, a failure of a {@link FilesApi} call (or anything: then {@link #OTHER}). */
  public static FilesApiFailure of(Throwable err) {
    if (!(err instanceof ReplyException reply)) {
      return OTHER;
    }
    if (reply.failureType() == ReplyFailure.NO_HANDLERS) {
      return NO_SERVICE;
    }
    if (reply.failureType() == ReplyFailure.TIMEOUT) {
      return TIMEOUT;
    }
    for (FilesApiFailure f : values()) {
      if (f.status == reply.failureCode() && f.status > 0) {
        return f;
      }
    }
    return OTHER;
  }
}

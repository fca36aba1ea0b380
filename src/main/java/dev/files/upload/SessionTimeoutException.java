package dev.files.upload;

/**
 * An upload session did not answer in time, even after retries, after at least one question may
 * have reached it (HTTP 503, {@code Retry-After: 1}). The outcome is unknown: the change may still
 * be made; the request is safe to repeat ({@link OutcomeUnknownException}).
 */
public class SessionTimeoutException extends OutcomeUnknownException {
  public SessionTimeoutException(String what) {
    super(what);
  }
}

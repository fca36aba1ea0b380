package dev.files.upload;

/**
 * An upload session did not answer in time, even after retries (HTTP 503). The outcome of the
 * question is unknown: the change may still have been made.
 */
public class SessionTimeoutException extends UploadException {
  public SessionTimeoutException(String message) {
    super(503, message);
  }
}

package dev.files.upload;

/**
 * The upload session of a file already has {@code upload.session_queue} questions waiting: this one
 * is refused before it is sent (HTTP 503 with {@code Retry-After}). Nothing was changed.
 */
public class SessionBusyException extends UploadException {
  public SessionBusyException(String message) {
    super(503, message);
  }
}

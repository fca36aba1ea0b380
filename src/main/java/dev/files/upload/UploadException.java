package dev.files.upload;

/**
 * A refusal by an upload session, carrying the HTTP status it maps to (400, 403, 404, 409, 413) or a
 * dependency failure (503, 507). Sent back to the asker as the event-bus failure code.
 */
public class UploadException extends RuntimeException {

  private final int status;

  public UploadException(int status, String message) {
    super(message, null, false, false);
    this.status = status;
  }

  /** The HTTP status this refusal maps to. */
  public int status() {
    return status;
  }
}

package dev.files.upload;

/**
 * A refusal by an upload session, carrying the HTTP status it maps to (400, 403, 404, 409, 413) or a
 * dependency failure (503, 507). Sent back to the asker as the event-bus failure code.
 *
 * <p>{@link #mayHaveBeenRecorded()} tells the node that stored a chunk whether it may delete the
 * chunk's object: false when the database or the session definitely changed nothing (a refusal, a
 * rollback, a question never delivered); true when an earlier attempt of the same question may have
 * recorded the chunk (its answer was lost): then the object stays, and the orphan sweep removes it
 * later if no row names it (docs/architecture.md, "Where objects are deleted").
 */
public class UploadException extends RuntimeException {

  private final int status;
  private final boolean mayHaveBeenRecorded;

  public UploadException(int status, String message) {
    this(status, message, false);
  }

  /**
   * @param mayHaveBeenRecorded an earlier attempt of this question may have taken effect: the chunk's
   *                            object must not be deleted by the asker
   */
  public UploadException(int status, String message, boolean mayHaveBeenRecorded) {
    super(message, null, false, false);
    this.status = status;
    this.mayHaveBeenRecorded = mayHaveBeenRecorded;
  }

  /** The HTTP status this refusal maps to. */
  public int status() {
    return status;
  }

  /**
   * Whether the change asked for may have been made despite this failure (an earlier attempt's
   * answer was lost): the asker must not delete the object the change refers to.
   */
  public boolean mayHaveBeenRecorded() {
    return mayHaveBeenRecorded;
  }

  /**
   * True unless {@code err} is a failure known to have changed nothing: only then may the object of
   * the chunk the question was about be deleted by the node that stored it.
   */
  public static boolean objectMayBeReferenced(Throwable err) {
    return !(err instanceof UploadException ue) || ue.mayHaveBeenRecorded();
  }
}

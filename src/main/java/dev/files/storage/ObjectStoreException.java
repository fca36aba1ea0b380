package dev.files.storage;

/**
 * A failure of an {@link ObjectStore}. The message is in the service's terms (what failed and why,
 * never a path, host or the store's own error text); the cause keeps the details for the log.
 */
public final class ObjectStoreException extends StorageException {

  /** What went wrong. */
  public enum Reason {
    /** A write found an object already stored under its key. */
    EXISTS("an object is already stored under this key"),
    /** A read found no object under its key. */
    NOT_FOUND("no object is stored under this key"),
    /** A read asked for bytes past the end of the object. */
    SHORT("the stored object is shorter than the range read"),
    /** The store has no space left. */
    FULL("storage is full"),
    /** The stream being written failed (the client went away, a limit was hit). */
    BODY("the data being stored failed"),
    /** The store could not be reached, timed out, refused or failed the operation. */
    UNAVAILABLE("storage is unavailable"),
    /** The store was closed. */
    CLOSED("storage is closed");

    private final String text;

    Reason(String text) {
      this.text = text;
    }
  }

  private final Reason reason;

  /**
   * @param operation what was being done, in the service's terms ("storing a chunk object")
   * @param reason    what went wrong
   * @param cause     the underlying failure, for the log; may be null
   */
  public ObjectStoreException(String operation, Reason reason, Throwable cause) {
    super(operation + " failed: " + reason.text, cause, reason == Reason.FULL);
    this.reason = reason;
  }

  /** What went wrong. */
  public Reason reason() {
    return reason;
  }

  /** True for {@link Reason#NOT_FOUND}: an object that should exist does not (HTTP 500). */
  @Override
  public boolean missing() {
    return reason == Reason.NOT_FOUND;
  }

  /** The message (already in the service's terms), or the missing-data text for {@code NOT_FOUND}. */
  @Override
  public String publicMessage() {
    return reason == Reason.NOT_FOUND || reason == Reason.FULL ? super.publicMessage() : getMessage();
  }

  /**
   * {@code err} as an ObjectStoreException: itself when it is one, else {@code fallback} unless the
   * cause shows a full disk (then {@link Reason#FULL}).
   */
  public static ObjectStoreException of(String operation, Reason fallback, Throwable err) {
    if (err instanceof ObjectStoreException e) {
      return e;
    }
    StorageException s = StorageException.of(operation, err);
    return new ObjectStoreException(operation, s.full() ? Reason.FULL : fallback, err);
  }
}

package dev.files.storage;

import dev.files.error.Kind;

/**
 * A failure of an {@link ObjectStore}, with its {@link Reason}. The message is in the service's terms
 * (what failed and why, never a path, host or the store's own error text); the cause keeps the
 * details for the log.
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
   * A failure of kind {@link Kind#FULL} for {@link Reason#FULL}, {@link Kind#DAMAGED} for
   * {@link Reason#NOT_FOUND} (the object's bytes are lost), else {@link Kind#UNAVAILABLE}; its public
   * message is its message ({@code operation + " failed: " + why}), or the store's full / missing-data text.
   *
   * @param operation what was being done, in the service's terms ("storing a chunk object")
   * @param reason    what went wrong
   * @param cause     the underlying failure, for the log; may be null
   */
  public ObjectStoreException(String operation, Reason reason, Throwable cause) {
    super(kindOf(reason), reason == Reason.FULL ? FULL : reason == Reason.NOT_FOUND ? MISSING
        : operation + " failed: " + reason.text, operation + " failed: " + reason.text, cause);
    this.reason = reason;
  }

  private static Kind kindOf(Reason reason) {
    return reason == Reason.FULL ? Kind.FULL : reason == Reason.NOT_FOUND ? Kind.DAMAGED : Kind.UNAVAILABLE;
  }

  /** What went wrong. */
  public Reason reason() {
    return reason;
  }

  /**
   * {@code err} as an ObjectStoreException: itself when it is one, else {@code fallback} unless the
   * cause shows a full disk (then {@link Reason#FULL}).
   */
  public static ObjectStoreException of(String operation, Reason fallback, Throwable err) {
    if (err instanceof ObjectStoreException e) {
      return e;
    }
    return new ObjectStoreException(operation, kindOf(err) == Kind.FULL ? Reason.FULL : fallback, err);
  }
}

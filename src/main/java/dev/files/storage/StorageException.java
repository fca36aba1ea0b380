package dev.files.storage;

import dev.files.error.Kind;
import dev.files.error.ServiceException;

import java.nio.file.FileSystemException;

/**
 * A chunk store failure, a {@link ServiceException} of kind {@link Kind#FULL} (no space left),
 * {@link Kind#BUSY} (the store's queue is full), {@link Kind#DAMAGED} (an object that should exist does
 * not) or {@link Kind#UNAVAILABLE} (unreachable, refused or failed). The public message is chosen
 * where the failure is made, in the service's terms ({@code "storage unavailable: cannot create an
 * object"}, {@code "storage is full"}); {@link #getMessage()} and the cause are for the log (they may
 * name keys and paths).
 */
public class StorageException extends ServiceException {

  /** The public message of {@link Kind#FULL}. */
  public static final String FULL = "storage is full";
  /** The public message of {@link Kind#DAMAGED}. */
  public static final String MISSING = "stored data of this file is missing";
  /** The public message of {@link Kind#BUSY}. */
  public static final String BUSY = "storage is busy, try again shortly";

  /**
   * A failure of kind {@link Kind#FULL} when {@code full}, else {@link Kind#UNAVAILABLE} with the public
   * message "storage unavailable".
   *
   * @param message for the log
   */
  public StorageException(String message, Throwable cause, boolean full) {
    this(full ? Kind.FULL : Kind.UNAVAILABLE, full ? FULL : "storage unavailable", message, cause);
  }

  /**
   * @param kind          {@link Kind#FULL}, {@link Kind#BUSY}, {@link Kind#DAMAGED} or {@link Kind#UNAVAILABLE}
   * @param publicMessage for clients
   * @param detail        for the log
   * @param cause         the underlying failure, for the log; may be null
   */
  protected StorageException(Kind kind, String publicMessage, String detail, Throwable cause) {
    super(kind, publicMessage, detail, cause, false, true);
  }

  /** The store's queue of waiting work is full ({@code storage.io_queue}): nothing was started. */
  public static StorageException busy(String detail) {
    return new StorageException(Kind.BUSY, BUSY, detail, null);
  }

  /**
   * Wraps {@code cause} as a storage failure of {@code operation} (itself when it is one), recognising
   * a full disk (ENOSPC, quota), a missing file and a full queue.
   *
   * @param operation what failed, in the service's terms, e.g. {@code "cannot create an object"}: the
   *                  public message is {@code "storage unavailable: " + operation} unless the store is
   *                  full, busy, or the object missing
   */
  public static StorageException of(String operation, Throwable cause) {
    return of(operation, null, cause);
  }

  /**
   * As {@link #of(String, Throwable)}, with {@code detail} (for the log only, may be null) after the
   * operation in the message.
   */
  public static StorageException of(String operation, String detail, Throwable cause) {
    if (cause instanceof StorageException s) {
      return s;
    }
    Kind kind = kindOf(cause);
    String what = detail == null ? operation : operation + ": " + detail;
    String why = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    return new StorageException(kind, switch (kind) {
      case FULL -> FULL;
      case DAMAGED -> MISSING;
      case BUSY -> BUSY;
      default -> "storage unavailable: " + operation;
    }, kind == Kind.FULL ? what + ": storage is full" : what + ": " + why, cause);
  }

  /**
   * The kind of a failure of the store from its causes: {@link Kind#FULL} for no space left (ENOSPC,
   * quota); else {@link Kind#DAMAGED} for a missing file; else {@link Kind#BUSY} for a refused task;
   * else {@link Kind#UNAVAILABLE}.
   */
  static Kind kindOf(Throwable cause) {
    boolean missing = false;
    boolean busy = false;
    for (Throwable t = cause; t != null; t = t.getCause()) {
      missing |= t instanceof java.nio.file.NoSuchFileException;
      busy |= t instanceof java.util.concurrent.RejectedExecutionException;
      String m = t.getMessage();
      if (m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded"))) {
        return Kind.FULL;
      }
      if (t instanceof FileSystemException fse && fse.getReason() != null
          && fse.getReason().contains("No space left")) {
        return Kind.FULL;
      }
    }
    return missing ? Kind.DAMAGED : busy ? Kind.BUSY : Kind.UNAVAILABLE;
  }
}

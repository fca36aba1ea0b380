package dev.files.storage;

import java.nio.file.FileSystemException;

/**
 * A chunk store failure: the store is full, busy, unreachable, refused an operation, or an object
 * is missing. The message is for the log (it may name keys and paths); clients get a message in
 * the service's terms chosen from {@link #full()}, {@link #missing()} and {@link #busy()}.
 */
public class StorageException extends RuntimeException {

  private final boolean full;
  private final boolean missing;
  private final boolean busy;

  public StorageException(String message, Throwable cause, boolean full) {
    this(message, cause, full, false, false);
  }

  private StorageException(String message, Throwable cause, boolean full, boolean missing, boolean busy) {
    super(message, cause);
    this.full = full;
    this.missing = missing;
    this.busy = busy;
  }

  /**
   * The failure in the service's terms, for clients: what was attempted, never a key, a path or an
   * exception's text ({@code "storage unavailable: cannot create an object"}, {@code "storage is full"}).
   */
  public String publicMessage() {
    if (full) {
      return "storage is full";
    }
    if (missing()) {
      return "stored data of this file is missing";
    }
    if (busy) {
      return "storage is busy, try again shortly";
    }
    String m = String.valueOf(getMessage());
    java.util.regex.Matcher verb = java.util.regex.Pattern.compile("^cannot (create|read|write|store|delete|list)\\b").matcher(m);
    return verb.find() ? "storage unavailable: cannot " + verb.group(1) + " an object" : "storage unavailable";
  }

  /** True when the failure is a lack of space (maps to HTTP 507). */
  public boolean full() {
    return full;
  }

  /** True when an object that should exist does not (its bytes are lost: HTTP 500). */
  public boolean missing() {
    return missing;
  }

  /** True when the store refused new work because its queue is full (HTTP 503 with Retry-After). */
  public boolean busy() {
    return busy;
  }

  /** The store's queue of waiting work is full ({@code storage.io_queue}): nothing was started. */
  public static StorageException busy(String message) {
    return new StorageException(message, null, false, false, true);
  }

  /** Wraps {@code cause} as a storage failure of {@code operation}, recognising a full disk (ENOSPC). */
  public static StorageException of(String operation, Throwable cause) {
    if (cause instanceof StorageException s) {
      return s;
    }
    boolean full = false;
    boolean missing = false;
    boolean busy = false;
    for (Throwable t = cause; t != null; t = t.getCause()) {
      missing |= t instanceof java.nio.file.NoSuchFileException;
      busy |= t instanceof java.util.concurrent.RejectedExecutionException;
      String m = t.getMessage();
      if (m != null && (m.contains("No space left on device") || m.contains("Disk quota exceeded"))) {
        full = true;
      }
      if (t instanceof FileSystemException fse && fse.getReason() != null
          && fse.getReason().contains("No space left")) {
        full = true;
      }
    }
    String detail = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    return new StorageException(full ? operation + ": storage is full" : operation + ": " + detail, cause, full,
        missing && !full, busy && !full);
  }
}

package dev.files.storage;

import java.nio.file.FileSystemException;

/** A chunk store failure: the store is full, unreachable or refused an operation. */
public class StorageException extends RuntimeException {

  private final boolean full;

  public StorageException(String message, Throwable cause, boolean full) {
    super(message, cause);
    this.full = full;
  }

  /** True when the failure is a lack of space (maps to HTTP 507). */
  public boolean full() {
    return full;
  }

  /** Wraps {@code cause} as a storage failure of {@code operation}, recognising a full disk (ENOSPC). */
  public static StorageException of(String operation, Throwable cause) {
    if (cause instanceof StorageException s) {
      return s;
    }
    boolean full = false;
    for (Throwable t = cause; t != null; t = t.getCause()) {
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
    return new StorageException(full ? operation + ": storage is full" : operation + ": " + detail, cause, full);
  }
}

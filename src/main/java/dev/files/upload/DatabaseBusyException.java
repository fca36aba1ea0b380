package dev.files.upload;

import dev.files.db.DatabaseBusy;

/**
 * The database pool refused the query of an upload: its wait queue ({@code db.wait_queue}) is full.
 * Nothing was changed; HTTP 503 with {@code Retry-After: 1} (docs/api.md, "Errors").
 */
public class DatabaseBusyException extends UploadException {
  public DatabaseBusyException() {
    super(503, DatabaseBusy.MESSAGE);
  }
}

package dev.files.upload;

import java.util.UUID;

/**
 * A session whose owner row no longer names it (another node took it over with a new epoch): it
 * changed nothing and stops. Raised by {@link SessionOwnership#check}; never reaches a client.
 */
public final class StaleSessionException extends RuntimeException {

  public StaleSessionException(UUID fileId, long epoch) {
    super("the upload session of file " + fileId + " (epoch " + epoch + ") was taken over by another node",
        null, false, false);
  }
}

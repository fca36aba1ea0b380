package dev.files.crypto;

import java.util.UUID;

/**
 * How chunk objects are named: {@code <first 2 hex of the file id>/<file id>/<random uuid>.chunk}
 * (a thumbnail: {@code ….thumb}).
 * Never derived from a file name; unique per upload attempt, so a retried commit is recognised by
 * its key, and all objects of a file share the prefix {@link #prefix(UUID)}.
 */
public final class ChunkKeys {

  private ChunkKeys() {
  }

  /** A new, unique key for a chunk of {@code fileId}. */
  public static String newKey(UUID fileId) {
    return prefix(fileId) + UUID.randomUUID() + ".chunk";
  }

  /** A new, unique key for a thumbnail of {@code fileId}. */
  public static String newThumbnailKey(UUID fileId) {
    return prefix(fileId) + UUID.randomUUID() + ".thumb";
  }

  /** The prefix shared by all objects of {@code fileId}, ending with {@code /}. */
  public static String prefix(UUID fileId) {
    String id = fileId.toString();
    return id.substring(0, 2) + "/" + id + "/";
  }
}

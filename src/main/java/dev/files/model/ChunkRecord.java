package dev.files.model;

import java.util.UUID;

/**
 * One stored chunk of one generation of a file: a row of the {@code chunks} table.
 *
 * @param chunkNumber 1-based chunk number
 * @param size        stored plaintext bytes
 * @param sha256      SHA-256 of the chunk's bytes, lower-case hex
 * @param storageKey  the chunk store key holding the bytes (never derived from a file name)
 * @param source      where the chunk's ciphertext was written, when for another file (a partial
 *                    upload a tus final upload took it from); null when written for this file
 */
public record ChunkRecord(int chunkNumber, long size, String sha256, String storageKey, Source source) {

  /** A chunk written for the file it belongs to. */
  public ChunkRecord(int chunkNumber, long size, String sha256, String storageKey) {
    this(chunkNumber, size, sha256, storageKey, null);
  }

  /**
   * The file a moved chunk was encrypted for: the associated data of its encryption names
   * {@code fileId}, {@code generation} and {@code chunkNumber}, and its key is that file's data key,
   * {@code dataKey} wrapped by master key {@code dataKeyId} (the wrapping's associated data is
   * {@code fileId} too).
   */
  public record Source(UUID fileId, int generation, int chunkNumber, String dataKeyId, byte[] dataKey) {
  }
}

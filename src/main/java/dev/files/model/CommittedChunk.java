package dev.files.model;

import java.util.UUID;

/**
 * A row of the {@code chunks} table as the upload rules see it: which generation and chunk it is,
 * its bytes, where they are, and the commit that recorded it.
 *
 * @param generation  the file generation the chunk belongs to
 * @param chunkNumber 1-based chunk number
 * @param size        stored plaintext bytes
 * @param sha256      SHA-256 of the chunk's bytes, lower-case hex
 * @param storageKey  the chunk store key holding the bytes
 * @param commitId    the id of the commit (one HTTP request) that recorded it; null for rows
 *                    recorded before commit ids existed
 */
public record CommittedChunk(int generation, int chunkNumber, long size, String sha256, String storageKey,
                             UUID commitId) {

  /** The chunk without its generation and commit. */
  public ChunkRecord record() {
    return new ChunkRecord(chunkNumber, size, sha256, storageKey);
  }
}

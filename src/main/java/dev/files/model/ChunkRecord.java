package dev.files.model;

/**
 * One stored chunk of one generation of a file: a row of the {@code chunks} table.
 *
 * @param chunkNumber 1-based chunk number
 * @param size        stored plaintext bytes
 * @param sha256      SHA-256 of the chunk's bytes, lower-case hex
 * @param storageKey  the chunk store key holding the bytes (never derived from a file name)
 */
public record ChunkRecord(int chunkNumber, long size, String sha256, String storageKey) {
}

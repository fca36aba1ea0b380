package dev.files.crypto;

/**
 * What a committed chunk write stored.
 *
 * @param size   bytes written (plaintext)
 * @param sha256 SHA-256 of those bytes, lower-case hex
 */
public record StoredChunk(long size, String sha256) {
}

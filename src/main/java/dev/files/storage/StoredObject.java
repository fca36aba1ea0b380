package dev.files.storage;

/**
 * An object found in a {@link ChunkStore} listing.
 *
 * @param key        its key (for an unfinished write on the local store: the key + {@code .part})
 * @param modifiedMs last modification, epoch ms
 */
public record StoredObject(String key, long modifiedMs) {
}

package dev.files.storage;

/**
 * An object found by {@link ObjectStore#list}.
 *
 * @param key        its key
 * @param size       its size, bytes
 * @param modifiedMs when it was stored, epoch milliseconds
 */
public record ObjectInfo(String key, long size, long modifiedMs) {
}

package dev.files.storage;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.WriteStream;

/**
 * An object being written to a {@link ChunkStore}. Bytes written go to a temporary place;
 * {@link #end()} is {@link #commit()}. The store hashes the bytes (SHA-256) as it writes them, off
 * the event loop.
 */
public interface ChunkWrite extends WriteStream<Buffer> {

  /** Makes the written bytes durable and visible under the key; tells their size and SHA-256. */
  Future<StoredChunk> commit();

  /** Discards the written bytes; nothing is left under the key or in temporary places. */
  Future<Void> abort();

  @Override
  default Future<Void> end() {
    return commit().mapEmpty();
  }
}

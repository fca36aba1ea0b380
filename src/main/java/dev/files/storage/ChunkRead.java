package dev.files.storage;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/** A byte range of a stored object, as a stream that must be closed once read or abandoned. */
public interface ChunkRead extends ReadStream<Buffer> {

  /** Releases what the read holds (file handle, connection). */
  Future<Void> close();
}

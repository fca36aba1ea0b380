package dev.files.storage;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/**
 * A byte range of an object in an {@link ObjectStore}, as a stream with back-pressure. It must be
 * closed once read, failed or abandoned: closing releases the file handle or the connection, and
 * after it no handler is called.
 */
public interface ObjectRead extends ReadStream<Buffer> {

  /** Releases what the read holds; never fails, may be called more than once. */
  Future<Void> close();
}

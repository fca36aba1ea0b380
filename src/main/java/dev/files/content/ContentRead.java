package dev.files.content;

import dev.files.storage.ObjectRead;
import dev.files.storage.PooledBuffers;
import dev.files.storage.QueuedRead;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;

import java.util.List;
import java.util.function.Function;

/**
 * The pieces of a file's range as one stream: each piece's read in turn (the first one opened by
 * the caller, the next one opened when the one before ends), its buffers handed on with the
 * consumer's demand. At most {@value #AHEAD} buffers wait here; beyond that the piece's read is
 * paused (it reads ahead on its own). A piece that fails, or cannot be opened, fails the stream.
 * Pooled buffers ({@link PooledBuffers}) that it drops when closed go back to the pool.
 */
final class ContentRead extends QueuedRead {

  /** Buffers taken from a piece's read and not yet delivered, before that read is paused. */
  private static final int AHEAD = 2;

  private final List<FileContent.Piece> pieces;
  private final Function<FileContent.Piece, Future<ObjectRead>> opener;
  private int next; // the piece to open after the current one
  private ObjectRead current;
  private boolean currentPaused;
  private boolean opening;
  private Throwable failure;

  ContentRead(ContextInternal ctx, List<FileContent.Piece> pieces, ObjectRead first,
              Function<FileContent.Piece, Future<ObjectRead>> opener) {
    super(ctx);
    this.pieces = pieces;
    this.opener = opener;
    if (first != null) {
      next = 1;
      attach(first);
    }
  }

  private void attach(ObjectRead r) {
    current = r;
    r.pause();
    currentPaused = true;
    r.exceptionHandler(err -> {
      if (current == r) {
        current = null;
      }
      r.close();
      if (failure == null) {
        failure = err;
      }
      pump();
    });
    r.endHandler(v -> {
      if (current == r) {
        current = null;
      }
      r.close();
      pump();
    });
    r.handler(b -> {
      if (!closed) {
        ready.add(b);
      } else {
        PooledBuffers.release(b);
      }
      pump();
    });
  }

  @Override
  protected void pump() {
    if (!deliver()) {
      return;
    }
    if (failure != null && ready.isEmpty()) {
      release();
      fail(failure);
      return;
    }
    if (current == null && !opening && next >= pieces.size() && ready.isEmpty()) {
      release();
      end();
      return;
    }
    if (!hasHandler() || failure != null) {
      return;
    }
    if (current == null && !opening && next < pieces.size()) {
      opening = true;
      opener.apply(pieces.get(next++)).onComplete(ar -> {
        opening = false;
        if (ar.failed()) {
          if (failure == null) {
            failure = ar.cause();
          }
        } else if (closed) {
          ar.result().close();
          return;
        } else {
          attach(ar.result());
        }
        pump();
      });
    }
    if (current != null) {
      boolean full = ready.size() >= AHEAD;
      if (full && !currentPaused) {
        currentPaused = true;
        current.pause();
      } else if (!full && currentPaused) {
        currentPaused = false;
        current.resume();
      }
    }
  }

  @Override
  protected void release() {
    if (!closed) {
      closed = true;
      PooledBuffers.releaseAll(ready);
      if (current != null) {
        current.close();
        current = null;
      }
    }
  }
}

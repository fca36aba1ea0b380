package dev.files.http;

import io.vertx.core.Vertx;

/**
 * {@code http.idle_timeout_ms} for a request body being read: {@link #idle} runs once no byte has
 * arrived for the timeout, counting only the time the request is not paused for the store (waiting
 * for the store is not the client's idleness). Used by every upload route that streams a body
 * ({@link UploadHandler}, {@link TusHandler}); what idleness means (a 408, or a body ended as cut) is
 * the route's. Runs on the request's event loop; not thread-safe.
 */
final class IdleTimer {

  private final Vertx vertx;
  private final long timeoutMs;
  private final Runnable idle;
  private long lastByteAt = System.nanoTime();
  private boolean paused;
  private long timer = -1;
  private boolean stopped;

  /**
   * @param timeoutMs the longest wait for the next byte, ms (0: none; the timer never fires)
   * @param idle      what to do once idle (called at most once, never after {@link #stop})
   */
  IdleTimer(Vertx vertx, long timeoutMs, Runnable idle) {
    this.vertx = vertx;
    this.timeoutMs = timeoutMs;
    this.idle = idle;
  }

  /** Starts watching (the body starts flowing now). */
  void start() {
    lastByteAt = System.nanoTime();
    if (timeoutMs > 0 && !stopped) {
      timer = vertx.setTimer(timeoutMs, t -> check());
    }
  }

  /** A byte arrived (or the store let the request go on). */
  void touch() {
    lastByteAt = System.nanoTime();
  }

  /** The request is paused for the store ({@code true}) or resumed; resuming counts as a byte. */
  void paused(boolean paused) {
    this.paused = paused;
    if (!paused) {
      touch();
    }
  }

  /** Stops watching: {@link #idle} is not called any more. */
  void stop() {
    stopped = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  private void check() {
    timer = -1;
    if (stopped) {
      return;
    }
    long idleMs = (System.nanoTime() - lastByteAt) / 1_000_000;
    if (paused || idleMs < timeoutMs) {
      timer = vertx.setTimer(paused ? timeoutMs : Math.max(1, timeoutMs - idleMs), t -> check());
    } else {
      stopped = true;
      idle.run();
    }
  }
}

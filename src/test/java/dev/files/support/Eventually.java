package dev.files.support;

import java.time.Duration;

/** Waiting for what the service does after it answered (sweeps, deferred deletes, thumbnails). */
public final class Eventually {

  private Eventually() {
  }

  /** An assertion that may throw. */
  public interface Check {
    void run() throws Exception;
  }

  /** Retries {@code check} until it passes or {@code timeout} has passed (then its last failure is thrown). */
  public static void eventually(Duration timeout, Check check) throws Exception {
    long end = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        check.run();
        return;
      } catch (AssertionError e) {
        if (System.nanoTime() > end) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }
}

package dev.files.thumbnail;

import java.util.ArrayList;
import java.util.List;

/**
 * What one thumbnail job may spend: a wall-clock deadline ({@code thumbnails.timeout_ms}) and an
 * estimate of memory ({@code thumbnails.max_job_bytes}), checked before the decoders allocate.
 *
 * <p>The deadline is enforced in two ways. The job's own code calls {@link #check()} at its steps
 * (PDF operators, image rows between decoder calls) and ends with a {@link Stopped} once the time
 * is up or {@link #stop()} was called. {@link #stop()}, called by whoever watches the clock (the
 * {@code ThumbnailVerticle}), also runs the hooks the running step registered with
 * {@link #onStop(Runnable)}: {@code ImageReader.abort()}, interrupting the thread (which kills an
 * external tool). A decoder that honours none of these runs on until it ends by itself; its thread
 * is then abandoned by the verticle.
 *
 * <p>Thread-safe: {@link #stop()} is called from another thread than the job's.
 */
public final class Budget {

  /** Memory per job when none is configured: 256 MiB. */
  public static final long DEFAULT_MAX_JOB_BYTES = 256L << 20;

  private final long deadlineNanos;
  private final long timeoutMs;
  private final long maxJobBytes;
  private final List<Runnable> hooks = new ArrayList<>();
  private volatile boolean stopped;

  /**
   * @param timeoutMs wall-clock time the job has from now, ms; 0 or less: no deadline
   * @param maxJobBytes the largest memory estimate a job may go ahead with, bytes (at least 1)
   */
  public Budget(long timeoutMs, long maxJobBytes) {
    this.timeoutMs = timeoutMs;
    this.deadlineNanos = timeoutMs > 0 ? System.nanoTime() + timeoutMs * 1_000_000 : Long.MAX_VALUE;
    this.maxJobBytes = maxJobBytes;
  }

  /** No deadline, the default memory budget ({@link #DEFAULT_MAX_JOB_BYTES}). */
  public static Budget unlimitedTime() {
    return new Budget(0, DEFAULT_MAX_JOB_BYTES);
  }

  /** The largest memory estimate a job may go ahead with, bytes. */
  public long maxJobBytes() {
    return maxJobBytes;
  }

  /** Milliseconds left before the deadline (0 once past it); {@link Long#MAX_VALUE} without one. */
  public long remainingMs() {
    if (deadlineNanos == Long.MAX_VALUE) {
      return Long.MAX_VALUE;
    }
    return Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000);
  }

  /** True once {@link #stop()} was called or the deadline has passed. */
  public boolean over() {
    return stopped || System.nanoTime() - deadlineNanos > 0 && deadlineNanos != Long.MAX_VALUE;
  }

  /**
   * Throws once the job must end: the deadline passed or {@link #stop()} was called.
   *
   * @throws Stopped then, with the reason for the logs
   */
  public void check() throws Stopped {
    if (over()) {
      throw new Stopped(reason());
    }
  }

  /** Why the job was ended, for the logs. */
  String reason() {
    return "stopped at the deadline of " + timeoutMs + " ms (thumbnails.timeout_ms)";
  }

  /**
   * Refuses an estimated allocation beyond the memory budget, before it is made.
   *
   * @param bytes the estimate, bytes
   * @param what what would be allocated, for the reason
   * @throws Refusal status "none" when {@code bytes} is over {@link #maxJobBytes()}
   */
  void reserve(long bytes, String what) throws Refusal {
    if (bytes > maxJobBytes || bytes < 0) {
      throw Refusal.none(what + " would need about " + (bytes >> 20) + " MiB, over the budget of "
          + (maxJobBytes >> 20) + " MiB (thumbnails.max_job_bytes); not decoded");
    }
  }

  /**
   * Runs {@code hook} when the job is stopped, until the returned handle is closed; at once when it
   * was stopped already.
   */
  Registration onStop(Runnable hook) {
    boolean now;
    synchronized (hooks) {
      now = stopped;
      if (!now) {
        hooks.add(hook);
      }
    }
    if (now) {
      hook.run();
    }
    return () -> {
      synchronized (hooks) {
        hooks.remove(hook);
      }
    };
  }

  /** Ends the job: {@link #check()} throws from now on, and the registered hooks run once. */
  public void stop() {
    List<Runnable> run;
    synchronized (hooks) {
      if (stopped) {
        return;
      }
      stopped = true;
      run = new ArrayList<>(hooks);
      hooks.clear();
    }
    for (Runnable r : run) {
      try {
        r.run();
      } catch (RuntimeException e) {
        // a hook that fails (an aborted reader already disposed) changes nothing: the job ends anyway
      }
    }
  }

  /** A registered stop hook; closing it unregisters it. */
  interface Registration extends AutoCloseable {
    @Override
    void close();
  }

  /** The job ran out of time (or was stopped): it ends with status error and this reason. */
  public static final class Stopped extends Exception {
    private static final long serialVersionUID = 1L;

    Stopped(String reason) {
      super(reason, null, false, false);
    }
  }
}

package dev.files.upload;

/**
 * Timings of upload sessions (configuration keys {@code upload.*}), all in ms.
 *
 * @param idleMs        a session stops after this long without a message ({@code upload.session_idle_ms})
 * @param timeoutMs     how long a question to a session may wait for its answer ({@code upload.commit_timeout_ms})
 * @param retireGraceMs how long the chunks of a replaced generation stay readable for downloads that
 *                      began before an overwrite completed ({@code upload.retire_grace_ms})
 * @param expireAfterMs a pending upload untouched this long is abandoned ({@code upload.expire_after_ms})
 * @param sweepEveryMs  how often the sweep looks for abandoned uploads and due retired chunks ({@code upload.sweep_interval_ms})
 * @param groupCommitMax      the most new files' whole-file uploads one transaction records together
 *                            ({@code upload.group_commit_max}; 1: each alone), see {@link NewFileBatches}
 * @param groupCommitInFlight the most such transactions at once: {@value #GROUP_COMMIT_IN_FLIGHT}, fewer when
 *                            the database pool ({@code db.pool_size}) is smaller
 * @param groupCommitQueue    the most such uploads waiting for a transaction ({@code db.wait_queue}, as they would
 *                            wait for a connection without grouping; -1: no bound); beyond, refused as busy
 */
public record SessionSettings(long idleMs, long timeoutMs, long retireGraceMs, long expireAfterMs, long sweepEveryMs,
                              int groupCommitMax, int groupCommitInFlight, int groupCommitQueue) {

  /** Group transactions of new files at once when the pool allows: one to fill while one commits. */
  public static final int GROUP_COMMIT_IN_FLIGHT = 2;

  /**
   * The timings with the default grouping (64 a transaction, {@value #GROUP_COMMIT_IN_FLIGHT} at once, 256
   * waiting: the default {@code db.wait_queue}).
   */
  public SessionSettings(long idleMs, long timeoutMs, long retireGraceMs, long expireAfterMs, long sweepEveryMs) {
    this(idleMs, timeoutMs, retireGraceMs, expireAfterMs, sweepEveryMs, 64, GROUP_COMMIT_IN_FLIGHT, 256);
  }
}

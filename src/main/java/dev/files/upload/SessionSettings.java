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
 */
public record SessionSettings(long idleMs, long timeoutMs, long retireGraceMs, long expireAfterMs, long sweepEveryMs) {
}

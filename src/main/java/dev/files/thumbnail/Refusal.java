package dev.files.thumbnail;

/**
 * Ends a thumbnail attempt early with a known outcome and a reason for the logs: status
 * {@code "none"} (a limit or a missing tool: no thumbnail, by policy) or {@code "error"} (the
 * content cannot be read). Carries no stack trace: it is an outcome, not a bug.
 */
final class Refusal extends Exception {

  private static final long serialVersionUID = 1L;

  final String status;

  private Refusal(String status, String reason) {
    super(reason, null, false, false);
    this.status = status;
  }

  static Refusal none(String reason) {
    return new Refusal(Thumbnailer.Result.NONE, reason);
  }

  static Refusal error(String reason) {
    return new Refusal(Thumbnailer.Result.ERROR, reason);
  }
}

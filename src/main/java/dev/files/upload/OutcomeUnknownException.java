package dev.files.upload;

/**
 * The answer to a change (a chunk commit, an init, a delete) was lost: the question may have reached
 * the upload session, or the database may have committed, but the asker cannot tell (a reply timeout
 * after the question was sent, the owner's node left or was found gone, the connection to the
 * database was lost during COMMIT or before the asker could look the session up again). HTTP 503
 * with {@code Retry-After: 1}: the request is safe to repeat (a repeated chunk is recorded once: its
 * commit id, or the same bytes in a complete file, make the repeat answer the file as it stands).
 * The chunk's object is never deleted by the asker ({@link #mayHaveBeenRecorded()} is true).
 */
public class OutcomeUnknownException extends UploadException {

  /** @param what what was asked and what went wrong, e.g. "the commit of chunk 3 of file …: no answer" */
  public OutcomeUnknownException(String what) {
    super(503, what + "; the outcome is unknown (the change may or may not have been made);"
        + " the request is safe to repeat", true);
  }
}

package dev.files.bus;

import java.util.UUID;

/**
 * Event-bus addresses of the service: the contract for sibling verticles (message shapes are
 * described on each constant and in the README, "Event bus").
 */
public final class Addresses {

  private Addresses() {
  }

  /**
   * Published (not sent) by an upload session after a change: JSON
   * {@code {"type": "file.completed" | "file.deleted", "company_id": uuid, "file_id": uuid,
   * "resource": {...}}} where {@code resource} is the API resource (absent for deletions).
   */
  public static final String EVENTS = "files.events";

  /**
   * Request/reply, membership rows of "caller belongs to company": JSON
   * {@code {"action": "add" | "remove" | "check", "company_id": uuid, "user_id": uuid}}; the reply is
   * {@code {"status": "success", "member": bool}}; a malformed message fails with code 400.
   */
  public static final String MEMBERS = "files.members";

  /**
   * Sent by an upload session when an upload completes and its content may have a thumbnail:
   * {@code {"file_id": uuid, "generation": int}}; no reply. The ThumbnailVerticle records the result.
   */
  public static final String THUMBNAILS = "files.thumbnails";

  /** Published once the thumbnails of a file are made or failed: {@code {"file_id", "status"}}. */
  public static String thumbnailsReady(UUID fileId) {
    return "files.thumbnails.ready." + fileId;
  }

  /**
   * Request/reply, the upload sessions a node runs: {@code files.node.<node_id>.sessions} (one consumer
   * per node, {@code node_id} the cluster manager's node id). The message is a session message (see
   * {@code UploadSessionVerticle}) with {@code "file_id": uuid} added; the reply is the session's. A
   * node that does not run the file's session and may not take it fails the message with code 1307
   * ("moved": look the owner up again).
   */
  public static String nodeSessions(String nodeId) {
    return "files.node." + nodeId + ".sessions";
  }

  /**
   * Prefix of the per-file upload session address: {@code files.upload.<file_id>}, a local consumer
   * on the node that runs the session (other nodes use {@link #nodeSessions}).
   */
  public static final String UPLOAD_PREFIX = "files.upload.";

  /** The address of the upload session of a file. */
  public static String upload(UUID fileId) {
    return UPLOAD_PREFIX + fileId;
  }
}

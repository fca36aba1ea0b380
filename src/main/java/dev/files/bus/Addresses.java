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
   * Request/reply, membership rows of "caller belongs to company", with a server token in the
   * {@code authorization} header: JSON {@code {"action": "add" | "remove" | "check", "company_id":
   * uuid, "user_id": uuid, "role"?: string}}; the reply is {@code {"status": "success", "member": bool,
   * "role": string | null}}; failures 400 (malformed), 401 (no valid token), 403 (not a server token),
   * 503 (database). See {@code dev.files.auth.MembershipVerticle} and docs/event-bus.md.
   */
  public static final String MEMBERS = "files.members";

  /**
   * Published by the node that changed a membership row: {@code {"company_id": uuid, "user_id": uuid}};
   * every node drops its cached answer for the pair ({@code dev.files.auth.Membership}). Internal.
   */
  public static final String MEMBERS_CHANGED = "files.members.changed";

  /**
   * Request/reply, the files service for sibling verticles ({@code dev.files.api.FilesApi}): the
   * {@code action} header names the call, the {@code authorization} header carries the caller's JWT,
   * the JSON body the arguments. See docs/event-bus.md.
   */
  public static final String API = "files.api";

  /**
   * Sent by an upload session when an upload completes and its content may have a thumbnail:
   * {@code {"file_id": uuid, "generation": int}}; no reply. The ThumbnailVerticle records the result.
   */
  public static final String THUMBNAILS = "files.thumbnails";

  /** Published once the thumbnails of a file are made or failed: {@code {"file_id", "status"}}. */
  public static String thumbnailsReady(UUID fileId) {
    return "files.thumbnails.ready." + fileId;
  }

  /** Prefix of the per-file upload session address: {@code files.upload.<file_id>}. */
  public static final String UPLOAD_PREFIX = "files.upload.";

  /** The address of the upload session of a file. */
  public static String upload(UUID fileId) {
    return UPLOAD_PREFIX + fileId;
  }
}

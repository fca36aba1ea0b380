package dev.files.bus;

import dev.files.api.FileEvent;
import dev.files.api.FilesApi;

import java.util.UUID;

/**
 * Event-bus addresses of the service: the contract for sibling verticles (message shapes are
 * described on each constant and in the README, "Event bus").
 *
 * <p>Internal addresses ({@link #THUMBNAILS}, {@link #thumbnailsReady}, {@link #upload}, {@link #MEMBERS_CHANGED},
 * {@link #EVENTS_RELAY}) accept only messages of the service's own nodes: senders use
 * {@link InternalBus#options()}, consumers {@link InternalBus#guard}; anything else is refused (403).
 */
public final class Addresses {

  private Addresses() {
  }

  /**
   * Published (not sent) once per file event, by the outbox relay ({@code dev.files.events.OutboxRelay}):
   * JSON {@code {"id": uuid, "type": "file.uploaded" | "file.overwritten" | "file.deleted" |
   * "file.thumbnails.ready", "company_id": uuid, "file_id": uuid, "at": ISO-8601 UTC, "resource": {...}?}}
   * where {@code resource} is the API resource after the change (absent for deletions). Events of one
   * file come in order; after a crash an event may come twice, with the same {@code id}.
   */
  public static final String EVENTS = FileEvent.ADDRESS;

  /** Prefix of the per-company event addresses: {@code files.events.<company_id>}. */
  public static final String EVENTS_PREFIX = "files.events.";

  /** The same events as {@link #EVENTS}, only those of one company: {@code files.events.<company_id>}. */
  public static String events(String companyId) {
    return EVENTS_PREFIX + companyId;
  }

  /**
   * Internal: sent (no body, no reply) after a transaction wrote events, to wake the outbox relay of
   * whichever node publishes; the relay also polls, so a lost hint only delays events.
   */
  public static final String EVENTS_RELAY = "files.internal.events.relay";

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
   * every node drops its cached answer for the pair ({@code dev.files.auth.Membership}). Internal: a notice
   * without the cluster's secret is ignored ({@link InternalBus}).
   */
  public static final String MEMBERS_CHANGED = "files.members.changed";

  /**
   * Request/reply, the files service for sibling verticles ({@code dev.files.api.FilesApi}): the
   * {@code action} header names the call, the {@code authorization} header carries the caller's JWT,
   * the JSON body the arguments. See docs/event-bus.md.
   */
  public static final String API = FilesApi.ADDRESS;

  /**
   * Internal. Sent by an upload session when an upload completes and its content may have a thumbnail:
   * {@code {"file_id": uuid, "generation": int}}; no reply. The ThumbnailVerticle records the result.
   */
  public static final String THUMBNAILS = "files.thumbnails";

  /** Internal. Published once the thumbnails of a file are made or failed: {@code {"file_id", "status"}}. */
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
   * on the node that runs the session (internal) (other nodes use {@link #nodeSessions}).
   */
  public static final String UPLOAD_PREFIX = "files.upload.";

  /** The address of the upload session of a file. */
  public static String upload(UUID fileId) {
    return UPLOAD_PREFIX + fileId;
  }
}

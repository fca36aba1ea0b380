package dev.files.upload;

import dev.files.auth.Caller;
import io.vertx.core.json.JsonObject;

import java.util.UUID;

/**
 * Who asks an upload session for a change, as carried in session messages:
 * {@code {"sub": uuid, "application_id": uuid | null, "server_request": bool}}.
 *
 * @param subject       token {@code sub}
 * @param applicationId token {@code application_id}, or null for a user
 * @param serverRequest a trusted server-to-server call
 */
public record Requester(UUID subject, UUID applicationId, boolean serverRequest) {

  /** Who makes a request, from its verified {@code caller} (HTTP or {@code files.api}). */
  public static Requester of(Caller caller) {
    return new Requester(caller.subject(), caller.applicationId(), caller.serverRequest());
  }

  boolean application() {
    return applicationId != null;
  }

  String ownerType() {
    return application() ? "application" : "user";
  }

  UUID ownerId() {
    return application() ? applicationId : subject;
  }

  JsonObject toJson() {
    return new JsonObject()
        .put("sub", subject.toString())
        .put("application_id", applicationId == null ? null : applicationId.toString())
        .put("server_request", serverRequest);
  }

  static Requester fromJson(JsonObject json) {
    String app = json.getString("application_id");
    return new Requester(UUID.fromString(json.getString("sub")), app == null ? null : UUID.fromString(app),
        json.getBoolean("server_request", false));
  }
}

package dev.files.auth;

import java.util.Set;
import java.util.UUID;

/**
 * The verified identity behind a request (docs/api.md, "Authentication").
 *
 * @param subject       token {@code sub}: the user id, or the application id for an application token
 * @param applicationId token {@code application_id}, or null for a user
 * @param companies     company ids of the token's {@code companies} claim (may be empty)
 * @param serverRequest token {@code server_request: true}: a trusted server-to-server call
 */
public record Caller(UUID subject, UUID applicationId, Set<UUID> companies, boolean serverRequest) {

  /** True for an application token. */
  public boolean application() {
    return applicationId != null;
  }

  /** {@code "application"} or {@code "user"}: the owner type of what this caller uploads. */
  public String ownerType() {
    return application() ? "application" : "user";
  }

  /** The owner id of what this caller uploads: the application id, else the subject. */
  public UUID ownerId() {
    return application() ? applicationId : subject;
  }
}

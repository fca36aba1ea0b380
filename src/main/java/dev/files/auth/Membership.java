package dev.files.auth;

import dev.files.db.FileRepository;
import io.vertx.core.Future;

import java.util.UUID;

/**
 * "Caller belongs to company C" (API.md): a server request, C in the token's {@code companies}
 * claim, or the row (C, sub) in the {@code company_members} table.
 */
public final class Membership {

  private final FileRepository files;

  public Membership(FileRepository files) {
    this.files = files;
  }

  /** Whether {@code caller} may act on company {@code companyId}; fails only when PostgreSQL fails. */
  public Future<Boolean> belongs(Caller caller, UUID companyId) {
    if (caller.serverRequest() || caller.companies().contains(companyId)) {
      return Future.succeededFuture(true);
    }
    return files.isMember(companyId, caller.subject());
  }
}

package dev.files.http;

import dev.files.error.Kind;
import dev.files.error.ServiceException;

import dev.files.auth.Caller;
import dev.files.auth.DownloadSigner;
import dev.files.auth.Membership;
import dev.files.auth.TokenVerifier;
import dev.files.model.Uuids;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

import java.util.UUID;

/**
 * Authenticates a request and checks that the caller belongs to the URL's company (docs/api.md,
 * "Authentication" and "Access"): 401 without a valid token, 400 for a malformed company id, 403 for
 * a caller outside the company. The token is read from {@code Authorization: Bearer}, and on
 * download and thumbnail routes also from {@code ?token=}; a download route also honours a signed URL
 * ({@code ?expires=&signature=}, {@link DownloadSigner}; 401 when expired or forged), which grants that
 * one download and nothing else. On success the {@link Caller} is in the
 * context under {@link #CALLER} and the company id under {@link #COMPANY}.
 */
final class AuthHandler implements Handler<RoutingContext> {

  static final String CALLER = "caller";
  static final String COMPANY = "company";

  private final TokenVerifier verifier;
  private final Membership membership;
  private final boolean queryToken;
  /** Honours signed download URLs ({@code ?expires=&signature=}, made by files.api "read"); null: none. */
  private final DownloadSigner signer;

  AuthHandler(TokenVerifier verifier, Membership membership, boolean queryToken) {
    this(verifier, membership, queryToken, null);
  }

  AuthHandler(TokenVerifier verifier, Membership membership, boolean queryToken, DownloadSigner signer) {
    this.verifier = verifier;
    this.membership = membership;
    this.queryToken = queryToken;
    this.signer = signer;
  }

  @Override
  public void handle(RoutingContext ctx) {
    if (ctx.request().method() == HttpMethod.POST) {
      ctx.request().pause(); // the upload handler reads the body once the caller is known
    }
    String token = token(ctx);
    if (token == null && signer != null && ctx.request().getParam("signature") != null
        && ctx.request().path().endsWith("/download")) {
      UUID company = uuidParam(ctx, "company_id");
      signer.verify(company, uuidParam(ctx, "file_id"), ctx.request().getParam("expires", ""),
          ctx.request().getParam("signature"));
      ctx.put(COMPANY, company);
      ctx.next();
      return;
    }
    if (token == null) {
      ctx.fail(ServiceException.unauthorized("missing bearer token"));
      return;
    }
    verifier.verify(token)
        .compose(caller -> {
          UUID company = uuidParam(ctx, "company_id");
          return membership.belongs(caller, company).map(member -> {
            if (!member) {
              throw new ServiceException(Kind.FORBIDDEN, "caller does not belong to company " + company);
            }
            ctx.put(CALLER, caller);
            ctx.put(COMPANY, company);
            return caller;
          });
        })
        .onSuccess(caller -> ctx.next())
        .onFailure(ctx::fail);
  }

  private String token(RoutingContext ctx) {
    String header = ctx.request().getHeader("Authorization");
    if (header != null) {
      String h = header.strip();
      if (h.length() > 7 && h.regionMatches(true, 0, "Bearer ", 0, 7)) {
        return h.substring(7).strip();
      }
      return null;
    }
    return queryToken ? ctx.request().getParam("token") : null;
  }

  /** A UUID path parameter in canonical form ({@link Uuids}); 400 otherwise. */
  static UUID uuidParam(RoutingContext ctx, String name) {
    String raw = ctx.pathParam(name);
    UUID id = Uuids.parse(raw);
    if (id == null) {
      throw ServiceException.badRequest(name + " must be a UUID (8-4-4-4-12 hex digits), got '" + Errors.printable(raw) + "'");
    }
    return id;
  }
}

package dev.files.auth;

import dev.files.bus.Addresses;
import dev.files.bus.InternalBus;
import dev.files.ops.ServiceMetrics;
import dev.files.db.FileRepository;
import dev.files.error.ErrorAnswer;
import dev.files.error.ServiceException;
import dev.files.model.Uuids;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;

import java.util.UUID;

/**
 * Manages the {@code company_members} table for sibling verticles over {@link Addresses#MEMBERS}
 * (docs/event-bus.md): {@code {"action": "add" | "remove" | "check", "company_id": uuid,
 * "user_id": uuid, "role"?: string}} with a server token ({@code server_request: true}) in the
 * {@code authorization} header → {@code {"status": "success", "member": bool, "role": string | null}}
 * (the pair's state afterwards; a {@code check} with a {@code role} is a member only with that role).
 * {@code add} sets the role ({@value #DEFAULT_ROLE} unless given). Failures: 401 without a valid token,
 * 403 for a token that is not a server token, 400 for a malformed message, 503 when PostgreSQL fails.
 * Every change is announced to the {@link Membership} caches of all nodes.
 */
public final class MembershipVerticle extends VerticleBase {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MembershipVerticle.class);
  /** The role {@code add} gives without one. */
  public static final String DEFAULT_ROLE = "member";
  /** Longest role, in characters. */
  static final int MAX_ROLE = 64;

  private final FileRepository files;
  private final TokenVerifier verifier;
  private final ServiceMetrics metrics;
  private final InternalBus bus;

  /**
   * @param metrics the node's metrics (requests refused by a full database pool)
   * @param bus     the node's internal event bus (the announcements of changes)
   */
  public MembershipVerticle(FileRepository files, TokenVerifier verifier, ServiceMetrics metrics, InternalBus bus) {
    this.files = files;
    this.verifier = verifier;
    this.metrics = metrics;
    this.bus = bus;
  }

  @Override
  public Future<?> start() {
    return vertx.eventBus().<Object>consumer(Addresses.MEMBERS, this::handle).completion();
  }

  private void handle(Message<Object> msg) {
    String token = bearer(msg.headers().get("authorization"));
    if (token == null) {
      msg.fail(401, "an authorization header with a server token is required");
      return;
    }
    verifier.verify(token).onComplete(ar -> {
      if (ar.failed()) {
        msg.fail(401, ar.cause().getMessage());
      } else if (!ar.result().serverRequest()) {
        msg.fail(403, "files.members needs a server token (server_request: true)");
      } else {
        act(msg);
      }
    });
  }

  private void act(Message<Object> msg) {
    Object decoded;
    try {
      decoded = dev.files.api.FilesApiVerticle.decodedBody(msg);
    } catch (ServiceException e) {
      ErrorAnswer answer = ErrorAnswer.of(e);
      msg.fail(answer.status(), answer.message());
      return;
    }
    if (!(decoded instanceof JsonObject body)) {
      msg.fail(400, "the body must be a JSON object");
      return;
    }
    UUID company = Uuids.parse(body.getValue("company_id"));
    UUID user = Uuids.parse(body.getValue("user_id"));
    if (company == null || user == null) {
      msg.fail(400, "company_id and user_id must be UUIDs (8-4-4-4-12 hex digits)");
      return;
    }
    Object rawRole = body.getValue("role");
    if (rawRole != null && (!(rawRole instanceof String r) || r.isBlank() || r.length() > MAX_ROLE
        || !dev.files.model.Texts.storable(r))) {
      msg.fail(400, "role must be a non-empty string of at most " + MAX_ROLE + " characters, without control characters");
      return;
    }
    String role = (String) rawRole;
    Object action = body.getValue("action", msg.headers().get("action"));
    Future<String> state;
    if ("add".equals(action)) {
      String given = role == null ? DEFAULT_ROLE : role;
      state = files.addMember(company, user, given, System.currentTimeMillis()).map(given);
    } else if ("remove".equals(action)) {
      state = files.removeMember(company, user).map((String) null);
    } else if ("check".equals(action)) {
      state = files.memberRole(company, user).map(r -> role == null || role.equals(r) ? r : null);
    } else {
      msg.fail(400, "action must be add, remove or check");
      return;
    }
    state.onSuccess(r -> {
      if (!"check".equals(action)) {
        Membership.announce(vertx, bus, company, user);
      }
      msg.reply(new JsonObject().put("status", "success").put("member", r != null).put("role", r));
    }).onFailure(err -> {
      if (dev.files.db.DatabaseBusy.is(err)) { // overload: counted, logged now and then
        dev.files.db.DatabaseBusy.refused(metrics, "files.members " + action);
        msg.fail(503, dev.files.db.DatabaseBusy.MESSAGE);
        return;
      }
      String id = UUID.randomUUID().toString();
      LOG.error("files.members {} failed (request {})", action, id, err);
      msg.fail(503, "database unavailable (request " + id + ")");
    });
  }

  /** The token of an {@code authorization} header: {@code Bearer <jwt>} or the bare JWT; null when absent. */
  public static String bearer(String header) {
    if (header == null || header.isBlank()) {
      return null;
    }
    String h = header.strip();
    if (h.length() > 7 && h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      h = h.substring(7).strip();
    }
    return h.isEmpty() ? null : h;
  }
}

package dev.files.auth;

import dev.files.bus.Addresses;
import dev.files.db.FileRepository;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;

import java.util.UUID;

/**
 * Manages the {@code company_members} table for sibling verticles over {@link Addresses#MEMBERS}:
 * {@code {"action": "add" | "remove" | "check", "company_id": uuid, "user_id": uuid}} →
 * {@code {"status": "success", "member": bool}} (whether the pair is a member afterwards). A malformed
 * message fails with code 400, a database failure with 503.
 */
public final class MembershipVerticle extends VerticleBase {

  private final FileRepository files;

  public MembershipVerticle(FileRepository files) {
    this.files = files;
  }

  @Override
  public Future<?> start() {
    return vertx.eventBus().<JsonObject>consumer(Addresses.MEMBERS, this::handle).completion();
  }

  private void handle(Message<JsonObject> msg) {
    UUID company;
    UUID user;
    String action;
    try {
      company = UUID.fromString(msg.body().getString("company_id"));
      user = UUID.fromString(msg.body().getString("user_id"));
      action = msg.body().getString("action", "");
    } catch (RuntimeException e) {
      msg.fail(400, "company_id and user_id must be UUIDs");
      return;
    }
    Future<Boolean> member = switch (action) {
      case "add" -> files.addMember(company, user, System.currentTimeMillis()).map(true);
      case "remove" -> files.removeMember(company, user).map(false);
      case "check" -> files.isMember(company, user);
      default -> null;
    };
    if (member == null) {
      msg.fail(400, "action must be add, remove or check");
      return;
    }
    member.onSuccess(m -> msg.reply(new JsonObject().put("status", "success").put("member", m)))
        .onFailure(err -> msg.fail(503, "database error: " + err.getMessage()));
  }
}

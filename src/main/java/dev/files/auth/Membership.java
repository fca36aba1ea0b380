package dev.files.auth;

import dev.files.bus.Addresses;
import dev.files.bus.InternalBus;
import dev.files.db.FileRepository;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * "Caller belongs to company C" (docs/api.md): a server request, C in the token's {@code companies}
 * claim, or the row (C, sub) in the {@code company_members} table. The one check of HTTP and of
 * {@code files.api}.
 *
 * <p>Answers read from the table are kept for {@code auth.membership_cache_ms} (per node, at most
 * {@value #MAX_ENTRIES} pairs). A change made through {@code files.members} is published on
 * {@link Addresses#MEMBERS_CHANGED} ({@code {"company_id": uuid, "user_id": uuid}}) and every node
 * drops that pair at once ({@link #listen}); the time to live only bounds how long a lost
 * notification can leave a stale answer.
 */
public final class Membership {

  /** Most (company, user) answers one node keeps; the cache is emptied when it is full. */
  static final int MAX_ENTRIES = 100_000;

  private final FileRepository files;
  private final long ttlNanos;
  private final Map<String, Entry> cache = new ConcurrentHashMap<>();
  /** Bumped by every invalidation: a lookup that started before one does not store its answer. */
  private final AtomicLong epoch = new AtomicLong();

  private record Entry(boolean member, long expiresAt) {
  }

  /** Without a cache: every check reads the table. */
  public Membership(FileRepository files) {
    this(files, 0);
  }

  /** @param ttlMs how long an answer read from the table is kept, ms ({@code auth.membership_cache_ms}; 0: not kept) */
  public Membership(FileRepository files, long ttlMs) {
    this.files = files;
    this.ttlNanos = ttlMs * 1_000_000;
  }

  /** Whether {@code caller} may act on company {@code companyId}; fails only when PostgreSQL fails. */
  public Future<Boolean> belongs(Caller caller, UUID companyId) {
    if (caller.serverRequest() || caller.companies().contains(companyId)) {
      return Future.succeededFuture(true);
    }
    return isMember(companyId, caller.subject());
  }

  /** Whether the table has (company, user), through the cache. */
  public Future<Boolean> isMember(UUID companyId, UUID userId) {
    String key = companyId + "/" + userId;
    Entry e = cache.get(key);
    long now = System.nanoTime();
    if (e != null && now - e.expiresAt() < 0) {
      return Future.succeededFuture(e.member());
    }
    long seen = epoch.get();
    return files.isMember(companyId, userId).onSuccess(member -> {
      if (ttlNanos > 0 && epoch.get() == seen) {
        if (cache.size() >= MAX_ENTRIES) {
          cache.clear();
        }
        cache.put(key, new Entry(member, System.nanoTime() + ttlNanos));
      }
    });
  }

  /** Drops the cached answer of (company, user) on this node. */
  public void invalidate(UUID companyId, UUID userId) {
    epoch.incrementAndGet();
    cache.remove(companyId + "/" + userId);
  }

  /**
   * Drops cached answers as {@link Addresses#MEMBERS_CHANGED} announces changes (from any node).
   * A malformed notification empties the whole cache. The address is internal ({@link InternalBus}):
   * a notice without the cluster's secret is logged and ignored, so a process that is not a node
   * cannot empty the caches of every node and turn each membership check into a database read.
   *
   * @param bus the node's internal event bus (its guard)
   */
  public Future<Void> listen(Vertx vertx, InternalBus bus) {
    return vertx.eventBus().<JsonObject>consumer(Addresses.MEMBERS_CHANGED, bus.<JsonObject>guard(msg -> {
      try {
        invalidate(java.util.Objects.requireNonNull(dev.files.model.Uuids.parse(msg.body().getValue("company_id"))),
            java.util.Objects.requireNonNull(dev.files.model.Uuids.parse(msg.body().getValue("user_id"))));
      } catch (RuntimeException e) {
        epoch.incrementAndGet();
        cache.clear();
      }
    })).completion();
  }

  /** Tells every node (this one included) that (company, user) changed, through the node's internal {@code bus}. */
  public static void announce(Vertx vertx, InternalBus bus, UUID companyId, UUID userId) {
    vertx.eventBus().publish(Addresses.MEMBERS_CHANGED,
        new JsonObject().put("company_id", companyId.toString()).put("user_id", userId.toString()),
        bus.options());
  }
}

package dev.files;

import dev.files.db.StoreIdentityRepository;
import dev.files.storage.StoreSide;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.UUID;

/**
 * Binds a chunk store to its database before a node does anything with either: an identity (a
 * random UUID) recorded in both at first use, in the database's {@code store_identity} table and in
 * the store's {@link StoreMarker}. Only the database that owns a store may collect its orphans (an
 * object no row refers to is garbage only to that database); a node started with another
 * database, e.g. an empty one after a typo in {@code db.url}, would delete every file it does not
 * know. So a node whose database and store do not belong together refuses to start.
 *
 * <p>The decision ({@link #decide}), from the two identities, whether the store holds objects and
 * whether the database refers to any:
 * <ul>
 *   <li>both identities recorded: equal, the node starts; different, it refuses;</li>
 *   <li>at most one recorded, neither side holds anything: the identity (the recorded one, else a
 *       new one) is written where it is missing (a first start, or a start cut between the two writes);</li>
 *   <li>at most one recorded, the store holds objects and the database refers to some: the identity
 *       is adopted by both when they know each other (some of the database's objects are in the
 *       store, and the database knows at least half of the store's objects, sampled): an upgrade from
 *       before identities, or a first start cut short; otherwise it refuses;</li>
 *   <li>at most one recorded, the store holds objects the database knows nothing of: it refuses
 *       (an empty database over a full store);</li>
 *   <li>at most one recorded, the database refers to objects the empty store lacks: it refuses (the
 *       wrong storage path).</li>
 * </ul>
 * A refusal is one line: both identities, what the store and database hold, and what to check.
 */
public final class StoreBinding {

  private static final Logger LOG = LoggerFactory.getLogger(StoreBinding.class);
  /** How many of the database's storage keys are looked for in the store before adopting an identity. */
  private static final int SAMPLE_KEYS = 64;

  private StoreBinding() {
  }

  /** What a start does with the store identity. */
  public enum Action {
    /** Both sides agree: nothing to write. */
    USE,
    /** Write the identity where it is missing (nothing stored on either side yet). */
    RECORD,
    /** Write the identity where it is missing, once the store is seen to hold the database's objects. */
    ADOPT_IF_SHARED,
    /** Do not start. */
    REFUSE
  }

  /**
   * The pure decision.
   *
   * @param dbId          the database's identity, or null
   * @param storeId       the store's identity, or null
   * @param storeObjects  whether the store holds any object
   * @param dbRefersToObjects whether any database row refers to a stored object
   */
  public static Action decide(UUID dbId, UUID storeId, boolean storeObjects, boolean dbRefersToObjects) {
    if (dbId != null && storeId != null) {
      return dbId.equals(storeId) ? Action.USE : Action.REFUSE;
    }
    if (storeObjects && dbRefersToObjects) {
      return Action.ADOPT_IF_SHARED;
    }
    return storeObjects || dbRefersToObjects ? Action.REFUSE : Action.RECORD;
  }

  /**
   * Checks (and at first use records) that the store at {@code root} and the database belong together.
   *
   * @param dbLabel the database as the operator knows it (host:port/name, no credentials), for messages
   * @return the store identity; fails with {@link IllegalStateException} (a one-line message) when
   *     they do not belong together
   */
  public static Future<UUID> bind(Vertx vertx, StoreIdentityRepository db, StoreSide store, String dbLabel) {
    Future<Object[]> storeSide = store.readId().compose(id -> store.holdsObjects().map(objects -> new Object[]{id, objects}));
    // one query at a time: a start must not need more than one connection (db.pool_size may be 1)
    Future<Object[]> dbSide = db.find().compose(id -> db.refersToObjects().map(refers -> new Object[]{id, refers}));
    return Future.all(dbSide, storeSide).compose(all -> {
      Object[] d = all.resultAt(0);
      UUID dbId = (UUID) d[0];
      boolean refers = (Boolean) d[1];
      Object[] s = all.resultAt(1);
      UUID storeId = (UUID) s[0];
      boolean objects = (Boolean) s[1];
      Action action = decide(dbId, storeId, objects, refers);
      String facts = "database " + dbLabel + " (db.url) has store identity " + name(dbId)
          + (refers ? " and refers to stored objects" : " and refers to no stored object")
          + "; " + store.description() + " has " + name(storeId)
          + (objects ? " and holds objects" : " and holds no object");
      return switch (action) {
        case USE -> Future.succeededFuture(dbId);
        case REFUSE -> Future.failedFuture(refusal(dbId, storeId, objects, refers, facts, store));
        case RECORD -> record(db, store, dbId != null ? dbId : storeId != null ? storeId : UUID.randomUUID(),
            "recorded");
        case ADOPT_IF_SHARED -> db.sampleKeys(SAMPLE_KEYS)
            .compose(store::holdsAny)
            .compose(shared -> !shared ? Future.succeededFuture("none of the database's objects is in the store")
                : store.sample(SAMPLE_KEYS)
                    .compose(sample -> db.countKnown(sample).map(known -> known * 2 >= sample.size() ? null
                        : "the database knows only " + known + " of " + sample.size() + " objects sampled from the store")))
            .compose(mismatch -> mismatch == null
                ? record(db, store, dbId != null ? dbId : storeId != null ? storeId : UUID.randomUUID(), "adopted")
                : Future.failedFuture(new IllegalStateException("refusing to start: the database and the chunk store "
                    + "do not belong together (" + mismatch + "): " + facts
                    + "; check db.url (FILES_DB_URL) and " + store.setting() + "; nothing was changed")));
        };
    });
  }

  private static IllegalStateException refusal(UUID dbId, UUID storeId, boolean objects, boolean refers, String facts,
                                               StoreSide store) {
    String why = dbId != null && storeId != null ? "the database and the chunk store belong to different stores"
        : objects ? "the chunk store holds objects its database would not know (an empty or another database?)"
        : "the database refers to stored objects but the chunk store is empty (the wrong storage path?)";
    return new IllegalStateException("refusing to start: " + why + ": " + facts
        + "; check db.url (FILES_DB_URL) and " + store.setting() + "; nothing was changed");
  }

  /** Writes {@code id} on the database side (first writer wins), then the same on the store side. */
  private static Future<UUID> record(StoreIdentityRepository db, StoreSide store, UUID id, String how) {
    return db.record(id).compose(winner -> store.writeIfAbsent(winner).map(current -> {
      if (!current.equals(winner)) { // another node wrote a different one meanwhile
        throw new IllegalStateException("refusing to start: the chunk store at " + store.description()
            + " has store identity " + current + " but the database (db.url) has " + winner
            + "; check db.url (FILES_DB_URL) and " + store.setting());
      }
      LOG.info("store identity {} {} in the database and in {}", winner, how, store.markerLocation());
      return winner;
    }));
  }

  private static String name(UUID id) {
    return id == null ? "none" : id.toString();
  }
}

package dev.files.db;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The database's side of the store identity (table {@code store_identity}, one row): which chunk
 * store this database describes, and what it refers to in that store.
 */
public final class StoreIdentityRepository {

  private final Pool pool;

  public StoreIdentityRepository(Pool pool) {
    this.pool = pool;
  }

  /** The recorded store identity, or null when none was recorded yet. */
  public Future<UUID> find() {
    return pool.query("SELECT store_id FROM store_identity").execute()
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getUUID(0));
  }

  /**
   * Records {@code id} unless an identity is recorded already (another node was first).
   *
   * @return the identity recorded now: {@code id}, or the one that was there
   */
  public Future<UUID> record(UUID id) {
    return pool.preparedQuery("INSERT INTO store_identity (store_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .execute(Tuple.of(id, System.currentTimeMillis()))
        .compose(v -> find());
  }

  /** True when a chunk, retired chunk or thumbnail row refers to a stored object. */
  public Future<Boolean> refersToObjects() {
    return pool.query("""
            SELECT EXISTS (SELECT 1 FROM chunks) OR EXISTS (SELECT 1 FROM retired_chunks)
                OR EXISTS (SELECT 1 FROM thumbnails)""").execute()
        .map(rows -> rows.iterator().next().getBoolean(0));
  }

  /** How many of {@code keys} a chunk, retired chunk or thumbnail row refers to. */
  public Future<Integer> countKnown(List<String> keys) {
    return pool.preparedQuery("""
            SELECT count(*) FROM unnest($1::text[]) AS k
             WHERE EXISTS (SELECT 1 FROM chunks WHERE storage_key = k)
                OR EXISTS (SELECT 1 FROM retired_chunks WHERE storage_key = k)
                OR EXISTS (SELECT 1 FROM thumbnails WHERE storage_key = k)""")
        .execute(Tuple.of(keys.toArray(new String[0])))
        .map(rows -> rows.iterator().next().getInteger(0));
  }

  /** Up to {@code limit} storage keys the database refers to (chunks first), to look for in a store. */
  public Future<List<String>> sampleKeys(int limit) {
    return pool.preparedQuery("""
            (SELECT storage_key FROM chunks LIMIT $1)
            UNION ALL (SELECT storage_key FROM thumbnails LIMIT $1)
            UNION ALL (SELECT storage_key FROM retired_chunks LIMIT $1)""")
        .execute(Tuple.of(limit))
        .map(rows -> {
          List<String> keys = new ArrayList<>();
          for (Row r : rows) {
            keys.add(r.getString(0));
          }
          return keys;
        });
  }
}

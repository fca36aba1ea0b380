package dev.files.db;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

/**
 * PostgreSQL session-level advisory locks ({@code pg_try_advisory_lock}, {@code pg_advisory_unlock}):
 * held by the connection that took them until it unlocks them or closes, so the caller gives a
 * connection of its own (not a pooled one). Used by the sweep and the outbox relay, one node of the
 * cluster at a time. Every method fails with the pg-client's exception when PostgreSQL fails.
 */
public final class AdvisoryLocks {

  private AdvisoryLocks() {
  }

  /** Takes the lock {@code key} on {@code conn} if it is free; answers whether {@code conn} holds it now. */
  public static Future<Boolean> tryLock(SqlClient conn, long key) {
    return conn.preparedQuery("SELECT pg_try_advisory_lock($1)").execute(Tuple.of(key))
        .map(rows -> rows.iterator().next().getBoolean(0));
  }

  /** Releases the lock {@code key} held by {@code conn}. */
  public static Future<Void> unlock(SqlClient conn, long key) {
    return conn.preparedQuery("SELECT pg_advisory_unlock($1)").execute(Tuple.of(key)).mapEmpty();
  }
}

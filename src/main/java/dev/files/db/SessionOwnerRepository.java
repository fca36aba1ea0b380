package dev.files.db;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The SQL of the upload sessions' owner rows and of the node leases (migration V6): one row of
 * {@code upload_sessions (file_id, owner_node, epoch)} per running session in the cluster, epochs
 * from the sequence {@code session_epochs}, and one row of {@code nodes (node_id, lease_until,
 * started_at)} per node holding a lease. Every time is the database clock ({@code now()}). What the
 * rows mean, and who may change them when, is {@code dev.files.cluster.SessionOwners}'s and
 * {@code dev.files.cluster.NodeLease}'s; here only the statements. Every method fails with the
 * pg-client's exception when PostgreSQL fails.
 */
public final class SessionOwnerRepository {

  /**
   * Prefix of the {@code application_name} of a node's database connections; the node id follows
   * ({@code files node <node_id>} in {@code pg_stat_activity}).
   */
  public static final String APPLICATION_NAME = "files node ";

  private final Pool pool;

  public SessionOwnerRepository(Pool pool) {
    this.pool = pool;
  }

  /** The owner row of a file: the node named, and whether that node holds a valid lease. */
  public record Owner(String node, boolean leased) {
  }

  /**
   * What a lease refresh found.
   *
   * @param wasValid    whether the node's lease was still valid before this refresh (null: it had none)
   * @param validLeases how many nodes held a valid lease before this refresh, this one included if its was
   */
  public record LeaseRefresh(Boolean wasValid, long validLeases) {
  }

  /**
   * Gives the session of {@code fileId} to {@code nodeId} with a new epoch: creates the owner row, or
   * takes it over when it names {@code nodeId}, a node not in {@code live}, or a node without a valid
   * lease. Waits for a transaction that holds the row's lock.
   *
   * @return the new epoch, or null when the row names another node that may still run the session
   */
  public Future<Long> take(UUID fileId, String nodeId, String[] live) {
    return pool.preparedQuery("INSERT INTO upload_sessions (file_id, owner_node, epoch)"
            + " VALUES ($1, $2, nextval('session_epochs'))"
            + " ON CONFLICT (file_id) DO UPDATE SET owner_node = EXCLUDED.owner_node, epoch = EXCLUDED.epoch"
            + " WHERE upload_sessions.owner_node = EXCLUDED.owner_node"
            + " OR upload_sessions.owner_node <> ALL($3::text[])"
            + " OR NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = upload_sessions.owner_node"
            + " AND n.lease_until > now())"
            + " RETURNING epoch")
        .execute(Tuple.of(fileId, nodeId, live))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getLong(0));
  }

  /**
   * When the owner row of {@code fileId} names a node other than {@code nodeId} whose lease has
   * lapsed, ends that node's connections that are inside a transaction ({@code pg_terminate_backend},
   * found by their {@link #APPLICATION_NAME}).
   *
   * @return the node named once per connection ended (empty when none was)
   */
  public Future<List<String>> endLapsedOwnerTransactions(UUID fileId, String nodeId) {
    return pool.preparedQuery("SELECT u.owner_node, pg_terminate_backend(a.pid) FROM upload_sessions u"
            + " JOIN nodes n ON n.node_id = u.owner_node AND n.lease_until < now()"
            + " JOIN pg_stat_activity a ON a.application_name = $2 || u.owner_node"
            + " WHERE u.file_id = $1 AND u.owner_node <> $3 AND a.xact_start IS NOT NULL")
        .execute(Tuple.of(fileId, APPLICATION_NAME, nodeId))
        .map(rows -> {
          List<String> ended = new ArrayList<>();
          for (Row r : rows) {
            ended.add(r.getString(0));
          }
          return ended;
        });
  }

  /** The owner row of a file, or null when there is none. */
  public Future<Owner> owner(UUID fileId) {
    return pool.preparedQuery("SELECT u.owner_node, EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = u.owner_node"
            + " AND n.lease_until > now()) FROM upload_sessions u WHERE u.file_id = $1")
        .execute(Tuple.of(fileId))
        .map(rows -> {
          if (rows.size() == 0) {
            return null;
          }
          Row r = rows.iterator().next();
          return new Owner(r.getString(0), r.getBoolean(1));
        });
  }

  /**
   * Inside the caller's transaction: locks the owner row of {@code fileId} ({@code FOR UPDATE}, held
   * until the transaction ends) if it names {@code nodeId} with {@code epoch}.
   *
   * @return whether such a row exists (and is now locked)
   */
  public Future<Boolean> lockIfOwned(SqlConnection conn, UUID fileId, String nodeId, long epoch) {
    return conn.preparedQuery("SELECT 1 FROM upload_sessions WHERE file_id = $1 AND owner_node = $2 AND epoch = $3"
            + " FOR UPDATE")
        .execute(Tuple.of(fileId, nodeId, epoch))
        .map(rows -> rows.size() == 1);
  }

  /**
   * Deletes the owner rows naming nodes not in {@code live} and without a valid lease, skipping rows
   * locked by a running transaction; only while {@code nodeId} holds a valid lease itself.
   *
   * @return how many rows were deleted
   */
  public Future<Integer> removeDeadOwners(String[] live, String nodeId) {
    return pool.preparedQuery("DELETE FROM upload_sessions u WHERE u.file_id IN (SELECT file_id FROM upload_sessions"
            + " WHERE owner_node <> ALL($1::text[]) FOR UPDATE SKIP LOCKED)"
            + " AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = u.owner_node AND n.lease_until > now())"
            + " AND EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = $2 AND n.lease_until > now())")
        .execute(Tuple.tuple().addArrayOfString(live).addString(nodeId))
        .map(rows -> rows.rowCount());
  }

  /** Deletes the owner row of {@code fileId} if it still names {@code nodeId} with {@code epoch}. */
  public Future<Void> release(UUID fileId, String nodeId, long epoch) {
    return pool.preparedQuery("DELETE FROM upload_sessions WHERE file_id = $1 AND owner_node = $2 AND epoch = $3")
        .execute(Tuple.of(fileId, nodeId, epoch)).mapEmpty();
  }

  /** Writes the lease of {@code nodeId}: valid until now + {@code leaseMs} (ms), the row created at the first call. */
  public Future<LeaseRefresh> refreshLease(String nodeId, long leaseMs) {
    return pool.preparedQuery("WITH old AS (SELECT lease_until FROM nodes WHERE node_id = $1),"
            + " valid AS (SELECT count(*) AS n FROM nodes WHERE lease_until > now())"
            + " INSERT INTO nodes (node_id, lease_until, started_at)"
            + " VALUES ($1, now() + $2 * interval '1 millisecond', now())"
            + " ON CONFLICT (node_id) DO UPDATE SET lease_until = EXCLUDED.lease_until"
            + " RETURNING (SELECT lease_until > now() FROM old), (SELECT n FROM valid)")
        .execute(Tuple.of(nodeId, leaseMs))
        .map(rows -> {
          Row r = rows.iterator().next();
          return new LeaseRefresh(r.getBoolean(0), r.getLong(1));
        });
  }

  /** Deletes the lease of {@code nodeId}. */
  public Future<Void> deleteLease(String nodeId) {
    return pool.preparedQuery("DELETE FROM nodes WHERE node_id = $1").execute(Tuple.of(nodeId)).mapEmpty();
  }
}

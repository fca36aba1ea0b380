package dev.files.upload;

import dev.files.db.SessionOwnerRepository.Owner;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;

import java.util.Set;
import java.util.UUID;

/**
 * What the upload sessions ask of the cluster: which node runs the session of a file (its owner
 * row and epoch in PostgreSQL), which nodes are live, and whether a silent one is gone. Implemented
 * by {@code dev.files.cluster.SessionOwners} (README, "Running a cluster": owner row, epoch, leases,
 * fencing).
 */
public interface SessionOwnership {

  /** This node's id (the cluster manager's node id when clustered, else a random UUID per start). */
  String nodeId();

  /** The node ids of the live cluster members, this node included. */
  Set<String> members();

  /**
   * Whether a member's process is gone (its event-bus port refuses connections); it then counts as
   * not live for a while. Answers false when unsure; never fails.
   */
  Future<Boolean> probe(String node);

  /** Keeps the event-bus address of a member about to be asked, for a later {@link #probe}. */
  void remember(String node);

  /**
   * Takes the session of a file: answers the new epoch, or null when another node owns it and may
   * still run it. Fails with a {@link dev.files.error.ServiceException} of kind BUSY (nothing asked of the database) while
   * this node sees no majority.
   */
  Future<Long> take(UUID fileId);

  /** The owner row of a file, or null when no session of it runs anywhere. */
  Future<Owner> owner(UUID fileId);

  /**
   * The first statement of every transaction of a session: locks the file's owner row if it still
   * names this node with {@code epoch}; fails with {@link StaleSessionException} otherwise.
   */
  Future<Void> check(SqlConnection conn, UUID fileId, long epoch);

  /** Removes the owner row of a session that stops, if it is still the one of {@code epoch}. */
  Future<Void> release(UUID fileId, long epoch);

  /** A cluster member left: the owner rows of departed nodes are removed. Thread-safe. */
  void memberLeft();

  /** How many sessions this node has taken since it started (for tests). */
  long taken();
}

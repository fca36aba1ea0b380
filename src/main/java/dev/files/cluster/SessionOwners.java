package dev.files.cluster;

import dev.files.db.SessionOwnerRepository;
import dev.files.db.SessionOwnerRepository.Owner;
import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.upload.SessionOwnership;
import dev.files.upload.StaleSessionException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Who runs the upload session of a file, kept in PostgreSQL (migration V6, SQL in
 * {@link SessionOwnerRepository}): one row of {@code upload_sessions (file_id, owner_node, epoch)} per
 * running session in the cluster; this node's lease and majority are {@link NodeLease}'s, its id and
 * the live members {@link ClusterMembers}'.
 *
 * <p>The failure detector (Hazelcast membership) only chooses where a session runs; correctness
 * comes from the epoch. A node takes a session with one conditional statement that hands out a new
 * epoch ({@link #take}); every transaction of that session starts with {@link #check}, which locks
 * the row and fails with {@link StaleSessionException} unless it still names this node and that
 * epoch. Because the check holds the row lock until the transaction ends, a takeover waits for a
 * running transaction, and every later write of the old owner fails: that is the fencing. While
 * this node sees no majority ({@link NodeLease#minority()}) it takes no session (503 to the asker).
 */
public final class SessionOwners implements SessionOwnership {

  private static final Logger LOG = LoggerFactory.getLogger(SessionOwners.class);

  private final Vertx vertx;
  private final SessionOwnerRepository rows;
  private final ClusterMembers members;
  private final NodeLease lease;
  private final AtomicLong taken = new AtomicLong();

  public SessionOwners(Vertx vertx, SessionOwnerRepository rows, ClusterMembers members, NodeLease lease) {
    this.vertx = vertx;
    this.rows = rows;
    this.members = members;
    this.lease = lease;
  }

  /**
   * The owners of the node whose id and members are {@code members}, on the database {@code pool}, with
   * its lease of {@code leaseMs} ms ({@code cluster.lease_ms}; started by the node, {@link #lease()}).
   */
  public static SessionOwners create(Vertx vertx, Pool pool, ClusterMembers members, long leaseMs) {
    SessionOwnerRepository rows = new SessionOwnerRepository(pool);
    return new SessionOwners(vertx, rows, members, new NodeLease(vertx, rows, members, leaseMs));
  }

  /**
   * The owners of a node alone (not clustered): a random node id, no majority to see; its lease is
   * written only when {@link NodeLease#start} is called ({@code leaseMs}, ms).
   */
  public static SessionOwners alone(Vertx vertx, Pool pool, long leaseMs) {
    return create(vertx, pool, ClusterMembers.alone(vertx), leaseMs);
  }

  /** This node's lease (started and stopped by the node). */
  public NodeLease lease() {
    return lease;
  }

  @Override
  public String nodeId() {
    return members.nodeId();
  }

  @Override
  public Set<String> members() {
    return members.members();
  }

  @Override
  public Future<Boolean> probe(String node) {
    return members.probe(node);
  }

  @Override
  public void remember(String node) {
    members.remember(node);
  }

  @Override
  public long taken() {
    return taken.get();
  }

  /**
   * Takes the session of a file: answers the new epoch, or null when another node owns it and may
   * still run it (a live member with a valid lease). The row is created, or taken over when it names
   * this node (a session of this node that stopped), a node that is not a live member, or a node
   * without a valid lease. Waits for a transaction of the current owner that holds the row lock.
   * Fails with a {@link ServiceException} of kind {@link Kind#BUSY} (nothing asked of the database) while this node sees
   * no majority.
   */
  @Override
  public Future<Long> take(UUID fileId) {
    String why = lease.minority();
    if (why != null) {
      return Future.failedFuture(new ServiceException(Kind.BUSY, "this node takes no upload session: it is not in the"
          + " majority of the cluster (" + why + "); try another node"));
    }
    String[] live = members().toArray(new String[0]);
    return endLapsedTransactions(fileId).compose(v -> rows.take(fileId, nodeId(), live))
        .map(epoch -> {
          if (epoch != null) {
            taken.incrementAndGet();
          }
          return epoch;
        });
  }

  /**
   * When the file's owner row names another node whose lease has lapsed (frozen, or cut off from
   * the others), ends that node's connections that are inside a transaction
   * ({@link SessionOwnerRepository#endLapsedOwnerTransactions}): a transaction it left
   * open would hold the owner row's lock, and the take would wait for as long as the node stays
   * frozen. Ending them rolls back what that node had not committed; fenced by its lapsed lease, it
   * commits nothing more. Never fails: without the right to end connections the take only waits.
   */
  private Future<Void> endLapsedTransactions(UUID fileId) {
    return rows.endLapsedOwnerTransactions(fileId, nodeId())
        .<Void>map(ended -> {
          for (String node : ended) {
            LOG.warn("file {}: node {} held a transaction open though its lease had lapsed (frozen or cut off):"
                + " its connection was ended, this node takes the session over", fileId, node);
          }
          return null;
        })
        .recover(err -> {
          LOG.debug("file {}: cannot end a lapsed owner's transactions: {}", fileId, err.toString());
          return Future.succeededFuture();
        });
  }

  @Override
  public Future<Owner> owner(UUID fileId) {
    return rows.owner(fileId);
  }

  /**
   * The first statement of every transaction of a session: locks the file's owner row if it still
   * names this node with {@code epoch}; fails with {@link StaleSessionException} otherwise (the
   * caller rolls back and stops the session).
   */
  @Override
  public Future<Void> check(SqlConnection conn, UUID fileId, long epoch) {
    return rows.lockIfOwned(conn, fileId, nodeId(), epoch)
        .compose(owned -> owned ? Future.succeededFuture()
            : Future.failedFuture(new StaleSessionException(fileId, epoch)));
  }

  /**
   * Removes the owner rows that name nodes which are not live cluster members and hold no valid lease
   * (a node killed, or gone while its sessions ran), so the first survivor that sees such rows removes
   * them: called at start once the lease is written, and on every member-left event, then once more
   * after {@code cluster.lease_ms} (a killed node's lease outlives its membership by up to that
   * long). Only a clustered node that sees a majority and holds a valid lease does it, so a node that
   * was frozen or cut off, and takes the others for dead, removes nothing. Rows locked by a running
   * transaction are skipped (the next call, or a takeover, settles them). Removing a row only makes
   * its session stale: its next transaction fails the epoch check ({@link #check}), so no write of a
   * session can follow. Answers how many rows were removed; never fails.
   */
  public Future<Integer> removeDeadOwners() {
    if (!members.clustered() || lease.minority() != null || !lease.leased()) {
      return Future.succeededFuture(0);
    }
    String[] live = members().toArray(new String[0]);
    return rows.removeDeadOwners(live, nodeId())
        .map(removed -> {
          if (removed > 0) {
            LOG.info("removed {} upload session owner row(s) of nodes that are no longer cluster members", removed);
          }
          return removed;
        })
        .recover(err -> {
          LOG.warn("owner rows of departed nodes not removed: {}", err.getMessage());
          return Future.succeededFuture(0);
        });
  }

  /** A member left: {@link #removeDeadOwners} now and once its lease has surely lapsed. Thread-safe. */
  @Override
  public void memberLeft() {
    vertx.runOnContext(v -> {
      removeDeadOwners();
      vertx.setTimer(lease.leaseMs() + 250, t -> removeDeadOwners());
    });
  }

  @Override
  public Future<Void> release(UUID fileId, long epoch) {
    return rows.release(fileId, nodeId(), epoch);
  }
}

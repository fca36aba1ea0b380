package dev.files.upload;

import dev.files.error.Kind;
import dev.files.error.ServiceException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.core.Promise;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.core.spi.cluster.NodeInfo;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Who runs the upload session of a file, kept in PostgreSQL (migration V6): one row of
 * {@code upload_sessions (file_id, owner_node, epoch)} per running session in the cluster, and this
 * node's lease in {@code nodes (node_id, lease_until, started_at)}.
 *
 * <p>The failure detector (Hazelcast membership) only chooses where a session runs; correctness
 * comes from the epoch. A node takes a session with one conditional statement that hands out a new
 * epoch ({@link #take}); every transaction of that session starts with {@link #check}, which locks
 * the row and fails with {@link StaleSessionException} unless it still names this node and that
 * epoch. Because the check holds the row lock until the transaction ends, a takeover waits for a
 * running transaction, and every later write of the old owner fails: that is the fencing.
 *
 * <p>The lease ({@code cluster.lease_ms}, refreshed every quarter of it, times from the database
 * clock) lets other nodes take over the sessions of a node that is still a Hazelcast member but no
 * longer refreshes it (a frozen process). A refresh that finds the lease had lapsed, or that cannot
 * reach the database for longer than the lease, or that sees fewer Hazelcast members than half of
 * the nodes holding a valid lease (no majority; clustered nodes only), fences this node: its sessions stop; while it sees
 * no majority it takes no session (503 to the asker).
 */
public final class SessionOwners {

  private static final Logger LOG = LoggerFactory.getLogger(SessionOwners.class);
  /** How long a member found gone by {@link #probe} counts as not live, ms (Hazelcast removes it sooner). */
  static final long SUSPECT_MS = 10_000;

  private final Vertx vertx;
  private final Pool pool;
  /**
   * Prefix of the {@code application_name} of a node's database connections; the node id follows
   * ({@code files node <node_id>} in {@code pg_stat_activity}).
   */
  public static final String APPLICATION_NAME = "files node ";

  private final String nodeId;
  private final Supplier<Set<String>> members;
  private final long leaseMs;
  private final boolean majority;
  private final ClusterManager cluster;
  /** Members whose event-bus port refused a connection (their process is gone), until when (System.nanoTime). */
  private final Map<String, Long> suspects = new ConcurrentHashMap<>();
  private NetClient probes;
  /** Event-bus addresses of the members asked so far (read while they are alive: a dead one's may not be readable). */
  private final Map<String, NodeInfo> addresses = new ConcurrentHashMap<>();
  private final AtomicLong taken = new AtomicLong();
  private long timer = -1;
  private long lastRefreshNanos;
  private boolean refreshing;
  private volatile boolean leased;
  /** Why this node may not take sessions now (no majority at the last refresh), or null. */
  private volatile String minority;

  /** The owner row of a file: the node named, and whether that node holds a valid lease. */
  public record Owner(String node, boolean leased) {
  }

  /**
   * @param nodeId  this node's id (the cluster manager's node id when clustered, else a random UUID)
   * @param members the node ids of the live cluster members (this node alone when not clustered)
   * @param leaseMs the node lease, ms ({@code cluster.lease_ms})
   * @param cluster  the cluster manager (to probe a silent member, {@link #probe}), or null when not clustered;
   *                 a clustered node must see a majority of the leased nodes among its members to run sessions
   */
  public SessionOwners(Vertx vertx, Pool pool, String nodeId, Supplier<Set<String>> members, long leaseMs,
                       ClusterManager cluster) {
    this.majority = cluster != null;
    this.cluster = cluster;
    this.vertx = vertx;
    this.pool = pool;
    this.nodeId = nodeId;
    this.members = members;
    this.leaseMs = leaseMs;
  }

  /** This node's id. */
  public String nodeId() {
    return nodeId;
  }

  /**
   * The node ids of the live cluster members, this node included: Hazelcast's members, without those
   * whose process was found gone by {@link #probe} and that Hazelcast has not removed yet.
   */
  public Set<String> members() {
    Set<String> live = members.get();
    if (suspects.isEmpty()) {
      return live;
    }
    long now = System.nanoTime();
    suspects.values().removeIf(until -> until - now < 0);
    Set<String> out = new HashSet<>(live);
    out.removeAll(suspects.keySet());
    return out;
  }

  /**
   * Whether a member's process is gone: its event-bus port refuses connections (a crashed process on a
   * running machine; a frozen one still accepts them). Such a member counts as not live for
   * {@value #SUSPECT_MS} ms, or until Hazelcast removes it: its sessions may be taken over at once,
   * without waiting for Hazelcast's failure detection. Answers false when unsure (not clustered, no
   * address known, a timeout).
   */
  public Future<Boolean> probe(String node) {
    if (cluster == null || node.equals(nodeId)) {
      return Future.succeededFuture(false);
    }
    if (probes == null) {
      probes = vertx.createNetClient(new NetClientOptions().setConnectTimeout(500));
    }
    NodeInfo known = addresses.get(node);
    return (known != null ? Future.succeededFuture(known) : nodeInfo(node)).compose(ni -> ni == null ? Future.succeededFuture(false)
            : probes.connect(ni.port(), ni.host()).map(socket -> {
              socket.close();
              return false;
            }).recover(err -> {
              if (!(err instanceof java.net.ConnectException) || !String.valueOf(err.getMessage()).contains("refused")) {
                return Future.succeededFuture(false);
              }
              suspects.put(node, System.nanoTime() + SUSPECT_MS * 1_000_000L);
              LOG.info("cluster member {} refuses connections: its process is gone; its sessions may be taken over", node);
              return Future.succeededFuture(true);
            }))
        .recover(err -> Future.succeededFuture(false));
  }

  /** How many sessions this node has taken since it started (for tests). */
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
  public Future<Long> take(UUID fileId) {
    String why = minority;
    if (why != null) {
      return Future.failedFuture(new ServiceException(Kind.BUSY, "this node takes no upload session: it is not in the"
          + " majority of the cluster (" + why + "); try another node"));
    }
    String[] live = members().toArray(new String[0]);
    return endLapsedTransactions(fileId).compose(v -> pool.preparedQuery("INSERT INTO upload_sessions (file_id, owner_node, epoch)"
            + " VALUES ($1, $2, nextval('session_epochs'))"
            + " ON CONFLICT (file_id) DO UPDATE SET owner_node = EXCLUDED.owner_node, epoch = EXCLUDED.epoch"
            + " WHERE upload_sessions.owner_node = EXCLUDED.owner_node"
            + " OR upload_sessions.owner_node <> ALL($3::text[])"
            + " OR NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = upload_sessions.owner_node"
            + " AND n.lease_until > now())"
            + " RETURNING epoch")
        .execute(Tuple.of(fileId, nodeId, live))
        .map(rows -> {
          if (rows.size() == 0) {
            return null;
          }
          taken.incrementAndGet();
          return rows.iterator().next().getLong(0);
        }));
  }

  /**
   * When the file's owner row names another node whose lease has lapsed (frozen, or cut off from
   * the others), ends that node's connections that are inside a transaction
   * ({@code pg_terminate_backend}, found by their {@link #APPLICATION_NAME}): a transaction it left
   * open would hold the owner row's lock, and the take would wait for as long as the node stays
   * frozen. Ending them rolls back what that node had not committed; fenced by its lapsed lease, it
   * commits nothing more. Never fails: without the right to end connections the take only waits.
   */
  private Future<Void> endLapsedTransactions(UUID fileId) {
    return pool.preparedQuery("SELECT u.owner_node, pg_terminate_backend(a.pid) FROM upload_sessions u"
            + " JOIN nodes n ON n.node_id = u.owner_node AND n.lease_until < now()"
            + " JOIN pg_stat_activity a ON a.application_name = $2 || u.owner_node"
            + " WHERE u.file_id = $1 AND u.owner_node <> $3 AND a.xact_start IS NOT NULL")
        .execute(Tuple.of(fileId, APPLICATION_NAME, nodeId))
        .<Void>map(rows -> {
          for (Row r : rows) {
            LOG.warn("file {}: node {} held a transaction open though its lease had lapsed (frozen or cut off):"
                + " its connection was ended, this node takes the session over", fileId, r.getString(0));
          }
          return null;
        })
        .recover(err -> {
          LOG.debug("file {}: cannot end a lapsed owner's transactions: {}", fileId, err.toString());
          return Future.succeededFuture();
        });
  }

  /** The owner row of a file, or null when no session of it runs anywhere. */
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
   * The first statement of every transaction of a session: locks the file's owner row if it still
   * names this node with {@code epoch}; fails with {@link StaleSessionException} otherwise (the
   * caller rolls back and stops the session).
   */
  public Future<Void> check(SqlConnection conn, UUID fileId, long epoch) {
    return conn.preparedQuery("SELECT 1 FROM upload_sessions WHERE file_id = $1 AND owner_node = $2 AND epoch = $3"
            + " FOR UPDATE")
        .execute(Tuple.of(fileId, nodeId, epoch))
        .compose(rows -> rows.size() == 1 ? Future.succeededFuture()
            : Future.failedFuture(new StaleSessionException(fileId, epoch)));
  }

  /**
   * Reads and keeps the event-bus address of a member about to be asked, so that {@link #probe} has it at
   * once when the member falls silent (Hazelcast's map of node addresses may not answer while the
   * cluster recovers from a death).
   */
  public void remember(String node) {
    if (cluster != null && !addresses.containsKey(node)) {
      nodeInfo(node).onSuccess(ni -> {
        if (ni != null) {
          addresses.put(node, ni);
        }
      });
    }
  }

  private Future<NodeInfo> nodeInfo(String node) {
    Promise<NodeInfo> info = Promise.promise();
    cluster.getNodeInfo(node, info);
    return info.future();
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
    if (cluster == null || minority != null || !leased) {
      return Future.succeededFuture(0);
    }
    String[] live = members().toArray(new String[0]);
    return pool.preparedQuery("DELETE FROM upload_sessions u WHERE u.file_id IN (SELECT file_id FROM upload_sessions"
            + " WHERE owner_node <> ALL($1::text[]) FOR UPDATE SKIP LOCKED)"
            + " AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = u.owner_node AND n.lease_until > now())"
            + " AND EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = $2 AND n.lease_until > now())")
        .execute(Tuple.tuple().addArrayOfString(live).addString(nodeId))
        .map(rows -> {
          if (rows.rowCount() > 0) {
            LOG.info("removed {} upload session owner row(s) of nodes that are no longer cluster members", rows.rowCount());
          }
          return rows.rowCount();
        })
        .recover(err -> {
          LOG.warn("owner rows of departed nodes not removed: {}", err.getMessage());
          return Future.succeededFuture(0);
        });
  }

  /** A member left: {@link #removeDeadOwners} now and once its lease has surely lapsed. Thread-safe. */
  public void memberLeft() {
    vertx.runOnContext(v -> {
      removeDeadOwners();
      vertx.setTimer(leaseMs + 250, t -> removeDeadOwners());
    });
  }

  /** Removes the owner row of a session that stops, if it is still the one of {@code epoch}. */
  public Future<Void> release(UUID fileId, long epoch) {
    return pool.preparedQuery("DELETE FROM upload_sessions WHERE file_id = $1 AND owner_node = $2 AND epoch = $3")
        .execute(Tuple.of(fileId, nodeId, epoch)).mapEmpty();
  }

  /**
   * Writes this node's lease, then refreshes it every quarter of {@code cluster.lease_ms}; calls
   * {@code fence} (on this node's event loop) when the node must stop its sessions (see the class).
   */
  public Future<Void> startLease(java.util.function.Consumer<String> fence) {
    LOG.info("upload sessions of this node are owned as node {} (lease {} ms)", nodeId, leaseMs);
    return refresh(fence).onSuccess(v -> timer = vertx.setPeriodic(Math.max(1, leaseMs / 4), t -> {
      if (!refreshing) {
        refreshing = true;
        refresh(fence).onComplete(ar -> refreshing = false);
      }
    }));
  }

  private Future<Void> refresh(java.util.function.Consumer<String> fence) {
    return pool.preparedQuery("WITH old AS (SELECT lease_until FROM nodes WHERE node_id = $1),"
            + " valid AS (SELECT count(*) AS n FROM nodes WHERE lease_until > now())"
            + " INSERT INTO nodes (node_id, lease_until, started_at)"
            + " VALUES ($1, now() + $2 * interval '1 millisecond', now())"
            + " ON CONFLICT (node_id) DO UPDATE SET lease_until = EXCLUDED.lease_until"
            + " RETURNING (SELECT lease_until > now() FROM old), (SELECT n FROM valid)")
        .execute(Tuple.of(nodeId, leaseMs))
        .map(rows -> {
          Row r = rows.iterator().next();
          Boolean valid = r.getBoolean(0);
          long validLeases = r.getLong(1);
          int live = members().size();
          lastRefreshNanos = System.nanoTime();
          String noMajority = majority && live * 2L < validLeases
              ? "it sees " + live + " cluster member(s) of " + validLeases + " leased nodes" : null;
          if (noMajority != null && minority == null) {
            LOG.warn("node {}: no majority ({}): it stops its sessions and takes none until it sees a majority again", nodeId, noMajority);
          } else if (noMajority == null && minority != null) {
            LOG.info("node {} sees a majority of the leased nodes again", nodeId);
          }
          minority = noMajority;
          if (leased && !Boolean.TRUE.equals(valid)) {
            fence.accept("its node lease had lapsed");
          } else if (noMajority != null) {
            fence.accept("no majority: " + noMajority);
          }
          leased = true;
          return (Void) null;
        })
        .recover(err -> {
          if (leased && System.nanoTime() - lastRefreshNanos > leaseMs * 1_000_000L) {
            fence.accept("its node lease could not be refreshed: " + err.getMessage());
          }
          LOG.warn("node lease of {} not refreshed: {}", nodeId, err.getMessage());
          return Future.succeededFuture();
        });
  }

  /** Stops refreshing the lease and removes it (drain, stop). */
  public Future<Void> stopLease() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
    leased = false;
    return pool.preparedQuery("DELETE FROM nodes WHERE node_id = $1").execute(Tuple.of(nodeId)).mapEmpty();
  }

  /** A session whose owner row no longer names it: it changed nothing and stops. */
  public static final class StaleSessionException extends RuntimeException {
    StaleSessionException(UUID fileId, long epoch) {
      super("the upload session of file " + fileId + " (epoch " + epoch + ") was taken over by another node",
          null, false, false);
    }
  }
}

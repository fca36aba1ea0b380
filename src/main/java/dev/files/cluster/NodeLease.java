package dev.files.cluster;

import dev.files.db.SessionOwnerRepository;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Consumer;

/**
 * This node's lease in PostgreSQL ({@code nodes.lease_until}, database clock) and whether it sees a
 * majority. The lease ({@code cluster.lease_ms}, refreshed every quarter of it) lets other nodes take
 * over the sessions of a node that is still a Hazelcast member but no longer refreshes it (a frozen
 * process). A refresh that finds the lease had lapsed, or that cannot reach the database for longer
 * than the lease, or that sees fewer live members ({@link ClusterMembers}) than half of the nodes
 * holding a valid lease (no majority; clustered nodes only), fences this node: the {@code fence}
 * given to {@link #start} is called, and while it sees no majority {@link #minority()} says why
 * (its node then takes no session).
 */
public final class NodeLease {

  private static final Logger LOG = LoggerFactory.getLogger(NodeLease.class);

  private final Vertx vertx;
  private final SessionOwnerRepository rows;
  private final ClusterMembers members;
  private final long leaseMs;
  private long timer = -1;
  private long lastRefreshNanos;
  private boolean refreshing;
  private volatile boolean leased;
  /** Why this node may not take sessions now (no majority at the last refresh), or null. */
  private volatile String minority;

  /** @param leaseMs the node lease, ms ({@code cluster.lease_ms}) */
  public NodeLease(Vertx vertx, SessionOwnerRepository rows, ClusterMembers members, long leaseMs) {
    this.vertx = vertx;
    this.rows = rows;
    this.members = members;
    this.leaseMs = leaseMs;
  }

  /** The lease, ms ({@code cluster.lease_ms}). */
  public long leaseMs() {
    return leaseMs;
  }

  /** Whether this node has written its lease (since {@link #start}, until {@link #stop}). */
  public boolean leased() {
    return leased;
  }

  /** Why this node sees no majority (at its last refresh), or null when it does or is not clustered. */
  public String minority() {
    return minority;
  }

  /**
   * Writes this node's lease, then refreshes it every quarter of {@code cluster.lease_ms}; calls
   * {@code fence} (on this node's event loop) with the reason when the node must stop its sessions
   * (see the class). Fails only when nothing was asked yet; a refresh that fails is logged.
   */
  public Future<Void> start(Consumer<String> fence) {
    LOG.info("upload sessions of this node are owned as node {} (lease {} ms)", members.nodeId(), leaseMs);
    return refresh(fence).onSuccess(v -> timer = vertx.setPeriodic(Math.max(1, leaseMs / 4), t -> {
      if (!refreshing) {
        refreshing = true;
        refresh(fence).onComplete(ar -> refreshing = false);
      }
    }));
  }

  private Future<Void> refresh(Consumer<String> fence) {
    String nodeId = members.nodeId();
    return rows.refreshLease(nodeId, leaseMs)
        .map(r -> {
          Boolean valid = r.wasValid();
          long validLeases = r.validLeases();
          int live = members.members().size();
          lastRefreshNanos = System.nanoTime();
          String noMajority = members.clustered() && live * 2L < validLeases
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
  public Future<Void> stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
    leased = false;
    return rows.deleteLease(members.nodeId());
  }
}

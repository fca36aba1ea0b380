package dev.files.ops;

import dev.files.storage.ObjectStore;

import dev.files.db.FileRepository;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.util.concurrent.TimeUnit;

/**
 * The checks of {@code /health/live} and {@code /health/ready}. Each check answers within its timeout
 * (3 s; a check that does not answer is DOWN). The reasons in the JSON name the part that is down, never
 * a host, a path or an exception.
 */
public final class Health {

  private static final long TIMEOUT_MS = 3000;

  private Health() {
  }

  /** Liveness: one check, {@code event-loop}, UP whenever the node can answer at all. */
  public static HealthChecks live(Vertx vertx) {
    return HealthChecks.create(vertx).register("event-loop", TIMEOUT_MS, p -> p.complete(Status.OK()));
  }

  /**
   * Readiness: {@code database} (a query on the pool), {@code storage} ({@link ObjectStore#checkReady()}:
   * for a local directory, a small file written, read back and deleted in it, on a worker thread; for
   * S3, the bucket answers) and, when clustered, {@code cluster} (Hazelcast running and this node a member).
   */
  public static HealthChecks ready(Vertx vertx, FileRepository files, ObjectStore store, HazelcastClusterManager cluster) {
    HealthChecks checks = HealthChecks.create(vertx);
    checks.register("database", TIMEOUT_MS, p -> files.ping().timeout(TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .onComplete(ar -> p.complete(ar.succeeded() ? Status.OK() : down("PostgreSQL does not answer"))));
    checks.register("storage", TIMEOUT_MS, p -> store.checkReady().timeout(TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .onComplete(ar -> p.complete(ar.succeeded() ? Status.OK() : down(store.notReadyReason()))));
    if (cluster != null) {
      checks.register("cluster", TIMEOUT_MS, p -> {
        boolean up;
        try {
          up = cluster.isActive() && cluster.getHazelcastInstance().getLifecycleService().isRunning()
              && cluster.getNodes().contains(cluster.getNodeId());
        } catch (RuntimeException e) {
          up = false;
        }
        p.complete(up ? Status.OK(new JsonObject().put("members", cluster.getNodes().size()))
            : down("this node is not a member of the cluster"));
      });
    }
    return checks;
  }

  private static Status down(String reason) {
    return Status.KO(new JsonObject().put("reason", reason));
  }
}

package dev.files.ops;

import dev.files.storage.ObjectStore;
import dev.files.storage.local.LocalObjectStore;

import dev.files.db.FileRepository;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.UUID;
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
   * Readiness: {@code database} (a query on the pool), {@code storage} (for a local directory, a small
   * file written, read back and deleted in it, on a worker thread; for S3, {@link ObjectStore#probe()}:
   * the bucket answers) and, when clustered, {@code cluster} (Hazelcast running and this node a member).
   */
  public static HealthChecks ready(Vertx vertx, FileRepository files, ObjectStore store, HazelcastClusterManager cluster) {
    HealthChecks checks = HealthChecks.create(vertx);
    checks.register("database", TIMEOUT_MS, p -> files.ping().timeout(TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .onComplete(ar -> p.complete(ar.succeeded() ? Status.OK() : down("PostgreSQL does not answer"))));
    if (store instanceof LocalObjectStore local) {
      checks.register("storage", TIMEOUT_MS, p -> vertx.executeBlocking(() -> {
        probeStorage(local.root());
        return null;
      }, false).onComplete(ar -> p.complete(ar.succeeded() ? Status.OK() : down("the storage directory cannot be written"))));
    } else {
      checks.register("storage", TIMEOUT_MS, p -> store.probe().timeout(TIMEOUT_MS, TimeUnit.MILLISECONDS)
          .onComplete(ar -> p.complete(ar.succeeded() ? Status.OK() : down("the object store does not answer"))));
    }
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

  /**
   * Creates {@code root} if needed, then writes, reads back and deletes a small file in it (hidden name,
   * outside the object key space).
   *
   * @throws IOException when the directory cannot be created or written, or reads back something else
   */
  public static void probeStorage(Path root) throws IOException {
    Files.createDirectories(root);
    Path probe = root.resolve(".probe-" + UUID.randomUUID());
    byte[] data = ("probe " + System.nanoTime()).getBytes(StandardCharsets.US_ASCII);
    try {
      Files.write(probe, data);
      if (!Arrays.equals(Files.readAllBytes(probe), data)) {
        throw new IOException("what was written to " + probe + " reads back differently");
      }
    } finally {
      Files.deleteIfExists(probe);
    }
  }
}

package dev.files.upload;

import dev.files.bus.Addresses;
import dev.files.bus.InternalBus;
import dev.files.db.FileRepository;
import dev.files.ops.ServiceMetrics;
import dev.files.storage.ChunkStore;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The periodic sweep (every {@code upload.sweep_interval_ms}): asks the sessions of uploads untouched
 * for {@code upload.expire_after_ms} to abandon them (rows, chunks and stray objects go), removes
 * the objects of retired chunks whose grace has ended, and asks again for thumbnails still waiting
 * after {@code thumbnails.retry_after_ms}. Every node sweeps; the sessions serialise the
 * work per file and every step is idempotent.
 */
public final class UploadSweepVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(UploadSweepVerticle.class);
  private static final int BATCH = 200;

  private final FileRepository files;
  private final ChunkStore store;
  private final UploadSessions sessions;
  private final long thumbnailRetryMs;
  private final long orphanScanMs;
  private long lastOrphanScan = System.currentTimeMillis();
  private boolean running;

  /**
   * @param thumbnailRetryMs thumbnails still waiting after this long (ms) are asked for again
   * @param orphanScanMs     how often the whole store is scanned for objects no row refers to (ms)
   */
  public UploadSweepVerticle(FileRepository files, ChunkStore store, UploadSessions sessions, long thumbnailRetryMs,
                             long orphanScanMs) {
    this.files = files;
    this.store = store;
    this.sessions = sessions;
    this.thumbnailRetryMs = thumbnailRetryMs;
    this.orphanScanMs = orphanScanMs;
  }

  @Override
  public Future<?> start() {
    vertx.setPeriodic(sessions.settings().sweepEveryMs(), t -> sweep());
    return Future.succeededFuture();
  }

  /**
   * Removes objects older than {@code before} (epoch ms) that no chunk, retired chunk or thumbnail
   * row refers to: writes cut by a crashed node, commits that timed out, objects of files whose row
   * went without them. Younger objects are left alone: they may be an upload in progress.
   */
  private Future<Void> scanOrphans(long before) {
    lastOrphanScan = System.currentTimeMillis();
    return store.list("").compose(objects -> {
      List<String> old = objects.stream().filter(o -> o.modifiedMs() < before)
          .map(dev.files.storage.StoredObject::key).toList();
      Future<Void> chain = Future.succeededFuture();
      for (int i = 0; i < old.size(); i += 1000) {
        List<String> batch = old.subList(i, Math.min(old.size(), i + 1000));
        chain = chain.compose(v -> files.unreferenced(batch)).compose(orphans -> {
          if (!orphans.isEmpty()) {
            LOG.info("sweep: removing {} stored object(s) that no row refers to", orphans.size());
          }
          List<? extends Future<?>> deletes = orphans.stream().map(store::delete).toList();
          return Future.join(deletes).<Void>transform(ar -> {
            ServiceMetrics.of(vertx).sweepRemoved((int) deletes.stream().filter(Future::succeeded).count());
            return Future.succeededFuture();
          });
        });
      }
      return chain;
    });
  }

  /** One pass; a pass still running when the next is due is not overlapped. */
  Future<Void> sweep() {
    if (running) {
      return Future.succeededFuture();
    }
    running = true;
    long now = System.currentTimeMillis();
    long before = now - sessions.settings().expireAfterMs();
    return files.staleUploads(before, BATCH)
        .compose(ids -> {
          Future<Void> chain = Future.succeededFuture();
          for (UUID id : ids) {
            chain = chain.compose(v -> sessions.expire(id, before).<Void>mapEmpty()
                .recover(err -> {
                  LOG.warn("sweep: file {} not expired: {}", id, err.getMessage());
                  return Future.succeededFuture();
                }));
          }
          return chain;
        })
        .compose(v -> files.dueRetired(now, BATCH * 5))
        .compose(keys -> {
          List<Future<String>> removed = new ArrayList<>();
          for (String key : keys) {
            removed.add(store.delete(key).map(key));
          }
          return Future.join(removed).transform(ar -> {
            List<String> gone = removed.stream().filter(Future::succeeded).map(Future::result).toList();
            ServiceMetrics.of(vertx).sweepRemoved(gone.size());
            return gone.isEmpty() ? Future.<Void>succeededFuture() : files.forgetRetired(gone);
          });
        })
        .compose(v -> files.waitingThumbnails(now - thumbnailRetryMs, BATCH))
        .map(waiting -> {
          for (var w : waiting) { // dropped by a full queue, or lost with a node: ask again
            vertx.eventBus().send(Addresses.THUMBNAILS, new JsonObject().put("file_id", w.getString(0))
                .put("generation", w.getInteger(1)), InternalBus.of(vertx).options());
          }
          return (Void) null;
        })
        .compose(v -> now - lastOrphanScan >= orphanScanMs ? scanOrphans(before) : Future.<Void>succeededFuture())
        .onFailure(err -> LOG.warn("sweep failed: {}", err.getMessage()))
        .eventually(() -> {
          running = false;
          return Future.succeededFuture();
        });
  }
}

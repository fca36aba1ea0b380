package dev.files.upload;

import dev.files.bus.Addresses;
import dev.files.bus.InternalBus;
import dev.files.db.AdvisoryLocks;
import dev.files.db.FileRepository;
import dev.files.ops.ServiceMetrics;
import dev.files.crypto.EncryptedObjects;
import dev.files.storage.ObjectInfo;
import dev.files.storage.ObjectPage;
import dev.files.storage.StoreSide;
import io.vertx.core.Future;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.UUID;

/**
 * The periodic sweep (every {@code upload.sweep_interval_ms}): asks the sessions of uploads untouched
 * for {@code upload.expire_after_ms} to abandon them (rows, chunks and stray objects go), removes
 * the objects of retired chunks whose grace has ended, and asks again for thumbnails still waiting
 * after {@code thumbnails.retry_after_ms}. Every {@code upload.orphan_scan_interval_ms} it also
 * pages through the store's listing ({@code storage.list_page_size} keys a page, never the whole
 * listing in memory) and removes objects no row refers to that are older than the longest possible
 * commit ({@link #orphanAgeMs}).
 *
 * <p>In a cluster one node sweeps at a time: a pass runs only while it holds the PostgreSQL advisory
 * lock {@link #SWEEP_LOCK} ({@code pg_try_advisory_lock} on a connection of its own, opened for the
 * pass outside the pool so that the pass's own queries never wait for it, and closed at the end,
 * which releases the lock, as PostgreSQL does when a node dies); a node that does not get it skips
 * that pass. The sessions serialise the work per file and every step is idempotent.
 */
public final class UploadSweepVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(UploadSweepVerticle.class);
  private static final int BATCH = 200;
  /** The key of the advisory lock held by the node that sweeps (any fixed number; "files" in ASCII). */
  public static final long SWEEP_LOCK = 0x66696c6573L;
  /** How long a temporary file of a local write may stay before the sweep removes it (a crashed write): 1 day. */
  private static final long TEMPORARY_MAX_AGE_MS = 24L * 3600 * 1000;

  private final FileRepository files;
  private final EncryptedObjects store;
  private final UploadSessions sessions;
  private final long thumbnailRetryMs;
  private final ServiceMetrics metrics;
  private final InternalBus bus;
  private final long orphanScanMs;
  private final long orphanAgeMs;
  private long lastOrphanScan = System.currentTimeMillis();
  private boolean running;
  private final int pageSize;
  private final PgConnectOptions lockDb;
  /** Passes this node ran (it held the lock) and skipped (another node held it); for tests and logs. */
  private int passes;
  private int skipped;

  /**
   * What the sweep does besides the sessions' timings ({@link SessionSettings}).
   *
   * @param thumbnailRetryMs thumbnails still waiting after this long (ms) are asked for again ({@code thumbnails.retry_after_ms})
   * @param orphanScanMs     how often the whole store is scanned for objects no row refers to, ms
   *                         ({@code upload.orphan_scan_interval_ms})
   * @param pageSize         keys per listing page of the orphan scan, 1 to 1000 ({@code storage.list_page_size})
   * @param orphanAgeMs      an object no row names is removed once older than this, ms ({@link #orphanAgeMs})
   */
  public record Settings(long thumbnailRetryMs, long orphanScanMs, int pageSize, long orphanAgeMs) {
  }

  /**
   * @param lockDb   the database ({@code db.url}) the lock's own connection is opened to
   * @param settings its intervals, page size and orphan age
   * @param metrics  the node's metrics (objects removed)
   * @param bus      the node's internal bus (thumbnail requests sent again)
   */
  public UploadSweepVerticle(FileRepository files, EncryptedObjects store, UploadSessions sessions,
                             PgConnectOptions lockDb, Settings settings, ServiceMetrics metrics, InternalBus bus) {
    this.metrics = metrics;
    this.bus = bus;
    this.orphanAgeMs = settings.orphanAgeMs();
    this.pageSize = settings.pageSize();
    this.lockDb = lockDb;
    this.files = files;
    this.store = store;
    this.sessions = sessions;
    this.thumbnailRetryMs = settings.thumbnailRetryMs();
    this.orphanScanMs = settings.orphanScanMs();
  }

  @Override
  public Future<?> start() {
    vertx.setPeriodic(sessions.settings().sweepEveryMs(), t -> sweep());
    return Future.succeededFuture();
  }

  /**
   * The age (ms) after which an object that no row names is an orphan: older than the longest
   * possible commit, so no commit still running can name it. An object's time in the store is when
   * its write ended, or (S3 multipart) began, at most {@code http.body_timeout_ms} before the commit
   * was first asked (a whole body takes no longer; when 0, unbounded, {@code upload.expire_after_ms}
   * stands in); a commit is decided at most {@link Commits#maxCommitAgeMs} after that, else refused;
   * its COMMIT and the clocks of the nodes, PostgreSQL and the store get one more
   * {@code upload.commit_timeout_ms}:
   * {@code body_timeout + max_commit_age + commit_timeout}. Defaults: 3 600 000 + 30 000 + 30 000 ms
   * (61 min).
   */
  public static long orphanAgeMs(long bodyTimeoutMs, long expireAfterMs, SessionSettings settings) {
    long body = bodyTimeoutMs > 0 ? bodyTimeoutMs : expireAfterMs;
    return body + Commits.maxCommitAgeMs(settings) + settings.timeoutMs();
  }

  /**
   * Removes objects older than {@code before} (epoch ms) that no chunk, retired chunk or thumbnail
   * row refers to: writes cut by a crashed node, commits that timed out, objects of files whose row
   * went without them. Younger objects are left alone: they may be an upload in progress.
   */
  private Future<Void> scanOrphans(long before) {
    lastOrphanScan = System.currentTimeMillis();
    Future<Void> temporaries = store.store().removeTemporaries(TEMPORARY_MAX_AGE_MS).map(n -> {
      if (n > 0) {
        LOG.info("sweep: removed {} temporary file(s) of interrupted writes", n);
      }
      return null;
    });
    return temporaries.compose(v -> scanPage(before, null));
  }

  /** One page of the listing from {@code token}: its old unreferenced objects removed, then the next page. */
  private Future<Void> scanPage(long before, String token) {
    return store.store().list("", token, pageSize).compose((ObjectPage page) -> {
      List<String> old = page.objects().stream().filter(o -> o.modifiedMs() < before && !StoreSide.isMarker(o.key()))
          .map(ObjectInfo::key).toList();
      Future<Void> done = old.isEmpty() ? Future.succeededFuture() : files.unreferenced(old).compose(orphans -> {
        if (orphans.isEmpty()) {
          return Future.succeededFuture();
        }
        LOG.info("sweep: removing {} stored object(s) that no row refers to", orphans.size());
        return store.delete(orphans).map(x -> {
          metrics.sweepRemoved(orphans.size());
          return (Void) null;
        });
      });
      return done.compose(v -> page.hasNext() ? scanPage(before, page.next()) : Future.succeededFuture());
    });
  }

  /**
   * One pass, while this node holds the sweep lock; a pass still running when the next is due is not
   * overlapped, and a node that does not get the lock skips the pass.
   */
  Future<Void> sweep() {
    if (running) {
      return Future.succeededFuture();
    }
    running = true;
    return PgConnection.connect(vertx, lockDb).compose(conn -> AdvisoryLocks.tryLock(conn, SWEEP_LOCK)
            .compose(locked -> {
              if (!locked) {
                skipped++;
                LOG.debug("sweep: another node is sweeping; this pass is skipped");
                return Future.<Void>succeededFuture();
              }
              passes++;
              return pass().eventually(() -> unlock(conn));
            })
            .eventually(conn::close))
        .onFailure(err -> LOG.warn("sweep failed: {}", err.getMessage()))
        .eventually(() -> {
          running = false;
          return Future.succeededFuture();
        });
  }

  private Future<Void> unlock(SqlConnection conn) {
    return AdvisoryLocks.unlock(conn, SWEEP_LOCK)
        .recover(err -> Future.succeededFuture()); // closing the connection releases it too
  }

  /** Passes run by this node, and passes skipped because another node held the lock. */
  public int[] passes() {
    return new int[]{passes, skipped};
  }

  private Future<Void> pass() {
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
        .compose(keys -> keys.isEmpty() ? Future.<Void>succeededFuture() : store.delete(keys).compose(x -> {
          metrics.sweepRemoved(keys.size());
          return files.forgetRetired(keys); // on a failure they stay listed: deleting again is safe
        }))
        .compose(v -> files.waitingThumbnails(now - thumbnailRetryMs, BATCH))
        .map(waiting -> {
          for (var w : waiting) { // dropped by a full queue, or lost with a node: ask again
            vertx.eventBus().send(Addresses.THUMBNAILS, new JsonObject().put("file_id", w.getString(0))
                .put("generation", w.getInteger(1)), bus.options());
          }
          return (Void) null;
        })
        .compose(v -> now - lastOrphanScan >= orphanScanMs ? scanOrphans(now - orphanAgeMs) : Future.<Void>succeededFuture());
  }
}

package dev.files.thumbnail;

import dev.files.bus.Addresses;
import dev.files.content.FileContent;
import dev.files.bus.InternalBus;
import dev.files.db.EventRepository;
import dev.files.db.FileRepository;
import dev.files.events.Outbox;
import dev.files.model.FileRecord;
import dev.files.ops.ServiceMetrics;
import dev.files.crypto.ChunkKeys;
import dev.files.crypto.EncryptedObjects;
import dev.files.crypto.EncryptedWrite;
import dev.files.crypto.DataKeys;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.UUID;

/**
 * Makes thumbnails ({@code files.thumbnails}, message {@code {"file_id", "generation"}}, no reply):
 * claims the job ({@link ThumbnailClaims}), reads the file's plaintext ({@link FileContent}, at most
 * {@code thumbnails.max_source_bytes}), runs the {@link Thumbnailer} on a thread of its own within a
 * {@link Budget} ({@code thumbnails.timeout_ms}, {@code thumbnails.max_job_bytes}), stores the
 * thumbnail encrypted like every chunk, records it if that generation is still live (with the event
 * {@code file.thumbnails.ready} in the outbox, same transaction, whatever the status: done, none or
 * error), and publishes {@code files.thumbnails.ready.<file_id>} (internal: the wait of {@code thumbnail_sync}).
 *
 * <p>At most {@code concurrency} thumbnails are made at once and {@code queue} wait; requests
 * beyond that are dropped and the file stays {@code "waiting"} until the periodic sweep asks again,
 * so uploads are never slowed by thumbnails. A request for a job this node holds already is ignored.
 *
 * <p><b>Deadline.</b> The decoders run on this verticle's own daemon threads (not Vert.x's worker
 * pool: a thread that does not stop must not hold a pool thread others need). At the job's deadline
 * the budget is stopped: the decoders' cooperative stops end the work (the PDF operator hook, an
 * image reader's {@code abort()}, an external tool killed). A thread still running
 * {@value #GRACE_MS} ms later is abandoned: the job is recorded as {@code "error"}, its slot goes to
 * the next job on a new thread, the abandoned thread is counted
 * ({@code files_thumbnail_abandons_total}, {@code files_thumbnail_abandoned_threads}) and logged once, and its result is dropped when it
 * ends. While {@code concurrency} threads are abandoned at once, no new job starts (they may still
 * hold memory and CPU): requests wait in the queue.
 *
 * <p><b>Failover.</b> When a member leaves the cluster ({@link #memberLeft}), and once at start for
 * members gone while this node was down, the waiting jobs they had claimed are released and taken by
 * the survivor that released them: picked up within a second or so, not at the sweep.
 */
public final class ThumbnailVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(ThumbnailVerticle.class);

  /** How long a stopped decoder gets to end before its thread is abandoned, ms. */
  static final long GRACE_MS = 2_000;

  /**
   * Limits of the worker (configuration keys {@code thumbnails.*}, built by {@code dev.files.Settings}).
   *
   * @param maxWidth the width of the box a thumbnail fits in, pixels ({@code max_width})
   * @param maxHeight the height of that box, pixels ({@code max_height})
   * @param maxPixels larger images are not decoded, pixels ({@code max_pixels})
   * @param maxSourceBytes larger files get no thumbnail, bytes ({@code max_source_bytes})
   * @param externalTools whether {@code ffmpeg} and {@code soffice} are used when installed ({@code external_tools})
   * @param concurrency jobs made at a time, on the worker's own threads ({@code concurrency})
   * @param queue jobs waiting at most; requests beyond are dropped and the sweep asks again ({@code queue})
   * @param timeoutMs the wall-clock deadline of one job, from its start, ms ({@code timeout_ms})
   * @param maxJobBytes the memory estimate one job may go ahead with, bytes ({@code max_job_bytes})
   */
  public record Settings(int maxWidth, int maxHeight, long maxPixels, long maxSourceBytes, boolean externalTools,
                         int concurrency, int queue, long timeoutMs, long maxJobBytes) {
  }

  private final ServiceMetrics metrics;
  private final InternalBus bus;
  private final Outbox outbox;
  private final FileRepository files;
  private final EncryptedObjects store;
  private final DataKeys dataKeys;
  private FileContent content; // made at start: it needs the verticle's Vert.x
  private final Settings settings;
  private final ThumbnailClaims claims;
  private final Thumbnailer thumbnailer;
  private final java.util.ArrayDeque<JsonObject> waiting = new java.util.ArrayDeque<>();
  /** Jobs this node holds ("file_id/generation"): claimed, waiting or running. */
  private final java.util.Set<String> held = new java.util.HashSet<>();
  /** Budgets of the jobs running, to stop them when the verticle stops. */
  private final java.util.Set<Budget> running = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.atomic.AtomicInteger threadNumber = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "files-thumbnail-" + threadNumber.incrementAndGet());
    t.setDaemon(true);
    return t;
  });
  private int active;
  private volatile int abandoned; // read by the metrics gauge
  private Runnable countAbandoned = () -> { };
  private volatile Context ctx; // read by memberLeft on a Hazelcast thread

  /**
   * @param metrics the node's metrics (queue, threads abandoned, thumbnails made by status)
   * @param bus     the node's internal event bus: the guard of {@code files.thumbnails} and the options of
   *                what this sends on it
   * @param outbox  wakes the node's relay after a result was recorded with its event
   */
  public ThumbnailVerticle(FileRepository files, EncryptedObjects store, DataKeys dataKeys, Settings settings,
                           ThumbnailClaims claims, ServiceMetrics metrics, InternalBus bus, Outbox outbox) {
    this.metrics = metrics;
    this.bus = bus;
    this.outbox = outbox;
    this.files = files;
    this.store = store;
    this.dataKeys = dataKeys;
    this.settings = settings;
    this.claims = claims;
    this.thumbnailer = new Thumbnailer(settings.maxWidth(), settings.maxHeight(), settings.maxPixels(),
        settings.maxSourceBytes(), settings.externalTools());
  }

  @Override
  public Future<?> start() {
    ctx = context;
    content = new FileContent(vertx, store, dataKeys);
    metrics.thumbnailQueue(waiting::size);
    countAbandoned = metrics.thumbnailThreadsAbandoned(() -> abandoned);
    return vertx.eventBus().<JsonObject>consumer(Addresses.THUMBNAILS, bus.guard(this::receive)).completion()
        .andThen(v -> pickUp("members gone while this node was down", claims.releaseGone()));
  }

  @Override
  public Future<?> stop() {
    running.forEach(Budget::stop);
    threads.shutdownNow();
    return Future.succeededFuture();
  }

  /**
   * A cluster member left: the waiting thumbnail jobs it had claimed are released and asked for again
   * (by one survivor: the release is one conditional statement). Callable from any thread.
   */
  public void memberLeft(String nodeId) {
    Context c = ctx;
    if (c != null && !nodeId.equals(claims.nodeId())) {
      c.runOnContext(v -> pickUp("node " + nodeId + " left the cluster", claims.release(nodeId)));
    }
  }

  /**
   * Takes released jobs here: a send over the clustered bus could still be routed to the member that
   * left (its registrations go a moment later) and be lost. Jobs beyond this node's queue are sent to
   * whichever worker the bus chooses.
   */
  private void pickUp(String why, Future<List<JsonObject>> released) {
    released.onSuccess(jobs -> {
      if (!jobs.isEmpty()) {
        LOG.info("{}: asking again for the {} thumbnail job(s) it had taken", why, jobs.size());
      }
      for (JsonObject job : jobs) {
        if (!take(job)) {
          vertx.eventBus().send(Addresses.THUMBNAILS, job, bus.options());
        }
      }
    }).onFailure(err -> LOG.warn("{}: its thumbnail jobs were not released ({}); the sweep asks for them later",
        why, err.getMessage()));
  }

  private void receive(Message<JsonObject> msg) {
    take(msg.body());
  }

  /**
   * Claims a job and queues it, unless this node holds it already; answers false when the queue is
   * full (the job is dropped: the sweep asks again).
   */
  private boolean take(JsonObject job) {
    UUID fileId;
    int generation;
    try {
      fileId = UUID.fromString(job.getString("file_id"));
      generation = job.getInteger("generation");
    } catch (RuntimeException e) {
      LOG.warn("thumbnail request ignored: {}", e.getMessage());
      return true;
    }
    String key = fileId + "/" + generation;
    if (held.contains(key)) {
      return true; // queued or running here already
    }
    if (held.size() >= settings.concurrency() + settings.queue()) {
      LOG.debug("thumbnail queue full: {} stays waiting until the sweep asks again", fileId);
      return false;
    }
    held.add(key);
    claims.claim(fileId, generation).onComplete(ar -> {
      if (ar.failed() || !ar.result()) { // gone, overwritten, done already; or the database failed: the sweep asks again
        held.remove(key);
        return;
      }
      waiting.add(job);
      pump();
    });
    return true;
  }

  /** Starts waiting jobs while a slot is free and fewer than {@code concurrency} threads are abandoned. */
  private void pump() {
    while (active < settings.concurrency() && abandoned < settings.concurrency() && !waiting.isEmpty()) {
      run(waiting.poll());
    }
  }

  private void run(JsonObject job) {
    active++;
    UUID fileId = UUID.fromString(job.getString("file_id"));
    int generation = job.getInteger("generation");
    Budget budget = new Budget(settings.timeoutMs(), settings.maxJobBytes());
    make(fileId, generation, budget)
        .onFailure(err -> LOG.warn("thumbnail of file {} failed: {}", fileId, err.getMessage()))
        .onComplete(ar -> {
          active--;
          held.remove(fileId + "/" + generation);
          pump();
        });
  }

  /**
   * Runs {@code work} on a thread of this verticle within {@code budget}: at the deadline the budget
   * is stopped, and a thread still running {@link #GRACE_MS} later is abandoned (the answer is then an
   * error result). Completes on this verticle's context.
   */
  private Future<Thumbnailer.Result> decode(UUID fileId, Budget budget, java.util.function.Supplier<Thumbnailer.Result> work) {
    Promise<Thumbnailer.Result> answer = Promise.promise();
    java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
    boolean[] left = {false}; // abandoned: read and written on this context only
    long started = System.nanoTime();
    long[] timer = {-1};
    running.add(budget);
    try {
      threads.execute(() -> {
        Thumbnailer.Result r;
        try {
          r = work.get();
        } catch (Throwable t) { // the thumbnailer answers every failure as a result; this is a last resort
          r = new Thumbnailer.Result(Thumbnailer.Result.ERROR, Kind.NONE, null, t.toString());
        }
        ended.set(true);
        running.remove(budget);
        Thumbnailer.Result result = r;
        ctx.runOnContext(v -> {
          vertx.cancelTimer(timer[0]);
          if (left[0]) {
            abandoned--;
            LOG.info("the abandoned thumbnail thread of file {} ended after {} ms", fileId,
                (System.nanoTime() - started) / 1_000_000);
            pump();
          } else {
            answer.tryComplete(result);
          }
        });
      });
    } catch (java.util.concurrent.RejectedExecutionException e) { // stopping
      running.remove(budget);
      return Future.failedFuture("the thumbnail worker is stopping");
    }
    timer[0] = vertx.setTimer(Math.max(1, Math.min(budget.remainingMs(), Long.MAX_VALUE / 2_000_000)), t -> {
      budget.stop();
      timer[0] = vertx.setTimer(GRACE_MS, t2 -> {
        if (ended.get() || answer.future().isComplete()) {
          return;
        }
        left[0] = true;
        abandoned++;
        countAbandoned.run();
        LOG.warn("thumbnail of file {}: {}; its decoder did not stop within {} ms: its thread is abandoned"
            + " ({} abandoned now)", fileId, budget.reason(), GRACE_MS, abandoned);
        answer.tryComplete(new Thumbnailer.Result(Thumbnailer.Result.ERROR, Kind.NONE, null,
            budget.reason() + "; the decoder did not stop and its thread was abandoned"));
      });
    });
    return answer.future();
  }

  private Future<Void> make(UUID fileId, int generation, Budget budget) {
    return files.findWithChunks(fileId).compose(found -> {
      FileRecord f = found == null ? null : found.file();
      if (f == null || f.generation() == null || f.generation() != generation || !"waiting".equals(f.thumbnailsStatus())) {
        return Future.succeededFuture(); // deleted, overwritten, or done already
      }
      if (f.size() > settings.maxSourceBytes()) {
        return record(f, Thumbnailer.Result.NONE, null);
      }
      FileContent.Content content;
      try {
        content = this.content.of(f, found.chunks());
      } catch (java.security.GeneralSecurityException e) {
        return record(f, Thumbnailer.Result.ERROR, null);
      }
      return content.readAll()
          .compose(bytes -> {
            byte[] plain = array(bytes);
            int length = bytes.length();
            // the thumbnail's object is opened while the image is decoded: one wait less after it
            String key = ChunkKeys.newThumbnailKey(f.id());
            Future<EncryptedWrite> opened = store.create(key, content.thumbnailCipher(0));
            return decode(fileId, budget, () -> thumbnailer.make(
                () -> new Images.Source(plain, length), length, f.mime(), f.name(), budget))
                .transform(made -> {
                  Thumbnailer.Result result = made.result();
                  if (made.succeeded() && result.done()) {
                    return save(opened, key, result.thumbnail()).compose(row -> record(f, Thumbnailer.Result.DONE, row));
                  }
                  Future<Void> discarded = opened.compose(EncryptedWrite::abort, err -> Future.succeededFuture());
                  if (made.failed()) {
                    return discarded.transform(x -> Future.failedFuture(made.cause()));
                  }
                  LOG.info("file {}: no thumbnail ({}): {}", fileId, result.status(), result.reason());
                  return discarded.transform(x -> record(f, result.status(), null));
                });
          });
    });
  }

  /** The bytes of {@code b}: its own array when it has one (no copy of the file), else a copy. */
  private static byte[] array(Buffer b) {
    io.netty.buffer.ByteBuf buf = ((io.vertx.core.internal.buffer.BufferInternal) b).getByteBuf();
    return buf.hasArray() && buf.arrayOffset() == 0 && buf.readerIndex() == 0 ? buf.array() : b.getBytes();
  }

  /** Writes the thumbnail into its opened object under {@code key} and commits it; aborts it on failure. */
  private Future<FileRepository.ThumbnailRow> save(Future<EncryptedWrite> opened, String key, Thumbnail t) {
    return opened
        .compose(write -> write.write(Buffer.buffer(t.bytes())).compose(v -> write.commit())
            .recover(err -> write.abort().transform(x -> Future.failedFuture(err))))
        .map(stored -> new FileRepository.ThumbnailRow(0, key, t.type(), t.bytes().length, t.width(), t.height()));
  }

  private Future<Void> record(FileRecord f, String status, FileRepository.ThumbnailRow row) {
    JsonArray descriptors = new JsonArray();
    if (row != null) {
      descriptors.add(new JsonObject().put("index", 0).put("id", f.generation() + "-0").put("type", row.type())
          .put("size", row.size()).put("width", row.width()).put("height", row.height())
          .put("url", f.path() + "/thumbnails/0"));
    }
    return files.recordThumbnails(f.id(), f.generation(), status, descriptors, row == null ? List.of() : List.of(row),
            conn -> files.find(conn, f.id()).compose(now -> EventRepository.insert(conn,
                new EventRepository.NewEvent(Outbox.THUMBNAILS_READY, f.id(), f.companyId(), now.toResource()))))
        .compose(recorded -> {
          metrics.thumbnail(status);
          if (!recorded && row != null) {
            return store.delete(row.storageKey()); // the file changed meanwhile: this thumbnail is nobody's
          }
          if (recorded) {
            outbox.wake();
          }
          vertx.eventBus().publish(Addresses.thumbnailsReady(f.id()), new JsonObject()
              .put("file_id", f.id().toString()).put("status", status), bus.options());
          return Future.succeededFuture();
        });
  }
}

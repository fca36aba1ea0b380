package dev.files.thumbnail;

import com.google.crypto.tink.StreamingAead;
import dev.files.bus.Addresses;
import dev.files.bus.InternalBus;
import dev.files.db.FileRepository;
import dev.files.events.Outbox;
import dev.files.model.ChunkRecord;
import dev.files.model.FileRecord;
import dev.files.ops.ServiceMetrics;
import dev.files.storage.ChunkKeys;
import dev.files.storage.EncryptedObjects;
import dev.files.storage.EncryptedWrite;
import dev.files.storage.DataKeys;
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
 * reads the file's plaintext (at most {@code thumbnails.max_source_bytes}), runs the
 * {@link Thumbnailer} on a worker thread of Vert.x's default pool (never a named pool: a named pool
 * that is closed later breaks the clustered event bus in Vert.x 5.0.7), stores the thumbnail
 * encrypted like every chunk, records it if that generation is still live (with the event
 * {@code file.thumbnails.ready} in the outbox, same transaction, whatever the status: done, none or
 * error), and publishes {@code files.thumbnails.ready.<file_id>} (internal: the wait of {@code thumbnail_sync}).
 *
 * <p>At most {@code concurrency} thumbnails are made at once and {@code queue} wait; requests
 * beyond that are dropped and the file stays {@code "waiting"} until the periodic sweep asks again,
 * so uploads are never slowed by thumbnails.
 */
public final class ThumbnailVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(ThumbnailVerticle.class);

  /** Limits of the worker (configuration keys {@code thumbnails.*}). */
  public record Settings(int maxWidth, int maxHeight, long maxPixels, long maxSourceBytes, boolean externalTools,
                         int concurrency, int queue) {
  }

  private final FileRepository files;
  private final EncryptedObjects store;
  private final DataKeys dataKeys;
  private final Settings settings;
  private final Thumbnailer thumbnailer;
  private int active;
  private final java.util.ArrayDeque<JsonObject> waiting = new java.util.ArrayDeque<>();

  public ThumbnailVerticle(FileRepository files, EncryptedObjects store, DataKeys dataKeys, Settings settings) {
    this.files = files;
    this.store = store;
    this.dataKeys = dataKeys;
    this.settings = settings;
    this.thumbnailer = new Thumbnailer(settings.maxWidth(), settings.maxHeight(), settings.maxPixels(),
        settings.maxSourceBytes(), settings.externalTools());
  }

  @Override
  public Future<?> start() {
    ServiceMetrics.of(vertx).thumbnailQueue(waiting::size);
    return vertx.eventBus().<JsonObject>consumer(Addresses.THUMBNAILS, InternalBus.of(vertx).guard(this::receive)).completion();
  }

  private void receive(Message<JsonObject> msg) {
    if (active >= settings.concurrency()) {
      if (waiting.size() >= settings.queue()) {
        LOG.debug("thumbnail queue full: {} stays waiting until the sweep asks again", msg.body().getString("file_id"));
        return;
      }
      waiting.add(msg.body());
      return;
    }
    run(msg.body());
  }

  private void run(JsonObject job) {
    active++;
    UUID fileId = UUID.fromString(job.getString("file_id"));
    int generation = job.getInteger("generation");
    make(fileId, generation)
        .onFailure(err -> LOG.warn("thumbnail of file {} failed: {}", fileId, err.getMessage()))
        .onComplete(ar -> {
          active--;
          JsonObject next = waiting.poll();
          if (next != null) {
            run(next);
          }
        });
  }

  private Future<Void> make(UUID fileId, int generation) {
    return files.findWithChunks(fileId).compose(found -> {
      FileRecord f = found == null ? null : found.file();
      if (f == null || f.generation() == null || f.generation() != generation || !"waiting".equals(f.thumbnailsStatus())) {
        return Future.succeededFuture(); // deleted, overwritten, or done already
      }
      if (f.size() > settings.maxSourceBytes()) {
        return record(f, Thumbnailer.Result.NONE, null);
      }
      StreamingAead aead;
      try {
        aead = dataKeys.unwrap(f);
      } catch (java.security.GeneralSecurityException e) {
        return record(f, Thumbnailer.Result.ERROR, null);
      }
      return plaintext(f, aead, found.chunks())
          .compose(bytes -> {
            byte[] plain = array(bytes);
            int length = bytes.length();
            // the thumbnail's object is opened while the image is decoded: one wait less after it
            String key = ChunkKeys.prefix(f.id()) + UUID.randomUUID() + ".thumb";
            Future<EncryptedWrite> opened = store.create(key, DataKeys.thumbnailCipher(aead, f.id(), f.generation(), 0));
            return vertx.executeBlocking(() -> thumbnailer.make(
                () -> new Images.Source(plain, length), length, f.mime(), f.name()), false)
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

  /** The whole plaintext of the live generation, chunk after chunk. */
  private Future<Buffer> plaintext(FileRecord f, StreamingAead aead, List<ChunkRecord> chunks) {
    Buffer all = Buffer.buffer((int) f.size());
    Future<Void> chain = Future.succeededFuture();
    for (ChunkRecord c : chunks) {
      if (c.size() == 0) {
        continue;
      }
      chain = chain.compose(v -> store.read(c.storageKey(), c.size(), 0, c.size(),
          DataKeys.cipher(aead, f.id(), f.generation(), c.chunkNumber())).compose(read -> {
        Promise<Void> done = Promise.promise();
        read.exceptionHandler(done::tryFail).endHandler(x -> done.tryComplete()).handler(all::appendBuffer);
        return done.future().eventually(read::close);
      }));
    }
    return chain.map(all);
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
            conn -> files.find(conn, f.id()).compose(now -> Outbox.write(conn,
                Outbox.event(Outbox.THUMBNAILS_READY, f.id(), f.companyId(), now.toResource()))))
        .compose(recorded -> {
          ServiceMetrics.of(vertx).thumbnail(status);
          if (!recorded && row != null) {
            return store.delete(row.storageKey()); // the file changed meanwhile: this thumbnail is nobody's
          }
          if (recorded) {
            Outbox.wake(vertx);
          }
          vertx.eventBus().publish(Addresses.thumbnailsReady(f.id()), new JsonObject()
              .put("file_id", f.id().toString()).put("status", status), InternalBus.of(vertx).options());
          return Future.succeededFuture();
        });
  }
}

package dev.files.storage;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

/**
 * The store identity kept as the object {@value StoreSide#OBJECT_KEY} (one line, the UUID), for a
 * store with no place of its own outside its key space (S3): written with the store's create-only
 * write, so the first writer wins. It is not a chunk: the orphan scan leaves it alone
 * ({@link StoreSide#isMarker(String)}). Looked for through one {@link ObjectStore#list} page.
 */
public final class IdentityObject {

  /** A marker object larger than this (bytes) cannot hold a UUID. */
  private static final long MAX_BYTES = 100;

  private IdentityObject() {
  }

  /**
   * The identity recorded in {@code store}, or null when there is none.
   *
   * @param location where the identity is kept, for the message of a marker that holds no UUID
   * @throws IllegalStateException (failed future) when the object does not hold a UUID
   */
  public static Future<UUID> read(ObjectStore store, String location) {
    String key = StoreSide.OBJECT_KEY;
    return store.list(key, null, 1).compose(page -> {
      if (page.objects().isEmpty() || !page.objects().get(0).key().equals(key)) {
        return Future.succeededFuture(null);
      }
      long size = page.objects().get(0).size();
      if (size > MAX_BYTES) {
        return Future.failedFuture(new IllegalStateException(location + " does not hold a store identity (a UUID)"));
      }
      return store.read(key, 0, size).compose(r -> {
        Buffer all = Buffer.buffer();
        Promise<UUID> done = Promise.promise();
        r.handler(all::appendBuffer);
        r.exceptionHandler(done::tryFail);
        r.endHandler(v -> {
          String text = all.toString(StandardCharsets.UTF_8).strip();
          try {
            done.tryComplete(UUID.fromString(text));
          } catch (IllegalArgumentException e) {
            done.tryFail(new IllegalStateException(location + " does not hold a store identity (a UUID)"));
          }
        });
        return done.future().eventually(r::close);
      });
    });
  }

  /**
   * Records {@code id} in {@code store} unless an identity is recorded already.
   *
   * @return the identity the store holds afterwards ({@code id}, or the one another node recorded first)
   */
  public static Future<UUID> recordIfAbsent(Vertx vertx, ObjectStore store, String location, UUID id) {
    PushStream body = new PushStream((ContextInternal) vertx.getOrCreateContext(), () -> {
    });
    body.push(List.of(Buffer.buffer(id + "\n")));
    body.end();
    return store.write(StoreSide.OBJECT_KEY, body).map(n -> id).recover(err -> {
      if (err instanceof ObjectStoreException e && e.reason() == ObjectStoreException.Reason.EXISTS) {
        return read(store, location); // another node recorded one first
      }
      return Future.failedFuture(err);
    });
  }
}

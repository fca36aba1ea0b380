package dev.files.storage;

import dev.files.storage.local.LocalObjectStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The store's side of the store identity (see {@code StoreBinding}) and what the binding needs to
 * know of the store's objects, for any {@link ObjectStore}.
 *
 * <ul>
 *   <li>Local directory: the identity is the file {@value StoreMarker#FILE} in the directory
 *       ({@link StoreMarker}), outside the key space.</li>
 *   <li>Any other store (S3): the identity is the object {@value #OBJECT_KEY} (one line, the UUID),
 *       written with the store's create-only write, so the first writer wins. It is not a chunk:
 *       the orphan scan leaves it alone ({@link #isMarker(String)}).</li>
 * </ul>
 * Objects are looked for through {@link ObjectStore#list} pages (never the whole listing).
 */
public final class StoreSide {

  /** The key of the identity object in a store that is not a local directory. */
  public static final String OBJECT_KEY = "store-id";

  private final Vertx vertx;
  private final ObjectStore store;
  private final String description;
  private final String setting;

  /**
   * @param description the store as the operator knows it, for messages ({@code storage.local.path /srv/files})
   * @param setting     the settings to check, for messages ({@code storage.local.path (FILES_STORAGE_LOCAL_PATH)})
   */
  public StoreSide(Vertx vertx, ObjectStore store, String description, String setting) {
    this.vertx = vertx;
    this.store = store;
    this.description = description;
    this.setting = setting;
  }

  /** True for the key of the identity object: never an orphan. */
  public static boolean isMarker(String key) {
    return OBJECT_KEY.equals(key);
  }

  /** The store as the operator knows it. */
  public String description() {
    return description;
  }

  /** The settings that choose the store. */
  public String setting() {
    return setting;
  }

  /** Where the identity is kept, for the log. */
  public String markerLocation() {
    return store instanceof LocalObjectStore local ? local.root().resolve(StoreMarker.FILE).toString()
        : description + " object " + OBJECT_KEY;
  }

  /** The identity recorded in the store, or null. Fails when the marker holds no UUID. */
  public Future<UUID> readId() {
    if (store instanceof LocalObjectStore local) {
      return vertx.executeBlocking(() -> StoreMarker.read(local.root()), false);
    }
    return store.list(OBJECT_KEY, null, 1).compose(page -> {
      if (page.objects().isEmpty() || !page.objects().get(0).key().equals(OBJECT_KEY)) {
        return Future.succeededFuture(null);
      }
      long size = page.objects().get(0).size();
      if (size > 100) {
        return Future.failedFuture(new IllegalStateException(markerLocation() + " does not hold a store identity (a UUID)"));
      }
      return store.read(OBJECT_KEY, 0, size).compose(r -> {
        Buffer all = Buffer.buffer();
        Promise<UUID> done = Promise.promise();
        r.handler(all::appendBuffer);
        r.exceptionHandler(done::tryFail);
        r.endHandler(v -> {
          String text = all.toString(StandardCharsets.UTF_8).strip();
          try {
            done.tryComplete(UUID.fromString(text));
          } catch (IllegalArgumentException e) {
            done.tryFail(new IllegalStateException(markerLocation() + " does not hold a store identity (a UUID)"));
          }
        });
        return done.future().eventually(r::close);
      });
    });
  }

  /**
   * Records {@code id} unless an identity is recorded already.
   *
   * @return the identity the store holds afterwards ({@code id}, or the one found)
   */
  public Future<UUID> writeIfAbsent(UUID id) {
    if (store instanceof LocalObjectStore local) {
      return vertx.executeBlocking(() -> {
        UUID current = StoreMarker.read(local.root());
        if (current == null) {
          StoreMarker.write(local.root(), id);
          return id;
        }
        return current;
      }, false);
    }
    PushStream body = new PushStream((ContextInternal) vertx.getOrCreateContext(), () -> {
    });
    body.push(List.of(Buffer.buffer(id + "\n")));
    body.end();
    return store.write(OBJECT_KEY, body).map(n -> id).recover(err -> {
      if (err instanceof ObjectStoreException e && e.reason() == ObjectStoreException.Reason.EXISTS) {
        return readId(); // another node recorded one first
      }
      return Future.failedFuture(err);
    });
  }

  /** True when the store holds any object (the identity object is not one). */
  public Future<Boolean> holdsObjects() {
    return sample(1).map(keys -> !keys.isEmpty());
  }

  /** Keys of up to {@code limit} objects, in key order (the identity object left out). */
  public Future<List<String>> sample(int limit) {
    return store.list("", null, Math.min(1000, limit + 1)).map(page -> {
      List<String> keys = new ArrayList<>();
      for (ObjectInfo o : page.objects()) {
        if (!isMarker(o.key()) && keys.size() < limit) {
          keys.add(o.key());
        }
      }
      return keys;
    });
  }

  /** True when at least one of {@code keys} is an object of the store. */
  public Future<Boolean> holdsAny(List<String> keys) {
    Future<Boolean> found = Future.succeededFuture(false);
    for (String key : keys) {
      found = found.compose(yes -> yes ? Future.succeededFuture(true)
          : store.list(key, null, 1).map(page -> !page.objects().isEmpty() && page.objects().get(0).key().equals(key)));
    }
    return found;
  }
}

package dev.files.storage;

import io.vertx.core.Future;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The store's side of the store identity (see {@code StoreBinding}) and what the binding needs to
 * know of the store's objects, for any {@link ObjectStore}. Where the identity is kept is the
 * store's own business ({@link ObjectStore#readIdentity()}):
 *
 * <ul>
 *   <li>Local directory: the file {@value StoreMarker#FILE} in the directory ({@link StoreMarker}),
 *       outside the key space.</li>
 *   <li>S3: the object {@value #OBJECT_KEY} ({@link IdentityObject}), written with the store's
 *       create-only write, so the first writer wins. It is not a chunk: the orphan scan leaves it
 *       alone ({@link #isMarker(String)}).</li>
 * </ul>
 * Objects are looked for through {@link ObjectStore#list} pages (never the whole listing).
 */
public final class StoreSide {

  /** The key of the identity object in a store that has no place for it outside its key space (S3). */
  public static final String OBJECT_KEY = "store-id";

  private final ObjectStore store;

  public StoreSide(ObjectStore store) {
    this.store = store;
  }

  /** True for the key of the identity object: never an orphan. */
  public static boolean isMarker(String key) {
    return OBJECT_KEY.equals(key);
  }

  /** The store as the operator knows it ({@code storage.local.path /srv/files}). */
  public String description() {
    return store.description();
  }

  /** The settings that choose the store ({@code storage.local.path (FILES_STORAGE_LOCAL_PATH)}). */
  public String setting() {
    return store.settings();
  }

  /** Where the identity is kept, for the log. */
  public String markerLocation() {
    return store.identityLocation();
  }

  /** The identity recorded in the store, or null. Fails when the marker holds no UUID. */
  public Future<UUID> readId() {
    return store.readIdentity();
  }

  /**
   * Records {@code id} unless an identity is recorded already.
   *
   * @return the identity the store holds afterwards ({@code id}, or the one found)
   */
  public Future<UUID> writeIfAbsent(UUID id) {
    return store.recordIdentity(id);
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

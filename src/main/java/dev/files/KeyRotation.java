package dev.files;

import dev.files.db.Database;
import dev.files.db.FileRepository;
import dev.files.storage.DataKeys;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Master key rotation ({@code scripts/rotate-keys}): re-wraps every file's data key under the
 * current master key ({@code encryption.master_key} / {@code _id}), reading the old ones from
 * {@code encryption.previous_keys}. Chunk objects are not touched. Safe to run while nodes serve
 * (each update checks the key it replaces) and to run again. Exits 1 when some data key could not
 * be opened (its master key is not configured), after re-wrapping all the others.
 */
public final class KeyRotation {

  private static final int BATCH = 500;

  private KeyRotation() {
  }

  public static void main(String[] args) throws Exception {
    FilesConfig config = FilesConfig.load();
    DataKeys keys = DataKeys.create(config.string("encryption.master_key"), config.string("encryption.master_key_id"),
        config.string("encryption.previous_keys"), false);
    Vertx vertx = Vertx.vertx();
    int rewrapped = 0;
    int failed = 0;
    try {
      Pool pool = Database.open(vertx, config.string("db.url"), 2).await(60, TimeUnit.SECONDS);
      FileRepository files = new FileRepository(pool);
      UUID after = new UUID(0, 0); // PostgreSQL orders uuids as unsigned bytes: this is the smallest
      for (;;) {
        List<FileRepository.KeyRow> rows = files.keysNotWrappedBy(keys.currentId(), after, BATCH).await(60, TimeUnit.SECONDS);
        if (rows.isEmpty()) {
          break;
        }
        for (FileRepository.KeyRow row : rows) {
          after = row.id();
          try {
            DataKeys.Wrapped fresh = keys.rewrap(row.id(), new DataKeys.Wrapped(row.keyId(), row.key()));
            if (files.replaceDataKey(row.id(), row.keyId(), fresh.masterKeyId(), fresh.bytes()).await(60, TimeUnit.SECONDS)) {
              rewrapped++;
            }
          } catch (java.security.GeneralSecurityException e) {
            failed++;
            System.err.println("rotate-keys: " + e.getMessage());
          }
        }
      }
      pool.close().await(10, TimeUnit.SECONDS);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
    System.out.println("rotate-keys: " + rewrapped + " data key(s) re-wrapped under master key '" + keys.currentId()
        + "', " + failed + " could not be opened");
    System.exit(failed == 0 ? 0 : 1);
  }
}

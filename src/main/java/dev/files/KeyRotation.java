package dev.files;

import dev.files.db.Database;
import dev.files.db.FileRepository;
import dev.files.crypto.DataKeys;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Master key rotation ({@code scripts/rotate-keys}): re-wraps every file's data key under the
 * current master key ({@code encryption.master_key} / {@code _id}), reading the old ones from
 * {@code encryption.previous_keys}, and the data keys kept on chunk rows that a tus final upload
 * took over from its partial uploads ({@code chunks.source_data_key}). Chunk objects are not
 * touched. Safe to run while nodes serve (each update checks the key it replaces) and to run again. Exits 1 when some data key could not
 * be opened (its master key is not configured), after re-wrapping all the others.
 */
public final class KeyRotation {

  private static final int BATCH = 500;

  private KeyRotation() {
  }

  /** The usage text, as {@code scripts/rotate-keys --help} prints it. */
  public static final String USAGE = """
      usage: scripts/rotate-keys
      Re-wraps every file's data key under the current master key (chunks are not touched), reading
      the old keys from encryption.previous_keys. Takes no arguments: it uses the service's
      configuration (conf/config.json, FILES_CONFIG, FILES_* variables), e.g.
        FILES_ENCRYPTION_MASTER_KEY=<new base64> FILES_ENCRYPTION_MASTER_KEY_ID=k2 \\
        FILES_ENCRYPTION_PREVIOUS_KEYS="k1:<old base64>" scripts/rotate-keys
      Exit status 0 when every data key is wrapped by the current master key, 1 when some could not
      be opened (their master key is not configured) or the database cannot be reached, 2 for bad
      arguments.""";

  /**
   * Runs the rotation. {@code --help} prints {@link #USAGE}; any other argument is refused in one
   * line (exit 2); a configuration or database failure is one line on stderr (exit 1).
   */
  public static void main(String[] args) {
    if (args.length > 0) {
      if (args[0].equals("--help") || args[0].equals("-h")) {
        System.out.println(USAGE);
        System.exit(0);
      }
      System.err.println("rotate-keys: unknown argument '" + args[0] + "': it takes none (scripts/rotate-keys --help)");
      System.exit(2);
    }
    try {
      rotate();
    } catch (Exception e) {
      String message = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
      System.err.println("rotate-keys: " + message);
      System.exit(1);
    }
  }

  private static void rotate() throws Exception {
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
      // the data keys of partial uploads that chunks of tus final uploads were encrypted with (kept on those chunk rows)
      after = new UUID(0, 0);
      for (;;) {
        List<FileRepository.SourceKeyRow> rows = files.sourceKeysNotWrappedBy(keys.currentId(), after, BATCH)
            .await(60, TimeUnit.SECONDS);
        if (rows.isEmpty()) {
          break;
        }
        for (FileRepository.SourceKeyRow row : rows) {
          after = row.sourceFileId();
          try {
            DataKeys.Wrapped fresh = keys.rewrap(row.sourceFileId(), new DataKeys.Wrapped(row.keyId(), row.key()));
            if (files.replaceSourceDataKey(row.sourceFileId(), row.keyId(), fresh.masterKeyId(), fresh.bytes())
                .await(60, TimeUnit.SECONDS) > 0) {
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

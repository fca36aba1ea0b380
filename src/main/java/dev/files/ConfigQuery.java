package dev.files;

import dev.files.cluster.ClusterSettings;
import java.util.Set;

/**
 * Prints the effective value of configuration keys, one line per key in the order given, as the
 * service would see them ({@code conf/config.json}, then {@code FILES_CONFIG}, then {@code FILES_*}
 * variables; see {@link FilesConfig}). Used by {@code scripts/run} so that the script and the node
 * agree on the database URL, the port, the storage path and whether a master key is configured:
 * {@code java -cp files-service.jar dev.files.ConfigQuery db.url storage.local.path}.
 *
 * <p>Secrets are never printed: for {@code encryption.master_key}, {@code encryption.previous_keys}
 * and {@code auth.jwt.secret} the line is {@code set} when a value is configured, else empty.
 * Exit status: 0; 2 with one line on stderr for an unknown key; 1 with one line on stderr when the
 * configuration cannot be read.
 */
public final class ConfigQuery {

  /** Keys whose values are secrets: only their presence is printed. */
  static final Set<String> SECRET_KEYS = Set.of("encryption.master_key", "encryption.previous_keys", "auth.jwt.secret");

  private ConfigQuery() {
  }

  public static void main(String[] args) {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
      System.out.println("usage: java -cp files-service.jar dev.files.ConfigQuery KEY [KEY...]"
          + "  (prints each key's effective value on its own line; secrets print as 'set' or empty)");
      System.exit(args.length == 0 ? 2 : 0);
      return;
    }
    FilesConfig config;
    java.util.Map<String, Object> known;
    try {
      config = FilesConfig.load();
      known = config.asMap();
    } catch (RuntimeException e) {
      String message = e.getMessage() == null ? e.toString() : e.getMessage();
      System.err.println("configuration: " + message.lines().findFirst().orElse("").strip()); // one line
      System.exit(1);
      return;
    }
    StringBuilder out = new StringBuilder();
    for (String key : args) {
      if (!known.containsKey(key)) {
        System.err.println("configuration: unknown key '" + key + "'");
        System.exit(2);
        return;
      }
      String value = key.equals("cluster.name") ? ClusterSettings.name(config) : config.string(key);
      if (SECRET_KEYS.contains(key)) {
        value = value.isBlank() ? "" : "set";
      }
      if (value.contains("\n")) {
        System.err.println("configuration: the value of " + key + " spans several lines; it cannot be printed on one");
        System.exit(2);
        return;
      }
      out.append(value).append('\n');
    }
    System.out.print(out);
    System.out.flush();
  }
}

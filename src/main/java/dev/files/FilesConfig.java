package dev.files;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The service configuration, read and validated once at start-up.
 *
 * <p>Sources, each overriding the one before:
 * <ol>
 *   <li>{@code config.json} on the classpath (the project's {@code conf/config.json}, packed into the jar);</li>
 *   <li>the JSON file named by the environment variable {@code FILES_CONFIG}, if set;</li>
 *   <li>for every known key, the environment variable {@code FILES_} + the key in upper case with dots
 *       as underscores ({@code http.port} ↔ {@code FILES_HTTP_PORT});</li>
 *   <li>explicit overrides given to {@link #load(Map, Map)} (tests).</li>
 * </ol>
 * Keys are the dotted paths of the nested JSON ({@code {"http":{"port":8080}}} is {@code http.port}).
 *
 * <p><b>Known keys and their types</b> come from the defaults in {@code config.json} (a key added there is
 * known at once, typed by its default: number, boolean or string) plus {@link #WITHOUT_DEFAULT}, the few
 * keys that may be left out of it. Every source is checked against them, and {@link #load(Map, Map)}
 * refuses, with one message naming the closest known key:
 * <ul>
 *   <li>an unknown key in a file, or an unknown {@code FILES_*} environment variable (those of the
 *       scripts and tests, {@link #SCRIPT_VARIABLES} and {@link #SCRIPT_PREFIXES}, are allowed);</li>
 *   <li>a value of the wrong type: booleans are {@code true} or {@code false} only, numbers are whole;</li>
 *   <li>a number outside its range ({@link #RANGES}; any other number must be at least 0), or a string
 *       outside its choices ({@link #CHOICES}).</li>
 * </ul>
 * Secrets ({@link #isSecret(String)}, and the password of {@code db.url}) are masked in {@link #describe()}.
 */
public final class FilesConfig {

  /** Value types, taken from the default. */
  enum Type { STRING, NUMBER, BOOLEAN, LIST }

  /** Keys that need not have a default in config.json: their type. */
  static final Map<String, Type> WITHOUT_DEFAULT = Map.of(
      "encryption.master_key", Type.STRING,
      "encryption.previous_keys", Type.STRING,
      "auth.jwt.secret", Type.STRING,
      "auth.jwt.public_key", Type.STRING,
      "auth.jwt.issuer", Type.STRING,
      "auth.jwt.audience", Type.STRING);

  /** Keys whose value is never printed. Any key whose last part names a secret is one too. */
  static final Set<String> SECRETS = Set.of("encryption.master_key", "encryption.previous_keys", "auth.jwt.secret",
      "storage.s3.access_key", "storage.s3.secret_key");

  private static final Pattern SECRET_NAME = Pattern.compile(".*(secret|password|passwd|private|master_key|previous_keys|token).*");

  /** Inclusive ranges of numeric keys; any number not listed must be at least 0. */
  static final Map<String, long[]> RANGES = Map.ofEntries(
      Map.entry("http.port", new long[]{0, 65535}),
      Map.entry("cluster.port", new long[]{1, 65535}),
      Map.entry("cluster.event_bus_port", new long[]{0, 65535}),
      Map.entry("cluster.lease_ms", new long[]{100, 3_600_000}),
      Map.entry("cluster.session_send_timeout_ms", new long[]{1, 600_000}),
      Map.entry("http.instances", new long[]{1, 256}),
      Map.entry("http.drain_timeout_ms", new long[]{0, 3_600_000}),
      Map.entry("http.header_timeout_ms", new long[]{0, 3_600_000}),
      Map.entry("http.max_connections_per_address", new long[]{0, 1_000_000}),
      Map.entry("db.pool_size", new long[]{1, 1000}),
      Map.entry("upload.group_commit_max", new long[]{1, 10_000}),
      Map.entry("storage.io_threads", new long[]{1, 1024}),
      Map.entry("storage.list_page_size", new long[]{1, 1000}),
      Map.entry("storage.local.sync_threads", new long[]{0, 1024}),
      Map.entry("storage.s3.part_bytes", new long[]{5L * 1024 * 1024, 1L << 30}),
      Map.entry("storage.s3.max_connections", new long[]{1, 10_000}),
      Map.entry("auth.jwt.leeway_s", new long[]{0, 3600}),
      Map.entry("auth.membership_cache_ms", new long[]{0, 3_600_000}),
      Map.entry("limits.max_request_bytes", new long[]{1, Long.MAX_VALUE}),
      Map.entry("limits.max_file_bytes", new long[]{1, Long.MAX_VALUE}),
      Map.entry("upload.session_idle_ms", new long[]{1, Long.MAX_VALUE}),
      Map.entry("upload.commit_timeout_ms", new long[]{1, Long.MAX_VALUE}),
      Map.entry("upload.expire_after_ms", new long[]{1, Long.MAX_VALUE}),
      Map.entry("upload.sweep_interval_ms", new long[]{1, Long.MAX_VALUE}),
      Map.entry("upload.orphan_scan_interval_ms", new long[]{1, Long.MAX_VALUE}),
      Map.entry("thumbnails.max_width", new long[]{1, 10_000}),
      Map.entry("thumbnails.max_height", new long[]{1, 10_000}),
      Map.entry("thumbnails.max_pixels", new long[]{1, Long.MAX_VALUE}),
      Map.entry("thumbnails.concurrency", new long[]{1, 256}),
      Map.entry("thumbnails.workers", new long[]{0, 256}),
      Map.entry("thumbnails.timeout_ms", new long[]{1, Long.MAX_VALUE}),
      Map.entry("thumbnails.max_job_bytes", new long[]{1, Long.MAX_VALUE}),
      Map.entry("events.poll_ms", new long[]{1, 3_600_000}),
      Map.entry("events.retention_ms", new long[]{1, Long.MAX_VALUE}));

  /** The values a string key may take (compared without case). */
  static final Map<String, Set<String>> CHOICES = Map.of(
      "storage.type", Set.of("local", "s3"),
      "log.format", Set.of("text", "json"),
      "log.level", Set.of("trace", "debug", "info", "warn", "error"));

  /** {@code FILES_*} variables read by the scripts and tests, not by the node. */
  static final Set<String> SCRIPT_VARIABLES = Set.of("FILES_CONFIG", "FILES_JAVA_OPTS");

  /** Prefixes of {@code FILES_*} variables of the scripts and tests (FILES_TEST_PG_URL, FILES_BENCH_PORT…). */
  static final List<String> SCRIPT_PREFIXES = List.of("FILES_TEST_", "FILES_BENCH_", "FILES_PG_", "FILES_SHARED_",
      "FILES_SCRIPT_", "FILES_RUN_", "FILES_DEV_");

  private final Map<String, Object> values;

  private FilesConfig(Map<String, Object> values) {
    this.values = values;
  }

  /** Loads the configuration from the classpath defaults, {@code FILES_CONFIG} and the process environment. */
  public static FilesConfig load() {
    return load(System.getenv(), Map.of());
  }

  /**
   * Loads and validates the configuration.
   *
   * @param env       environment variables to read ({@code FILES_*})
   * @param overrides dotted keys to values, applied last
   * @throws IllegalStateException with one line naming the key (or variable) and what is wrong, when a
   *     file cannot be read, a key or variable is unknown, or a value has the wrong type or range
   */
  public static FilesConfig load(Map<String, String> env, Map<String, ?> overrides) {
    Map<String, Object> defaults = new TreeMap<>();
    flatten("", readDefaults(), defaults);
    Map<String, Type> types = new TreeMap<>();
    WITHOUT_DEFAULT.forEach(types::put);
    defaults.forEach((k, v) -> types.put(k, typeOf(v)));

    Map<String, Object> values = new TreeMap<>();
    defaults.forEach((k, v) -> values.put(k, check(k, "in config.json", v, types.get(k))));
    String file = env.get("FILES_CONFIG");
    if (file != null && !file.isBlank()) {
      Map<String, Object> fromFile = new TreeMap<>();
      try {
        flatten("", new JsonObject(Files.readString(Path.of(file))), fromFile);
      } catch (IOException | RuntimeException e) {
        throw new IllegalStateException("cannot read configuration file " + file + " (FILES_CONFIG): " + e.getMessage(), e);
      }
      for (Map.Entry<String, Object> e : fromFile.entrySet()) {
        Type type = types.get(e.getKey());
        if (type == null) {
          throw new IllegalStateException("unknown key " + e.getKey() + " in " + file + closest(e.getKey(), types.keySet(), false));
        }
        values.put(e.getKey(), check(e.getKey(), "in " + file, e.getValue(), type));
      }
    }
    Map<String, String> byEnvName = new TreeMap<>();
    types.keySet().forEach(k -> byEnvName.put(envName(k), k));
    for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
      String name = e.getKey();
      if (!name.startsWith("FILES_") || SCRIPT_VARIABLES.contains(name)
          || SCRIPT_PREFIXES.stream().anyMatch(name::startsWith)) {
        continue;
      }
      String key = byEnvName.get(name);
      if (key == null) {
        throw new IllegalStateException("unknown environment variable " + name + closest(name, byEnvName.keySet(), true));
      }
      values.put(key, check(key, "(" + name + ")", e.getValue(), types.get(key)));
    }
    for (Map.Entry<String, ?> e : overrides.entrySet()) {
      Type type = types.get(e.getKey());
      if (type == null) {
        throw new IllegalStateException("unknown key " + e.getKey() + closest(e.getKey(), types.keySet(), false));
      }
      values.put(e.getKey(), check(e.getKey(), "", e.getValue(), type));
    }
    checkStorage(values);
    return new FilesConfig(values);
  }

  /**
   * With {@code storage.type} s3, the S3 settings a node cannot do without: {@code storage.s3.endpoint}
   * (an http:// or https:// URL), {@code storage.s3.bucket}, {@code storage.s3.access_key} and
   * {@code storage.s3.secret_key}.
   */
  private static void checkStorage(Map<String, Object> values) {
    values.put("storage.type", String.valueOf(values.get("storage.type")).strip().toLowerCase(Locale.ROOT));
    if (!"s3".equals(values.get("storage.type"))) {
      return;
    }
    for (String key : List.of("storage.s3.endpoint", "storage.s3.bucket", "storage.s3.access_key", "storage.s3.secret_key")) {
      if (String.valueOf(values.get(key)).isBlank()) {
        throw new IllegalStateException(key + " (" + envName(key) + ") is required when storage.type is s3");
      }
    }
    String endpoint = String.valueOf(values.get("storage.s3.endpoint")).strip();
    if (!endpoint.matches("https?://[^/\\s]+(/.*)?")) {
      throw new IllegalStateException("storage.s3.endpoint (" + envName("storage.s3.endpoint")
          + ") must be an http:// or https:// URL, got '" + endpoint + "'");
    }
  }

  /** The environment variable that overrides {@code key}: {@code http.port} → {@code FILES_HTTP_PORT}. */
  public static String envName(String key) {
    return "FILES_" + key.toUpperCase(Locale.ROOT).replace('.', '_');
  }

  private static Type typeOf(Object v) {
    return v instanceof Boolean ? Type.BOOLEAN : v instanceof Number ? Type.NUMBER
        : v instanceof io.vertx.core.json.JsonArray || v instanceof List ? Type.LIST : Type.STRING;
  }

  /** The value as its key's type, in range; else one line naming the key, where it came from, and the rule. */
  private static Object check(String key, String where, Object raw, Type type) {
    String at = key + (where.isEmpty() ? "" : " " + where);
    Object shown = isSecret(key) ? "***" : raw; // a misplaced secret is not echoed either
    switch (type) {
      case BOOLEAN -> {
        if (raw instanceof Boolean b) {
          return b;
        }
        String s = String.valueOf(raw).strip();
        if (s.equals("true") || s.equals("false")) {
          return Boolean.parseBoolean(s);
        }
        throw new IllegalStateException(at + " must be true or false, got '" + shown + "'");
      }
      case NUMBER -> {
        long n;
        if (raw instanceof Integer || raw instanceof Long || raw instanceof Short) {
          n = ((Number) raw).longValue();
        } else if (raw instanceof Number d && d.doubleValue() == Math.rint(d.doubleValue()) && !Double.isInfinite(d.doubleValue())) {
          n = d.longValue();
        } else {
          try {
            n = Long.parseLong(String.valueOf(raw).strip());
          } catch (NumberFormatException e) {
            throw new IllegalStateException(at + " must be a whole number, got '" + shown + "'");
          }
        }
        long[] range = RANGES.getOrDefault(key, new long[]{0, Long.MAX_VALUE});
        if (n < range[0] || n > range[1]) {
          throw new IllegalStateException(at + " must be " + (range[1] == Long.MAX_VALUE ? "at least " + range[0]
              : "between " + range[0] + " and " + range[1]) + ", got " + n);
        }
        return n;
      }
      case LIST -> { // a JSON list of strings, or a comma-separated string (an environment variable)
        if (raw instanceof io.vertx.core.json.JsonArray || raw instanceof List) {
          for (Object item : raw instanceof List<?> l ? l : ((io.vertx.core.json.JsonArray) raw).getList()) {
            if (!(item instanceof String)) {
              throw new IllegalStateException(at + " must be a list of strings, got '" + shown + "'");
            }
          }
          return raw;
        }
        if (raw instanceof JsonObject || raw instanceof Map || raw instanceof Number || raw instanceof Boolean) {
          throw new IllegalStateException(at + " must be a list of strings (or comma-separated), got '" + shown + "'");
        }
        String text = String.valueOf(raw).strip();
        if (text.startsWith("[")) { // a JSON list given as text
          try {
            return check(key, where, new io.vertx.core.json.JsonArray(text), type);
          } catch (io.vertx.core.json.DecodeException e) {
            throw new IllegalStateException(at + " must be a JSON list of strings or comma-separated, got '" + shown + "'");
          }
        }
        io.vertx.core.json.JsonArray items = new io.vertx.core.json.JsonArray();
        for (String item : text.split(",")) {
          if (!item.isBlank()) {
            items.add(item.strip());
          }
        }
        return items;
      }
      default -> {
        if (raw instanceof JsonObject || raw instanceof io.vertx.core.json.JsonArray || raw instanceof Map || raw instanceof List) {
          throw new IllegalStateException(at + " must be a string");
        }
        String s = String.valueOf(raw);
        Set<String> choices = CHOICES.get(key);
        if (choices != null && !choices.contains(s.strip().toLowerCase(Locale.ROOT))) {
          throw new IllegalStateException(at + " must be one of " + new java.util.TreeSet<>(choices) + ", got '" + shown + "'");
        }
        return s;
      }
    }
  }

  /** ", did you mean X?" with the known name nearest to {@code name} (edit distance), or "". */
  private static String closest(String name, Set<String> known, boolean env) {
    String best = known.stream().min(Comparator.comparingInt(k -> distance(name, k))).orElse(null);
    if (best == null || distance(name, best) > Math.max(3, name.length() / 3)) {
      return env ? ": no such setting (settings are FILES_ + the key in upper case, e.g. FILES_HTTP_PORT)" : ": no such setting";
    }
    return "; did you mean " + best + "?";
  }

  /** Levenshtein distance. */
  static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  private static JsonObject readDefaults() {
    try (InputStream in = FilesConfig.class.getClassLoader().getResourceAsStream("config.json")) {
      if (in == null) {
        throw new IllegalStateException("config.json is missing from the classpath");
      }
      return new JsonObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException("cannot read config.json: " + e.getMessage(), e);
    }
  }

  private static void flatten(String prefix, JsonObject json, Map<String, Object> out) {
    for (String name : json.fieldNames()) {
      Object v = json.getValue(name);
      String key = prefix.isEmpty() ? name : prefix + "." + name;
      if (v instanceof JsonObject o) {
        flatten(key, o, out);
      } else {
        out.put(key, v);
      }
    }
  }

  /** The string value of {@code key}; empty if unset. */
  public String string(String key) {
    Object v = values.get(key);
    return v == null ? "" : v.toString();
  }

  /** The integer value of {@code key}. @throws IllegalStateException when unset or not a number */
  public long number(String key) {
    Object v = values.get(key);
    if (v instanceof Number n) {
      return n.longValue();
    }
    try {
      return Long.parseLong(String.valueOf(v));
    } catch (NumberFormatException e) {
      throw new IllegalStateException("configuration key " + key + " must be a number, got " + v);
    }
  }

  /** The boolean value of {@code key}; false if unset. */
  public boolean flag(String key) {
    Object v = values.get(key);
    return v instanceof Boolean b ? b : Boolean.parseBoolean(String.valueOf(v));
  }

  /**
   * The list value of {@code key}: a JSON array in a configuration file, or a comma-separated string
   * (an environment variable); blank entries are dropped; empty if unset.
   */
  public java.util.List<String> list(String key) {
    Object v = values.get(key);
    java.util.List<String> out = new java.util.ArrayList<>();
    if (v instanceof io.vertx.core.json.JsonArray a) {
      a.forEach(x -> out.add(String.valueOf(x).strip()));
    } else if (v instanceof java.util.Collection<?> c) {
      c.forEach(x -> out.add(String.valueOf(x).strip()));
    } else if (v != null) {
      for (String x : v.toString().split(",")) {
        out.add(x.strip());
      }
    }
    out.removeIf(String::isEmpty);
    return java.util.List.copyOf(out);
  }

  /** True when the value of {@code key} must never be printed (keys, secrets, passwords). */
  public static boolean isSecret(String key) {
    String last = key.substring(key.lastIndexOf('.') + 1);
    if (last.endsWith("_id")) {
      return false; // the name of a key (encryption.master_key_id), not the key
    }
    return SECRETS.contains(key) || SECRET_NAME.matcher(last).matches();
  }

  /** {@code value} as it may be printed: secrets as {@code ***} (or empty when unset), URIs without their password. */
  public static String printable(String key, Object value) {
    String s = value == null ? "" : value.toString();
    if (isSecret(key)) {
      return s.isEmpty() ? "" : "***";
    }
    return s.replaceAll("(://[^/:@\\s]*:)[^@/\\s]*@", "$1***@");
  }

  /** All values, by dotted key, as they may be printed (secrets masked): for logs and config dumps. */
  public Map<String, String> describe() {
    Map<String, String> out = new TreeMap<>();
    values.forEach((k, v) -> out.put(k, printable(k, v)));
    return out;
  }

  /** All values, by dotted key. Secrets are NOT masked: never print this, print {@link #describe()}. */
  public Map<String, Object> asMap() {
    return Map.copyOf(values);
  }
}

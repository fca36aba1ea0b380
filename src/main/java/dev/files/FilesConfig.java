package dev.files;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The service configuration, read once at start-up.
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
 * A value from the environment is converted to the type of the default (number, boolean or string).
 */
public final class FilesConfig {

  private final Map<String, Object> values;

  private FilesConfig(Map<String, Object> values) {
    this.values = values;
  }

  /** Loads the configuration from the classpath defaults, {@code FILES_CONFIG} and the process environment. */
  public static FilesConfig load() {
    return load(System.getenv(), Map.of());
  }

  /**
   * Loads the configuration.
   *
   * @param env       environment variables to read ({@code FILES_*})
   * @param overrides dotted keys to values, applied last
   * @throws IllegalStateException when a file cannot be read or a value does not fit its key's type
   */
  public static FilesConfig load(Map<String, String> env, Map<String, ?> overrides) {
    Map<String, Object> values = new TreeMap<>();
    flatten("", readDefaults(), values);
    String file = env.get("FILES_CONFIG");
    if (file != null && !file.isBlank()) {
      try {
        flatten("", new JsonObject(Files.readString(Path.of(file))), values);
      } catch (IOException | RuntimeException e) {
        throw new IllegalStateException("cannot read configuration file " + file + ": " + e.getMessage(), e);
      }
    }
    for (Map.Entry<String, Object> e : Map.copyOf(values).entrySet()) {
      String raw = env.get(envName(e.getKey()));
      if (raw != null) {
        values.put(e.getKey(), convert(e.getKey(), raw, e.getValue()));
      }
    }
    values.putAll(overrides);
    return new FilesConfig(values);
  }

  /** The environment variable that overrides {@code key}: {@code http.port} → {@code FILES_HTTP_PORT}. */
  public static String envName(String key) {
    return "FILES_" + key.toUpperCase(Locale.ROOT).replace('.', '_');
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

  private static Object convert(String key, String raw, Object template) {
    try {
      if (template instanceof Boolean) {
        return Boolean.parseBoolean(raw.trim());
      }
      if (template instanceof Number) {
        return Long.parseLong(raw.trim());
      }
      return raw;
    } catch (NumberFormatException e) {
      throw new IllegalStateException(envName(key) + " must be a whole number, got '" + raw + "'");
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

  /** All values, by dotted key (for logging; secrets are not masked). */
  public Map<String, Object> asMap() {
    return Map.copyOf(values);
  }
}

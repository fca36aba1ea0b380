package dev.files;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The configuration is checked at start: types, ranges, unknown keys and variables (with the nearest
 * known name), and secrets never printed.
 */
class ConfigValidationTest {

  @Test
  void aBooleanIsTrueOrFalseOnly() {
    assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_STORAGE_LOCAL_FSYNC", "flase"), Map.of()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("storage.local.fsync (FILES_STORAGE_LOCAL_FSYNC) must be true or false, got 'flase'");
    assertThat(FilesConfig.load(Map.of("FILES_STORAGE_LOCAL_FSYNC", "false"), Map.of()).flag("storage.local.fsync")).isFalse();
    assertThat(FilesConfig.load(Map.of("FILES_STORAGE_LOCAL_FSYNC", "true"), Map.of()).flag("storage.local.fsync")).isTrue();
  }

  @Test
  void anUnknownVariableNamesTheClosestKnownOne() {
    assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_HTTP_PROT", "9000"), Map.of()))
        .hasMessage("unknown environment variable FILES_HTTP_PROT; did you mean FILES_HTTP_PORT?");
  }

  @Test
  void anUnknownKeyInTheFileNamesTheClosestKnownOne() throws Exception {
    Path file = Files.createTempFile("files-config", ".json");
    try {
      Files.writeString(file, new JsonObject().put("http", new JsonObject().put("prot", 9000)).encode());
      assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_CONFIG", file.toString()), Map.of()))
          .hasMessage("unknown key http.prot in " + file + "; did you mean http.port?");
      Files.writeString(file, new JsonObject().put("db", new JsonObject().put("pool_size", "many")).encode());
      assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_CONFIG", file.toString()), Map.of()))
          .hasMessage("db.pool_size in " + file + " must be a whole number, got 'many'");
      Files.writeString(file, new JsonObject().put("http", new JsonObject().put("port", 9001)).encode());
      assertThat(FilesConfig.load(Map.of("FILES_CONFIG", file.toString()), Map.of()).number("http.port")).isEqualTo(9001);
    } finally {
      Files.delete(file);
    }
  }

  @Test
  void numbersAreCheckedForRange() {
    assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_DB_POOL_SIZE", "0"), Map.of()))
        .hasMessage("db.pool_size (FILES_DB_POOL_SIZE) must be between 1 and 1000, got 0");
    assertThatThrownBy(() -> FilesConfig.load(Map.of(), Map.of("http.port", 70000)))
        .hasMessage("http.port must be between 0 and 65535, got 70000");
    assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_UPLOAD_SESSION_IDLE_MS", "-5"), Map.of()))
        .hasMessageContaining("upload.session_idle_ms (FILES_UPLOAD_SESSION_IDLE_MS) must be at least 1");
    assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_HTTP_PORT", "80a"), Map.of()))
        .hasMessage("http.port (FILES_HTTP_PORT) must be a whole number, got '80a'");
    assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_LOG_FORMAT", "xml"), Map.of()))
        .hasMessage("log.format (FILES_LOG_FORMAT) must be one of [json, text], got 'xml'");
  }

  @Test
  void variablesOfTheScriptsAndTestsAreAllowed() {
    Map<String, String> env = Map.of("FILES_JAVA_OPTS", "-Xmx1g", "FILES_TEST_PG_URL", "postgresql://x", "FILES_TEST_DB_NAME", "t",
        "FILES_BENCH_PORT", "1", "FILES_BENCH_PG", "x", "FILES_PG_BIN_SOURCE", "auto", "FILES_PG_EMBEDDED_VERSION", "16",
        "FILES_SHARED_BENCH", "/x", "FILES_HTTP_HOST", "127.0.0.1", "FILES_LOG_LEVEL", "DEBUG");
    FilesConfig c = FilesConfig.load(env, Map.of());
    assertThat(c.string("http.host")).isEqualTo("127.0.0.1");
    assertThat(c.string("log.level")).isEqualTo("DEBUG");
  }

  /** Every key of conf/config.json is known, through its variable, with the type of its default. */
  @Test
  void everyDefaultKeyIsKnownThroughItsVariable() {
    Map<String, Object> defaults = FilesConfig.load(Map.of(), Map.of()).asMap();
    assertThat(defaults).containsKeys("http.port", "http.drain_timeout_ms", "metrics.enabled", "log.format", "log.level");
    Map<String, String> env = new HashMap<>();
    defaults.forEach((k, v) -> env.put(FilesConfig.envName(k), String.valueOf(v)));
    assertThat(FilesConfig.load(env, Map.of()).asMap()).isEqualTo(defaults);
    assertThat(FilesConfig.load(Map.of("FILES_HTTP_DRAIN_TIMEOUT_MS", "1500"), Map.of()).number("http.drain_timeout_ms")).isEqualTo(1500);
  }

  @Test
  void secretsAreNeverPrinted() {
    String key = "qFbyAsTpPNpCSbwDKsXfR+eHSBvAn7lqMBZ1cJN5fU8=";
    FilesConfig c = FilesConfig.load(Map.of("FILES_ENCRYPTION_MASTER_KEY", key, "FILES_AUTH_JWT_SECRET", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t",
        "FILES_ENCRYPTION_PREVIOUS_KEYS", "k0:" + key, "FILES_DB_URL", "postgresql://files:pa55word@db:5432/files"), Map.of());
    String printed = c.describe().toString();
    assertThat(printed).doesNotContain(key).doesNotContain("s3cr3t").doesNotContain("pa55word")
        .contains("encryption.master_key=***").contains("auth.jwt.secret=***")
        .contains("db.url=postgresql://files:***@db:5432/files").contains("http.port=8080").contains("encryption.master_key_id=k1"); // a key's id is no secret
  }

  @Test
  void s3StorageNeedsItsEndpointBucketAndKeys() {
    assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_STORAGE_TYPE", "s3"), Map.of()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("storage.s3.endpoint (FILES_STORAGE_S3_ENDPOINT) is required when storage.type is s3");
    assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_STORAGE_TYPE", "s3", "FILES_STORAGE_S3_ENDPOINT", "http://127.0.0.1:9000",
        "FILES_STORAGE_S3_BUCKET", "files", "FILES_STORAGE_S3_ACCESS_KEY", "k"), Map.of()))
        .hasMessage("storage.s3.secret_key (FILES_STORAGE_S3_SECRET_KEY) is required when storage.type is s3");
    assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_STORAGE_TYPE", "s3", "FILES_STORAGE_S3_ENDPOINT", "127.0.0.1:9000",
        "FILES_STORAGE_S3_BUCKET", "files", "FILES_STORAGE_S3_ACCESS_KEY", "k", "FILES_STORAGE_S3_SECRET_KEY", "s"), Map.of()))
        .hasMessage("storage.s3.endpoint (FILES_STORAGE_S3_ENDPOINT) must be an http:// or https:// URL, got '127.0.0.1:9000'");
    assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_STORAGE_TYPE", "gcs"), Map.of()))
        .hasMessage("storage.type (FILES_STORAGE_TYPE) must be one of [local, s3], got 'gcs'");
    FilesConfig ok = FilesConfig.load(Map.of("FILES_STORAGE_TYPE", "S3", "FILES_STORAGE_S3_ENDPOINT", "http://127.0.0.1:9000",
        "FILES_STORAGE_S3_BUCKET", "files", "FILES_STORAGE_S3_ACCESS_KEY", "AKIDEXAMPLE", "FILES_STORAGE_S3_SECRET_KEY", "wJalrXUtnFEMI"), Map.of());
    assertThat(ok.string("storage.type")).isEqualTo("s3");
    assertThat(ok.describe().toString()).doesNotContain("wJalrXUtnFEMI").doesNotContain("AKIDEXAMPLE");
  }
}

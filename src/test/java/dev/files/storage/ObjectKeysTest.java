package dev.files.storage;

import dev.files.storage.s3.S3Options;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The keys an object store accepts, and the S3 settings as read from configuration JSON. */
class ObjectKeysTest {

  @Test
  void keysAreSafeRelativePaths() {
    for (String ok : new String[] {"a", "0f/3c/0f3c-1.chunk", "A_b-c.d", "x/y/z"}) {
      assertThat(ObjectKeys.check(ok)).isEqualTo(ok);
    }
    for (String bad : new String[] {"", "/a", "a/", "a//b", "..", "a/../b", ".hidden", "a/.tmp", "a b", "a\\b",
        "é", "x".repeat(ObjectKeys.MAX_LENGTH + 1)}) {
      assertThatThrownBy(() -> ObjectKeys.check(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("invalid object key");
    }
    // the check's loop says what its regex says, on every short string over the characters that matter
    char[] alphabet = {'a', 'Z', '0', '_', '-', '.', '/', ' ', 'é', '\\'};
    int n = alphabet.length;
    for (int len = 0; len <= 5; len++) {
      for (int code = 0; code < Math.pow(n, len); code++) {
        StringBuilder b = new StringBuilder();
        for (int i = 0, c = code; i < len; i++, c /= n) {
          b.append(alphabet[c % n]);
        }
        String key = b.toString();
        assertThat(ObjectKeys.valid(key)).as(key).isEqualTo(ObjectKeys.KEY.matcher(key).matches());
      }
    }
    for (String ok : new String[] {"", "a", "a/", "a/b", "a/b/", "0f/3c"}) {
      assertThat(ObjectKeys.checkPrefix(ok)).isEqualTo(ok);
    }
    for (String bad : new String[] {"/", "/a", "a//", "../", "a/.", ".x/"}) {
      assertThatThrownBy(() -> ObjectKeys.checkPrefix(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void s3SettingsFromJson() {
    S3Options o = S3Options.fromJson(new JsonObject().put("endpoint", "http://127.0.0.1:9000").put("bucket", "files")
        .put("access_key", "AK").put("secret_key", "very-secret").put("path_style", true));
    assertThat(o.endpoint()).isEqualTo("http://127.0.0.1:9000");
    assertThat(o.bucket()).isEqualTo("files");
    assertThat(o.region()).isEqualTo("us-east-1");
    assertThat(o.pathStyle()).isTrue();
    assertThat(o.partBytes()).isEqualTo(8 * 1024 * 1024);
    assertThat(o.maxConnections()).isEqualTo(32);
    assertThat(o.toString()).doesNotContain("very-secret").contains("secretKey=***");

    assertThat(S3Options.fromJson(new JsonObject().put("bucket", "b")).endpoint()).isEmpty(); // AWS itself
    assertThatThrownBy(() -> S3Options.fromJson(new JsonObject())).hasMessage("storage.s3.bucket is required");
    assertThatThrownBy(() -> S3Options.fromJson(new JsonObject().put("bucket", "b").put("endpoint", "ftp://x")))
        .hasMessage("storage.s3.endpoint must be an http:// or https:// URL");
    assertThatThrownBy(() -> S3Options.fromJson(new JsonObject().put("bucket", "b").put("access_key", "AK")))
        .hasMessage("storage.s3.access_key and storage.s3.secret_key go together");
    assertThatThrownBy(() -> S3Options.fromJson(new JsonObject().put("bucket", "b").put("part_bytes", 1024)))
        .hasMessage("storage.s3.part_bytes must be at least 5242880");
    assertThatThrownBy(() -> S3Options.fromJson(new JsonObject().put("bucket", "b").put("path_style", "yes")))
        .hasMessage("storage.s3 has a setting of the wrong type");
  }
}

package dev.files;

import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Master key rotation: files written under k1 read back after scripts/rotate-keys re-wrapped their
 * data keys under k2; without the re-wrap, a node holding only k2 gives a clear error for those
 * files and stays up.
 */
class KeyRotationTest {

  @Test
  void rotateTheMasterKey() throws Exception {
    String k2 = Base64.getEncoder().encodeToString(new byte[32]).replace('A', 'B');
    Map<String, Object> first = TestNode.settings(Map.of());
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    byte[] content = new byte[300_000];
    new Random(5).nextBytes(content);

    TestNode n1 = TestNode.start(first);
    UUID file;
    try {
      file = UUID.fromString(Api.resource(new Api(n1).upload(company, token, "k1.bin", null, content)).getString("id"));
    } finally {
      n1.stop();
    }
    String db = (String) first.get("test.db_name");
    try {
      // only the new key, nothing re-wrapped: a clear error for that file, the node stays up
      Map<String, Object> onlyK2 = new HashMap<>(first);
      onlyK2.put("encryption.master_key", k2);
      onlyK2.put("encryption.master_key_id", "k2");
      TestNode n2 = TestNode.start(onlyK2);
      try {
        Api api = new Api(n2);
        HttpResponse<byte[]> r = api.download(company, file, token);
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(new JsonObject(new String(r.body())).getString("message"))
            .contains(file.toString()).contains("'" + TestNode.MASTER_KEY_ID + "'").contains("not configured");
        assertThat(api.get("http://127.0.0.1:" + n2.port + "/health", null).statusCode()).isEqualTo(200);
        byte[] other = "written under k2".getBytes();
        UUID fresh = UUID.fromString(Api.resource(api.upload(company, token, "k2.bin", null, other)).getString("id"));
        assertThat(api.download(company, fresh, token).body()).isEqualTo(other);
      } finally {
        n2.stop();
      }

      // scripts/rotate-keys with k2 current and k1 previous
      Map<String, Object> rotation = new HashMap<>(onlyK2);
      rotation.put("encryption.previous_keys", TestNode.MASTER_KEY_ID + ":" + TestNode.MASTER_KEY);
      Process p = java(rotation);
      String out = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor()).as(out).isZero();
      assertThat(out).contains("1 data key(s) re-wrapped under master key 'k2', 0 could not be opened");
      assertThat(Db.count(db, "SELECT count(*) FROM files WHERE data_key_id <> 'k2'")).isZero();

      // a node with only k2 now reads everything, byte-exact
      TestNode n3 = TestNode.start(onlyK2);
      try {
        HttpResponse<byte[]> r = new Api(n3).download(company, file, token);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(content);
      } finally {
        n3.stop();
      }
    } finally {
      Db.drop(db);
      Path storage = Path.of((String) first.get("storage.local.path"));
      try (var s = Tree.walk(storage)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
      }
    }
  }

  /**
   * A tus final upload's chunks are decrypted with their partial uploads' data keys, kept on the
   * chunk rows: the rotation re-wraps those too, so a node holding only the new master key reads the
   * final file byte-exact.
   */
  @Test
  void rotateTheKeysAFinalUploadsChunksKeep() throws Exception {
    String k2 = Base64.getEncoder().encodeToString(new byte[32]).replace('A', 'C');
    Map<String, Object> first = TestNode.settings(Map.of());
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    byte[] content = new byte[200_000];
    new Random(6).nextBytes(content);
    String db = (String) first.get("test.db_name");
    try {
      TestNode n1 = TestNode.start(first);
      UUID file;
      try {
        String base = "http://127.0.0.1:" + n1.port;
        String uploads = base + "/internal/services/files/v1/companies/" + company + "/uploads";
        Api api = new Api(n1);
        StringBuilder concat = new StringBuilder("final;");
        for (int i = 0; i < 2; i++) {
          HttpResponse<String> c = Api.CLIENT.send(api.request(uploads, token).header("Tus-Resumable", "1.0.0")
              .header("Upload-Length", "100000").header("Upload-Concat", "partial")
              .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
          String location = c.headers().firstValue("Location").orElseThrow();
          HttpResponse<String> p = Api.CLIENT.send(api.request(base + location, token).header("Tus-Resumable", "1.0.0")
              .header("Upload-Offset", "0").header("Content-Type", "application/offset+octet-stream")
              .method("PATCH", java.net.http.HttpRequest.BodyPublishers.ofByteArray(
                  java.util.Arrays.copyOfRange(content, i * 100_000, (i + 1) * 100_000))).build(),
              HttpResponse.BodyHandlers.ofString());
          assertThat(p.statusCode()).as(p.body()).isEqualTo(204);
          concat.append(i == 0 ? "" : " ").append(location);
        }
        HttpResponse<String> f = Api.CLIENT.send(api.request(uploads, token).header("Tus-Resumable", "1.0.0")
            .header("Upload-Concat", concat.toString()).POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
            HttpResponse.BodyHandlers.ofString());
        assertThat(f.statusCode()).as(f.body()).isEqualTo(201);
        String location = f.headers().firstValue("Location").orElseThrow();
        file = UUID.fromString(location.substring(location.lastIndexOf('/') + 1));
      } finally {
        n1.stop();
      }
      assertThat(Db.count(db, "SELECT count(*) FROM chunks WHERE source_data_key_id = '" + TestNode.MASTER_KEY_ID + "'"))
          .isEqualTo(2);

      Map<String, Object> onlyK2 = new HashMap<>(first);
      onlyK2.put("encryption.master_key", k2);
      onlyK2.put("encryption.master_key_id", "k2");
      Map<String, Object> rotation = new HashMap<>(onlyK2);
      rotation.put("encryption.previous_keys", TestNode.MASTER_KEY_ID + ":" + TestNode.MASTER_KEY);
      Process p = java(rotation);
      String out = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor()).as(out).isZero();
      assertThat(out).contains("3 data key(s) re-wrapped under master key 'k2', 0 could not be opened"); // the file's, two partials'
      assertThat(Db.count(db, "SELECT count(*) FROM chunks WHERE source_data_key_id <> 'k2'")).isZero();

      TestNode n3 = TestNode.start(onlyK2);
      try {
        HttpResponse<byte[]> r = new Api(n3).download(company, file, token);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(content);
      } finally {
        n3.stop();
      }
    } finally {
      Db.drop(db);
      Path storage = Path.of((String) first.get("storage.local.path"));
      try (var s = Tree.walk(storage)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
      }
    }
  }

  /** Runs {@link KeyRotation} in its own JVM with the given configuration as FILES_* variables. */
  private static Process java(Map<String, Object> settings) throws Exception {
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", classpath, "dev.files.KeyRotation").redirectErrorStream(true);
    settings.forEach((k, v) -> pb.environment().put(FilesConfig.envName(k), String.valueOf(v)));
    return pb.start();
  }
}

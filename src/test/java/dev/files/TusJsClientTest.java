package dev.files;

import dev.files.support.Db;
import dev.files.support.NodeTest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The unmodified tus-js-client 4.3.1 in Node (src/test/js, installed by {@code scripts/test} with
 * {@code npm ci}) against one node: 1 MiB PATCHes, resume after {@code abort()} sending only the
 * rest, termination, and a stream of deferred length. Skipped when Node or the installed client is
 * missing.
 */
class TusJsClientTest extends NodeTest {

  private static final Path JS = Path.of("src/test/js");
  private static final int MIB = 1024 * 1024;

  private byte[] content;
  private Path file;

  /**
   * Why the tests are skipped, or null: checked by each test (a class skipped in {@code @BeforeAll}
   * shows as zero tests run, and scripts/test could not name the reason).
   */
  private String skipped;

  @BeforeEach
  void installed() {
    assumeTrue(skipped == null, skipped);
  }

  @BeforeAll
  void prepare() throws Exception {
    if (!Files.isDirectory(JS.resolve("node_modules/tus-js-client"))) {
      skipped = "tus-js-client is not installed (scripts/test runs npm ci in src/test/js)";
      return;
    }
    content = new byte[3 * MIB + 12345];
    new Random(43).nextBytes(content);
    file = Files.createTempFile("tus-js", ".bin");
    Files.write(file, content);
  }

  /** Runs a scenario of tus-client.js; its JSON report. */
  private JsonObject run(String scenario) throws Exception {
    return run(scenario, "tus-v1");
  }

  /** Runs a scenario of tus-client.js speaking {@code protocol}; its JSON report. */
  private JsonObject run(String scenario, String protocol) throws Exception {
    Path out = Files.createTempFile("tus-js", ".out");
    Path err = Files.createTempFile("tus-js", ".err");
    Process p = new ProcessBuilder("node", "tus-client.js", scenario,
        "http://127.0.0.1:" + node.port + "/internal/services/files/v1/companies/" + company + "/uploads",
        token, file.toAbsolutePath().toString(), protocol)
        .directory(JS.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    try {
      assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("tus-client.js " + scenario + " finished").isTrue();
      assertThat(p.exitValue()).as(Files.readString(err)).isZero();
      return new JsonObject(Files.readString(out, StandardCharsets.UTF_8).strip());
    } finally {
      p.destroyForcibly();
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static UUID fileId(String url) {
    return UUID.fromString(url.substring(url.lastIndexOf('/') + 1));
  }

  private static List<JsonObject> patches(JsonArray requests) {
    List<JsonObject> out = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      if ("PATCH".equals(requests.getJsonObject(i).getString("method"))) {
        out.add(requests.getJsonObject(i));
      }
    }
    return out;
  }

  private void assertComplete(UUID id) throws Exception {
    api.assertComplete(company, id, token, "tus-js.bin", content);
  }

  @Test
  void onePatchPerMebibyte() throws Exception {
    JsonObject out = run("chunks");
    List<JsonObject> patches = patches(out.getJsonArray("requests"));
    assertThat(patches).extracting(j -> j.getString("offset"))
        .containsExactly("0", Integer.toString(MIB), Integer.toString(2 * MIB), Integer.toString(3 * MIB));
    assertThat(patches).allSatisfy(j -> assertThat(j.getInteger("status")).isEqualTo(204));
    UUID id = fileId(out.getString("url"));
    assertComplete(id);
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + id + "'")).isEqualTo(4);
  }

  @Test
  void creationWithUpload() throws Exception {
    JsonObject out = run("creation");
    JsonArray requests = out.getJsonArray("requests");
    assertThat(requests.getJsonObject(0).getString("method")).isEqualTo("POST");
    assertThat(requests.getJsonObject(0).getInteger("status")).isEqualTo(201);
    assertThat(patches(requests)).extracting(j -> j.getString("offset"))
        .containsExactly(Integer.toString(MIB), Integer.toString(2 * MIB), Integer.toString(3 * MIB));
    assertComplete(fileId(out.getString("url")));
  }

  @Test
  void resumeAfterAbortSendsOnlyTheRest() throws Exception {
    JsonObject out = run("resume");
    List<JsonObject> resumed = out.getJsonArray("resumed").stream().map(o -> (JsonObject) o).toList();
    assertThat(resumed.get(0).getString("method")).isEqualTo("HEAD");
    List<JsonObject> patches = patches(out.getJsonArray("resumed"));
    long first = Long.parseLong(patches.get(0).getString("offset"));
    assertThat(first).as("the resumed upload starts where the first stopped").isGreaterThanOrEqualTo(MIB);
    assertThat(patches).noneMatch(j -> "0".equals(j.getString("offset")));
    assertComplete(fileId(out.getString("url")));
  }

  @Test
  void terminationRemovesTheUpload() throws Exception {
    JsonObject out = run("terminate");
    UUID id = fileId(out.getString("url"));
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM files WHERE id = '" + id + "'")).isZero();
    eventually(Duration.ofSeconds(30), () -> assertThat(objects(id)).isZero());
  }

  @Test
  void deferredLengthStream() throws Exception {
    JsonObject out = run("deferred");
    List<JsonObject> patches = patches(out.getJsonArray("requests"));
    assertThat(patches).hasSizeGreaterThanOrEqualTo(4);
    assertComplete(fileId(out.getString("url")));
  }

  /** The IETF resumable-upload draft, interop versions 5 (draft-03) and 6 (draft-05), on the same endpoint. */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"ietf-draft-03", "ietf-draft-05"})
  void ietfDraftInOneMebibytePatches(String protocol) throws Exception {
    JsonObject out = run("chunks", protocol);
    List<JsonObject> patches = patches(out.getJsonArray("requests"));
    assertThat(patches).extracting(j -> j.getString("offset"))
        .containsExactly("0", Integer.toString(MIB), Integer.toString(2 * MIB), Integer.toString(3 * MIB));
    assertComplete(fileId(out.getString("url")));
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"ietf-draft-03", "ietf-draft-05"})
  void ietfDraftResumeAfterAbort(String protocol) throws Exception {
    JsonObject out = run("resume", protocol);
    List<JsonObject> patches = patches(out.getJsonArray("resumed"));
    assertThat(Long.parseLong(patches.get(0).getString("offset"))).isGreaterThanOrEqualTo(MIB);
    assertComplete(fileId(out.getString("url")));
  }

  /** Objects (and temporary files) in the file's directory of the store (ChunkKeys: {@code xx/<file id>/}). */
  private long objects(UUID id) throws IOException {
    Path dir = node.storage.resolve(id.toString().substring(0, 2)).resolve(id.toString());
    for (int attempt = 0; ; attempt++) {
      if (!Files.isDirectory(dir)) {
        return 0;
      }
      try (var s = Files.list(dir)) {
        return s.filter(Files::isRegularFile).count();
      } catch (java.nio.file.NoSuchFileException | java.io.UncheckedIOException e) { // removed while listed
        if (attempt > 20) {
          throw e;
        }
      }
    }
  }

  /**
   * {@code parallelUploads: 3}: three partial uploads sent at once, then a final upload
   * (concatenation) whose content is theirs, byte-exact, made of their stored chunks.
   */
  @Test
  void parallelUploadsThroughConcatenation() throws Exception {
    JsonObject out = run("parallel");
    JsonArray requests = out.getJsonArray("requests");
    List<JsonObject> partials = new ArrayList<>();
    List<JsonObject> finals = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      JsonObject r = requests.getJsonObject(i);
      if ("POST".equals(r.getString("method")) && "partial".equals(r.getString("concat"))) {
        partials.add(r);
      } else if ("POST".equals(r.getString("method")) && r.getString("concat") != null) {
        finals.add(r);
      }
    }
    assertThat(partials).hasSize(3).allSatisfy(r -> assertThat(r.getInteger("status")).isEqualTo(201));
    assertThat(finals).hasSize(1);
    assertThat(finals.get(0).getString("concat")).startsWith("final;");
    assertThat(finals.get(0).getInteger("status")).isEqualTo(201);
    UUID id = fileId(out.getString("url"));
    assertComplete(id);
    assertThat(Db.count(node.dbName, "SELECT count(DISTINCT source_file_id) FROM chunks WHERE file_id = '" + id + "'"))
        .isEqualTo(3);
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM files WHERE id IN (SELECT source_file_id FROM chunks"
        + " WHERE file_id = '" + id + "')")).isZero();
  }
}

package dev.files;

import dev.files.support.NodeProcess;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A 1 GiB classic upload and download through a node running in its own JVM with the heap capped at
 * 256 MiB: the bytes stream, they are never held whole in memory. Prints the MB/s and the node's
 * peak resident memory.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BigFileTest {

  static final long SIZE = 1L << 30;

  Process server;
  Map<String, Object> settings;
  Api api;
  Path log;

  @BeforeAll
  void start() throws Exception {
    settings = TestNode.settings(Map.of("limits.max_request_bytes", 2L << 30));
    log = Files.createTempFile("big-node", ".log");
    server = NodeProcess.start(settings, log, "-XX:+ExitOnOutOfMemoryError");
    api = new Api("http://127.0.0.1:" + settings.get("http.port") + "/internal/services/files/v1");
    NodeProcess.awaitUp(server, log, "http://127.0.0.1:" + settings.get("http.port") + "/health");
  }

  @AfterAll
  void stop() throws Exception {
    server.destroy();
    server.waitFor();
    Db.drop((String) settings.get("test.db_name"));
    Path storage = Path.of((String) settings.get("storage.local.path"));
    try (var s = Tree.walk(storage)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Test
  void oneGibibyteRoundTripWithA256MibHeap() throws Exception {
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    MessageDigest sent = MessageDigest.getInstance("SHA-256");

    Api.Multipart form = new Api.Multipart().filename("big.bin");
    long t0 = System.nanoTime();
    HttpResponse<String> up = Api.CLIENT.send(api.request(api.files(company), token).header("Content-Type", form.contentType())
            .POST(form.body(() -> new DigestInputStream(Samples.pattern(SIZE, 42), sent), SIZE)).build(),
        HttpResponse.BodyHandlers.ofString());
    double upSeconds = (System.nanoTime() - t0) / 1e9;
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    JsonObject r = Api.resource(up);
    assertThat(r.getJsonObject("upload_data").getLong("size")).isEqualTo(SIZE);
    String sentHash = HexFormat.of().formatHex(sent.digest());

    MessageDigest got = MessageDigest.getInstance("SHA-256");
    long t1 = System.nanoTime();
    HttpResponse<InputStream> down = Api.CLIENT.send(api.request(api.file(company, UUID.fromString(r.getString("id"))) + "/download", token)
        .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    long received = 0;
    try (InputStream in = down.body()) {
      byte[] buf = new byte[1 << 20];
      for (int n; (n = in.read(buf)) > 0; ) {
        got.update(buf, 0, n);
        received += n;
      }
    }
    double downSeconds = (System.nanoTime() - t1) / 1e9;
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(received).isEqualTo(SIZE);
    assertThat(HexFormat.of().formatHex(got.digest())).isEqualTo(sentHash);
    assertThat(server.isAlive()).isTrue();

    String status = Files.readString(Path.of("/proc/" + server.pid() + "/status"));
    String peak = status.lines().filter(l -> l.startsWith("VmHWM")).findFirst().orElse("VmHWM: ?");
    System.out.printf("1 GiB round trip, -Xmx256m: up %.0f MB/s, down %.0f MB/s, node %s%n",
        SIZE / upSeconds / 1e6, SIZE / downSeconds / 1e6, peak.replaceAll("\\s+", " "));
  }
}

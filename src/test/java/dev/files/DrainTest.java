package dev.files;

import dev.files.support.NodeProcess;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.RawHttp;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SIGTERM drains a node running in its own JVM: the port closes at once, an upload in flight finishes
 * (and its file is there for the next node), then the process exits 0.
 */
class DrainTest {

  Process server;
  Map<String, Object> settings;
  Path log;

  @AfterEach
  void cleanUp() throws Exception {
    if (server != null && server.isAlive()) {
      server.destroyForcibly().waitFor();
    }
    Db.drop((String) settings.get("test.db_name"));
    Path storage = Path.of((String) settings.get("storage.local.path"));
    if (Files.exists(storage)) {
      try (var s = Tree.walk(storage)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  void startProcess() throws Exception {
    log = Files.createTempFile("drain-node", ".log");
    server = NodeProcess.start(settings, log);
    NodeProcess.awaitUp(server, log, "http://127.0.0.1:" + settings.get("http.port") + "/health/ready");
  }

  @Test
  void sigtermLetsAnUploadInFlightFinish() throws Exception {
    settings = TestNode.settings(Map.of("http.drain_timeout_ms", 60_000, "log.format", "json"));
    startProcess();
    int port = ((Number) settings.get("http.port")).intValue();
    UUID company = UUID.randomUUID();
    String token = TestNode.userToken(UUID.randomUUID(), company);
    byte[] data = Samples.random(new Random(7), 1 << 20);
    String boundary = "drain-" + UUID.randomUUID();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.bin\"\r\n"
        + "Content-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    body.write(data);
    body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
    byte[] all = body.toByteArray();
    int half = all.length / 2;

    try (RawHttp upload = new RawHttp(port)) {
      upload.head("POST /internal/services/files/v1/companies/" + company + "/files HTTP/1.1",
          "Authorization: Bearer " + token, "Content-Type: multipart/form-data; boundary=" + boundary,
          "Content-Length: " + all.length);
      assertThat(upload.send(Arrays.copyOfRange(all, 0, half))).isTrue();
      // a later connection answered means the upload's connection was accepted before it
      assertThat(java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create("http://127.0.0.1:" + port + "/health/live")).build(), HttpResponse.BodyHandlers.ofString())
          .statusCode()).isEqualTo(200);
      Thread.sleep(1000); // the node has read the head and half the body

      server.destroy(); // SIGTERM
      long t0 = System.nanoTime();
      boolean refused = false;
      while (!refused && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(20)) {
        try (Socket s = new Socket("127.0.0.1", port)) {
          Thread.sleep(100); // not yet draining
        } catch (ConnectException e) {
          refused = true;
        }
      }
      assertThat(refused).as("a new connection is refused during the drain").isTrue();
      assertThat(server.isAlive()).as("still draining").isTrue();

      assertThat(upload.send(Arrays.copyOfRange(all, half, all.length))).isTrue();
      String response = upload.readResponse();
      assertThat(response).startsWith("HTTP/1.1 200");
      JsonObject resource = new JsonObject(response.substring(response.indexOf("\r\n\r\n") + 4)).getJsonObject("resource");
      assertThat(resource.getJsonObject("upload_data").getLong("size")).isEqualTo(data.length);
      UUID id = UUID.fromString(resource.getString("id"));

      assertThat(server.waitFor(60, TimeUnit.SECONDS)).as("the process stops after the drain").isTrue();
      String output = Files.readString(log);
      assertThat(server.exitValue()).as(output).isEqualTo(0);
      assertThat(output).contains("drain started").contains("drain finished").contains("files service stopped");
      // log.format=json: one JSON object per line, the access log among them
      List<JsonObject> lines = output.lines().filter(l -> l.startsWith("{")).map(JsonObject::new).toList();
      assertThat(lines.stream().map(l -> l.getString("message"))).anyMatch(m -> m.startsWith("drain started"))
          .anyMatch(m -> m.startsWith("files service listening on http://127.0.0.1:" + port));
      assertThat(lines).allMatch(l -> l.containsKey("@timestamp") && l.containsKey("level") && l.containsKey("logger_name"));
      assertThat(lines.stream().filter(l -> "dev.files.access".equals(l.getString("logger_name"))).map(l -> l.getString("message")))
          .anyMatch(m -> m.contains(" POST /internal/services/files/v1/companies/" + company + "/files 200 in=" + all.length + " "));
      assertThat(output.lines().filter(l -> !l.isBlank() && !l.startsWith("{")).toList()).as("only JSON lines").isEmpty();
      assertThat(Db.count((String) settings.get("test.db_name"),
          "SELECT count(*) FROM files WHERE id = '" + id + "' AND generation IS NOT NULL AND size = " + data.length)).isEqualTo(1);

      // a new node on the same database and store serves the file
      Map<String, Object> same = Map.of("db.url", settings.get("db.url"), "storage.local.path", settings.get("storage.local.path"));
      try (TestNode next = TestNode.start(same)) {
        HttpResponse<byte[]> down = new Api(next).download(company, id, token);
        assertThat(down.statusCode()).isEqualTo(200);
        assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(data));
      }
    }
  }
}

package dev.files;

import dev.files.bus.Addresses;
import dev.files.support.Api;
import dev.files.support.NodeTest;
import dev.files.support.Samples;
import io.vertx.core.eventbus.DeliveryContext;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import io.vertx.core.Handler;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A classic upload of a new file (POST .../files with a multipart body) is recorded without an
 * upload session: no session is deployed and no message goes to {@code files.upload.<id>}, while the
 * answer, the stored bytes, the thumbnail, the {@code file.uploaded} event and the counters are
 * those of any completed upload. Uploads to an existing file id still go through its session.
 */
class NewFileCommitTest extends NodeTest {

  /** Addresses of the messages sent on the node's event bus while a test runs. */
  private final List<String> sent = new CopyOnWriteArrayList<>();

  private final Handler<DeliveryContext<Object>> record = dc -> {
    sent.add(dc.message().address());
    dc.next();
  };

  private long sessionMessages() {
    return sent.stream().filter(a -> a.startsWith(Addresses.UPLOAD_PREFIX)).count();
  }

  @Test
  void classicUploadOfANewFileDeploysNoSessionAndKeepsEveryEffect() throws Exception {
    List<JsonObject> events = new CopyOnWriteArrayList<>();
    MessageConsumer<JsonObject> consumer = node.node.vertx().eventBus().consumer(Addresses.EVENTS, m -> events.add(m.body()));
    consumer.completion().await(10, TimeUnit.SECONDS);
    sent.clear();
    node.node.vertx().eventBus().addOutboundInterceptor(record);
    try {
      String before = metrics();
      byte[] png = Samples.image("png", 300, 200);
      HttpResponse<String> up = api.post(api.files(company) + "?thumbnail_sync=1", token,
          new Api.Multipart().filename("p.png").partType("image/png"), png);
      assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
      JsonObject r = Api.resource(up);
      UUID id = UUID.fromString(r.getString("id"));
      assertThat(r.getString("upload_status")).isEqualTo("complete");
      assertThat(r.getJsonObject("upload_data")).isEqualTo(new JsonObject().put("size", png.length).put("chunks", 1));
      assertThat(r.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done");
      assertThat(r.getJsonArray("thumbnails")).hasSize(1);

      assertThat(node.node.sessions().deploymentOf(id)).isNull();
      assertThat(sessionMessages()).as("messages to upload sessions: %s", sent).isZero();
      assertThat(sent).contains(Addresses.THUMBNAILS);

      HttpResponse<byte[]> down = api.download(company, id, token);
      assertThat(down.statusCode()).isEqualTo(200);
      assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(png));
      HttpResponse<byte[]> thumb = Api.CLIENT.send(api.request(api.file(company, id) + "/thumbnails/0", token).GET().build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertThat(thumb.statusCode()).isEqualTo(200);
      assertThat(thumb.body()).isNotEmpty();

      eventually(java.time.Duration.ofSeconds(20), () -> assertThat(events).anySatisfy(e -> {
        assertThat(e.getString("type")).isEqualTo("file.uploaded");
        assertThat(e.getString("file_id")).isEqualTo(id.toString());
        assertThat(e.getString("company_id")).isEqualTo(company.toString());
        assertThat(e.getJsonObject("resource").getString("upload_status")).isEqualTo("complete");
      }));
      String after = metrics();
      assertThat(OperabilityTest.metric(after, "files_uploads_completed_total")
          - OperabilityTest.metric(before, "files_uploads_completed_total")).isEqualTo(1.0);
      assertThat(OperabilityTest.metric(after, "files_chunks_committed_total")
          - OperabilityTest.metric(before, "files_chunks_committed_total")).isEqualTo(1.0);
      assertThat(OperabilityTest.metric(after, "files_uploaded_bytes_total")
          - OperabilityTest.metric(before, "files_uploaded_bytes_total")).isEqualTo(png.length);
    } finally {
      node.node.vertx().eventBus().removeOutboundInterceptor(record);
      consumer.unregister();
    }
  }

  /**
   * A new file's row is inserted as its whole upload leaves it (one statement, from the rules'
   * model) rather than built up by the statements of each effect: every column must be what those
   * statements would have left, and the answer must be the row as read back.
   */
  @Test
  void aWholeNewFileIsStoredLiveInOneRowAndAnsweredAsReadBack() throws Exception {
    byte[] bytes = Samples.random(new java.util.Random(7), 70_000);
    HttpResponse<String> up = api.post(api.files(company), token,
        new Api.Multipart().filename("notes.bin").partType("application/octet-stream"), bytes);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    JsonObject answered = Api.resource(up);
    String id = answered.getString("id");
    List<String> row = dev.files.support.Db.strings(node.dbName, """
        SELECT concat_ws('|', generation, size, chunks, coalesce(upload_generation::text, '-'),
                       coalesce(total_chunks::text, '-'), coalesce(total_size::text, '-'),
                       coalesce(upload_name, '-'), coalesce(upload_mime, '-'), thumbnails::text,
                       thumbnails_status, last_generation, created_at = updated_at, name, mime)
          FROM files WHERE id = '""" + id + "'");
    assertThat(row).containsExactly("1|70000|1|-|-|-|-|-|[]|none|1|t|notes.bin|application/octet-stream");
    assertThat(dev.files.support.Db.strings(node.dbName, "SELECT concat_ws('|', generation, chunk_number, size)"
        + " FROM chunks WHERE file_id = '" + id + "'")).containsExactly("1|1|70000");
    JsonObject read = Api.resource(api.get(api.files(company) + "/" + id, token));
    assertThat(answered).isEqualTo(read);
  }

  @Test
  void overwriteOfAnExistingFileStillGoesThroughItsSession() throws Exception {
    byte[] first = "first version".getBytes();
    HttpResponse<String> up = api.upload(company, token, "a.txt", "text/plain", first);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    sent.clear();
    node.node.vertx().eventBus().addOutboundInterceptor(record);
    try {
      byte[] second = "second version, longer".getBytes();
      String app = dev.files.support.TestNode.appToken(UUID.randomUUID(), company); // a complete file is overwritten by an application
      HttpResponse<String> over = api.post(api.file(company, id), app,
          new Api.Multipart().filename("a.txt").partType("text/plain"), second);
      assertThat(over.statusCode()).as(over.body()).isEqualTo(200);
      assertThat(sent).contains(Addresses.upload(id));
      HttpResponse<byte[]> down = api.download(company, id, token);
      assertThat(down.body()).isEqualTo(second);
    } finally {
      node.node.vertx().eventBus().removeOutboundInterceptor(record);
    }
  }

  private String metrics() throws Exception {
    HttpResponse<String> r = api.get("http://127.0.0.1:" + node.port + "/metrics", null);
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }
}

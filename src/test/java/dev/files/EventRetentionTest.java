package dev.files;

import dev.files.bus.Addresses;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/** A published event's outbox row is removed once {@code events.retention_ms} has passed (here 1 ms). */
class EventRetentionTest extends NodeTest {

  @Override
  protected Map<String, ?> settings() {
    return Map.of("events.retention_ms", 1, "events.poll_ms", 100);
  }

  @Test
  void publishedEventsAreRemovedAfterTheRetention() throws Exception {
    List<JsonObject> events = new CopyOnWriteArrayList<>();
    MessageConsumer<JsonObject> consumer = node.node.vertx().eventBus().consumer(Addresses.EVENTS, m -> events.add(m.body()));
    consumer.completion().await(10, TimeUnit.SECONDS);
    try {
      HttpResponse<String> up = api.upload(company, token, "r.txt", "text/plain", "kept a moment".getBytes());
      assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
      String id = Api.resource(up).getString("id");
      eventually(Duration.ofSeconds(10), () -> assertThat(events).anySatisfy(e -> {
        assertThat(e.getString("file_id")).isEqualTo(id);
        assertThat(e.getString("type")).isEqualTo("file.uploaded");
      }));
      eventually(Duration.ofSeconds(10), () ->
          assertThat(Db.count(node.dbName, "SELECT count(*) FROM event_outbox WHERE file_id = '" + id + "'")).isZero());
    } finally {
      consumer.unregister();
    }
  }
}

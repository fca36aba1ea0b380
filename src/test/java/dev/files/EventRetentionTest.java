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

/**
 * A published event's outbox row is removed once {@code events.retention_ms} has passed (here 1 ms), and a
 * replay from before it answers 410 with the earliest position available.
 */
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
      eventually(Duration.ofSeconds(60), () -> assertThat(events).anySatisfy(e -> {
        assertThat(e.getString("file_id")).isEqualTo(id);
        assertThat(e.getString("type")).isEqualTo("file.uploaded");
      }));
      long position = events.stream().filter(e -> e.getString("file_id").equals(id)).findFirst().orElseThrow().getLong("position");
      eventually(Duration.ofSeconds(60), () ->
          assertThat(Db.count(node.dbName, "SELECT count(*) FROM event_outbox WHERE file_id = '" + id + "'")).isZero());
      // a replay from before it says that it is gone, and where the retained events start
      HttpResponse<String> gone = api.get(node.api() + "/companies/" + company + "/events?after=0", token);
      assertThat(gone.statusCode()).as(gone.body()).isEqualTo(410);
      assertThat(new JsonObject(gone.body()).getString("message")).isEqualTo("events after position 0 are no longer"
          + " retained (events.retention_ms); the earliest position available is " + (position + 1));
      HttpResponse<String> rest = api.get(node.api() + "/companies/" + company + "/events?after=" + position, token);
      assertThat(rest.statusCode()).as(rest.body()).isEqualTo(200);
      assertThat(new JsonObject(rest.body())).isEqualTo(new JsonObject().put("events", new io.vertx.core.json.JsonArray())
          .put("next", position));
    } finally {
      consumer.unregister();
    }
  }
}

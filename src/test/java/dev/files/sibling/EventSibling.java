package dev.files.sibling;

import dev.files.api.FileEvent;
import dev.files.api.FilesApi;
import dev.files.api.FilesApiFailure;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A sibling verticle that listens to one company's file events ({@code files.events.<company_id>},
 * docs/event-bus.md) and hands events to {@code sink}, on the verticle's event loop. Configuration:
 * {@code {"company_id": uuid, "token"?: a JWT of the company, "after"?: position}}.
 *
 * <p>Without {@code token}, every delivery as received (duplicates included: a test counts them).
 * With {@code token}, the consumer loop of docs/event-bus.md ("Positions and replay"): it subscribes,
 * replays from {@code after} (default 0) through {@code files.api} action {@code events}, then hands
 * on each event whose position is above the last it handled; an event whose {@code previous_position}
 * is above that (a gap: an event was published to nobody) makes it replay from the last position
 * first. Each event reaches {@code sink} once, in position order. {@link #replays()} counts the replays,
 * {@link #missed()} holds the 410 messages (events no longer retained).
 */
public class EventSibling extends VerticleBase {

  private final Consumer<JsonObject> sink;
  private final List<String> missed = new CopyOnWriteArrayList<>();
  private volatile int replays;
  private FilesApi files;
  private String company;
  private long last;
  private boolean replaying;
  private boolean again;

  /** @param sink receives each event body (see the class comment for which), on the verticle's event loop */
  public EventSibling(Consumer<JsonObject> sink) {
    this.sink = sink;
  }

  @Override
  public Future<?> start() {
    company = config().getString("company_id");
    String token = config().getString("token");
    if (token == null) {
      return vertx.eventBus().<JsonObject>consumer(FileEvent.address(company), m -> sink.accept(m.body())).completion();
    }
    files = FilesApi.proxy(vertx, token);
    last = config().getLong("after", 0L);
    return vertx.eventBus().<JsonObject>consumer(FileEvent.address(company), m -> received(FileEvent.from(m.body())))
        .completion().onSuccess(v -> replay());
  }

  /** How many replays ran (the one at start included). */
  public int replays() {
    return replays;
  }

  /** The messages of replays refused with 410: events that were no longer retained. */
  public List<String> missed() {
    return missed;
  }

  private void received(FileEvent event) {
    if (event.position() <= last) {
      return; // handled already (a duplicate, or replayed before it arrived)
    }
    if (replaying || event.previousPosition() > last) {
      replay(); // a gap, or a replay under way that may have read before this event was numbered
      return;
    }
    handle(event.json());
  }

  private void handle(JsonObject event) {
    last = event.getLong("position");
    sink.accept(event);
  }

  private void replay() {
    if (replaying) {
      again = true;
      return;
    }
    replaying = true;
    again = false;
    replays++;
    files.events(company, last, 100).onComplete(ar -> {
      replaying = false;
      if (ar.succeeded()) {
        JsonArray page = ar.result().getJsonArray("events");
        for (int i = 0; i < page.size(); i++) {
          JsonObject event = page.getJsonObject(i);
          if (event.getLong("position") > last) {
            handle(event);
          }
        }
        if (page.size() == 100 || again) {
          replay();
        }
      } else if (FilesApiFailure.of(ar.cause()) == FilesApiFailure.GONE) {
        missed.add(ar.cause().getMessage());
        last = FileEvent.earliestAvailable(ar.cause().getMessage()) - 1;
        replay();
      } else {
        vertx.setTimer(1000, t -> replay()); // the service is unreachable: try again
      }
    });
  }
}

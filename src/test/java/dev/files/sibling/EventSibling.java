package dev.files.sibling;

import dev.files.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;

import java.util.function.Consumer;

/**
 * A sibling verticle that listens to one company's file events ({@code files.events.<company_id>},
 * docs/event-bus.md) and hands every delivery, as received, to {@code sink} (duplicates included:
 * the test counts them). Configuration: {@code {"company_id": uuid}}.
 */
public class EventSibling extends VerticleBase {

  private final Consumer<JsonObject> sink;

  /** @param sink receives each event body in delivery order, on the verticle's event loop */
  public EventSibling(Consumer<JsonObject> sink) {
    this.sink = sink;
  }

  @Override
  public Future<?> start() {
    return vertx.eventBus().<JsonObject>consumer(Addresses.events(config().getString("company_id")),
        m -> sink.accept(m.body())).completion();
  }
}

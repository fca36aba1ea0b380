package dev.files.events;

import dev.files.api.FileEvent;
import dev.files.bus.Addresses;
import dev.files.bus.InternalBus;
import dev.files.db.EventRepository;
import io.vertx.core.Vertx;

/**
 * The file events siblings receive on {@code files.events} and {@code files.events.<company_id>}
 * (README, "Event bus"): their types, and the waker of the {@link OutboxRelay}. A change writes its
 * event to the {@code event_outbox} table in its own transaction
 * ({@link EventRepository#insert}, {@link EventRepository#insertAll}) and calls {@link #wake()}
 * after the COMMIT; the relay publishes it.
 *
 * <p>An event is JSON {@code {"id": uuid, "type": string, "company_id": uuid, "file_id": uuid,
 * "at": ISO-8601 UTC instant, "resource": {...}?}}, {@code resource} being the API resource of the
 * file after the change (absent for {@link #DELETED}); the relay adds {@code position} and
 * {@code previous_position} when it numbers the row ({@link EventLog#event}). {@code id} is unique per
 * event; a crash of the relay between publishing and marking an event published makes it publish the
 * event again with the same {@code id} and {@code position}, so subscribers drop a position they have
 * handled.
 */
public final class Outbox {

  /** The first completion of a new file's upload. */
  public static final String UPLOADED = FileEvent.UPLOADED;
  /** The completion of an upload over a file that already had content (the new content is live). */
  public static final String OVERWRITTEN = FileEvent.OVERWRITTEN;
  /** A file was deleted. */
  public static final String DELETED = FileEvent.DELETED;
  /** The thumbnail worker recorded its result for the live content ({@code metadata.thumbnails_status}). */
  public static final String THUMBNAILS_READY = FileEvent.THUMBNAILS_READY;

  private final Vertx vertx;
  private final InternalBus bus;

  /**
   * The waker of a node's relay ({@link #wake()}); the events themselves are written by
   * {@link EventRepository#insert} in the transaction of their change.
   *
   * @param vertx the node's Vert.x (its event bus reaches the relay wherever it runs in the cluster)
   * @param bus   the node's internal event bus: the hint carries the cluster's secret
   */
  public Outbox(Vertx vertx, InternalBus bus) {
    this.vertx = vertx;
    this.bus = bus;
  }

  /**
   * Tells the relay, wherever it runs in the cluster, that events were committed: it publishes them
   * now rather than at its next poll. Call after the COMMIT; nothing is lost if the hint is.
   */
  public void wake() {
    vertx.eventBus().send(Addresses.EVENTS_RELAY, null, bus.options());
  }
}

package dev.files.events;

import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.api.FileEvent;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import dev.files.db.EventRepository;
import io.vertx.sqlclient.Pool;

import java.util.List;
import java.util.UUID;

/**
 * The record of file events: a company's events read back from the outbox by position, for
 * {@code files.api} action {@code events} and {@code GET .../companies/<company_id>/events}
 * (docs/event-bus.md, "Positions and replay"; docs/api.md).
 *
 * <p>Only rows that have a position are read. The relay gives positions serially in one transaction per
 * batch (the relay's cycle, {@link EventRepository#cycle}), so a reader that has seen position N never later finds a
 * position below N. Rows are kept {@code events.retention_ms} after their publication; a replay that
 * would skip a removed event of the company fails with 410 instead ({@link #gone}).
 */
public final class EventLog {

  /** Page size without {@code limit}. */
  public static final int DEFAULT_LIMIT = FileEvent.DEFAULT_REPLAY;
  /** Largest page. */
  public static final int MAX_LIMIT = FileEvent.MAX_REPLAY;

  private final Pool pool;

  /** @param pool the service's database */
  public EventLog(Pool pool) {
    this.pool = pool;
  }

  /**
   * The event as published and replayed: the stored body with {@code position} (the cluster's
   * sequence, from 1) and {@code previous_position} (the position of the company's previous event,
   * 0 for its first).
   */
  public static JsonObject event(long position, long previous, JsonObject body) {
    return body.copy().put("position", position).put("previous_position", previous);
  }

  /**
   * The company's events with a position above {@code after}, in position order, at most {@code limit}:
   * {@code {"events": [event, ...], "next": the last position returned, or after when none}}.
   *
   * <p>Fails with {@link ServiceException} of kind {@link Kind#GONE} (410) when an event of the company above {@code after} is no longer
   * retained (the first retained one names a previous position above {@code after}, or none is
   * retained and the company's last position is above {@code after}); the message says "the earliest
   * position available is E": replaying from {@code after = E - 1} takes what is left.
   *
   * @param after a position, exclusive (0: from the start); checked by {@link #after(Object)}
   * @param limit 1 to {@link #MAX_LIMIT}; checked by {@link #limit(Object)}
   */
  public Future<JsonObject> replay(UUID company, long after, int limit) {
    // one statement, hence one snapshot: the company's last position and its rows are read together
    return EventRepository.replay(pool, company, after, limit)
        .map(page -> {
          if (page.events().isEmpty()) { // no row above after
            long last = page.last();
            if (last > after) {
              throw gone(after, last + 1);
            }
            return new JsonObject().put("events", new JsonArray()).put("next", after);
          }
          EventRepository.Numbered first = page.events().get(0);
          if (first.previous() > after) {
            throw gone(after, first.position());
          }
          return page(page.events(), after);
        });
  }

  private static JsonObject page(List<EventRepository.Numbered> rows, long after) {
    JsonArray events = new JsonArray();
    long next = after;
    for (EventRepository.Numbered r : rows) {
      next = r.position();
      events.add(event(next, r.previous(), r.body()));
    }
    return new JsonObject().put("events", events).put("next", next);
  }

  /** 410: events after {@code after} were removed; {@code earliest} is the first position still there (or to come). */
  static ServiceException gone(long after, long earliest) {
    return new ServiceException(Kind.GONE, "events after position " + after + " are no longer retained (events.retention_ms);"
        + " " + FileEvent.EARLIEST + " " + earliest);
  }

  /** {@code after} of a files.api message: absent or null is 0; else a whole number from 0; 400 otherwise. */
  public static long after(Object raw) {
    if (raw == null) {
      return 0;
    }
    if (!(raw instanceof Integer || raw instanceof Long) || ((Number) raw).longValue() < 0) {
      throw ServiceException.badRequest("after must be a whole number from 0 (a position; 0: from the start)");
    }
    return ((Number) raw).longValue();
  }

  /** {@code limit} of a files.api message: absent or null is {@link #DEFAULT_LIMIT}; else 1 to {@link #MAX_LIMIT}; 400 otherwise. */
  public static int limit(Object raw) {
    if (raw == null) {
      return DEFAULT_LIMIT;
    }
    if (!(raw instanceof Integer || raw instanceof Long) || ((Number) raw).longValue() < 1
        || ((Number) raw).longValue() > MAX_LIMIT) {
      throw ServiceException.badRequest("limit must be a whole number from 1 to " + MAX_LIMIT);
    }
    return ((Number) raw).intValue();
  }

  /** A query parameter as {@link #after(Object)} or {@link #limit(Object)} take it: null when absent, the text when not a number. */
  public static Object query(String raw) {
    if (raw == null) {
      return null;
    }
    if (raw.matches("[0-9]{1,18}")) {
      return Long.parseLong(raw);
    }
    return raw;
  }
}

package dev.files.api;

import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * A file event as the service publishes it on {@value #ADDRESS} (every company) and on
 * {@code files.events.<company_id>} ({@link #address(String)}, one company): the JSON
 * {@code {"id": uuid, "type": string, "company_id": uuid, "file_id": uuid, "at": ISO-8601 UTC,
 * "position": number, "previous_position": number, "resource": {...}?}} read into a record
 * (docs/event-bus.md, "Listening to file events" and "Positions and replay").
 *
 * <p>{@code position} numbers the events of the whole cluster, from 1, strictly increasing and without
 * gaps; {@code previous_position} is the position of the same company's previous event (0 for its
 * first). A subscriber of one company that has handled up to position L and receives an event whose
 * {@code previous_position} is above L missed an event: it replays ({@code files.api} action
 * {@code events}, {@link FilesApi#events}) from L. Publishing on the event bus is a hint (a publish
 * reaches nobody across a partition); the replay is the record.
 *
 * <p>{@code resource} is the file's API resource after the change ({@code null} for {@link #DELETED}).
 * An event is recorded once its change is committed, but a publish may reach nobody (a partition, a
 * subscriber that is not running) and may come twice after a crash of the publishing node, with the
 * same {@code id} and {@code position}: drop a position already handled, and replay on a gap. {@link #json()} is the message as received, with any
 * field this version does not read.
 *
 * @param id        unique per event (UUID)
 * @param type      {@link #UPLOADED}, {@link #OVERWRITTEN}, {@link #THUMBNAILS_READY} or {@link #DELETED}
 *                  (a newer service may add types: ignore those you do not know)
 * @param companyId the file's company (UUID)
 * @param fileId    the file (UUID)
 * @param at        when the change was committed
 * @param resource  the file's resource after the change, or null
 * @param json      the event as published
 */
public record FileEvent(String id, String type, String companyId, String fileId, Instant at, JsonObject resource,
                        JsonObject json) {

  /** The address of every company's events (publish only). */
  public static final String ADDRESS = "files.events";
  /** The first completion of a new file's upload. */
  public static final String UPLOADED = "file.uploaded";
  /** The completion of an upload over a file that had content (the new content is live). */
  public static final String OVERWRITTEN = "file.overwritten";
  /** The thumbnail worker recorded its result ({@code metadata.thumbnails_status}: done, none or error). */
  public static final String THUMBNAILS_READY = "file.thumbnails.ready";
  /** The file was deleted ({@code resource} is null). */
  public static final String DELETED = "file.deleted";

  /** Page size of a replay ({@link FilesApi#events}) without {@code limit}. */
  public static final int DEFAULT_REPLAY = 100;
  /** Largest page of a replay. */
  public static final int MAX_REPLAY = 1000;
  /**
   * The words before the number in the message of a replay's 410 (events no longer retained):
   * "the earliest position available is E" ({@link #earliestAvailable(String)} reads E).
   */
  public static final String EARLIEST = "the earliest position available is";

  /** The address of one company's events: {@code files.events.<company_id>}. */
  public static String address(String companyId) {
    return ADDRESS + "." + companyId;
  }

  /**
   * Reads an event message's body.
   *
   * @throws IllegalArgumentException when a field of the shape above is missing or of the wrong type, or
   *     {@code at} is not an ISO-8601 instant
   */
  public static FileEvent from(JsonObject json) {
    try {
      return new FileEvent(text(json, "id"), text(json, "type"), text(json, "company_id"), text(json, "file_id"),
          Instant.parse(text(json, "at")), json.getJsonObject("resource"), json);
    } catch (ClassCastException | DateTimeParseException e) {
      throw new IllegalArgumentException("not a file event: " + e.getMessage(), e);
    }
  }

  /** The event's position (the cluster's sequence, from 1); 0 when the message has none. */
  public long position() {
    return json.getLong("position", 0L);
  }

  /** The position of the company's previous event (0 for its first, or when the message has none). */
  public long previousPosition() {
    return json.getLong("previous_position", 0L);
  }

  /**
   * E of a replay's 410 message "... the earliest position available is E", or -1 when the message is
   * not that one: replay again from {@code after = E - 1} to take the events still retained.
   */
  public static long earliestAvailable(String message) {
    int at = message == null ? -1 : message.indexOf(EARLIEST);
    if (at < 0) {
      return -1;
    }
    String rest = message.substring(at + EARLIEST.length()).trim();
    int end = 0;
    while (end < rest.length() && Character.isDigit(rest.charAt(end))) {
      end++;
    }
    return end == 0 ? -1 : Long.parseLong(rest.substring(0, end));
  }

  private static String text(JsonObject json, String field) {
    String value = json.getString(field);
    if (value == null) {
      throw new IllegalArgumentException("not a file event: no \"" + field + "\"");
    }
    return value;
  }
}

package dev.files.api;

import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * A file event as the service publishes it on {@value #ADDRESS} (every company) and on
 * {@code files.events.<company_id>} ({@link #address(String)}, one company): the JSON
 * {@code {"id": uuid, "type": string, "company_id": uuid, "file_id": uuid, "at": ISO-8601 UTC,
 * "resource": {...}?}} read into a record (docs/event-bus.md, "Listening to file events").
 *
 * <p>{@code resource} is the file's API resource after the change ({@code null} for {@link #DELETED}).
 * An event is never lost but may come twice after a crash of the publishing node, with the same
 * {@code id}: drop an {@code id} already handled. {@link #json()} is the message as received, with any
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

  private static String text(JsonObject json, String field) {
    String value = json.getString(field);
    if (value == null) {
      throw new IllegalArgumentException("not a file event: no \"" + field + "\"");
    }
    return value;
  }
}

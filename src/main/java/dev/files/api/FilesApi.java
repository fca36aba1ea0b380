package dev.files.api;

import io.vertx.codegen.annotations.ProxyGen;
import io.vertx.codegen.annotations.VertxGen;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.serviceproxy.ServiceProxyBuilder;

/**
 * The files service at {@value #ADDRESS}, for sibling verticles of the cluster (docs/event-bus.md). Each method is one message: header {@code action} = the method's
 * name, header {@code authorization} = {@code Bearer <JWT>} (checked as the same HTTP call:
 * signature, expiry, membership of {@code company_id}, owner rights, server tokens), body = a JSON
 * object of the parameters under their names here (the HTTP API's names). Replies are JSON objects;
 * failures are {@link io.vertx.core.eventbus.ReplyException}s whose {@code failureCode()} is the HTTP
 * status the same call would get: 400, 401, 403, 404, 409, 413, or 503 (a dependency failed; the
 * message carries a request id that the service's log has too).
 *
 * <p>Ids are UUID strings. Use {@link #proxy(Vertx, String)} for a proxy that sends a token; a failure's
 * code reads best through {@link FilesApiFailure#of(Throwable)}. This interface, its proxy, {@link FileEvent},
 * {@link FilesApiFailure} and {@link FilesCluster} make the {@code api} jar of the build
 * ({@code files-service-api.jar}), which a sibling needs instead of the service's jar.
 */
@ProxyGen
@VertxGen
public interface FilesApi {

  /** The event-bus address the service answers on. */
  String ADDRESS = "files.api";

  /**
   * Largest file {@link #create} takes, in bytes (decoded): 8 MiB, about 11 MB of base64, so that the
   * message stays well inside what the clustered event bus carries in one frame without stalling the
   * connection it shares with every other message between two nodes.
   */
  int MAX_CREATE_BYTES = 8 * 1024 * 1024;

  /** Page size of {@link #list} without {@code limit}. */
  int DEFAULT_LIST = 50;

  /** Largest page of {@link #list}. */
  int MAX_LIST = 500;

  /**
   * A proxy sending every call to {@code files.api} with {@code token} in the {@code authorization} header.
   *
   * @param token a JWT as the HTTP API takes it (without "Bearer ")
   */
  static FilesApi proxy(Vertx vertx, String token) {
    return new ServiceProxyBuilder(vertx).setAddress(ADDRESS)
        .setOptions(new DeliveryOptions().addHeader("authorization", "Bearer " + token))
        .build(FilesApi.class);
  }

  /** {@code {"resource": {...}}}, as {@code GET .../files/<file_id>} answers; 404 when not in the company. */
  Future<JsonObject> get(String company_id, String file_id);

  /** {@code {"exists": bool}}: whether the company has the file (pending uploads included). */
  Future<JsonObject> exists(String company_id, String file_id);

  /**
   * Deletes the file as {@code DELETE .../files/<file_id>} does (its owner, an application or a
   * server token; 403 otherwise): {@code {"status": "success"}}.
   */
  Future<JsonObject> delete(String company_id, String file_id);

  /**
   * Which chunks of the file are stored: {@code {"file_id", "upload_status", "total_chunks": int | null,
   * "chunks": [int...]}} (the upload in progress; a complete file without one lists all its chunks).
   */
  Future<JsonObject> probe(String company_id, String file_id);

  /**
   * A short-lived signed download URL: {@code {"url", "path", "expires_at": epoch ms, "size", "sha256"?}}
   * ({@code path} is {@code url} without scheme and host). 409 while no upload of the file is complete.
   */
  Future<JsonObject> read(String company_id, String file_id);

  /**
   * Stores bytes a sibling produced as a new file owned by the calling application (an application
   * token; 403 otherwise), encrypted and limited as an upload: {@code {"resource": {...}}}.
   *
   * @param name    file name (sanitised as an upload's; required)
   * @param mime    content type, or null to sniff it
   * @param content the bytes, base64 (RFC 4648 section 4, no line breaks), at most {@link #MAX_CREATE_BYTES} decoded (413 beyond)
   */
  Future<JsonObject> create(String company_id, String name, String mime, String content);

  /**
   * A company's files, newest first: {@code {"resources": [...], "next_cursor": string | null}}.
   *
   * @param limit  1 to {@link #MAX_LIST} (default {@link #DEFAULT_LIST}), or null
   * @param cursor {@code next_cursor} of the previous page, or null for the first
   */
  Future<JsonObject> list(String company_id, Integer limit, String cursor);

  /**
   * The company's file events after a position, oldest first: {@code {"events": [event, ...], "next":
   * the last position returned, or after when none}}, each event as published ({@link FileEvent}, with
   * {@code position} and {@code previous_position}). Events are kept {@code events.retention_ms} after
   * their publication (7 days by default); when an event of the company after {@code after} is no longer
   * kept the call fails with 410, whose message gives the earliest position available
   * ({@link FileEvent#earliestAvailable(String)}). 400 for a bad {@code after} or {@code limit}.
   *
   * @param after a position, exclusive: 0 or null for the start, else the last position handled
   * @param limit 1 to {@link FileEvent#MAX_REPLAY} (default {@link FileEvent#DEFAULT_REPLAY}), or null
   */
  Future<JsonObject> events(String company_id, Long after, Integer limit);
}

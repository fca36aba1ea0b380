package dev.files.api;

import dev.files.auth.Caller;
import dev.files.auth.DownloadSigner;
import dev.files.auth.Membership;
import dev.files.auth.MembershipVerticle;
import dev.files.auth.TokenVerifier;
import dev.files.bus.Addresses;
import dev.files.db.FileRepository;
import dev.files.error.ErrorAnswer;
import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.events.EventLog;
import dev.files.model.ContentTypes;
import dev.files.model.FileNames;
import dev.files.model.FileRecord;
import dev.files.model.Uuids;
import dev.files.crypto.EncryptedObjects;
import dev.files.crypto.DataKeys;
import dev.files.storage.StorageException;
import dev.files.upload.ChunkWrite;
import dev.files.upload.Requester;
import dev.files.upload.UploadRules;
import dev.files.upload.UploadSessions;
import dev.files.upload.ChunkCommit;
import dev.files.upload.Uploads;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Answers {@link FilesApi} at {@link Addresses#API} on every node (docs/event-bus.md).
 *
 * <p>It speaks the protocol of the proxy vertx-codegen generates ({@code action} header, JSON body of
 * the parameters by name), but is written by hand rather than bound with {@code ServiceBinder}: the
 * generated handler cannot hand the message's {@code authorization} header to the service, and answers
 * a wrong type or an unknown action with 500 where this contract promises 400.
 *
 * <p>Every message is answered, once: a reply, or a failure whose code is the HTTP status of the same
 * call, from {@link ErrorAnswer} as at the HTTP edge (400 malformed, 401 no valid token, 403 not
 * allowed, 404 not found, 409 not complete, 410 events no longer retained, 413 too large, 503
 * dependency down or busy, 507 store full, 500 unexpected; 5xx messages carry a request id that is
 * logged with the cause).
 */
public final class FilesApiVerticle extends VerticleBase {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FilesApiVerticle.class);
  /** Largest file {@code create} takes, in bytes (decoded): {@link FilesApi#MAX_CREATE_BYTES}. */
  public static final int MAX_CREATE_BYTES = FilesApi.MAX_CREATE_BYTES;
  /** Page size of {@code list} without {@code limit}: {@link FilesApi#DEFAULT_LIST}. */
  public static final int DEFAULT_LIST = FilesApi.DEFAULT_LIST;
  /** Largest page of {@code list}: {@link FilesApi#MAX_LIST}. */
  public static final int MAX_LIST = FilesApi.MAX_LIST;
  /** The actions, the methods of {@link FilesApi}. */
  public static final Set<String> ACTIONS = Set.of("get", "exists", "delete", "probe", "read", "create", "list",
      "events");

  private final Services s;
  private final Uploads uploads;
  private EventLog events;

  /**
   * What the service needs.
   *
   * @param baseUrl     scheme, host and port of this node's HTTP edge, for signed URLs ({@code http://host:port})
   * @param maxFileBytes the smaller of {@code limits.max_request_bytes} and {@code limits.max_file_bytes}
   * @param metrics     the node's metrics (requests refused by a full database pool)
   */
  public record Services(FileRepository files, EncryptedObjects store, DataKeys dataKeys, UploadSessions sessions,
                         TokenVerifier verifier, Membership membership, DownloadSigner signer, String baseUrl,
                         long maxFileBytes, dev.files.ops.ServiceMetrics metrics) {
  }

  public FilesApiVerticle(Services services) {
    this.s = services;
    this.uploads = new Uploads(services.files(), services.store(), services.dataKeys(), services.sessions());
  }

  @Override
  public Future<?> start() {
    events = new EventLog(s.files().pool());
    return vertx.eventBus().<Object>consumer(Addresses.API, this::handle).completion();
  }

  private void handle(Message<Object> msg) {
    String action = msg.headers().get("action");
    Future<JsonObject> answer;
    try {
      if (action == null || !ACTIONS.contains(action)) {
        throw ServiceException.badRequest("the action header must be one of " + String.join(", ", ACTIONS.stream().sorted().toList())
            + (action == null ? "" : ", got '" + action + "'"));
      }
      if (!(decodedBody(msg) instanceof JsonObject body)) {
        throw ServiceException.badRequest("the body must be a JSON object");
      }
      String token = MembershipVerticle.bearer(msg.headers().get("authorization"));
      if (token == null) {
        throw ServiceException.unauthorized("an authorization header with a JWT is required");
      }
      answer = s.verifier().verify(token).compose(caller -> {
        UUID company = uuid(body, "company_id");
        return s.membership().belongs(caller, company).compose(member -> {
          if (!member) {
            throw new ServiceException(Kind.FORBIDDEN, "caller does not belong to company " + company);
          }
          return dispatch(action, caller, company, body);
        });
      });
    } catch (RuntimeException e) {
      answer = Future.failedFuture(e);
    }
    answer.onSuccess(msg::reply).onFailure(err -> fail(msg, action, err));
  }

  private Future<JsonObject> dispatch(String action, Caller caller, UUID company, JsonObject body) {
    return switch (action) {
      case "get" -> file(company, uuid(body, "file_id")).map(f -> new JsonObject().put("resource", f.toResource()));
      case "exists" -> {
        UUID id = uuid(body, "file_id");
        yield s.files().find(id).map(f -> new JsonObject().put("exists", f != null && f.companyId().equals(company)));
      }
      case "delete" -> {
        UUID id = uuid(body, "file_id");
        yield s.sessions().delete(id, company, Requester.of(caller));
      }
      case "probe" -> probe(company, uuid(body, "file_id"));
      case "read" -> read(company, uuid(body, "file_id"));
      case "create" -> create(caller, company, body);
      case "list" -> list(company, body);
      case "events" -> {
        long after = EventLog.after(body.getValue("after"));
        yield events.replay(company, after, EventLog.limit(body.getValue("limit")));
      }
      default -> throw ServiceException.badRequest("unknown action " + action);
    };
  }

  /** The file, or 404 when it is not in the company. */
  private Future<FileRecord> file(UUID company, UUID id) {
    return s.files().find(id).map(f -> {
      if (f == null || !f.companyId().equals(company)) {
        throw ServiceException.notFound("file " + id + " not found");
      }
      return f;
    });
  }

  private Future<JsonObject> probe(UUID company, UUID id) {
    return file(company, id).compose(f -> {
      JsonObject out = new JsonObject().put("file_id", id.toString())
          .put("upload_status", f.toResource().getString("upload_status"));
      if (f.uploadGeneration() == null) {
        JsonArray all = new JsonArray();
        for (int n = 1; f.complete() && n <= f.chunks(); n++) {
          all.add(n);
        }
        return Future.succeededFuture(out.put("total_chunks", f.complete() ? f.chunks() : f.totalChunks()).put("chunks", all));
      }
      return s.files().chunks(s.files().pool(), id, f.uploadGeneration()).map(chunks -> out
          .put("total_chunks", f.totalChunks())
          .put("chunks", new JsonArray(chunks.stream().map(c -> (Object) c.chunkNumber()).sorted().toList())));
    });
  }

  private Future<JsonObject> read(UUID company, UUID id) {
    return file(company, id).map(f -> {
      if (!f.complete()) {
        throw new ServiceException(Kind.CONFLICT, "the upload of file " + id + " is not complete");
      }
      long now = System.currentTimeMillis();
      String path = FileRecord.API_PREFIX + "/companies/" + company + "/files/" + id + "/download?"
          + s.signer().query(company, id, now);
      return new JsonObject().put("url", s.baseUrl() + path).put("path", path)
          .put("expires_at", (now / 1000 + DownloadSigner.TTL_S) * 1000).put("size", f.size());
    });
  }

  private Future<JsonObject> create(Caller caller, UUID company, JsonObject body) {
    if (!caller.application()) {
      throw new ServiceException(Kind.FORBIDDEN, "create stores an application's file: it needs an application token (application_id)");
    }
    String name = string(body, "name", true);
    String mime = string(body, "mime", false);
    String content = string(body, "content", true);
    long limit = Math.min(MAX_CREATE_BYTES, s.maxFileBytes());
    if ((long) content.length() / 4 * 3 > limit + 3) {
      throw new ServiceException(Kind.TOO_LARGE, "content exceeds the limit of " + limit + " bytes");
    }
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(content.getBytes(StandardCharsets.US_ASCII));
    } catch (IllegalArgumentException e) {
      throw ServiceException.badRequest("content must be base64");
    }
    if (bytes.length > limit) {
      throw new ServiceException(Kind.TOO_LARGE, "content of " + bytes.length + " bytes exceeds the limit of " + limit + " bytes");
    }
    UUID fileId = UUID.randomUUID();
    Requester requester = Requester.of(caller);
    UploadRules.Request asked = new UploadRules.Request(null, null, null, bytes.length, bytes.length);
    return uploads.admit(fileId, company, requester, true, asked)
        .recover(err -> Future.failedFuture(err instanceof GeneralSecurityException
            ? new StorageException("a data key could not be made", err, false) : err))
        .compose(target -> {
          ChunkWrite write = uploads.open(target, 1, limit);
          write.write(Buffer.buffer(bytes));
          return write.end()
              .recover(err -> write.abort().transform(v -> Future.failedFuture(err)))
              .compose(v -> uploads.commit(target, write, new ChunkCommit.Declared(true, null, null,
                  FileNames.sanitize(name), ContentTypes.usable(mime), null)));
        })
        .map(resource -> new JsonObject().put("resource", resource));
  }

  private Future<JsonObject> list(UUID company, JsonObject body) {
    Object rawLimit = body.getValue("limit");
    int limit = DEFAULT_LIST;
    if (rawLimit != null) {
      if (!(rawLimit instanceof Integer || rawLimit instanceof Long) || ((Number) rawLimit).longValue() < 1
          || ((Number) rawLimit).longValue() > MAX_LIST) {
        throw ServiceException.badRequest("limit must be a whole number from 1 to " + MAX_LIST);
      }
      limit = ((Number) rawLimit).intValue();
    }
    String cursor = string(body, "cursor", false);
    Long before = null;
    UUID beforeId = null;
    if (cursor != null) {
      try {
        String[] parts = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8).split(":", 2);
        before = Long.parseLong(parts[0]);
        beforeId = java.util.Objects.requireNonNull(Uuids.parse(parts[1]));
      } catch (RuntimeException e) {
        throw ServiceException.badRequest("cursor must be the next_cursor of an earlier page");
      }
    }
    int pageSize = limit;
    return s.files().listCompany(company, before, beforeId, pageSize + 1).map(rows -> {
      List<FileRecord> page = rows.size() > pageSize ? rows.subList(0, pageSize) : rows;
      JsonArray resources = new JsonArray();
      page.forEach(f -> resources.add(f.toResource()));
      FileRecord last = page.isEmpty() ? null : page.get(page.size() - 1);
      String next = rows.size() > pageSize ? Base64.getUrlEncoder().withoutPadding()
          .encodeToString((last.createdAt() + ":" + last.id()).getBytes(StandardCharsets.UTF_8)) : null;
      return new JsonObject().put("resources", resources).put("next_cursor", next);
    });
  }

  /**
   * The body of {@code msg}, decoded (a message from another node is decoded on first access).
   *
   * @throws ServiceException of kind {@link Kind#TOO_LARGE} (413) when the JSON holds a value beyond the decoder's limits (Jackson's
   *     {@code StreamReadConstraints}: a string over 20,000,000 characters, e.g. a {@code create} content far
   *     over {@link FilesApi#MAX_CREATE_BYTES}); 400 when it is not JSON at all
   */
  public static Object decodedBody(Message<?> msg) {
    try {
      return msg.body();
    } catch (RuntimeException e) {
      for (Throwable x = e; x != null; x = x.getCause()) {
        if (x.getClass().getSimpleName().equals("StreamConstraintsException")) {
          throw new ServiceException(Kind.TOO_LARGE, "the message exceeds the limits of the service (content at most "
              + MAX_CREATE_BYTES + " bytes)");
        }
      }
      throw ServiceException.badRequest("the body must be a JSON object");
    }
  }

  /** A UUID field; 400 when missing or malformed. */
  private static UUID uuid(JsonObject body, String name) {
    Object raw = body.getValue(name);
    UUID id = Uuids.parse(raw);
    if (id == null) {
      throw ServiceException.badRequest(name + " must be a UUID string (8-4-4-4-12 hex digits)" + (raw == null ? " (missing)" : ""));
    }
    return id;
  }

  /** A string field; 400 when of another type, or missing and required. */
  private static String string(JsonObject body, String name, boolean required) {
    Object raw = body.getValue(name);
    if (raw == null && !required) {
      return null;
    }
    if (!(raw instanceof String str) || (required && str.isEmpty())) {
      throw ServiceException.badRequest(name + " must be a " + (required ? "non-empty " : "") + "string");
    }
    return str;
  }

  /**
   * Answers a failure with the status of the same HTTP call as failure code ({@link ErrorAnswer}, the
   * mapping the HTTP edge uses too); 5xx causes are logged under a request id the message carries.
   */
  private void fail(Message<Object> msg, String action, Throwable err) {
    ErrorAnswer answer = ErrorAnswer.of(err instanceof ChunkWrite.TooLargeException
        ? new ServiceException(Kind.TOO_LARGE, err.getMessage()) : err);
    if (answer.databaseBusy()) {
      dev.files.db.DatabaseBusy.refused(s.metrics(), "files.api " + action); // overload: counted, logged now and then
      msg.fail(answer.status(), answer.message());
      return;
    }
    String message = answer.message();
    if (answer.status() >= 500) {
      String requestId = UUID.randomUUID().toString();
      LOG.error("files.api {} failed with {} (request {})", action, answer.status(), requestId, err);
      message = message + " (request " + requestId + ")";
    }
    msg.fail(answer.status(), message);
  }

}

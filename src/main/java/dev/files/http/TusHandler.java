package dev.files.http;

import dev.files.auth.Caller;
import dev.files.db.FileRepository;
import dev.files.model.ContentTypes;
import dev.files.model.FileNames;
import dev.files.model.FileRecord;
import dev.files.upload.ChunkCommit;
import dev.files.upload.ChunkWrite;
import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.upload.Requester;
import dev.files.upload.UploadRules;
import dev.files.upload.UploadSessions;
import dev.files.upload.Uploads;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * Resumable uploads by the tus protocol 1.0.0 (https://tus.io/protocols/resumable-upload, docs/api.md
 * "Resumable uploads (tus)"), a thin adapter over the upload path every other upload takes.
 *
 * <p>Routes, under {@code /internal/services/files/v1/companies/:company_id/uploads}:
 * {@code OPTIONS} (the capabilities: {@code Tus-Version}, {@code Tus-Extension} {@value #EXTENSIONS},
 * {@code Tus-Max-Size} = {@code limits.max_file_bytes}, {@code Tus-Checksum-Algorithm}
 * {@value #CHECKSUMS}; no authentication), {@code POST} (creation, creation-with-upload,
 * creation-defer-length), and on {@code /:file_id}: {@code HEAD} (offset), {@code PATCH} (append),
 * {@code DELETE} (termination); {@code POST} with {@code X-HTTP-Method-Override} stands for any of these.
 *
 * <p>An upload is a file of the files API from its creation: creation asks the file's upload session
 * to create a pending file ({@link UploadSessions#init}) whose declared size is {@code Upload-Length}
 * and whose id is the one in {@code Location}. A creation with a body (creation-with-upload) that is
 * not a partial upload takes instead the path of a classic upload of a new file (the id is this
 * request's own, nobody else can know it): its body is stored, then one transaction creates the
 * file with it ({@link UploadSessions#commitNew}, no session): complete and live when the body is
 * the whole upload, else pending with the bytes that arrived ({@link #createWithUpload}). Each PATCH's bytes take the path of every upload's
 * chunk ({@link Uploads}): admitted as the chunk numbered after the chunks already stored
 * ({@link Uploads#admitAppend}), streamed into one encrypted chunk object ({@link Uploads#open}), and
 * committed through the file's upload session with its byte offset ({@link ChunkCommit.Declared#offset}):
 * the session refuses (409) an append that does not follow exactly the stored bytes, so of two
 * PATCHes at one offset the first committed wins and the other's object is removed (as after every
 * commit known to have changed nothing; {@link Uploads#commit}). The PATCH that
 * reaches {@code Upload-Length} completes the file (the same completion as every upload:
 * {@code file.uploaded}, thumbnails). A PATCH whose connection ends early still commits the bytes
 * that arrived (all of them, when it carries no {@code Upload-Checksum}), before any HEAD can report them.
 *
 * <p>Concatenation (tus 1.0.0, docs/api.md "Concatenation"): a creation with {@code Upload-Concat: partial}
 * makes a partial upload (marked by {@link Uploads#markPartial}), which stays pending once all its
 * bytes are stored; a creation with {@code Upload-Concat: final;<url> <url> …} makes a complete file
 * of the partial uploads' stored chunks in one transaction ({@link Uploads#concatenate}), no byte
 * copied, the partial uploads removed. HEAD answers {@code Upload-Concat} for both; a PATCH to a final
 * upload is 403.
 *
 * <p>Every refusal is decided from the headers and the file's row, before any body byte is read:
 * 412 ({@code Tus-Resumable} other than 1.0.0; with {@code Tus-Version}), 415 (PATCH without
 * {@code Content-Type: application/offset+octet-stream}), 400 (malformed {@code Upload-Offset},
 * {@code Upload-Length}, {@code Upload-Metadata} or {@code Upload-Checksum}, unsupported checksum
 * algorithm), 401/403 ({@link AuthHandler}; only the user who created the upload, an application or
 * a server request may touch it), 404 (no such file in the company), 409 (offset other than the
 * upload's), 413 (length above {@code limits.max_file_bytes}, or a body beyond {@code Upload-Length}).
 * After the body: 460 when the {@code Upload-Checksum} does not match (nothing is stored). Errors
 * carry the service's JSON error body ({@link Errors}).
 *
 * <p>A request with {@code Upload-Draft-Interop-Version} 5 or 6 and no {@code Tus-Resumable} speaks the
 * IETF resumable-upload draft (draft-03 / draft-05, as tus-js-client 4.3 does) on the same routes:
 * {@code Upload-Complete: ?1} on a POST or PATCH says that its body ends the upload (the length is
 * then the offset after it), the body may be of any type, and answers carry {@code Upload-Complete}
 * and {@code Upload-Limit} instead of {@code Tus-Resumable}. No {@code 104} is sent: Vert.x's server
 * response sends only 100 and 103 as informational answers.
 */
final class TusHandler {

  private static final Logger LOG = LoggerFactory.getLogger(TusHandler.class);

  /** The tus version spoken. */
  static final String VERSION = "1.0.0";
  /** The tus extensions supported, as advertised by OPTIONS. */
  static final String EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,concatenation,checksum,expiration";
  /** The {@code Upload-Checksum} algorithms supported. */
  static final String CHECKSUMS = "sha1,sha256";
  /** The content type of a PATCH body (and of a creation-with-upload body). */
  static final String OFFSET_TYPE = "application/offset+octet-stream";

  private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);
  private static final String METHOD = "tus.method";
  /** Context key of a request of the IETF draft: its interop version ("5" or "6"); absent for tus 1.0.0. */
  private static final String IETF = "tus.ietf";
  /** The interop versions of the IETF resumable-upload draft spoken (draft-03 is 5, draft-05 is 6). */
  static final java.util.Set<String> INTEROP_VERSIONS = java.util.Set.of("5", "6");

  private final FileRepository files;
  private final Uploads uploads;
  private final UploadSessions sessions;
  private final long maxFileBytes;
  private final long idleTimeoutMs;
  private final io.vertx.core.Vertx vertx;

  /**
   * @param maxFileBytes  the largest upload, bytes ({@code limits.max_file_bytes}; {@code Tus-Max-Size})
   * @param idleTimeoutMs a PATCH body without a byte for this long (ms; {@code http.idle_timeout_ms}, 0: none)
   *                      is ended as a cut one: the bytes that arrived are kept and the connection is closed
   */
  TusHandler(io.vertx.core.Vertx vertx, FileRepository files, Uploads uploads, long maxFileBytes, long idleTimeoutMs) {
    this.vertx = vertx;
    this.idleTimeoutMs = idleTimeoutMs;
    this.files = files;
    this.uploads = uploads;
    this.sessions = uploads.sessions();
    this.maxFileBytes = maxFileBytes;
  }

  /** Mounts the routes; {@code auth} authenticates and checks membership on every request but OPTIONS. */
  void mount(Router router, AuthHandler auth) {
    String uploads = FileRecord.API_PREFIX + "/companies/:company_id/uploads";
    router.options(uploads).handler(this::options);
    router.options(uploads + "/:file_id").handler(this::options);
    router.post(uploads).handler(this::protocol).handler(auth).handler(this::create);
    router.route(uploads + "/:file_id").method(HttpMethod.HEAD).method(HttpMethod.PATCH).method(HttpMethod.DELETE)
        .method(HttpMethod.POST).handler(this::protocol).handler(auth).handler(this::dispatch);
  }

  /** OPTIONS: 204 with the server's capabilities (no authentication: tus clients ask before they hold a token). */
  private void options(RoutingContext ctx) {
    ctx.response().setStatusCode(204)
        .putHeader("Tus-Resumable", VERSION)
        .putHeader("Tus-Version", VERSION)
        .putHeader("Tus-Extension", EXTENSIONS)
        .putHeader("Tus-Max-Size", Long.toString(maxFileBytes))
        .putHeader("Tus-Checksum-Algorithm", CHECKSUMS)
        .putHeader("Upload-Limit", "max-size=" + maxFileBytes)
        .end();
  }

  /**
   * Before authentication: the body is held, every answer carries {@code Tus-Resumable}, a request of
   * another tus version is 412 with {@code Tus-Version}, and {@code X-HTTP-Method-Override} of a POST
   * picks the method the request stands for.
   */
  private void protocol(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    req.pause();
    String interop = req.getHeader("Upload-Draft-Interop-Version");
    String version = req.getHeader("Tus-Resumable");
    if (interop != null && version == null) { // the IETF resumable-upload draft
      String v = interop.strip();
      if (!INTEROP_VERSIONS.contains(v)) {
        throw ServiceException.badRequest("Upload-Draft-Interop-Version " + interop + " is not supported (5 or 6)");
      }
      ctx.put(IETF, v);
      ctx.response().putHeader("Upload-Limit", "max-size=" + maxFileBytes);
    } else {
      ctx.response().putHeader("Tus-Resumable", VERSION);
      if (!VERSION.equals(version == null ? null : version.strip())) {
        ctx.response().putHeader("Tus-Version", VERSION);
        throw new ServiceException(Kind.PRECONDITION_FAILED, version == null ? "the Tus-Resumable header is required (this server speaks tus " + VERSION + ")"
            : "tus version " + version + " is not supported; this server speaks " + VERSION);
      }
    }
    HttpMethod method = req.method();
    String override = req.getHeader("X-HTTP-Method-Override");
    if (method == HttpMethod.POST && override != null && ctx.pathParam("file_id") != null) {
      method = switch (override.strip().toUpperCase(Locale.ROOT)) {
        case "PATCH" -> HttpMethod.PATCH;
        case "HEAD" -> HttpMethod.HEAD;
        case "DELETE" -> HttpMethod.DELETE;
        default -> throw ServiceException.badRequest("X-HTTP-Method-Override must be PATCH, HEAD or DELETE, got '" + override + "'");
      };
    }
    ctx.put(METHOD, method);
    ctx.next();
  }

  private void dispatch(RoutingContext ctx) {
    HttpMethod method = ctx.get(METHOD);
    if (method == HttpMethod.HEAD) {
      ctx.request().resume(); // no body
      head(ctx);
    } else if (method == HttpMethod.PATCH) {
      patch(ctx);
    } else if (method == HttpMethod.DELETE) {
      ctx.request().resume(); // no body
      terminate(ctx);
    } else {
      ctx.response().putHeader("Allow", "HEAD, PATCH, DELETE, OPTIONS");
      throw new ServiceException(Kind.METHOD_NOT_ALLOWED, "an upload takes HEAD, PATCH, DELETE and OPTIONS (or POST with X-HTTP-Method-Override)");
    }
  }

  // ---- creation -------------------------------------------------------------------------------

  /** POST: creates the upload (a pending file), with its first bytes when the request has a body. */
  private void create(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    boolean ietf = ctx.get(IETF) != null;
    Boolean complete = ietf ? uploadComplete(req) : null;
    String concat = req.getHeader("Upload-Concat");
    if (concat != null && ietf) {
      throw ServiceException.badRequest("Upload-Concat is an extension of tus 1.0.0, not of the IETF draft");
    }
    if (concat != null && concat.strip().startsWith("final;")) {
      createFinal(ctx, concat.strip().substring("final;".length()));
      return;
    }
    boolean partial = concat != null;
    if (partial && !concat.strip().equals("partial")) {
      throw ServiceException.badRequest("Upload-Concat must be 'partial' or 'final;<url> <url> ...', got '" + concat + "'");
    }
    Long length = number(req, "Upload-Length");
    boolean lengthAtEnd = false;
    if (ietf) { // no Upload-Defer-Length: the length is unknown until a request says Upload-Complete: ?1
      if (length == null && complete) {
        long cl = UploadHandler.contentLength(req);
        if (cl >= 0) {
          length = cl;
        } else {
          lengthAtEnd = true;
        }
      }
    } else {
      String defer = req.getHeader("Upload-Defer-Length");
      if (defer != null && !defer.strip().equals("1")) {
        throw ServiceException.badRequest("Upload-Defer-Length must be 1");
      }
      if ((length == null) == (defer == null)) {
        throw ServiceException.badRequest("give either Upload-Length or Upload-Defer-Length: 1");
      }
    }
    if (length != null && length > maxFileBytes) {
      throw new ServiceException(Kind.TOO_LARGE, "Upload-Length " + length + " exceeds Tus-Max-Size " + maxFileBytes + " bytes");
    }
    Map<String, String> metadata = metadata(req.getHeader("Upload-Metadata"));
    String rawName = metadata.getOrDefault("filename", metadata.get("name"));
    String name = rawName == null || rawName.isBlank() ? null : FileNames.sanitize(rawName);
    String type = ContentTypes.usable(metadata.getOrDefault("filetype", metadata.get("type")));
    boolean body = hasBody(req);
    Checksum checksum = null;
    if (body) {
      if (!ietf) {
        checkContentType(req);
      }
      checksum = checksum(req);
      long contentLength = UploadHandler.contentLength(req);
      if (length != null && contentLength > length) {
        throw new ServiceException(Kind.TOO_LARGE, "the body of " + contentLength + " bytes exceeds Upload-Length " + length);
      }
    }
    Checksum sum = checksum;
    Long declared = length;
    boolean atEnd = lengthAtEnd;
    Caller caller = ctx.get(AuthHandler.CALLER);
    UUID company = ctx.get(AuthHandler.COMPANY);
    UUID fileId = UUID.randomUUID();
    String location = FileRecord.API_PREFIX + "/companies/" + company + "/uploads/" + fileId;
    if (body && !partial) { // the bytes go the way of a classic upload of a new file: no session
      createWithUpload(ctx, fileId, location, declared, atEnd, sum, name, type);
      return;
    }
    sessions.init(fileId, company, dev.files.upload.Requester.of(caller), null, declared, name, type)
        .compose(resource -> partial ? uploads.markPartial(fileId) : Future.<Void>succeededFuture())
        .compose(v -> files.find(fileId))
        .onSuccess(f -> {
          ctx.response().putHeader("Location", location);
          if (partial) {
            ctx.response().putHeader("Upload-Concat", "partial");
          }
          if (body || atEnd || Long.valueOf(0).equals(declared)) { // a zero-length upload is complete at once
            append(ctx, f, 0, declared, false, atEnd, sum, 201, partial);
          } else {
            ctx.request().resume(); // no body
            expires(ctx.response(), f);
            if (ietf) {
              ctx.response().putHeader("Upload-Complete", "?0");
            }
            ctx.response().putHeader("Upload-Offset", "0").setStatusCode(201).end();
          }
        })
        .onFailure(ctx::fail);
  }

  /**
   * Creation-with-upload of an upload that is not partial: the file's id is this request's own, so
   * nobody else can touch the file before the answer and its bytes take the path of a classic upload
   * of a new file ({@link Uploads#admit} with {@code create}, {@link Uploads#open}, {@link Uploads#commit}
   * → {@link UploadSessions#commitNew}): no upload session, no owner row, one transaction that creates
   * the file with its first chunk. A body that is the whole upload ({@code Upload-Length} bytes, or the
   * IETF draft's {@code Upload-Complete: ?1}) makes the file complete and live at once; a shorter body,
   * a deferred length or a body cut by its connection makes it a pending upload holding the bytes that
   * arrived, appended to by later PATCHes through its session. Nothing is created before the body has
   * been stored: a checksum mismatch (460), a body beyond the length (413) or a cut body of no byte
   * leaves no row and no object.
   *
   * @param length the upload's length in bytes, or null while deferred (or, with {@code lengthAtEnd},
   *               until the body ends)
   */
  private void createWithUpload(RoutingContext ctx, UUID fileId, String location, Long length, boolean lengthAtEnd,
                                Checksum checksum, String name, String type) {
    Requester requester = Requester.of(ctx.get(AuthHandler.CALLER));
    UUID company = ctx.get(AuthHandler.COMPANY);
    UploadRules.Request q = new UploadRules.Request(null, null, length, UploadHandler.contentLength(ctx.request()), 0);
    uploads.admit(fileId, company, requester, true, q)
        .onSuccess(t -> new Append(ctx, null, t, 1, 0, length, false, lengthAtEnd, checksum, 201, false,
            new Creation(location, name, type)).start())
        .onFailure(ctx::fail);
  }

  /** What a creation-with-upload of a new file says beside its bytes: its {@code Location}, name and type. */
  private record Creation(String location, String name, String type) {
  }

  // ---- HEAD, PATCH, DELETE ----------------------------------------------------------------------

  /** HEAD: the upload's offset and length; never cached. */
  private void head(RoutingContext ctx) {
    ctx.response().putHeader("Cache-Control", "no-store");
    upload(ctx).compose(f -> files.concat(files.pool(), f.id()).map(c -> {
      concatHeader(ctx, c);
      return f;
    })).onSuccess(f -> {
      HttpServerResponse resp = ctx.response();
      Progress p = Progress.of(f);
      resp.putHeader("Upload-Offset", Long.toString(p.offset()));
      if (ctx.get(IETF) != null) {
        resp.putHeader("Upload-Complete", f.uploadGeneration() == null ? "?1" : "?0");
        if (p.length() != null) {
          resp.putHeader("Upload-Length", Long.toString(p.length()));
        }
      } else if (p.length() == null) {
        resp.putHeader("Upload-Defer-Length", "1");
      } else {
        resp.putHeader("Upload-Length", Long.toString(p.length()));
      }
      expires(resp, f);
      resp.setStatusCode(200).end();
    }).onFailure(ctx::fail);
  }

  /** PATCH: appends the body at {@code Upload-Offset}. */
  private void patch(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    boolean ietf = ctx.get(IETF) != null;
    if (!ietf) {
      checkContentType(req);
    }
    Boolean complete = ietf ? uploadComplete(req) : null;
    Long offset = number(req, "Upload-Offset");
    if (offset == null) {
      throw ServiceException.badRequest("Upload-Offset is required");
    }
    Long given = number(req, "Upload-Length");
    boolean lengthAtEnd = false;
    if (ietf && complete && given == null) { // this request's body is the last part
      long cl = UploadHandler.contentLength(req);
      if (cl >= 0) {
        given = offset + cl;
      } else {
        lengthAtEnd = true;
      }
    }
    Long newLength = given;
    boolean atEnd = lengthAtEnd;
    if (newLength != null && newLength > maxFileBytes) {
      throw new ServiceException(Kind.TOO_LARGE, "Upload-Length " + newLength + " exceeds Tus-Max-Size " + maxFileBytes + " bytes");
    }
    Checksum checksum = checksum(req);
    long contentLength = UploadHandler.contentLength(req);
    FileRepository.Concat[] role = {null};
    upload(ctx).compose(f -> files.concat(files.pool(), f.id()).map(c -> {
      if (c != null && c.isFinal()) { // tus 1.0.0, Concatenation: a final upload takes no PATCH
        throw new ServiceException(Kind.FORBIDDEN, "upload " + f.id() + " is a final upload (Upload-Concat: final): it takes no PATCH");
      }
      role[0] = c;
      return f;
    })).onSuccess(f -> {
      Progress p = Progress.of(f);
      if (newLength != null && p.length() != null && !newLength.equals(p.length())) {
        ctx.fail(ServiceException.badRequest("Upload-Length " + newLength + " contradicts the upload's length " + p.length()));
        return;
      }
      if (newLength != null && newLength < p.offset()) {
        ctx.fail(ServiceException.badRequest("Upload-Length " + newLength + " is below the upload's offset " + p.offset()));
        return;
      }
      if (offset != p.offset()) {
        ctx.fail(new ServiceException(Kind.CONFLICT, "Upload-Offset " + offset + " does not match the upload's offset " + p.offset()));
        return;
      }
      Long length = p.length() != null ? p.length() : newLength;
      if (length != null && contentLength > length - offset) {
        ctx.fail(new ServiceException(Kind.TOO_LARGE, "the body of " + contentLength + " bytes goes beyond Upload-Length " + length
            + " (offset " + offset + ")"));
        return;
      }
      boolean setsLength = newLength != null && p.length() == null;
      if (f.uploadGeneration() == null && hasBody(req)) {
        ctx.fail(new ServiceException(Kind.TOO_LARGE, "the upload is complete: all its " + p.offset() + " bytes are stored"));
        return;
      }
      if (f.uploadGeneration() == null || !hasBody(req) && !setsLength && !atEnd) { // nothing to record
        req.resume();
        expires(ctx.response(), f);
        if (ietf) {
          ctx.response().putHeader("Upload-Complete", f.uploadGeneration() == null ? "?1" : "?0");
        }
        ctx.response().putHeader("Upload-Offset", Long.toString(p.offset())).setStatusCode(204).end();
        return;
      }
      append(ctx, f, offset, length, setsLength, atEnd, checksum, 204, role[0] != null && role[0].partial());
    }).onFailure(ctx::fail);
  }

  /** DELETE: terminates the upload (the file, its chunks and objects go; {@code file.deleted} is written). */
  private void terminate(RoutingContext ctx) {
    UUID fileId = AuthHandler.uuidParam(ctx, "file_id");
    Caller caller = ctx.get(AuthHandler.CALLER);
    upload(ctx).compose(f -> sessions.delete(fileId, ctx.get(AuthHandler.COMPANY), dev.files.upload.Requester.of(caller)))
        .onSuccess(v -> ctx.response().setStatusCode(204).end())
        .onFailure(ctx::fail);
  }

  /**
   * The upload's file row, once the caller may touch it: 404 when the company has no such file, 403
   * unless the caller created it (the same user), is an application or a server request.
   */
  private Future<FileRecord> upload(RoutingContext ctx) {
    UUID fileId = AuthHandler.uuidParam(ctx, "file_id");
    UUID company = ctx.get(AuthHandler.COMPANY);
    Caller caller = ctx.get(AuthHandler.CALLER);
    return files.find(fileId).map(f -> mayTouch(f, fileId, company, caller));
  }

  /**
   * {@code f}, the row of upload {@code fileId}, once the caller may touch it: 404 when it is absent
   * or of another company, 403 unless the caller created it (the same user), is an application or a
   * server request.
   */
  private static FileRecord mayTouch(FileRecord f, UUID fileId, UUID company, Caller caller) {
    if (f == null || !f.companyId().equals(company)) {
      throw ServiceException.notFound("upload " + fileId + " not found");
    }
    boolean creator = "user".equals(f.ownerType()) && f.ownerId().equals(caller.subject()) && !caller.application();
    if (!(creator || caller.application() || caller.serverRequest())) {
      throw new ServiceException(Kind.FORBIDDEN, "upload " + fileId + " belongs to another user");
    }
    return f;
  }

  // ---- concatenation -------------------------------------------------------------------------------

  /**
   * {@code Upload-Concat} of a HEAD: {@code partial}, or {@code final;} and the partial uploads' URLs
   * (paths) in order; nothing for an upload without a concatenation role.
   */
  private void concatHeader(RoutingContext ctx, FileRepository.Concat c) {
    if (c == null) {
      return;
    }
    if (c.partial()) {
      ctx.response().putHeader("Upload-Concat", "partial");
      return;
    }
    StringBuilder v = new StringBuilder("final;");
    String base = FileRecord.API_PREFIX + "/companies/" + ctx.get(AuthHandler.COMPANY) + "/uploads/";
    for (int i = 0; i < c.parts().size(); i++) {
      v.append(i == 0 ? "" : " ").append(base).append(c.parts().get(i));
    }
    ctx.response().putHeader("Upload-Concat", v.toString());
  }

  /**
   * POST with {@code Upload-Concat: final;<url> <url> …} (tus 1.0.0, Concatenation): a new file whose
   * content is the partial uploads' content in order, their stored chunks reused
   * ({@link Uploads#concatenate}). Refused before anything changes: 400 for a body, an
   * {@code Upload-Length} or {@code Upload-Defer-Length}, a URL that is not an upload of this
   * service, an upload named twice, an upload that is not partial or not complete; 404 for an upload
   * not found in the company (another company's URL included); 403 for another user's partial upload.
   * Answers 201 with {@code Location} and {@code Upload-Offset} (all the bytes: the final upload is complete).
   */
  private void createFinal(RoutingContext ctx, String urls) {
    HttpServerRequest req = ctx.request();
    if (hasBody(req)) {
      throw ServiceException.badRequest("a final upload (Upload-Concat: final) has no body");
    }
    if (req.getHeader("Upload-Length") != null || req.getHeader("Upload-Defer-Length") != null) {
      throw ServiceException.badRequest("a final upload takes no Upload-Length or Upload-Defer-Length: its length is its partial uploads'");
    }
    UUID company = ctx.get(AuthHandler.COMPANY);
    Caller caller = ctx.get(AuthHandler.CALLER);
    List<UUID> parts = partUrls(urls, company);
    Map<String, String> metadata = metadata(req.getHeader("Upload-Metadata"));
    String rawName = metadata.getOrDefault("filename", metadata.get("name"));
    String name = rawName == null || rawName.isBlank() ? null : FileNames.sanitize(rawName);
    String type = ContentTypes.usable(metadata.getOrDefault("filetype", metadata.get("type")));
    req.resume(); // no body
    List<Future<FileRecord>> rows = new ArrayList<>();
    for (UUID id : parts) {
      rows.add(files.find(id).map(f -> mayTouch(f, id, company, caller)));
    }
    UUID fileId = UUID.randomUUID();
    Future.all(rows)
        .compose(v -> files.partials(files.pool(), parts))
        .compose(partials -> {
          for (int i = 0; i < parts.size(); i++) {
            FileRecord f = rows.get(i).result();
            if (!partials.contains(f.id())) {
              throw ServiceException.badRequest("upload " + f.id() + " is not a partial upload (Upload-Concat: partial)");
            }
            if (f.uploadGeneration() == null || f.totalSize() == null || f.storedBytes() != f.totalSize()) {
              throw ServiceException.badRequest("partial upload " + f.id() + " is not complete: " + f.storedBytes() + " of "
                  + (f.totalSize() == null ? "an unknown number of" : f.totalSize().toString()) + " bytes stored");
            }
          }
          return uploads.concatenate(fileId, company, dev.files.upload.Requester.of(caller), parts, name, type);
        })
        .onSuccess(resource -> ctx.response()
            .putHeader("Location", FileRecord.API_PREFIX + "/companies/" + company + "/uploads/" + fileId)
            .putHeader("Upload-Offset", Long.toString(resource.getJsonObject("upload_data").getLong("size")))
            .setStatusCode(201).end())
        .onFailure(ctx::fail);
  }

  /**
   * The partial uploads' ids of {@code Upload-Concat: final;…}: space-separated URLs, absolute or
   * paths, each {@code …/companies/<company>/uploads/<id>} of this service; 400 when empty, malformed
   * or naming an upload twice, 404 when one is of another company.
   */
  static List<UUID> partUrls(String urls, UUID company) {
    List<UUID> parts = new ArrayList<>();
    String prefix = FileRecord.API_PREFIX + "/companies/";
    for (String u : urls.strip().split(" +")) {
      if (u.isEmpty()) {
        continue;
      }
      String path;
      try {
        java.net.URI uri = new java.net.URI(u);
        path = uri.getRawPath();
      } catch (java.net.URISyntaxException e) {
        throw ServiceException.badRequest("Upload-Concat: '" + u + "' is not a URL");
      }
      String[] segs = path == null || !path.startsWith(prefix) ? new String[0] : path.substring(prefix.length()).split("/", -1);
      if (segs.length != 3 || !segs[1].equals("uploads")) {
        throw ServiceException.badRequest("Upload-Concat: '" + u + "' is not an upload of this service");
      }
      UUID c = dev.files.model.Uuids.parse(segs[0]);
      UUID id = dev.files.model.Uuids.parse(segs[2]);
      if (c == null || id == null) {
        throw ServiceException.badRequest("Upload-Concat: '" + u + "' is not an upload of this service");
      }
      if (!c.equals(company)) { // never reveal another company's upload
        throw ServiceException.notFound("upload " + id + " not found");
      }
      if (parts.contains(id)) {
        throw ServiceException.badRequest("Upload-Concat: upload " + id + " is named twice");
      }
      parts.add(id);
    }
    if (parts.isEmpty()) {
      throw ServiceException.badRequest("Upload-Concat: final; names no partial upload");
    }
    return parts;
  }

  // ---- the append --------------------------------------------------------------------------------

  /**
   * Streams the body into a new chunk object numbered after the stored chunks and commits it at
   * {@code offset} through the file's session; answers {@code status} with the new offset.
   *
   * @param length     the upload's length in bytes, or null while deferred
   * @param setsLength this request declares the length (deferred until now): it is committed even without bytes
   * @param lengthAtEnd the length is the offset after this request's whole body (IETF {@code Upload-Complete: ?1}
   *                    on a body of unknown length); not when the body is cut
   * @param partial    the upload is a partial one (tus concatenation): it stays pending when all its
   *                    bytes are stored, until a final upload takes them
   */
  private void append(RoutingContext ctx, FileRecord f, long offset, Long length, boolean setsLength,
                      boolean lengthAtEnd, Checksum checksum, int status, boolean partial) {
    uploads.admitAppend(f, dev.files.upload.Requester.of(ctx.get(AuthHandler.CALLER)))
        .onSuccess(a -> new Append(ctx, f, a.target(), a.chunkNumber(), offset, length, setsLength, lengthAtEnd,
            checksum, status, partial, null).start())
        .onFailure(ctx::fail);
  }

  /**
   * One append: the body into one chunk object, then its commit. Into a pending file (its row
   * {@code f}), or, for a creation-with-upload ({@code creation} not null, {@code f} null), into the
   * new file the commit creates.
   */
  private final class Append {
    private final RoutingContext ctx;
    /** The pending file's row; null when the commit creates the file. */
    private final FileRecord f;
    private final UUID fileId;
    /** A creation-with-upload of a new file: its Location, name and type; else null. */
    private final Creation creation;
    private final long offset;
    private final Long length;
    private final boolean setsLength;
    private final boolean lengthAtEnd;
    private final Checksum checksum;
    private final int status;
    private final Uploads.Target target;
    private final ChunkWrite part;
    private final MessageDigest digest;
    private boolean finished;
    /** The connection ended before the body did. */
    private boolean cut;
    /** Body bytes handed to the chunk object so far. */
    private long received;
    private final IdleTimer idle;
    private final boolean partial;

    Append(RoutingContext ctx, FileRecord f, Uploads.Target target, int chunkNumber, long offset, Long length,
           boolean setsLength, boolean lengthAtEnd, Checksum checksum, int status, boolean partial, Creation creation) {
      this.partial = partial;
      this.lengthAtEnd = lengthAtEnd;
      this.ctx = ctx;
      this.f = f;
      this.fileId = target.fileId();
      this.creation = creation;
      this.offset = offset;
      this.length = length;
      this.setsLength = setsLength;
      this.checksum = checksum;
      this.status = status;
      this.target = target;
      long limit = length != null ? length - offset : maxFileBytes - offset;
      this.part = uploads.open(target, chunkNumber, limit);
      this.digest = checksum == null ? null : checksum.digest();
      this.idle = new IdleTimer(vertx, idleTimeoutMs, this::idle);
    }

    void start() {
      HttpServerRequest req = ctx.request();
      if (req.response().closed()) {
        part.abort();
        return;
      }
      part.stored().onFailure(err -> fail(err));
      req.handler(this::data);
      req.endHandler(v -> ended());
      req.exceptionHandler(err -> connectionEnded());
      req.response().closeHandler(v -> connectionEnded());
      idle.start();
      UploadHandler.continueIfExpected(req);
      req.resume();
    }

    private void data(Buffer buf) {
      if (finished) {
        return;
      }
      idle.touch();
      received += buf.length();
      if (digest != null) {
        // hashed in place: getBytes() would copy every body buffer once more
        digest.update(((io.vertx.core.internal.buffer.BufferInternal) buf).getByteBuf().nioBuffer());
      }
      part.write(buf).onFailure(this::fail);
      if (part.writeQueueFull()) {
        ctx.request().pause();
        idle.paused(true);
        part.drainHandler(v -> {
          idle.paused(false); // waiting for the store is not the client's idleness
          if (!finished) {
            ctx.request().resume();
          }
        });
      }
    }

    /**
     * {@code http.idle_timeout_ms} without a byte (while not paused for the store): the PATCH ends as
     * a cut one (what arrived is kept) and its connection is closed.
     */
    private void idle() {
      if (finished) {
        return;
      }
      LOG.info("upload {}: no byte of the PATCH body for {} ms; the bytes that arrived are kept", fileId, idleTimeoutMs);
      connectionEnded();
      ctx.request().connection().close();
    }

    private void cancelIdle() {
      idle.stop();
    }

    /** The whole body arrived: its object is committed, the checksum compared, the chunk recorded. */
    private void ended() {
      if (finished) {
        return;
      }
      finished = true;
      cancelIdle();
      part.end().onSuccess(v -> {
        if (checksum != null && !MessageDigest.isEqual(digest.digest(), checksum.expected())) {
          part.abort();
          ctx.fail(new ServiceException(Kind.CHECKSUM_MISMATCH, "the body's " + checksum.algorithm()
              + " does not match Upload-Checksum; nothing was stored"));
          return;
        }
        commit();
      }).onFailure(err -> {
        part.abort();
        ctx.fail(err);
      });
    }

    /**
     * The connection ended before the body did: the bytes that arrived are kept (committed as this
     * chunk) unless a checksum was given (it cannot be checked on part of a body) or none arrived.
     */
    private void connectionEnded() {
      if (finished) {
        return;
      }
      finished = true;
      cancelIdle();
      cut = true;
      if (checksum != null || !part.open() || received == 0) { // (a body over its limit has already failed)
        part.abort();
        return;
      }
      part.end().onSuccess(v -> commit()).onFailure(err -> part.abort());
    }

    private void commit() {
      long size = part.size();
      boolean ends = lengthAtEnd && !cut;
      Long length = ends ? Long.valueOf(offset + size) : this.length;
      if (creation != null) {
        commitNew(size, length);
        return;
      }
      if (size == 0 && !setsLength && !ends && !(length != null && offset == length)) {
        part.abort();
        if (!cut) {
          reply(offset, null, length);
        }
        return;
      }
      // a partial upload never completes: its file stays pending, all its bytes stored, for a final upload
      boolean completes = length != null && offset + size == length && !partial;
      Integer totalChunks = completes ? Integer.valueOf(part.chunkNumber()) : null;
      // a failed commit's object is removed only when the commit is known to have changed nothing
      recorded(uploads.commit(target, part, new ChunkCommit.Declared(false, totalChunks, length, null, null, offset)), size, length);
    }

    /**
     * The commit of a creation-with-upload's body, creating the file ({@link Uploads#commit} of a
     * new file: {@link UploadSessions#commitNew}, one transaction): complete and live when the body
     * is the whole upload (chunk 1 of 1, a classic whole-file upload), else pending with these bytes
     * as chunk 1 at offset 0 (a shorter body, a deferred length, or a cut one: what arrived is kept,
     * as for a cut PATCH). A body that ended without a byte creates the pending file through its
     * session, as a creation without a body; a cut one of no byte creates nothing (the client never
     * saw the Location).
     */
    private void commitNew(long size, Long length) {
      boolean whole = !cut && length != null && size == length;
      if (size == 0 && !whole) {
        part.abort();
        if (!cut) {
          sessions.init(fileId, target.companyId(), target.requester(), null, length, creation.name(), creation.type())
              .onSuccess(resource -> reply(0, resource, length))
              .onFailure(ctx::fail);
        }
        return;
      }
      ChunkCommit.Declared declared = whole
          ? new ChunkCommit.Declared(true, null, length, creation.name(), creation.type(), null)
          : new ChunkCommit.Declared(false, null, length, creation.name(), creation.type(), 0L);
      recorded(uploads.commit(target, part, declared), size, length);
    }

    /** Answers once the chunk's commit is made (nothing is answered for a cut body: its bytes are kept silently). */
    private void recorded(Future<JsonObject> committed, long size, Long length) {
      committed.onSuccess(resource -> {
        if (cut) {
          LOG.info("upload {}: connection ended after {} bytes at offset {}; they are kept", fileId, size, offset);
        } else {
          reply(offset + size, resource, length);
        }
      }).onFailure(err -> {
        if (!cut) {
          ctx.fail(err);
        } else {
          LOG.warn("upload {}: the {} bytes that arrived before the connection ended were not kept: {}",
              fileId, size, err.getMessage());
        }
      });
    }

    private void reply(long newOffset, JsonObject resource, Long length) {
      HttpServerResponse resp = ctx.response();
      if (creation != null) {
        resp.putHeader("Location", creation.location());
      }
      if (ctx.get(IETF) != null) {
        boolean done = resource != null && "complete".equals(resource.getString("upload_status"));
        resp.putHeader("Upload-Complete", done ? "?1" : "?0");
      }
      if (resource == null || "pending".equals(resource.getString("upload_status"))) {
        long updated = resource == null ? f.updatedAt() : resource.getLong("updated_at");
        resp.putHeader("Upload-Expires", HTTP_DATE.format(Instant.ofEpochMilli(updated + sessions.settings().expireAfterMs())));
      }
      resp.putHeader("Upload-Offset", Long.toString(newOffset)).setStatusCode(status).end();
    }

    private void fail(Throwable err) {
      if (finished) {
        return;
      }
      finished = true;
      cancelIdle();
      part.abort();
      if (err instanceof ChunkWrite.TooLargeException) {
        ctx.fail(new ServiceException(Kind.TOO_LARGE, length != null ? "the body goes beyond Upload-Length " + length
            : "the upload exceeds Tus-Max-Size " + maxFileBytes + " bytes"));
      } else {
        ctx.fail(err);
      }
    }
  }

  // ---- headers ------------------------------------------------------------------------------------

  /** Where an upload stands: bytes stored, and its length (null while deferred). */
  private record Progress(long offset, Long length) {
    static Progress of(FileRecord f) {
      if (f.uploadGeneration() == null) {
        return new Progress(f.size(), f.size());
      }
      return new Progress(f.storedBytes(), f.totalSize());
    }
  }

  /** {@code Upload-Expires} for a pending upload: its last change plus {@code upload.expire_after_ms}. */
  private void expires(HttpServerResponse resp, FileRecord f) {
    if (f.uploadGeneration() != null) {
      resp.putHeader("Upload-Expires", HTTP_DATE.format(Instant.ofEpochMilli(f.updatedAt() + sessions.settings().expireAfterMs())));
    }
  }

  /** {@code Upload-Complete} of the IETF draft (a structured-field boolean, {@code ?1} or {@code ?0}); 400 when absent or other. */
  private static boolean uploadComplete(HttpServerRequest req) {
    String raw = req.getHeader("Upload-Complete");
    String v = raw == null ? "" : raw.strip();
    if (v.equals("?1")) {
      return true;
    }
    if (v.equals("?0")) {
      return false;
    }
    throw ServiceException.badRequest("Upload-Complete must be ?1 or ?0" + (raw == null ? "" : ", got '" + raw + "'"));
  }

  /** A non-negative decimal header, or null when absent; 400 when malformed. */
  private static Long number(HttpServerRequest req, String name) {
    String raw = req.getHeader(name);
    if (raw == null) {
      return null;
    }
    String v = raw.strip();
    if (!v.matches("[0-9]{1,18}")) {
      throw ServiceException.badRequest(name + " must be a non-negative whole number, got '" + raw + "'");
    }
    return Long.parseLong(v);
  }

  private static boolean hasBody(HttpServerRequest req) {
    return UploadHandler.contentLength(req) > 0 || req.getHeader("Transfer-Encoding") != null;
  }

  private static void checkContentType(HttpServerRequest req) {
    String type = req.getHeader("Content-Type");
    String base = type == null ? "" : type.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
    if (!base.equals(OFFSET_TYPE)) {
      throw new ServiceException(Kind.UNSUPPORTED_TYPE, "send the bytes as Content-Type: " + OFFSET_TYPE + (type == null ? "" : ", not " + type));
    }
  }

  /**
   * {@code Upload-Metadata}: comma-separated {@code key base64(value)} pairs (a key alone has an empty
   * value); 400 for an empty or repeated key, a key with a space or comma, or a value that is not
   * base64 of UTF-8 text.
   */
  static Map<String, String> metadata(String header) {
    Map<String, String> out = new HashMap<>();
    if (header == null || header.isBlank()) {
      return out;
    }
    for (String pair : header.split(",", -1)) {
      String p = pair.strip();
      String[] kv = p.split(" ", -1);
      if (p.isEmpty() || kv.length > 2 || kv[0].isEmpty()) {
        throw ServiceException.badRequest("Upload-Metadata must be comma-separated 'key base64value' pairs, got '" + pair + "'");
      }
      String value = "";
      if (kv.length == 2) {
        try {
          byte[] bytes = Base64.getDecoder().decode(kv[1]);
          value = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (IllegalArgumentException | java.nio.charset.CharacterCodingException e) {
          throw ServiceException.badRequest("Upload-Metadata: the value of '" + kv[0] + "' is not base64 of UTF-8 text");
        }
      }
      if (out.put(kv[0], value) != null) {
        throw ServiceException.badRequest("Upload-Metadata: key '" + kv[0] + "' is given twice");
      }
    }
    return out;
  }

  /** A requested body checksum: the algorithm (tus name) and the expected digest. */
  private record Checksum(String algorithm, byte[] expected) {
    MessageDigest digest() {
      try {
        return MessageDigest.getInstance(algorithm.equals("sha1") ? "SHA-1" : "SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** {@code Upload-Checksum: <algorithm> <base64 digest>}, or null; 400 when malformed or of another algorithm. */
  private static Checksum checksum(HttpServerRequest req) {
    String raw = req.getHeader("Upload-Checksum");
    if (raw == null) {
      return null;
    }
    String[] parts = raw.strip().split(" ", -1);
    if (parts.length != 2) {
      throw ServiceException.badRequest("Upload-Checksum must be '<algorithm> <base64 digest>'");
    }
    String algorithm = parts[0].toLowerCase(Locale.ROOT);
    int size = switch (algorithm) {
      case "sha1" -> 20;
      case "sha256" -> 32;
      default -> throw ServiceException.badRequest("Upload-Checksum algorithm '" + parts[0] + "' is not supported (" + CHECKSUMS + ")");
    };
    byte[] expected;
    try {
      expected = Base64.getDecoder().decode(parts[1]);
    } catch (IllegalArgumentException e) {
      throw ServiceException.badRequest("Upload-Checksum: the digest is not base64");
    }
    if (expected.length != size) {
      throw ServiceException.badRequest("Upload-Checksum: a " + algorithm + " digest has " + size + " bytes, got " + expected.length);
    }
    return new Checksum(algorithm, expected);
  }
}

package dev.files.http;

import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.db.FileRepository;
import dev.files.model.ChunkRecord;
import dev.files.model.ContentTypes;
import dev.files.model.FileRecord;
import dev.files.content.FileContent;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.PooledBuffers;
import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.GeneralSecurityException;
import java.util.List;
import java.util.UUID;

/**
 * GET and HEAD {@code /companies/:company_id/files/:file_id/download} (docs/api.md): streams the live
 * generation's chunks in order, never holding a file in memory. Answers 200 with Content-Length,
 * Content-Type, Content-Disposition (RFC 6266), ETag, Accept-Ranges and nosniff; 206 for one
 * satisfiable byte range and 416 for an unsatisfiable one (RFC 7233); 304 when If-None-Match
 * matches; 404 for a file not in the company; 409 while no upload of the file has completed.
 * The bytes come from {@link FileContent} (one stream across the chunk objects, read and decrypted
 * 1 MiB at a time into pooled direct buffers that the socket writes as they are, each released
 * once written: {@link PooledBuffers#pipe}).
 * A storage failure after the headers were sent cuts the connection, so a client never takes a short
 * body for a whole one.
 */
final class DownloadHandler {

  private static final Logger LOG = LoggerFactory.getLogger(DownloadHandler.class);

  private final FileRepository files;
  private final FileContent content;

  DownloadHandler(FileRepository files, FileContent content) {
    this.files = files;
    this.content = content;
  }

  void handle(RoutingContext ctx) {
    UUID companyId = ctx.get(AuthHandler.COMPANY);
    UUID fileId = AuthHandler.uuidParam(ctx, "file_id");
    files.findWithChunks(fileId)
        .onSuccess(found -> {
          FileRecord f = found == null ? null : found.file();
          if (f == null || !f.companyId().equals(companyId)) {
            ctx.fail(ServiceException.notFound("file " + fileId + " not found"));
          } else if (!f.complete()) {
            ctx.fail(new ServiceException(Kind.CONFLICT, "the upload of file " + fileId + " is not complete"));
          } else {
            send(ctx, f, found.chunks());
          }
        })
        .onFailure(ctx::fail);
  }

  /** Strong validator of the live content: changes with every completed upload (generation). */
  static String etag(FileRecord f) {
    return "\"" + f.id() + "-" + f.generation() + "\"";
  }

  private void send(RoutingContext ctx, FileRecord f, List<ChunkRecord> chunks) {
    HttpServerResponse resp = ctx.response();
    String etag = etag(f);
    long size = f.size();
    if (!FileContent.addsUp(f, chunks)) {
      ctx.fail(new ServiceException(Kind.UNAVAILABLE, "the chunks of file " + f.id() + " do not add up to its size"));
      return;
    }
    FileContent.Content plaintext;
    try {
      plaintext = content.of(f, chunks);
    } catch (GeneralSecurityException | RuntimeException e) {
      LOG.error("request {}: download of file {}: {}", RequestIds.of(ctx.request()), f.id(), e.toString());
      ctx.fail(new ServiceException(Kind.UNAVAILABLE, "file " + f.id() + " cannot be decrypted: " + dev.files.crypto.DataKeys.unavailableReason(e)));
      return;
    }
    resp.putHeader("ETag", etag)
        .putHeader("Accept-Ranges", "bytes")
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Cache-Control", "private, no-cache");
    if (matches(ctx.request().getHeader("If-None-Match"), etag)) {
      resp.setStatusCode(304).end();
      return;
    }
    String ifRange = ctx.request().getHeader("If-Range");
    ByteRange range = ifRange == null || ifRange.strip().equals(etag)
        ? ByteRange.parse(ctx.request().getHeader("Range"), size) : null;
    if (range == ByteRange.UNSATISFIABLE) {
      resp.putHeader("Content-Range", "bytes */" + size);
      ctx.fail(new ServiceException(Kind.RANGE_NOT_SATISFIABLE, "range not satisfiable for " + size + " bytes"));
      return;
    }
    long start = range == null ? 0 : range.start();
    long length = range == null ? size : range.length();
    resp.putHeader("Content-Type", contentType(f))
        .putHeader("Content-Disposition", ContentDisposition.attachment(f.name()))
        .putHeader("Content-Length", Long.toString(length));
    if (range != null) {
      resp.setStatusCode(206).putHeader("Content-Range", "bytes " + range.start() + "-" + range.end() + "/" + size);
    }
    if (ctx.request().method() == HttpMethod.HEAD || length == 0) {
      resp.end();
      return;
    }
    // The first piece is opened before the headers go: a file deleted meanwhile still gets a JSON error.
    plaintext.openDirect(start, length)
        .onFailure(err -> files.find(f.id()).onComplete(ar -> ctx.fail(ar.succeeded() && ar.result() == null
            ? ServiceException.notFound("file " + f.id() + " not found") : err)))
        .onSuccess(read -> PooledBuffers.pipe(read, resp)
            .eventually(read::close)
            .compose(v -> resp.bytesWritten() == length
                // a client that has every byte may close first: the download is complete all the same
                ? resp.end().recover(e -> Future.succeededFuture())
                : Future.failedFuture("wrote " + resp.bytesWritten() + " of " + length + " bytes"))
            .onFailure(err -> {
              if (resp.closed()) { // the client went away: not a failure of the service
                LOG.debug("download of file {} abandoned by the client after {} bytes", f.id(), resp.bytesWritten());
                return;
              }
              LOG.error("request {}: download of file {} failed after {} bytes: {}", RequestIds.of(ctx.request()), f.id(),
                  resp.bytesWritten(), err.toString());
              if (!resp.headWritten() && unavailable(err)) { // the store failed, the data may be whole
                ctx.fail(err);
              } else if (!resp.headWritten()) { // nothing sent yet: an error answer is still possible
                ctx.fail(new ServiceException(Kind.DAMAGED, "file " + f.id() + " cannot be read: its stored data is damaged"));
              } else {
                resp.reset(); // cut the connection: the client must not take a short body for the whole file
              }
            }));
  }

  /**
   * The stored type when it may be sent as a header ({@link ContentTypes#headerSafe}), else
   * {@code application/octet-stream}: a value stored before types were checked, or written to the
   * database by hand, must never stop an answer (Vert.x refuses a header with a control character).
   */
  static String contentType(FileRecord f) {
    if (ContentTypes.headerSafe(f.mime())) {
      return f.mime();
    }
    if (f.mime() != null && !f.mime().isEmpty()) {
      LOG.warn("file {}: its stored type is not a valid header value; sent as {}", f.id(), ContentTypes.OCTET_STREAM);
    }
    return ContentTypes.OCTET_STREAM;
  }

  /** True when the store failed (unreachable, refused): not a sign of damaged data ({@code SHORT} is one). */
  private static boolean unavailable(Throwable err) {
    return err instanceof ObjectStoreException e && e.reason() != ObjectStoreException.Reason.SHORT
        && e.reason() != ObjectStoreException.Reason.NOT_FOUND;
  }

  /** If-None-Match (RFC 7232 §3.2, weak comparison): {@code *} or a listed tag equal to {@code etag}. */
  static boolean matches(String header, String etag) {
    if (header == null) {
      return false;
    }
    for (String tag : header.split(",")) {
      String t = tag.strip();
      if (t.startsWith("W/")) {
        t = t.substring(2);
      }
      if (t.equals("*") || t.equals(etag)) {
        return true;
      }
    }
    return false;
  }
}

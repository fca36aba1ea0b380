package dev.files.storage.s3;

import dev.files.storage.ObjectStoreException;
import dev.files.storage.ObjectStoreException.Reason;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.streams.ReadStream;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.CompletedPart;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One {@link S3ObjectStore#write}: reads the body into part buffers of {@code partBytes}. If the
 * body ends within the first part, the object is one {@code PutObject}. Otherwise a multipart
 * upload is created with the first full part, each part is sent while the next one fills, and the
 * body is paused while a full part waits for the one being sent (so at most about two parts are
 * held). The end completes the upload; a failure of the body or of any request aborts it, and the
 * write fails only once the abort has been answered. All state lives on the caller's context.
 */
final class S3Upload {

  private static final String OPERATION = "storing an object";

  private final ContextInternal ctx;
  private final S3AsyncClient client;
  private final String bucket;
  private final String key;
  private final int partBytes;
  private final ReadStream<Buffer> body;
  private final Promise<Long> result;
  private final ArrayDeque<Buffer> full = new ArrayDeque<>(); // complete parts waiting to be sent
  private final List<CompletedPart> parts = new ArrayList<>();
  private Buffer filling;
  private long size;
  private String uploadId;
  private Future<?> sending; // the request in flight, if any
  private boolean bodyEnded;
  private boolean bodyPaused;
  private boolean finishing;
  private boolean failed;

  S3Upload(ContextInternal ctx, S3AsyncClient client, String bucket, String key, int partBytes, ReadStream<Buffer> body) {
    this.ctx = ctx;
    this.client = client;
    this.bucket = bucket;
    this.key = key;
    this.partBytes = partBytes;
    this.body = body;
    this.result = ctx.promise();
  }

  Future<Long> start() {
    body.handler(this::onData);
    body.exceptionHandler(err -> fail(Reason.BODY, err));
    body.endHandler(x -> {
      bodyEnded = true;
      pump();
    });
    body.resume();
    return result.future();
  }

  private void onData(Buffer data) {
    if (failed) {
      return;
    }
    size += data.length();
    int at = 0;
    while (at < data.length()) {
      if (filling != null && filling.length() == partBytes) {
        full.add(filling); // more bytes follow a full part: it is a part of a multipart upload
        filling = null;
      }
      if (filling == null) {
        filling = Buffer.buffer(partBytes);
      }
      int n = Math.min(partBytes - filling.length(), data.length() - at);
      filling.appendBuffer(data, at, n);
      at += n;
    }
    if (!full.isEmpty()) {
      pump();
      if (!full.isEmpty() && !bodyPaused) { // a full part waits for the one in flight
        bodyPaused = true;
        body.pause();
      }
    }
  }

  /** Sends the next full part if none is in flight; finishes once the body has ended and all are sent. */
  private void pump() {
    if (failed || sending != null) {
      return;
    }
    if (!full.isEmpty()) {
      Buffer part = full.poll();
      Future<Void> created = uploadId != null ? Future.succeededFuture()
          : S3ObjectStore.on(ctx, client.createMultipartUpload(b -> b.bucket(bucket).key(key)))
              .map(r -> {
                uploadId = r.uploadId();
                return null;
              });
      step(created.compose(v -> sendPart(part)));
      return;
    }
    if (bodyPaused) {
      bodyPaused = false;
      body.resume();
    }
    if (bodyEnded && !finishing) {
      finishing = true;
      Buffer last = filling == null ? Buffer.buffer() : filling;
      filling = null;
      if (uploadId == null) {
        step(S3ObjectStore.on(ctx, client.putObject(b -> b.bucket(bucket).key(key).ifNoneMatch("*")
            .contentLength((long) last.length()), body(last))).<Void>mapEmpty(), true);
      } else {
        Future<Void> sent = last.length() == 0 ? Future.succeededFuture() : sendPart(last);
        step(sent.compose(v -> S3ObjectStore.on(ctx, client.completeMultipartUpload(b -> b.bucket(bucket).key(key)
            .uploadId(uploadId).ifNoneMatch("*").multipartUpload(m -> m.parts(parts))))).<Void>mapEmpty(), true);
      }
    }
  }

  private void step(Future<Void> request) {
    step(request, false);
  }

  /** Tracks {@code request} as the one in flight; on success goes on (or completes the write when {@code last}). */
  private void step(Future<Void> request, boolean last) {
    sending = request;
    request.onComplete(ar -> {
      sending = null;
      if (failed) {
        return; // fail() waits for this request, then aborts
      }
      if (ar.failed()) {
        fail(Reason.UNAVAILABLE, ar.cause());
      } else if (last) {
        result.tryComplete(size);
      } else {
        pump();
      }
    });
  }

  private Future<Void> sendPart(Buffer part) {
    int number = parts.size() + 1;
    parts.add(null); // the slot, filled with the part's ETag below
    return S3ObjectStore.on(ctx, client.uploadPart(b -> b.bucket(bucket).key(key).uploadId(uploadId)
            .partNumber(number).contentLength((long) part.length()), body(part)))
        .map(r -> {
          parts.set(number - 1, CompletedPart.builder().partNumber(number).eTag(r.eTag()).build());
          return null;
        });
  }

  /** The bytes of {@code buffer} as a request body, without a copy (the buffer is not touched again). */
  private static AsyncRequestBody body(Buffer buffer) {
    return AsyncRequestBody.fromByteBufferUnsafe(((BufferInternal) buffer).getByteBuf().nioBuffer());
  }

  /**
   * Fails the write: stops reading the body, waits for the request in flight, aborts the multipart
   * upload if one was created, then fails the result.
   */
  private void fail(Reason reason, Throwable err) {
    if (failed) {
      return;
    }
    failed = true;
    full.clear();
    filling = null;
    body.pause();
    body.handler(null);
    body.endHandler(null);
    body.exceptionHandler(null);
    ObjectStoreException failure = reason == Reason.BODY
        ? new ObjectStoreException(OPERATION, Reason.BODY, err)
        : S3ObjectStore.failure(OPERATION, err);
    Future<?> inFlight = sending == null ? Future.succeededFuture() : sending;
    inFlight.eventually(() -> uploadId == null ? Future.succeededFuture()
            : S3ObjectStore.on(ctx, client.abortMultipartUpload(b -> b.bucket(bucket).key(key).uploadId(uploadId)))
                .recover(abortErr -> Future.succeededFuture())) // left for the bucket's lifecycle rule
        .onComplete(ar -> result.tryFail(failure));
  }
}

package dev.files.storage.s3;

import dev.files.storage.IdentityObject;
import dev.files.storage.ObjectInfo;
import dev.files.storage.ObjectKeys;
import dev.files.storage.ObjectPage;
import dev.files.storage.ObjectRead;
import dev.files.storage.ObjectStore;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.ObjectStoreException.Reason;
import dev.files.storage.StoreSide;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.streams.ReadStream;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.client.config.SdkAdvancedAsyncClientOption;
import software.amazon.awssdk.core.exception.SdkServiceException;
import software.amazon.awssdk.http.async.SdkAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.SdkEventLoopGroup;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * An {@link ObjectStore} on an S3-compatible server, through the AWS SDK for Java v2 async client
 * (its own Netty event loops, never Vert.x's).
 *
 * <ul>
 *   <li>Write: an object of up to {@code part_bytes} is one {@code PutObject}; a larger one a
 *       multipart upload of {@code part_bytes} parts, sent while the next part is read (at most
 *       about two parts in memory per write), aborted on any failure. Both carry
 *       {@code If-None-Match: *}, so the server refuses to replace an object (412 → {@code EXISTS}).
 *       A server that ignores the header replaces it instead.</li>
 *   <li>Read: a ranged {@code GetObject} whose body is pulled one buffer at a time as the consumer
 *       asks ({@link S3RangeRead}).</li>
 *   <li>Delete: {@code DeleteObjects} in batches of 1000; list: {@code ListObjectsV2} pages.</li>
 * </ul>
 *
 * <p>The SDK completes its futures on the thread that finished the call ({@code
 * FUTURE_COMPLETION_EXECUTOR} = run in place); every result is then handed to the caller's Vert.x
 * context. Request checksums are computed only where S3 requires them (third-party servers differ
 * on the newer ones). A stalled reader holds its connection; the SDK's read timeout (30 s) then
 * fails the read.
 */
public final class S3ObjectStore implements ObjectStore {

  /** Keys per DeleteObjects request (S3's limit). */
  static final int DELETE_BATCH = 1000;
  private static final Duration WARM_UP_TIMEOUT = Duration.ofSeconds(5);

  private final Vertx vertx;
  private final S3AsyncClient client;
  private final S3Options options;
  private volatile boolean closed;

  private S3ObjectStore(Vertx vertx, S3AsyncClient client, S3Options options) {
    this.vertx = vertx;
    this.client = client;
    this.options = options;
  }

  /**
   * Builds the client and makes a first call, both on a worker thread (building takes a few hundred
   * ms and the first call loads classes: neither may run on an event loop). The first call's outcome
   * is not checked: {@link #probe()} tells whether the server and the bucket are there.
   */
  public static Future<S3ObjectStore> create(Vertx vertx, S3Options options) {
    return vertx.executeBlocking(() -> {
      S3AsyncClient client = client(options);
      try {
        client.headBucket(b -> b.bucket(options.bucket())).get(WARM_UP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
        // warm-up only: probe() reports whether the store is reachable
      }
      return new S3ObjectStore(vertx, client, options);
    }, false);
  }

  private static S3AsyncClient client(S3Options options) {
    SdkAsyncHttpClient http = NettyNioAsyncHttpClient.builder()
        .maxConcurrency(options.maxConnections())
        .connectionTimeout(Duration.ofSeconds(5))
        .connectionAcquisitionTimeout(Duration.ofSeconds(30))
        .eventLoopGroupBuilder(SdkEventLoopGroup.builder().numberOfThreads(2))
        .build();
    AwsCredentialsProvider credentials = options.accessKey().isEmpty()
        ? DefaultCredentialsProvider.builder().build()
        : StaticCredentialsProvider.create(AwsBasicCredentials.create(options.accessKey(), options.secretKey()));
    S3AsyncClientBuilder builder = S3AsyncClient.builder()
        .httpClient(http)
        .region(Region.of(options.region()))
        .credentialsProvider(credentials)
        .forcePathStyle(options.pathStyle())
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .asyncConfiguration(b -> b.advancedOption(SdkAdvancedAsyncClientOption.FUTURE_COMPLETION_EXECUTOR, Runnable::run));
    if (!options.endpoint().isEmpty()) {
      builder.endpointOverride(URI.create(options.endpoint()));
    }
    return builder.build();
  }

  /** The settings the store was made with. */
  public S3Options options() {
    return options;
  }

  /** The SDK client (for what this store does not offer: tests, administration). */
  public S3AsyncClient client() {
    return client;
  }

  /** The caller's context: results are delivered there. */
  static ContextInternal context(Vertx vertx) {
    return (ContextInternal) vertx.getOrCreateContext();
  }

  /** {@code stage} as a future completed on {@code ctx}. */
  static <T> Future<T> on(ContextInternal ctx, CompletionStage<T> stage) {
    return Future.fromCompletionStage(stage, ctx);
  }

  @Override
  public Future<Long> write(String key, ReadStream<Buffer> body) {
    ObjectKeys.check(key);
    if (closed) {
      return closedFailure("storing an object");
    }
    return new S3Upload(context(vertx), client, options.bucket(), key, options.partBytes(), body).start();
  }

  @Override
  public Future<ObjectRead> read(String key, long offset, long length) {
    ObjectKeys.check(key);
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("negative offset or length");
    }
    if (closed) {
      return closedFailure("reading an object");
    }
    ContextInternal ctx = context(vertx);
    String operation = "reading an object";
    if (length == 0) { // no empty byte range in HTTP: ask for the size instead
      return on(ctx, client.headObject(b -> b.bucket(options.bucket()).key(key)))
          .recover(err -> Future.failedFuture(failure(operation, err)))
          .compose(head -> head.contentLength() < offset
              ? Future.failedFuture(new ObjectStoreException(operation, Reason.SHORT, null))
              : Future.succeededFuture(S3RangeRead.empty(ctx)));
    }
    String range = "bytes=" + offset + "-" + (offset + length - 1);
    return on(ctx, client.getObject(b -> b.bucket(options.bucket()).key(key).range(range),
        AsyncResponseTransformer.toPublisher()))
        .recover(err -> Future.failedFuture(failure(operation, err)))
        .compose(response -> {
          S3RangeRead read = new S3RangeRead(ctx, response, length);
          Long got = response.response().contentLength();
          if (got == null || got < length) { // the object ends inside the range
            read.close();
            return Future.failedFuture(new ObjectStoreException(operation, Reason.SHORT, null));
          }
          return Future.succeededFuture(read);
        });
  }

  @Override
  public Future<Void> delete(Collection<String> keys) {
    List<String> all = new ArrayList<>(keys);
    all.forEach(ObjectKeys::check);
    if (closed) {
      return closedFailure("deleting objects");
    }
    ContextInternal ctx = context(vertx);
    Future<Void> chain = Future.succeededFuture();
    int[] failed = {0};
    for (int from = 0; from < all.size(); from += DELETE_BATCH) {
      List<ObjectIdentifier> batch = all.subList(from, Math.min(all.size(), from + DELETE_BATCH)).stream()
          .map(k -> ObjectIdentifier.builder().key(k).build()).toList();
      chain = chain.compose(v -> on(ctx, client.deleteObjects(b -> b.bucket(options.bucket())
              .delete(Delete.builder().objects(batch).quiet(true).build())))
          .map(response -> {
            failed[0] += response.errors().size();
            return null;
          }));
    }
    return chain.compose(v -> failed[0] == 0 ? Future.<Void>succeededFuture()
            : Future.failedFuture(new ObjectStoreException("deleting " + failed[0] + " objects", Reason.UNAVAILABLE, null)))
        .recover(err -> Future.failedFuture(failure("deleting objects", err)));
  }

  @Override
  public Future<ObjectPage> list(String prefix, String pageToken, int pageSize) {
    ObjectKeys.checkPrefix(prefix);
    if (pageSize < 1 || pageSize > 1000) {
      throw new IllegalArgumentException("page size out of 1..1000");
    }
    if (closed) {
      return closedFailure("listing objects");
    }
    return on(context(vertx), client.listObjectsV2(b -> {
      b.bucket(options.bucket()).maxKeys(pageSize);
      if (!prefix.isEmpty()) {
        b.prefix(prefix);
      }
      if (pageToken != null) {
        b.continuationToken(pageToken);
      }
    })).map(response -> new ObjectPage(
        response.contents().stream()
            .map(o -> new ObjectInfo(o.key(), o.size(), o.lastModified().toEpochMilli()))
            .toList(),
        Boolean.TRUE.equals(response.isTruncated()) ? response.nextContinuationToken() : null))
        .recover(err -> Future.failedFuture(failure("listing objects", err)));
  }

  @Override
  public Future<Void> probe() {
    if (closed) {
      return closedFailure("checking storage");
    }
    return on(context(vertx), client.headBucket(b -> b.bucket(options.bucket()))).<Void>mapEmpty()
        .recover(err -> Future.failedFuture(failure("checking storage", err)));
  }

  @Override
  public String description() {
    return "storage.s3.bucket " + options.bucket() + " at " + options.endpoint();
  }

  @Override
  public String settings() {
    return "storage.s3.endpoint and storage.s3.bucket (FILES_STORAGE_S3_*)";
  }

  /** The object {@link StoreSide#OBJECT_KEY}: S3 has no place outside the key space. */
  @Override
  public String identityLocation() {
    return description() + " object " + StoreSide.OBJECT_KEY;
  }

  @Override
  public Future<UUID> readIdentity() {
    return IdentityObject.read(this, identityLocation());
  }

  @Override
  public Future<UUID> recordIdentity(UUID id) {
    return IdentityObject.recordIfAbsent(vertx, this, identityLocation(), id);
  }

  /**
   * Why {@link #probe()} failed, in one line for the operator starting a node (the bucket and
   * endpoint are named by the caller): the S3 server's answer to HEAD bucket tells a missing bucket
   * (404: "the bucket does not exist") from refused credentials (401 or 403: "the S3 server refused
   * the access key or secret key"); another status is named ("the S3 server answered HTTP 500");
   * null when there was no answer (no connection, a timeout), for the caller's own wording.
   */
  public static String probeProblem(Throwable err) {
    for (Throwable t = err; t != null; t = t.getCause()) {
      if (t instanceof SdkServiceException s) {
        return switch (s.statusCode()) {
          case 404 -> "the bucket does not exist";
          case 401, 403 -> "the S3 server refused the access key or secret key (HTTP " + s.statusCode() + ")";
          default -> "the S3 server answered HTTP " + s.statusCode();
        };
      }
    }
    return null;
  }

  @Override
  public Future<Void> close() {
    if (closed) {
      return Future.succeededFuture();
    }
    closed = true;
    return vertx.executeBlocking(() -> {
      client.close();
      return null;
    }, false);
  }

  private static <T> Future<T> closedFailure(String operation) {
    return Future.failedFuture(new ObjectStoreException(operation, Reason.CLOSED, null));
  }

  /** The SDK's failure of {@code operation} in the service's terms; the SDK's exception is the cause. */
  static ObjectStoreException failure(String operation, Throwable err) {
    Throwable t = unwrap(err);
    if (t instanceof ObjectStoreException e) {
      return e;
    }
    if (t instanceof SdkServiceException s) {
      Reason reason = switch (s.statusCode()) {
        case 404 -> Reason.NOT_FOUND;
        case 412 -> Reason.EXISTS;
        case 416 -> Reason.SHORT;
        case 507 -> Reason.FULL;
        default -> Reason.UNAVAILABLE;
      };
      return new ObjectStoreException(operation, reason, t);
    }
    return ObjectStoreException.of(operation, Reason.UNAVAILABLE, t);
  }

  static Throwable unwrap(Throwable err) {
    Throwable t = err;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}

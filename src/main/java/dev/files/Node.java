package dev.files;

import dev.files.api.FilesApiVerticle;
import dev.files.auth.DownloadSigner;
import dev.files.auth.Membership;
import dev.files.auth.MembershipVerticle;
import dev.files.auth.TokenVerifier;
import dev.files.cluster.ClusterMembers;
import dev.files.cluster.ClusterSetup;
import dev.files.cluster.SessionOwners;
import dev.files.bus.InternalBus;
import dev.files.db.Database;
import dev.files.db.FileRepository;
import dev.files.db.SessionOwnerRepository;
import dev.files.db.StoreIdentityRepository;
import dev.files.events.Outbox;
import dev.files.events.OutboxRelay;
import dev.files.http.Cors;
import dev.files.http.HttpVerticle;
import dev.files.crypto.DataKeys;
import dev.files.model.Texts;
import dev.files.storage.IoExecutor;
import dev.files.crypto.EncryptedObjects;
import dev.files.storage.ObjectStore;
import dev.files.storage.StoreSide;
import dev.files.storage.local.LocalObjectStore;
import dev.files.storage.s3.S3ObjectStore;
import dev.files.storage.s3.S3Options;
import dev.files.thumbnail.ThumbnailClaims;
import dev.files.thumbnail.ThumbnailVerticle;
import dev.files.upload.UploadSessions;
import dev.files.upload.UploadSweepVerticle;
import io.vertx.core.DeploymentOptions;
import dev.files.ops.Health;
import dev.files.ops.Operations;
import dev.files.ops.ServiceMetrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.vertx.core.spi.observability.HttpRequest;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.micrometer.VertxPrometheusOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.List;

/**
 * One running node of the service: Vert.x (clustered when {@code cluster.enabled}), the database
 * pool, the chunk store, the upload sessions, and the HTTP verticles.
 */
public final class Node {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Node.class);

  private final Vertx vertx;
  private final Pool pool;
  private final FileRepository files;
  private final EncryptedObjects store;
  private final UploadSessions sessions;
  private final SessionOwners owners;
  private final IoExecutor io;
  private final int port;
  private final Operations ops;
  private final InternalBus bus;
  private final long drainTimeoutMs;
  private OutboxRelay relay;

  private Node(Vertx vertx, Pool pool, FileRepository files, EncryptedObjects store, UploadSessions sessions,
               SessionOwners owners, IoExecutor io, Operations ops, InternalBus bus, int port, long drainTimeoutMs) {
    this.owners = owners;
    this.bus = bus;
    this.vertx = vertx;
    this.ops = ops;
    this.drainTimeoutMs = drainTimeoutMs;
    this.io = io;
    this.pool = pool;
    this.files = files;
    this.store = store;
    this.sessions = sessions;
    this.port = port;
  }

  /**
   * Starts a node.
   *
   * <p>A start that cannot succeed fails, within seconds, with an {@link IllegalStateException} whose
   * message is one line naming the cause and the setting to change: no JWT key or a malformed master key
   * ({@code auth.jwt.*}, {@code encryption.*}), PostgreSQL unreachable or refusing the user or password
   * ({@code db.url}), a database and a chunk store that do not belong together
   * ({@link StoreBinding}), a storage directory that cannot be created or written ({@code storage.local.path}),
   * a master key that does not open the data keys of stored files ({@code encryption.master_key}), a
   * cluster that cannot be joined ({@code cluster.*}), a port in use ({@code http.port}). What was started
   * is stopped again before the future fails.
   *
   * @return the node once HTTP listens
   */
  public static Future<Node> start(FilesConfig config) {
    DataKeys dataKeys;
    List<String> corsOrigins;
    List<String> pageOrigins;
    try {
      TokenVerifier.options(config); // refuse to start without a JWT key, before touching anything
      corsOrigins = Cors.origins(config.list("http.cors.origins"));
      pageOrigins = HttpVerticle.pageOrigins(config.list("page.api_origins"));
      dataKeys = DataKeys.create(config.string("encryption.master_key"), config.string("encryption.master_key_id"),
          config.string("encryption.previous_keys"), config.flag("encryption.null_cipher"));
    } catch (IllegalStateException e) {
      return Future.failedFuture(e);
    }
    if (config.flag("encryption.null_cipher")) {
      LOG.warn("encryption.null_cipher is on: new files are stored WITHOUT encryption (benchmarks only)");
    }
    ServiceMetrics metrics = config.flag("metrics.enabled") ? ServiceMetrics.create() : ServiceMetrics.NONE;
    Future<Vertx> vertx;
    HazelcastClusterManager clusterManager;
    try {
      clusterManager = ClusterSetup.manager(config);
      vertx = ClusterSetup.vertx(config, vertxOptions(metrics),
          metrics.registry() != null ? new MicrometerMetricsFactory(metrics.registry()) : null, clusterManager);
    } catch (RuntimeException e) {
      return Future.failedFuture(e instanceof IllegalStateException ? e : new IllegalStateException(Texts.oneLine(e), e));
    }
    Promise<Node> result = Promise.promise(); // no context: completes even after Vert.x is closed
    AtomicReference<Vertx> started = new AtomicReference<>();
    AtomicReference<IoExecutor> ioRef = new AtomicReference<>();
    AtomicReference<ObjectStore> storeRef = new AtomicReference<>();
    vertx.compose(vx -> {
      started.set(vx);
      InternalBus bus = InternalBus.create(config.string("encryption.master_key"),
          config.string("encryption.previous_keys"));
      Outbox outbox = new Outbox(vx, bus);
      ClusterSetup.logMembers(clusterManager);
      // this node's id: the cluster manager's node id when clustered, else a random UUID per start
      ClusterMembers members = ClusterMembers.of(vx, clusterManager);
      String nodeId = members.nodeId();
      // the cheap checks first: a busy port or a bad directory is reported before the database is touched
      IoExecutor io = new IoExecutor(vx, (int) config.number("storage.io_threads"),
          (int) config.number("storage.io_queue"));
      ioRef.set(io);
      metrics.storageQueue(io::queued);
      return openStore(vx, io, config, metrics).onSuccess(storeRef::set)
          .compose(v -> probePort(vx, config))
          .compose(v -> openDatabase(vx, config, nodeId)).compose(pool -> {
          FileRepository files = new FileRepository(pool);
          ObjectStore objects = storeRef.get();
          EncryptedObjects store = new EncryptedObjects(vx, io, objects);
          SessionOwners owners = SessionOwners.create(vx, pool, members, config.number("cluster.lease_ms"));
          UploadSessions sessions = new UploadSessions(vx, files, store, dataKeys, Settings.sessions(config),
              (int) config.number("upload.session_queue"),
              owners, config.number("cluster.session_send_timeout_ms"), metrics, bus, outbox);
          metrics.uploadSessions(sessions::size);
          TokenVerifier verifier = TokenVerifier.create(vx, config);
          Membership membership = new Membership(files, config.number("auth.membership_cache_ms"));
          DownloadSigner signer = new DownloadSigner(config.string("encryption.master_key"));
          HttpVerticle.Services services = new HttpVerticle.Services(files, store, dataKeys, sessions,
              verifier, membership, signer, Settings.http(config, corsOrigins), metrics, bus);
          OutboxRelay relay = new OutboxRelay(PgConnectOptions.fromUri(config.string("db.url")), owners.nodeId(),
              config.number("events.poll_ms"), config.number("events.retention_ms"), bus);
          HttpVerticle.OpenConnections connections = new HttpVerticle.OpenConnections();
          Operations ops = new Operations(metrics, Health.live(vx), Health.ready(vx, files, objects, clusterManager));
          ThumbnailVerticle thumbnails = config.number("thumbnails.workers") <= 0 ? null
              : new ThumbnailVerticle(files, store, dataKeys, Settings.thumbnails(config), new ThumbnailClaims(pool, owners.nodeId(), owners::members),
                  metrics, bus, outbox);
          // the store and its database must belong together before the sweep may collect orphans
          return StoreBinding.bind(vx, new StoreIdentityRepository(pool), new StoreSide(objects), dbLabel(config))
              .compose(v -> checkMasterKey(files, dataKeys, config.string("encryption.master_key_id")))
              .compose(v -> owners.lease().start(why -> sessions.stopAll("this node fences itself: " + why)))
              .andThen(v -> owners.removeDeadOwners()) // rows of nodes that died while this one was away
              .compose(v -> sessions.start())
              .andThen(v -> watchCluster(clusterManager, sessions, thumbnails))
              .compose(v -> membership.listen(vx, bus))
              .compose(v -> vx.deployVerticle(new MembershipVerticle(files, verifier, metrics, bus)))
              .compose(v -> vx.deployVerticle(relay))
              .compose(v -> vx.deployVerticle(new UploadSweepVerticle(files, store, sessions,
                  PgConnectOptions.fromUri(config.string("db.url")), Settings.sweep(config, sessions.settings()),
                  metrics, bus)))
              .compose(v -> thumbnails == null ? Future.succeededFuture() : vx.deployVerticle(thumbnails))
              .compose(v -> vx.deployVerticle(() -> new HttpVerticle(services, ops, connections),
                  new DeploymentOptions().setInstances((int) Math.max(1, config.number("http.instances")))
                      .setConfig(new io.vertx.core.json.JsonObject()
                          .put("header_timeout_ms", config.number("http.header_timeout_ms"))
                          .put("max_connections_per_address", (int) config.number("http.max_connections_per_address"))
                          .put("page_api_origins", new io.vertx.core.json.JsonArray(pageOrigins))))
                  .recover(err -> Future.failedFuture(listenFailure(config, err))))
              .compose(v -> vx.deployVerticle(new FilesApiVerticle(new FilesApiVerticle.Services(files, store, dataKeys,
                  sessions, verifier, membership, signer, edgeUrl(config, ops), Math.min(
                  config.number("limits.max_request_bytes"), config.number("limits.max_file_bytes")), metrics))))
              .map(v -> new Node(vx, pool, files, store, sessions, owners, io, ops, bus,
                  ops.servers().isEmpty() ? (int) config.number("http.port") : ops.servers().get(0).actualPort(),
                  config.number("http.drain_timeout_ms")).withRelay(relay));
        });
    }).onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(ar.result());
      } else {
        failStart(ar.cause(), started.get(), storeRef.get(), ioRef.get(), result);
      }
    });
    return result.future();
  }

  /**
   * Vert.x's options: with {@code metrics} on, Micrometer metrics with a registry name of their own (nodes
   * sharing a JVM, as tests do, do not share Vert.x's metrics) and the HTTP method label made from a closed
   * set before any meter is looked up ({@link ServiceMetrics#method}: Vert.x's own label would key a lookup
   * cache entry per made-up method).
   */
  private static VertxOptions vertxOptions(ServiceMetrics metrics) {
    VertxOptions options = new VertxOptions();
    if (metrics.registry() != null) {
      java.util.function.Function<HttpRequest, Iterable<Tag>> method =
          req -> Tags.of("method", ServiceMetrics.method(req.method() == null ? null : req.method().name()));
      options.setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true)
          .setLabels(java.util.EnumSet.of(Label.HTTP_CODE, Label.POOL_TYPE, Label.POOL_NAME, Label.EB_SIDE))
          .setServerRequestTagsProvider(method).setClientRequestTagsProvider(method)
          .setRegistryName("files-" + java.util.UUID.randomUUID())
          .setPrometheusOptions(new VertxPrometheusOptions().setEnabled(true)));
    }
    return options;
  }

  /**
   * A start failed with {@code cause}: stops what was started (the store, Vert.x, the storage threads; each
   * may be null), then fails {@code result} with an {@link IllegalStateException} of one line. Vert.x
   * completes its close on a thread of its own: this waits for it (at most 10 s each) off the event loop,
   * so that the failure is reported whatever state the event loops are in.
   */
  private static void failStart(Throwable cause, Vertx vx, ObjectStore store, IoExecutor io, Promise<Node> result) {
    Throwable err = cause instanceof IllegalStateException ? cause : new IllegalStateException(Texts.oneLine(cause), cause);
    if (vx == null) {
      result.fail(err);
      return;
    }
    Thread stopper = new Thread(() -> {
      try {
        if (store != null) {
          store.close().await(10, TimeUnit.SECONDS);
        }
      } catch (Exception e) {
        LOG.debug("closing the store after a failed start: {}", e.toString());
      }
      try {
        vx.close().await(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.debug("closing after a failed start: {}", e.toString());
      }
      if (io != null) {
        io.close();
      }
      result.fail(err);
    }, "files-start-failed");
    stopper.setDaemon(true);
    stopper.start();
  }

  /**
   * Scheme, host and port of this node's HTTP edge as other processes reach it (signed URLs of
   * files.api): {@code http.host}, or {@code cluster.host} when HTTP listens on every interface.
   */
  private static String edgeUrl(FilesConfig config, Operations ops) {
    String host = config.string("http.host");
    if (host.isBlank() || host.equals("0.0.0.0") || host.equals("::")) {
      host = config.string("cluster.host").isBlank() ? "127.0.0.1" : config.string("cluster.host");
    }
    int port = ops.servers().isEmpty() ? (int) config.number("http.port") : ops.servers().get(0).actualPort();
    return "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /** The database, or one line naming db.url (its password masked) and PostgreSQL's reason. */
  private static Future<Pool> openDatabase(Vertx vx, FilesConfig config, String nodeId) {
    String url = config.string("db.url");
    return Database.open(vx, url, (int) config.number("db.pool_size"), (int) config.number("db.wait_queue"),
        SessionOwnerRepository.APPLICATION_NAME + nodeId).recover(err -> Future.failedFuture(
        new IllegalStateException("cannot open the database " + FilesConfig.printable("db.url", url) + ": "
            + Texts.oneLine(err) + " (check db.url)", err)));
  }

  /**
   * The object store of {@code storage.type}: {@code local}, the directory {@code storage.local.path}
   * (created, and a small file written, read back and deleted in it); {@code s3}, an
   * {@link S3ObjectStore} on {@code storage.s3.*}, its client built and its bucket probed off the event
   * loop. Fails with one line naming the settings to check. The local store's directory syncs are counted in
   * {@code metrics}.
   */
  private static Future<ObjectStore> openStore(Vertx vx, IoExecutor io, FilesConfig config, ServiceMetrics metrics) {
    if (!"s3".equals(config.string("storage.type"))) {
      Path root = Path.of(config.string("storage.local.path"));
      return probeStorage(vx, root).map(v -> new LocalObjectStore(vx, io, root, config.flag("storage.local.fsync"),
          (int) config.number("storage.local.sync_threads"), metrics::directorySynced));
    }
    S3Options options;
    try {
      options = Settings.s3(config);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new IllegalStateException(e.getMessage()));
    }
    String where = "bucket " + options.bucket() + " at " + options.endpoint();
    return S3ObjectStore.create(vx, options).compose(store -> store.probe().<ObjectStore>map(v -> store)
        .recover(err -> {
          store.close();
          String problem = S3ObjectStore.probeProblem(err);
          return Future.failedFuture(new IllegalStateException("cannot reach the S3 store (" + where + "): "
              + (problem != null ? problem : Texts.oneLine(err)) + " (check storage.s3.endpoint, storage.s3.bucket, storage.s3.access_key and storage.s3.secret_key)", err));
        }));
  }

  /** Creates the storage directory and writes, reads back and deletes a small file in it. */
  private static Future<Void> probeStorage(Vertx vx, Path root) {
    return vx.executeBlocking(() -> {
      try {
        LocalObjectStore.probeDirectory(root);
        return null;
      } catch (java.nio.file.FileSystemException e) {
        String reason = e.getReason() != null ? e.getReason()
            : e instanceof java.nio.file.AccessDeniedException ? "permission denied"
            : e instanceof java.nio.file.NoSuchFileException ? "no such file or directory"
            : e.getClass().getSimpleName();
        throw new IllegalStateException("storage directory " + root.toAbsolutePath() + " cannot be written: "
            + reason + " (check storage.local.path)", e);
      } catch (java.io.IOException | RuntimeException e) {
        throw new IllegalStateException("storage directory " + root.toAbsolutePath() + " cannot be written: "
            + Texts.oneLine(e) + " (check storage.local.path)", e);
      }
    }, false);
  }

  /** Binds and releases http.host:http.port (not when 0): a port in use fails the start before any slow step. */
  private static Future<Void> probePort(Vertx vx, FilesConfig config) {
    int port = (int) config.number("http.port");
    if (port == 0) {
      return Future.succeededFuture();
    }
    return vx.executeBlocking(() -> {
      try (java.net.ServerSocket s = new java.net.ServerSocket()) {
        s.setReuseAddress(true);
        s.bind(new java.net.InetSocketAddress(config.string("http.host"), port));
      } catch (java.io.IOException e) {
        throw listenFailure(config, e);
      }
      return null;
    }, false);
  }

  /** Unwraps the data key of one stored file per configured master key id: a wrong key fails the start. */
  private static Future<Void> checkMasterKey(FileRepository files, DataKeys dataKeys, String keyId) {
    return files.anyWithDataKey(keyId)
        .compose(id -> id == null ? Future.succeededFuture(null) : files.find(id))
        .compose(f -> {
          if (f == null) {
            return Future.succeededFuture();
          }
          try {
            dataKeys.unwrap(f.id(), f.dataKeyId(), f.dataKey());
            return Future.succeededFuture();
          } catch (java.security.GeneralSecurityException | RuntimeException e) {
            return Future.failedFuture(new IllegalStateException("encryption.master_key (id " + keyId
                + ") does not open the data keys of the stored files: it is not the key they were written with"
                + " (check encryption.master_key and encryption.master_key_id)"));
          }
        });
  }

  /** A failed listen as one line naming http.port (and http.host). */
  private static IllegalStateException listenFailure(FilesConfig config, Throwable err) {
    String where = config.string("http.host") + ":" + config.number("http.port");
    String reason = err instanceof java.net.BindException || String.valueOf(err.getMessage()).contains("in use")
        ? "address already in use" : Texts.oneLine(err);
    return new IllegalStateException("cannot listen on " + where + ": " + reason + " (check http.port and http.host)", err);
  }


  /** The database as host:port/name, without credentials (for messages). */
  private static String dbLabel(FilesConfig config) {
    try {
      PgConnectOptions o = PgConnectOptions.fromUri(config.string("db.url"));
      return o.getHost() + ":" + o.getPort() + "/" + o.getDatabase();
    } catch (RuntimeException e) {
      return "(unparsable db.url)";
    }
  }

  /**
   * A member that leaves: questions in flight to it are asked again at once, and so are the thumbnail jobs it had
   * taken (when this node makes thumbnails). A cluster merge (this node was on the far side of a partition, or
   * frozen): this node stops its sessions (fencing; their epochs decide anyway).
   */
  private static void watchCluster(HazelcastClusterManager cm, UploadSessions sessions, ThumbnailVerticle thumbnails) {
    ClusterSetup.watch(cm, node -> {
      sessions.memberLeft(node);
      if (thumbnails != null) {
        thumbnails.memberLeft(node);
      }
    }, () -> sessions.stopAll("this node fences itself: the cluster is merging"));
  }

  /**
   * Drains HTTP (SIGTERM, SIGINT): the servers stop accepting connections at once, requests in flight get
   * up to {@code http.drain_timeout_ms} to finish, idle connections are closed. Logs the start and the end.
   * Call {@link #close()} afterwards to stop the rest (and leave the cluster).
   */
  public Future<Void> drain() {
    long t0 = System.nanoTime();
    LOG.info("drain started: no new connections; {} request(s) in flight get up to {} ms to finish",
        ops.inFlight(), drainTimeoutMs);
    return Future.join(ops.servers().stream().map(s -> s.shutdown(drainTimeoutMs, TimeUnit.MILLISECONDS)).toList())
        .<Void>mapEmpty()
        .andThen(ar -> {
          long ms = (System.nanoTime() - t0) / 1_000_000;
          // within the timeout every request ended (its access-log line may still be on its way)
          LOG.info("drain finished in {} ms; {} request(s) cut", ms, ms < drainTimeoutMs ? 0 : ops.inFlight());
        });
  }

  /**
   * Stops the upload sessions (removing their owner rows) and this node's lease, so that other nodes take
   * the sessions over at once; then HTTP, the pool and Vert.x (leaving the cluster). A database that does
   * not answer delays this by at most 5 s.
   */
  public Future<Void> close() {
    // Sessions and the node's lease are released first; then the store (closing an S3 client uses a
    // worker thread of Vert.x), then Vert.x from a thread of its own: a close asked for on an event
    // loop would report its end to that closed event loop.
    Promise<Void> done = Promise.promise();
    sessions.close()
        .compose(v -> owners.lease().stop())
        .timeout(5, TimeUnit.SECONDS)
        .recover(err -> {
          LOG.warn("upload sessions and node lease not released at stop: {}", err.getMessage());
          return Future.succeededFuture();
        })
        .transform(v -> store.store().close())
        .onComplete(ar -> {
          Thread closer = new Thread(() -> vertx.close().onComplete(v -> {
            io.close();
            done.handle(v);
          }), "files-close");
          closer.setDaemon(true);
          closer.start();
        });
    return done.future();
  }

  public Vertx vertx() {
    return vertx;
  }

  private Node withRelay(OutboxRelay relay) {
    this.relay = relay;
    return this;
  }

  /** This node's outbox relay (it publishes the file events while it holds the cluster's lock). */
  public OutboxRelay relay() {
    return relay;
  }

  public FileRepository files() {
    return files;
  }

  /** The encrypted objects over the store ({@code storage.type}). */
  public EncryptedObjects store() {
    return store;
  }

  /** The storage threads (their queue is bounded by {@code storage.io_queue}). */
  public IoExecutor io() {
    return io;
  }

  /**
   * This node's internal event bus: the options that carry the cluster's secret on an internal address, and
   * the guard of its consumers.
   */
  public InternalBus bus() {
    return bus;
  }

  public UploadSessions sessions() {
    return sessions;
  }

  /** The drain timeout, ms ({@code http.drain_timeout_ms}). */
  public long drainTimeoutMs() {
    return drainTimeoutMs;
  }

  /** The port HTTP listens on (the one picked when {@code http.port} is 0). */
  public int port() {
    return port;
  }
}

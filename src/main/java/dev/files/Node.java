package dev.files;

import dev.files.auth.Membership;
import dev.files.auth.MembershipVerticle;
import dev.files.auth.TokenVerifier;
import dev.files.db.Database;
import dev.files.db.FileRepository;
import dev.files.http.HttpVerticle;
import dev.files.storage.DataKeys;
import dev.files.storage.IoExecutor;
import dev.files.storage.LocalChunkStore;
import dev.files.thumbnail.ThumbnailVerticle;
import dev.files.upload.SessionSettings;
import dev.files.upload.UploadSessions;
import dev.files.upload.UploadSweepVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import io.vertx.sqlclient.Pool;

import java.nio.file.Path;

/**
 * One running node of the service: Vert.x (clustered when {@code cluster.enabled}), the database
 * pool, the chunk store, the upload sessions, and the HTTP verticles.
 */
public final class Node {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Node.class);

  private final Vertx vertx;
  private final Pool pool;
  private final FileRepository files;
  private final LocalChunkStore store;
  private final UploadSessions sessions;
  private final IoExecutor io;
  private final int port;

  private Node(Vertx vertx, Pool pool, FileRepository files, LocalChunkStore store, UploadSessions sessions,
               IoExecutor io, int port) {
    this.vertx = vertx;
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
   * @return the node once HTTP listens; fails with {@link IllegalStateException} when no JWT key is
   *     configured, or with the cause when PostgreSQL, the storage directory or the port fail
   */
  public static Future<Node> start(FilesConfig config) {
    DataKeys dataKeys;
    try {
      TokenVerifier.options(config); // refuse to start without a JWT key, before touching anything
      dataKeys = DataKeys.create(config.string("encryption.master_key"), config.string("encryption.master_key_id"),
          config.string("encryption.previous_keys"), config.flag("encryption.null_cipher"));
    } catch (IllegalStateException e) {
      return Future.failedFuture(e);
    }
    if (config.flag("encryption.null_cipher")) {
      LOG.warn("encryption.null_cipher is on: new files are stored WITHOUT encryption (benchmarks only)");
    }
    Future<Vertx> vertx = config.flag("cluster.enabled")
        ? Vertx.builder()
            .with(new VertxOptions().setEventBusOptions(new EventBusOptions().setHost(config.string("cluster.host").isBlank()
                ? "127.0.0.1" : config.string("cluster.host"))))
            .withClusterManager(clusterManager(config.string("cluster.config")))
            .buildClustered()
        : Future.succeededFuture(Vertx.vertx());
    return vertx.compose(vx -> Database.open(vx, config.string("db.url"), (int) config.number("db.pool_size"))
        .compose(pool -> {
          FileRepository files = new FileRepository(pool);
          IoExecutor io = new IoExecutor(vx, (int) config.number("storage.io_threads"));
          LocalChunkStore store = new LocalChunkStore(vx, io, Path.of(config.string("storage.local.path")),
              config.flag("storage.local.fsync"));
          UploadSessions sessions = new UploadSessions(vx, files, store, dataKeys, new SessionSettings(
              config.number("upload.session_idle_ms"), config.number("upload.commit_timeout_ms"),
              config.number("upload.retire_grace_ms"), config.number("upload.expire_after_ms"),
              config.number("upload.sweep_interval_ms")));
          HttpVerticle.Services services = new HttpVerticle.Services(files, store, dataKeys, sessions,
              TokenVerifier.create(vx, config), new Membership(files), config.string("http.host"),
              (int) config.number("http.port"), config.number("limits.max_request_bytes"),
              config.number("limits.max_file_bytes"), config.number("thumbnails.sync_wait_ms"),
              config.number("http.idle_timeout_ms"), config.number("http.body_timeout_ms"));
          int port = (int) config.number("http.port");
          return vx.fileSystem().mkdirs(store.root().toString())
              .compose(v -> vx.deployVerticle(new MembershipVerticle(files)))
              .compose(v -> vx.deployVerticle(new UploadSweepVerticle(files, store, sessions,
                  config.number("thumbnails.retry_after_ms"), config.number("upload.orphan_scan_interval_ms"))))
              .compose(v -> config.number("thumbnails.workers") <= 0 ? Future.succeededFuture()
                  : vx.deployVerticle(new ThumbnailVerticle(files, store, dataKeys, new ThumbnailVerticle.Settings(
                      (int) config.number("thumbnails.max_width"), (int) config.number("thumbnails.max_height"),
                      config.number("thumbnails.max_pixels"), config.number("thumbnails.max_source_bytes"),
                      config.flag("thumbnails.external_tools"), (int) config.number("thumbnails.concurrency"),
                      (int) config.number("thumbnails.queue")))))
              .compose(v -> vx.deployVerticle(() -> new HttpVerticle(services),
                  new DeploymentOptions().setInstances((int) Math.max(1, config.number("http.instances")))))
              .map(v -> new Node(vx, pool, files, store, sessions, io, port))
              .recover(err -> pool.close().transform(x -> Future.failedFuture(err)));
        })
        .recover(err -> vx.close().transform(x -> Future.failedFuture(err))));
  }

  /** Hazelcast with the given XML file (see cluster.xml); fails when it cannot be read. */
  private static HazelcastClusterManager clusterManager(String file) {
    try {
      return new HazelcastClusterManager(new com.hazelcast.config.FileSystemXmlConfig(file));
    } catch (java.io.FileNotFoundException e) {
      throw new IllegalStateException("cluster.config: cannot read " + file, e);
    }
  }

  /** Stops HTTP, the sessions, the pool and Vert.x (leaving the cluster). */
  public Future<Void> close() {
    return vertx.close().andThen(v -> io.close());
  }

  public Vertx vertx() {
    return vertx;
  }

  public FileRepository files() {
    return files;
  }

  public LocalChunkStore store() {
    return store;
  }

  public UploadSessions sessions() {
    return sessions;
  }

  public int port() {
    return port;
  }
}

package dev.files.ops;

import dev.files.storage.local.DirectorySyncs;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.IntSupplier;

/**
 * The service's own metrics, beside those Vert.x and the JVM report into the same registry (served as
 * Prometheus text by {@code GET /metrics}). Names are a contract with dashboards: keep them.
 * <ul>
 *   <li>{@code files_upload_sessions} (gauge): upload sessions this node runs now;</li>
 *   <li>{@code files_chunks_committed_total}: chunks recorded (a whole-file upload is one chunk);</li>
 *   <li>{@code files_uploads_completed_total}: uploads that completed (all chunks there);</li>
 *   <li>{@code files_uploaded_bytes_total}: plaintext bytes of the chunks recorded;</li>
 *   <li>{@code files_downloaded_bytes_total}: body bytes sent by {@code GET .../download} (200 and 206);</li>
 *   <li>{@code files_thumbnails_total{status}}: thumbnail attempts by outcome ({@code done}, {@code none},
 *       {@code error}, …);</li>
 *   <li>{@code files_thumbnail_queue} (gauge): thumbnail requests waiting on this node;</li>
 *   <li>{@code files_storage_queue} (gauge): storage tasks waiting for a storage thread on this node
 *       (new operations are refused while {@code storage.io_queue} wait);</li>
 *   <li>{@code files_thumbnail_abandons_total}: thumbnail threads left running past their job's deadline (a
 *       decoder that did not stop); {@code files_thumbnail_abandoned_threads} (gauge): those still running;</li>
 *   <li>{@code files_sweep_removed_objects_total}: stored objects the sweep removed (retired chunks, orphans);</li>
 *   <li>{@code files_session_timeouts_total}: upload sessions that stopped after {@code upload.session_idle_ms}
 *       without a message;</li>
 *   <li>{@code files_storage_directory_syncs_total{entries}}: directories the local store forced to disk
 *       ({@code storage.local.fsync}), for new objects' names ({@code object}) or for new directories' names
 *       in their parents ({@code directory}).</li>
 * </ul>
 * A node builds its metrics once and hands them to the parts that count ({@code Node}); without metrics
 * (metrics.enabled=false, or a part built alone in a test) they get {@link #NONE}, whose methods do nothing.
 */
public final class ServiceMetrics {

  /** Metrics that count nothing. */
  public static final ServiceMetrics NONE = new ServiceMetrics(null);

  private final PrometheusMeterRegistry registry;
  private final Counter chunks;
  private final Counter completed;
  private final Counter uploadedBytes;
  private final Counter downloadedBytes;
  private final Counter sweepRemoved;
  private final Counter sessionTimeouts;
  private final io.micrometer.core.instrument.DistributionSummary sessionGroups;
  private final Counter objectDirectorySyncs;
  private final Counter newDirectorySyncs;
  private final List<IntSupplier> thumbnailQueues = new CopyOnWriteArrayList<>();

  private ServiceMetrics(PrometheusMeterRegistry registry) {
    this.registry = registry;
    this.chunks = registry == null ? null : Counter.builder("files_chunks_committed").description("chunks recorded").register(registry);
    this.completed = registry == null ? null : Counter.builder("files_uploads_completed").description("uploads completed").register(registry);
    this.uploadedBytes = registry == null ? null : Counter.builder("files_uploaded_bytes").description("bytes of the chunks recorded").register(registry);
    this.downloadedBytes = registry == null ? null : Counter.builder("files_downloaded_bytes").description("body bytes of downloads sent").register(registry);
    this.sweepRemoved = registry == null ? null : Counter.builder("files_sweep_removed_objects").description("stored objects the sweep removed").register(registry);
    this.sessionTimeouts = registry == null ? null : Counter.builder("files_session_timeouts").description("upload sessions stopped when idle").register(registry);
    this.sessionGroups = registry == null ? null : io.micrometer.core.instrument.DistributionSummary.builder("files_session_commit_groups")
        .description("chunk commits per transaction of an upload session (count: transactions, sum: commits)").register(registry);
    this.objectDirectorySyncs = registry == null ? null : directorySyncs(registry, DirectorySyncs.OBJECT);
    this.newDirectorySyncs = registry == null ? null : directorySyncs(registry, DirectorySyncs.DIRECTORY);
    if (registry != null) {
      Gauge.builder("files_thumbnail_queue", thumbnailQueues, qs -> qs.stream().mapToInt(IntSupplier::getAsInt).sum())
          .description("thumbnail requests waiting on this node").register(registry);
    }
  }

  private static Counter directorySyncs(MeterRegistry registry, String entries) {
    return Counter.builder("files_storage_directory_syncs").tag("entries", entries)
        .description("directories the local store forced to disk, for new objects' names or new directories' names")
        .register(registry);
  }

  /** The HTTP methods of RFC 9110 (section 9) and PATCH (RFC 5789): the values of the {@code method} label. */
  public static final java.util.Set<String> METHODS = java.util.Set.of(
      "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");
  /** The {@code method} label of a request whose method is not in {@link #METHODS}. */
  public static final String OTHER_METHOD = "other";

  /** The {@code method} label of a request: its method when in {@link #METHODS}, else {@value #OTHER_METHOD}. */
  public static String method(String requested) {
    return requested != null && METHODS.contains(requested) ? requested : OTHER_METHOD;
  }

  /** A new registry for one node (Prometheus naming: counters get {@code _total}). */
  public static ServiceMetrics create() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().meterFilter(closedMethods());
    return new ServiceMetrics(registry);
  }

  /**
   * Labels from a closed set, a second guard behind the node's request tags ({@link #method}, which Vert.x's
   * metrics use instead of their own method label, so that no meter lookup is keyed by a made-up method):
   * the {@code method} tag of Vert.x's HTTP meters ({@code vertx.http.*}) is
   * the request's method when it is one of {@link #METHODS}, else {@value #OTHER_METHOD}. A client may
   * send any token as a method; each one would otherwise make series of its own, and {@code /metrics}
   * would grow without bound.
   */
  static io.micrometer.core.instrument.config.MeterFilter closedMethods() {
    return new io.micrometer.core.instrument.config.MeterFilter() {
      @Override
      public io.micrometer.core.instrument.Meter.Id map(io.micrometer.core.instrument.Meter.Id id) {
        String method = id.getTag("method");
        if (method == null || METHODS.contains(method) || !id.getName().startsWith("vertx.http")) {
          return id;
        }
        List<io.micrometer.core.instrument.Tag> tags = new java.util.ArrayList<>();
        for (io.micrometer.core.instrument.Tag t : id.getTagsAsIterable()) {
          tags.add(t.getKey().equals("method") ? io.micrometer.core.instrument.Tag.of("method", OTHER_METHOD) : t);
        }
        return id.replaceTags(tags);
      }
    };
  }

  /**
   * A request refused because {@code resource} is saturated ({@code database}: the pool's wait queue;
   * {@code upload_session}: a file's session queue; {@code storage}: the storage queue), counted in
   * {@code files_busy_refusals_total{resource}}.
   */
  public void busyRefusal(String resource) {
    if (registry != null) {
      Counter.builder("files_busy_refusals").description("requests refused with 503 because a pool or queue was full")
          .tag("resource", resource).register(registry).increment();
    }
  }

  /**
   * A connection closed by the HTTP edge before a request: {@code header_timeout} (no whole request head
   * within {@code http.header_timeout_ms}) or {@code per_address} (over {@code http.max_connections_per_address}),
   * counted in {@code files_connections_refused_total{reason}}.
   */
  public void connectionRefused(String reason) {
    if (registry != null) {
      Counter.builder("files_connections_refused").description("connections closed before a request by the HTTP edge's limits")
          .tag("reason", reason).register(registry).increment();
    }
  }

  /** The registry, or null for {@link #NONE}. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Registers the gauge {@code files_upload_sessions}. */
  public void uploadSessions(IntSupplier running) {
    if (registry != null) {
      Gauge.builder("files_upload_sessions", running, IntSupplier::getAsInt)
          .description("upload sessions this node runs (owns; one per file in the cluster)").strongReference(true).register(registry);
    }
  }

  /** Registers the gauge {@code files_storage_queue}: storage tasks waiting for a thread now. */
  public void storageQueue(IntSupplier waiting) {
    if (registry != null) {
      Gauge.builder("files_storage_queue", waiting, IntSupplier::getAsInt)
          .description("storage tasks waiting for a storage thread on this node").strongReference(true).register(registry);
    }
  }

  /** Adds a queue to the gauge {@code files_thumbnail_queue}. */
  public void thumbnailQueue(IntSupplier waiting) {
    thumbnailQueues.add(waiting);
  }

  /**
   * Registers the gauge {@code files_thumbnail_abandoned_threads} (abandoned thumbnail threads still
   * running) and counts one more in {@code files_thumbnail_abandons_total} at each call of the returned
   * runnable.
   */
  public Runnable thumbnailThreadsAbandoned(IntSupplier running) {
    if (registry == null) {
      return () -> { };
    }
    Gauge.builder("files_thumbnail_abandoned_threads", running, IntSupplier::getAsInt)
        .description("thumbnail threads abandoned at their deadline, still running").strongReference(true).register(registry);
    Counter abandoned = Counter.builder("files_thumbnail_abandons")
        .description("thumbnail threads abandoned at their deadline").register(registry);
    return abandoned::increment;
  }

  /** A chunk of {@code bytes} plaintext bytes was recorded. */
  public void chunkCommitted(long bytes) {
    if (registry != null) {
      chunks.increment();
      uploadedBytes.increment(bytes);
    }
  }

  /** An upload completed. */
  public void uploadCompleted() {
    if (registry != null) {
      completed.increment();
    }
  }

  /** {@code bytes} body bytes of a download were sent. */
  public void downloaded(long bytes) {
    if (registry != null && bytes > 0) {
      downloadedBytes.increment(bytes);
    }
  }

  /** A thumbnail attempt ended with {@code status}. */
  public void thumbnail(String status) {
    if (registry != null) {
      Counter.builder("files_thumbnails").tag("status", status).description("thumbnail attempts by outcome")
          .register(registry).increment();
    }
  }

  /** The sweep removed {@code n} stored objects. */
  public void sweepRemoved(int n) {
    if (registry != null && n > 0) {
      sweepRemoved.increment(n);
    }
  }

  /**
   * An upload session's transaction recorded a group of {@code commits} chunk commits of its file
   * (refused ones included) and was committed: {@code files_session_commit_groups_count} counts such
   * transactions, {@code files_session_commit_groups_sum} their commits.
   */
  public void sessionGroup(int commits) {
    if (registry != null) {
      sessionGroups.record(commits);
    }
  }

  /**
   * The local store forced a directory to disk, for {@code entries}: {@link DirectorySyncs#OBJECT} or
   * {@link DirectorySyncs#DIRECTORY} (any other value counts as the first); any thread.
   */
  public void directorySynced(String entries) {
    if (registry != null) {
      (DirectorySyncs.DIRECTORY.equals(entries) ? newDirectorySyncs : objectDirectorySyncs).increment();
    }
  }

  /** An upload session stopped after its idle time. */
  public void sessionTimedOut() {
    if (registry != null) {
      sessionTimeouts.increment();
    }
  }

  /** The registry as Prometheus text (for tests and the scrape handler). */
  public String scrape() {
    return registry == null ? "" : registry.scrape();
  }
}

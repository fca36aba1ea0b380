package dev.files;

import dev.files.ops.Logging;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Starts one node in the foreground: {@code java -jar target/files-service.jar}.
 *
 * <p>A start that cannot succeed prints ONE line on standard error, {@code files service cannot start:
 * <cause> (check <setting>)}, and exits with status 1 (see {@link Node#start}). SIGTERM and SIGINT drain
 * the node ({@link Node#drain()}: no new connections, requests in flight finish within
 * {@code http.drain_timeout_ms}), then stop it (leaving the cluster); the process then exits 0.
 */
public final class Main {

  /**
   * The longest a start may take before it is given up, in seconds (each step has its own, shorter,
   * limit): 60, or the system property {@code files.start_limit_s} (a loaded machine may need more).
   */
  static final long START_LIMIT_S = Math.max(1, Long.getLong("files.start_limit_s", 60));

  private Main() {
  }

  public static void main(String[] args) {
    FilesConfig config;
    Node node;
    try {
      config = FilesConfig.load();
      Logging.apply(config.string("log.format"), config.string("log.level"));
      node = Node.start(config).await(START_LIMIT_S, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      cannotStart("the start did not finish within " + START_LIMIT_S + " s");
      return;
    } catch (Exception e) {
      cannotStart(dev.files.model.Texts.oneLine(e));
      return;
    }
    Logger log = LoggerFactory.getLogger(Main.class);
    AtomicBoolean stopping = new AtomicBoolean();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (!stopping.compareAndSet(false, true)) {
        return;
      }
      try {
        node.drain().await(node.drainTimeoutMs() + 5000, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        log.warn("drain: {}", e.toString());
      }
      try {
        node.close().await(30, TimeUnit.SECONDS);
        log.info("files service stopped");
      } catch (Exception e) {
        log.warn("shutdown: {}", e.toString());
      }
    }, "files-shutdown"));
    // SIGTERM and SIGINT: drain and stop through the shutdown hook, and exit 0 (a stop asked for is no failure)
    for (String signal : new String[]{"TERM", "INT"}) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> {
          log.info("SIG{} received: draining", signal);
          Thread exit = new Thread(() -> System.exit(0), "files-exit");
          exit.start();
        });
      } catch (IllegalArgumentException e) {
        log.debug("SIG{} cannot be handled here: {}", signal, e.getMessage());
      }
    }
    log.info("files service listening on http://{}:{}{} (storage {}, cluster {}, metrics {})",
        config.string("http.host"), node.port(), dev.files.model.FileRecord.API_PREFIX,
        "s3".equals(config.string("storage.type")) ? "s3 bucket " + config.string("storage.s3.bucket")
            : config.string("storage.local.path"), config.flag("cluster.enabled") ? "on" : "off", config.flag("metrics.enabled") ? "/metrics" : "off");
    log.info("configuration: {}", config.describe());
  }

  private static void cannotStart(String message) {
    System.err.println("files service cannot start: " + message);
    System.err.flush();
    System.exit(1);
  }
}

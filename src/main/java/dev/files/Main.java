package dev.files;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/** Starts one node in the foreground: {@code java -jar target/files-service.jar}. */
public final class Main {

  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  private Main() {
  }

  public static void main(String[] args) {
    FilesConfig config;
    Node node;
    try {
      config = FilesConfig.load();
      node = Node.start(config).await(180, TimeUnit.SECONDS);
    } catch (Exception e) {
      String message = e.getMessage() == null ? e.toString() : e.getMessage();
      LOG.error("files service cannot start: {}", message);
      System.err.println("files service cannot start: " + message);
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close().await(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warn("shutdown: {}", e.toString());
      }
    }, "files-shutdown"));
    LOG.info("files service listening on http://{}:{}{} (storage {}, cluster {})",
        config.string("http.host"), node.port(), dev.files.model.FileRecord.API_PREFIX,
        node.store().root(), config.flag("cluster.enabled") ? "on" : "off");
  }
}

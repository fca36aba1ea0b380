package dev.files;

import dev.files.http.HttpVerticle;
import dev.files.storage.s3.S3Options;
import dev.files.thumbnail.ThumbnailVerticle;
import dev.files.upload.SessionSettings;
import dev.files.upload.UploadSweepVerticle;

/**
 * The settings records of the service, each built from the configuration here and nowhere else: the
 * keys a record reads, and their units, are in README.md ("Configuration") and in the Javadoc of
 * the record's components. {@link FilesConfig} has checked every value's type and range already, so
 * these only pick and convert.
 */
public final class Settings {

  private Settings() {
  }

  /**
   * The upload sessions' timings ({@code upload.*}, ms) and the group commit of new files
   * ({@code upload.group_commit_max}; transactions at once bounded by {@code db.pool_size}, uploads waiting
   * for one by {@code db.wait_queue}).
   */
  public static SessionSettings sessions(FilesConfig config) {
    return new SessionSettings(config.number("upload.session_idle_ms"), config.number("upload.commit_timeout_ms"),
        config.number("upload.retire_grace_ms"), config.number("upload.expire_after_ms"),
        config.number("upload.sweep_interval_ms"), (int) config.number("upload.group_commit_max"),
        (int) Math.min(SessionSettings.GROUP_COMMIT_IN_FLIGHT, config.number("db.pool_size")),
        (int) config.number("db.wait_queue"));
  }

  /**
   * The sweep's settings: {@code thumbnails.retry_after_ms}, {@code upload.orphan_scan_interval_ms},
   * {@code storage.list_page_size}, and the orphan age ({@link UploadSweepVerticle#orphanAgeMs}) from
   * {@code http.body_timeout_ms}, {@code upload.expire_after_ms} and the sessions' timings.
   */
  public static UploadSweepVerticle.Settings sweep(FilesConfig config, SessionSettings sessions) {
    return new UploadSweepVerticle.Settings(config.number("thumbnails.retry_after_ms"),
        config.number("upload.orphan_scan_interval_ms"), (int) config.number("storage.list_page_size"),
        UploadSweepVerticle.orphanAgeMs(config.number("http.body_timeout_ms"), config.number("upload.expire_after_ms"),
            sessions));
  }

  /**
   * The HTTP edge's settings ({@code http.*}, {@code limits.max_request_bytes}, {@code limits.max_file_bytes},
   * {@code thumbnails.sync_wait_ms}).
   *
   * @param corsOrigins {@code http.cors.origins}, already checked ({@link dev.files.http.Cors#origins})
   */
  public static HttpVerticle.Settings http(FilesConfig config, java.util.List<String> corsOrigins) {
    return new HttpVerticle.Settings(config.string("http.host"), (int) config.number("http.port"),
        config.number("limits.max_request_bytes"), config.number("limits.max_file_bytes"),
        config.number("thumbnails.sync_wait_ms"), corsOrigins, config.number("http.idle_timeout_ms"),
        config.number("http.body_timeout_ms"));
  }

  /** The thumbnail worker's limits ({@code thumbnails.*}). */
  public static ThumbnailVerticle.Settings thumbnails(FilesConfig config) {
    return new ThumbnailVerticle.Settings((int) config.number("thumbnails.max_width"),
        (int) config.number("thumbnails.max_height"), config.number("thumbnails.max_pixels"),
        config.number("thumbnails.max_source_bytes"), config.flag("thumbnails.external_tools"),
        (int) config.number("thumbnails.concurrency"), (int) config.number("thumbnails.queue"),
        config.number("thumbnails.timeout_ms"), config.number("thumbnails.max_job_bytes"));
  }

  /**
   * The S3 store's settings ({@code storage.s3.*}).
   *
   * @throws IllegalArgumentException when they do not describe a usable store ({@link S3Options})
   */
  public static S3Options s3(FilesConfig config) {
    return new S3Options(config.string("storage.s3.endpoint"), config.string("storage.s3.bucket"),
        config.string("storage.s3.region"), config.string("storage.s3.access_key"), config.string("storage.s3.secret_key"),
        config.flag("storage.s3.path_style"), (int) config.number("storage.s3.part_bytes"),
        (int) config.number("storage.s3.max_connections"));
  }
}

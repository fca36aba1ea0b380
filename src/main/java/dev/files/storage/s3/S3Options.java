package dev.files.storage.s3;

import io.vertx.core.json.JsonObject;

import java.net.URI;

/**
 * Settings of an {@link S3ObjectStore}, the JSON object {@code storage.s3} of the configuration:
 * <pre>{@code
 * {"endpoint": "http://127.0.0.1:9000", "bucket": "files", "region": "us-east-1",
 *  "access_key": "…", "secret_key": "…", "path_style": true,
 *  "part_bytes": 8388608, "max_connections": 32}
 * }</pre>
 *
 * @param endpoint       the server's base URL ({@code http[s]://host[:port]}); {@code ""} for AWS
 *                       itself (the region's endpoint)
 * @param bucket         the bucket holding the objects; it must exist
 * @param region         the signing region ({@code us-east-1} for most S3-compatible servers)
 * @param accessKey      the access key id; {@code ""} (with {@code secretKey} {@code ""}) for the
 *                       SDK's default credential chain (environment, profile, instance role)
 * @param secretKey      the secret access key (never printed: see {@link #toString()})
 * @param pathStyle      {@code true} for {@code endpoint/bucket/key} URLs (S3Proxy, MinIO), {@code
 *                       false} for {@code bucket.endpoint/key} (AWS)
 * @param partBytes      an object up to this size is one PUT; a larger one is a multipart upload of
 *                       parts of this size (the last one smaller); at least {@value #MIN_PART_BYTES}
 *                       (S3's minimum part), default {@value #DEFAULT_PART_BYTES}. Each write
 *                       holds at most about two parts in memory.
 * @param maxConnections HTTP connections to the server at most, default {@value #DEFAULT_MAX_CONNECTIONS}
 */
public record S3Options(String endpoint, String bucket, String region, String accessKey, String secretKey,
                        boolean pathStyle, int partBytes, int maxConnections) {

  /** S3's smallest part other than the last (5 MiB). */
  public static final int MIN_PART_BYTES = 5 * 1024 * 1024;
  public static final int DEFAULT_PART_BYTES = 8 * 1024 * 1024;
  public static final int DEFAULT_MAX_CONNECTIONS = 32;

  /** @throws IllegalArgumentException naming the setting that is wrong */
  public S3Options {
    endpoint = endpoint == null ? "" : endpoint.trim();
    if (!endpoint.isEmpty()) {
      URI uri;
      try {
        uri = URI.create(endpoint);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("storage.s3.endpoint is not a URL");
      }
      if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
        throw new IllegalArgumentException("storage.s3.endpoint must be an http:// or https:// URL");
      }
    }
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("storage.s3.bucket is required");
    }
    region = region == null || region.isBlank() ? "us-east-1" : region.trim();
    accessKey = accessKey == null ? "" : accessKey;
    secretKey = secretKey == null ? "" : secretKey;
    if (accessKey.isEmpty() != secretKey.isEmpty()) {
      throw new IllegalArgumentException("storage.s3.access_key and storage.s3.secret_key go together");
    }
    if (partBytes < MIN_PART_BYTES) {
      throw new IllegalArgumentException("storage.s3.part_bytes must be at least " + MIN_PART_BYTES);
    }
    if (maxConnections < 1) {
      throw new IllegalArgumentException("storage.s3.max_connections must be at least 1");
    }
  }

  /**
   * Reads the settings from the {@code storage.s3} object; missing keys take their defaults
   * ({@code region} us-east-1, {@code path_style} false, {@code part_bytes} 8 MiB,
   * {@code max_connections} 32).
   *
   * @throws IllegalArgumentException when a setting is missing or wrong
   */
  public static S3Options fromJson(JsonObject json) {
    try {
      return new S3Options(json.getString("endpoint", ""), json.getString("bucket", ""),
          json.getString("region", "us-east-1"), json.getString("access_key", ""),
          json.getString("secret_key", ""), json.getBoolean("path_style", false),
          json.getInteger("part_bytes", DEFAULT_PART_BYTES),
          json.getInteger("max_connections", DEFAULT_MAX_CONNECTIONS));
    } catch (ClassCastException e) {
      throw new IllegalArgumentException("storage.s3 has a setting of the wrong type");
    }
  }

  /** The settings with the secret key masked. */
  @Override
  public String toString() {
    return "S3Options[endpoint=" + endpoint + ", bucket=" + bucket + ", region=" + region
        + ", accessKey=" + accessKey + ", secretKey=" + (secretKey.isEmpty() ? "" : "***")
        + ", pathStyle=" + pathStyle + ", partBytes=" + partBytes + ", maxConnections=" + maxConnections + "]";
  }
}

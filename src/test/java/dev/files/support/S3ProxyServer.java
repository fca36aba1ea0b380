package dev.files.support;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real S3 server for the tests: S3Proxy (its self-contained jar, which the build copies to
 * {@code target/s3proxy/s3proxy.jar}; the system property {@code s3proxy.jar} names another) run
 * as its own process on a free loopback port, with jclouds' filesystem back end in a temporary
 * directory. {@link #close()} stops it and removes the directory.
 *
 * <p>{@code s3proxy.ignore-unknown-headers=true} is needed: otherwise S3Proxy answers 501 to
 * headers the AWS SDK sends (such as {@code x-amz-mp-object-size}).
 */
public final class S3ProxyServer implements AutoCloseable {

  public static final String ACCESS_KEY = "test-access-key";
  public static final String SECRET_KEY = "test-secret-key";

  private final Process process;
  private final Path dir;
  private final int port;

  private S3ProxyServer(Process process, Path dir, int port) {
    this.process = process;
    this.dir = dir;
    this.port = port;
  }

  /** Starts S3Proxy and waits (up to 60 s) until it accepts connections. */
  public static S3ProxyServer start() throws IOException, InterruptedException {
    Path jar = Path.of(System.getProperty("s3proxy.jar", "target/s3proxy/s3proxy.jar"));
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("S3Proxy jar missing at " + jar + ": run the tests through Maven");
    }
    Path dir = Files.createTempDirectory("s3proxy-");
    Path data = Files.createDirectories(dir.resolve("data"));
    int port = freePort();
    Path conf = dir.resolve("s3proxy.conf");
    Files.writeString(conf, String.join("\n",
        "s3proxy.endpoint=http://127.0.0.1:" + port,
        "s3proxy.authorization=aws-v2-or-v4",
        "s3proxy.identity=" + ACCESS_KEY,
        "s3proxy.credential=" + SECRET_KEY,
        "s3proxy.ignore-unknown-headers=true",
        "jclouds.provider=filesystem",
        "jclouds.filesystem.basedir=" + data,
        ""), StandardCharsets.UTF_8);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process process = new ProcessBuilder(List.of(java, "-Xmx256m", "-jar", jar.toAbsolutePath().toString(),
        "--properties", conf.toString()))
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("s3proxy.log").toFile())
        .start();
    S3ProxyServer server = new S3ProxyServer(process, dir, port);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 500);
        return server;
      } catch (IOException notYet) {
        if (!process.isAlive() || System.nanoTime() > deadline) {
          String log = Files.readString(dir.resolve("s3proxy.log"));
          server.close();
          throw new IllegalStateException("S3Proxy did not start: " + log);
        }
        Thread.sleep(100);
      }
    }
  }

  /** A loopback port nobody listens on (right now). */
  public static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Its port on 127.0.0.1. */
  public int port() {
    return port;
  }

  /** {@code http://127.0.0.1:<port>}. */
  public String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  /**
   * The settings (dotted keys) of a node storing in {@code bucket} of this server, path-style, with the
   * test credentials; the bucket's directory is created here (the filesystem back end's bucket).
   */
  public java.util.Map<String, Object> nodeSettings(String bucket) throws IOException {
    java.nio.file.Files.createDirectories(bucketDir(bucket));
    return java.util.Map.of("storage.type", "s3", "storage.s3.endpoint", endpoint(), "storage.s3.bucket", bucket,
        "storage.s3.access_key", ACCESS_KEY, "storage.s3.secret_key", SECRET_KEY, "storage.s3.path_style", true);
  }

  /** Where the filesystem back end keeps a bucket's objects (one file per object). */
  public Path bucketDir(String bucket) {
    return dir.resolve("data").resolve(bucket);
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temporary directory
    }
  }
}

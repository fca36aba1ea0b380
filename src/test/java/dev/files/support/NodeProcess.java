package dev.files.support;

import dev.files.FilesConfig;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The command line of a node (or tool) process that a test starts: this JVM's {@code java}, a
 * 256 MiB heap, the flags Hazelcast asks for on Java 17 (as {@code scripts/lib/common.sh} passes
 * them), and a start limit of 300 s ({@code files.start_limit_s}) so that a loaded CI machine is
 * slow, not failing. Also starting a node process ({@link #start}) and waiting for it ({@link #awaitUp}).
 */
public final class NodeProcess {

  /** JVM options every test-started process gets, also through {@code FILES_JAVA_OPTS} for the scripts. */
  public static final List<String> JVM_OPTIONS = List.of("-Xmx256m", "-Dfiles.start_limit_s=300",
      "--add-modules", "java.se", "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
      "--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens", "java.management/sun.management=ALL-UNNAMED",
      "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED");

  /**
   * How long a node process may take until it answers: 300 s, as its start limit; a JVM, Hazelcast and
   * the schema take 10–60 s on a loaded 2-core machine.
   */
  public static final Duration START = Duration.ofSeconds(300);

  /** Lines of a failed node's log shown in the failure. */
  private static final int LOG_TAIL_LINES = 40;

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private NodeProcess() {
  }

  /**
   * Starts {@code dev.files.Main}: {@link #command} with {@code jvmOptions} and the test class path; the
   * node's settings ({@link TestNode#nodeSettings}: without the {@code test.*} keys) as {@code FILES_*}
   * environment variables, none inherited (but {@code FILES_TEST_*}); its output in {@code log}.
   */
  public static Process start(Map<String, Object> settings, Path log, String... jvmOptions) throws IOException {
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> args = new ArrayList<>(List.of(jvmOptions));
    args.addAll(List.of("-cp", classpath, "dev.files.Main"));
    ProcessBuilder pb = new ProcessBuilder(command(args.toArray(String[]::new))).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("FILES_") && !k.startsWith("FILES_TEST_"));
    TestNode.nodeSettings(settings).forEach((k, v) -> pb.environment().put(FilesConfig.envName(k), String.valueOf(v)));
    return pb.start();
  }

  /**
   * Waits up to {@link #START} until {@code url} (a health check of the node) answers 200.
   *
   * @throws AssertionError when the process exits first or {@code url} does not answer 200 in time:
   *     {@link #failure} with the end of {@code log}
   */
  public static void awaitUp(Process process, Path log, String url) throws Exception {
    long end = System.nanoTime() + START.toNanos();
    HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET().build();
    while (true) {
      try {
        if (HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return;
        }
      } catch (IOException notListeningYet) {
        // not listening yet
      }
      if (!process.isAlive()) {
        throw failure(log, "the node exited with " + process.exitValue() + " before " + url + " answered 200");
      }
      if (System.nanoTime() > end) {
        throw failure(log, url + " did not answer 200 within " + START.toSeconds() + " s");
      }
      Thread.sleep(100);
    }
  }

  /** A failure saying {@code what}, with {@link #tail} of the node's {@code log}. */
  public static AssertionError failure(Path log, String what) throws IOException {
    return new AssertionError(what + "; " + tail(log));
  }

  /**
   * The last 40 lines of a node's {@code log}, each cut at 300 characters, after a line that names the
   * file and how many lines it has: short enough for a failure message.
   */
  public static String tail(Path log) throws IOException {
    List<String> lines = Files.readAllLines(log);
    List<String> tail = lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size());
    StringBuilder b = new StringBuilder("the last " + tail.size() + " of " + lines.size() + " line(s) of " + log + ":");
    for (String line : tail) {
      b.append("\n  | ").append(line.length() > 300 ? line.substring(0, 300) + " …" : line);
    }
    return b.toString();
  }

  /** {@code java}, {@link #JVM_OPTIONS}, then {@code args} (e.g. {@code -cp CP dev.files.Main}). */
  public static List<String> command(String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(JVM_OPTIONS);
    command.addAll(List.of(args));
    return command;
  }
}

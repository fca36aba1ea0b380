package dev.files.support;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A copy of the project in which tests run its scripts as a user does, without building: the scripts,
 * {@code conf/config.json}, {@code cluster.xml}, {@code pom.xml}, {@code README.md}, {@code docs/} and
 * {@code examples/}, the api jar and S3Proxy of this build, and a thin {@code target/files-service.jar}
 * whose manifest's Class-Path names the compiled classes and the dependencies of this test run (so the
 * scripts find the jar fresh and build nothing). The project's own {@code data/} is never touched.
 */
public final class ProjectCopy {

  /** The project directory (Surefire runs tests in it). */
  public static final Path PROJECT = Path.of("").toAbsolutePath();

  private ProjectCopy() {
  }

  /** Makes a copy in a new directory below {@code parent}; returns its root. */
  public static Path make(Path parent) throws IOException {
    Path root = Files.createTempDirectory(parent, "project");
    for (String dir : List.of("scripts", "examples", "docs")) {
      try (Stream<Path> files = Files.walk(PROJECT.resolve(dir))) {
        for (Path p : files.filter(Files::isRegularFile).toList()) {
          Path to = root.resolve(PROJECT.relativize(p));
          Files.createDirectories(to.getParent());
          Files.copy(p, to, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
    for (String file : List.of("conf/config.json", "cluster.xml", "pom.xml", "README.md", "target/files-service-api.jar",
        "target/s3proxy/s3proxy.jar")) {
      Path from = PROJECT.resolve(file);
      if (Files.exists(from)) {
        Files.createDirectories(root.resolve(file).getParent());
        Files.copy(from, root.resolve(file), StandardCopyOption.COPY_ATTRIBUTES);
      }
    }
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    String entries = Stream.of(classpath.split(File.pathSeparator))
        .filter(e -> !e.isBlank() && !e.endsWith("test-classes"))
        .map(e -> Path.of(e).toAbsolutePath().toUri().toString())
        .collect(Collectors.joining(" "));
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "dev.files.Main");
    manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, entries);
    Files.createDirectories(root.resolve("target"));
    try (OutputStream out = Files.newOutputStream(root.resolve("target/files-service.jar"));
         JarOutputStream jar = new JarOutputStream(out, manifest)) {
      jar.flush();
    }
    return root;
  }

  /** A command's exit status and its output (stdout and stderr together). */
  public record Result(int exit, String output) {
  }

  /**
   * Runs {@code command} in {@code dir} (a script path relative to {@code root} when it starts with
   * {@code scripts/}) and waits for it; its output goes to {@code out}.
   */
  public static Result run(Path dir, Map<String, String> env, long timeoutSeconds, Path out, String... command)
      throws Exception {
    Process p = start(dir, env, out, command);
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " did not end within " + timeoutSeconds + " s: "
          + Files.readString(out));
    }
    return new Result(p.exitValue(), Files.readString(out));
  }

  /**
   * Starts {@code command} in {@code dir} with no FILES_* variable but those of {@code env} (and
   * {@code FILES_JAVA_OPTS=-Xmx256m} unless given), standard input from /dev/null, output to {@code out}.
   */
  public static Process start(Path dir, Map<String, String> env, Path out, String... command) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(command));
    if (command[0].startsWith("scripts/")) {
      cmd.set(0, dir.resolve(command[0]).toString());
    }
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().keySet().removeIf(k -> k.startsWith("FILES_"));
    pb.environment().put("FILES_JAVA_OPTS", "-Xmx256m -Dfiles.start_limit_s=300");
    pb.environment().putAll(env);
    return pb.start();
  }

  /**
   * The shell code blocks ({@code ```sh}) of a Markdown file between the heading {@code from} and the
   * next heading of the same level, as written.
   */
  public static List<String> shellBlocks(Path markdown, String from) throws IOException {
    String text = Files.readString(markdown);
    int start = text.indexOf("\n" + from + "\n");
    if (start < 0) {
      throw new AssertionError("no heading '" + from + "' in " + markdown);
    }
    String level = from.substring(0, from.indexOf(' ') + 1);
    int end = text.indexOf("\n" + level, start + from.length() + 1);
    String section = text.substring(start, end < 0 ? text.length() : end);
    List<String> blocks = new ArrayList<>();
    Matcher m = Pattern.compile("\n```sh\n(.*?)\n```\n", Pattern.DOTALL).matcher(section);
    while (m.find()) {
      blocks.add(m.group(1) + "\n");
    }
    return blocks;
  }

  /**
   * A base port {@code P} with {@code P} to {@code P + count - 1} free now, between 20000 and 31999: above
   * the single ports the tests take ({@link TestNode#freePort()}), below the kernel's ephemeral range;
   * all reserved for this JVM ({@link PortReservations}), so that a test suite run beside this one never
   * gets them too. A block found partly taken keeps the ports it reserved (they are only left unused).
   */
  public static int freePortBlock(int count) throws IOException {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    for (int attempt = 0; attempt < 200; attempt++) {
      int base = 20000 + random.nextInt(12000 - count);
      if (reserveAll(base, count)) {
        return base;
      }
    }
    throw new IOException("no " + count + " free ports in a row between 20000 and 31999");
  }

  private static boolean reserveAll(int base, int count) throws IOException {
    for (int port = base; port < base + count; port++) {
      if (!PortReservations.reserve(port)) {
        return false;
      }
    }
    return true;
  }
}

package dev.files;

import dev.files.api.FileEvent;
import dev.files.api.FilesApiFailure;
import dev.files.api.FilesCluster;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.Eventually;
import dev.files.support.TestNode;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.io.File;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The api jar a sibling depends on instead of the service's ({@code target/files-service-api.jar},
 * classifier {@code api}): it holds the sibling-facing classes only, each loads and links with nothing
 * but Vert.x and Hazelcast beside it, the example sibling ({@code examples/sibling/}) compiles against
 * that class path alone, and runs: a separate JVM with that class path joins a cluster of two nodes
 * through {@code dev.files.api.FilesCluster} with the cluster's name and members only, stores a file
 * through {@code files.api}, prints its signed URL (whose download is the file's bytes) and receives its
 * {@code file.uploaded}.
 */
class SiblingApiJarTest {

  private static final Path PROJECT = Path.of("").toAbsolutePath();
  private static final Path API_JAR = PROJECT.resolve("target/files-service-api.jar");
  private static final Path EXAMPLE = PROJECT.resolve("examples/sibling/src/main/java/example/sibling/ExampleSibling.java");
  /** The artifacts a sibling needs beside the api jar: Vert.x, its Netty and Jackson, Hazelcast, service proxies. */
  private static final Pattern SIBLING_DEPENDENCY = Pattern.compile(
      "(vertx-core|vertx-core-logging|netty-[a-z0-9-]+|jackson-core|vertx-hazelcast|hazelcast|vertx-service-proxy"
          + "|vertx-codegen-api|vertx-codegen-json)-[0-9][^/]*\\.jar");

  @TempDir
  Path tmp;

  @Test
  void theApiJarHoldsTheSiblingFacingClassesOnly() throws Exception {
    assertThat(API_JAR).exists();
    assertThat(Files.size(API_JAR)).as("bytes").isLessThan(100_000);
    assertThat(classesOf(API_JAR)).containsExactlyInAnyOrder("dev.files.api.FilesApi", "dev.files.api.FilesApiVertxEBProxy",
        "dev.files.api.FileEvent", "dev.files.api.FilesApiFailure", "dev.files.api.FilesCluster");
    // each class loads and links (its fields, methods and their types) beside Vert.x and Hazelcast alone
    try (URLClassLoader loader = new URLClassLoader(urls(siblingClassPath()), ClassLoader.getPlatformClassLoader())) {
      for (String name : classesOf(API_JAR)) {
        Class<?> c = Class.forName(name, true, loader);
        c.getDeclaredFields();
        c.getDeclaredMethods();
        c.getDeclaredConstructors();
        assertThat(c.getClassLoader()).as(name).isSameAs(loader);
      }
      assertThatThrownBy(() -> Class.forName("dev.files.Node", false, loader)).isInstanceOf(ClassNotFoundException.class);
    }
  }

  @Test
  void theExampleSiblingCompilesAndRunsAgainstTheApiJarAlone() throws Exception {
    List<Path> classPath = siblingClassPath();
    Path classes = Files.createDirectories(tmp.resolve("classes"));
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
      boolean compiled = javac.getTask(null, files, diagnostics, List.of("--release", "17", "-d", classes.toString(),
              "-cp", join(classPath)), null, files.getJavaFileObjects(EXAMPLE.toFile())).call();
      assertThat(compiled).as(diagnostics.getDiagnostics().toString()).isTrue();
    }

    int base = TestNode.twoFreePorts();
    String name = "files-sibling-" + UUID.randomUUID();
    Map<String, Object> cluster = Map.of("cluster.enabled", true, "cluster.name", name, "cluster.port", base);
    UUID company = UUID.randomUUID();
    UUID app = UUID.randomUUID();
    Path out = tmp.resolve("sibling.out");
    Process sibling = null;
    try (TestNode a = TestNode.start(cluster)) {
      Map<String, Object> same = new HashMap<>(cluster);
      same.put("db.url", a.settings.get("db.url"));
      same.put("storage.local.path", a.settings.get("storage.local.path"));
      TestNode b = TestNode.start(same);
      try {
        // two files uploaded while the sibling is away: it replays their events when it starts
        String user = TestNode.userToken(UUID.randomUUID(), company);
        List<String> early = new ArrayList<>();
        for (TestNode node : List.of(a, b)) {
          HttpResponse<String> up = new Api(node).upload(company, user, "early-" + early.size() + ".txt", "text/plain", new byte[]{1, 2});
          assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
          early.add(Api.resource(up).getString("id"));
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
            .filter(arg -> arg.startsWith("--add-")).toList()); // the JVM flags Hazelcast needs (surefire's argLine)
        command.addAll(List.of("-cp", classes + File.pathSeparator + join(classPath), "dev.files.api.FilesCluster",
            "example.sibling.ExampleSibling", new JsonObject().put("token", TestNode.appToken(app, company))
                .put("company_id", company.toString()).encode()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("FILES_"));
        pb.environment().put("FILES_CLUSTER_NAME", name);
        pb.environment().put("FILES_CLUSTER_MEMBERS", "127.0.0.1:" + base + ",127.0.0.1:" + (base + 1));
        pb.environment().put("FILES_CLUSTER_PORT", Integer.toString(base + 2));
        sibling = pb.start();

        Matcher stored = waitFor(out, sibling, Pattern.compile("stored report\\.txt as ([0-9a-f-]{36}): (\\S+)"));
        UUID file = UUID.fromString(stored.group(1));
        waitFor(out, sibling, Pattern.compile("event [0-9]+ file\\.uploaded " + file + " report\\.txt"));
        // an event recorded and marked published that reached nobody (as across a partition): the next
        // event names it as its previous one, and the sibling replays it before printing the next
        Db.Event lost = Db.insertLostEvent(a.dbName, company);
        UUID lostFile = lost.file();
        UUID lostId = lost.id();
        HttpResponse<String> after = new Api(b).upload(company, TestNode.userToken(UUID.randomUUID(), company), "after.txt",
            "text/plain", new byte[]{3});
        assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
        String next = Api.resource(after).getString("id");
        waitFor(out, sibling, Pattern.compile("event [0-9]+ file\\.uploaded " + next + " after\\.txt"));
        // every event once, in position order: the two replayed, the report, the lost one, the next
        List<String> printed = Pattern.compile("(?m)^event ([0-9]+) (\\S+) ([0-9a-f-]{36})").matcher(Files.readString(out))
            .results().map(m -> m.group(3)).toList();
        assertThat(printed).containsExactly(early.get(0), early.get(1), file.toString(), lostFile.toString(), next);
        List<Long> positions = Pattern.compile("(?m)^event ([0-9]+) ").matcher(Files.readString(out))
            .results().map(m -> Long.parseLong(m.group(1))).toList();
        assertThat(positions).isSorted().doesNotHaveDuplicates();
        assertThat(positions.stream().map(String::valueOf).toList()).isEqualTo(Db.strings(a.dbName,
            "SELECT position::text FROM event_outbox WHERE company_id = '" + company + "' ORDER BY position"));
        HttpResponse<byte[]> down = Api.CLIENT.send(HttpRequest.newBuilder(URI.create(stored.group(2))).GET().build(),
            HttpResponse.BodyHandlers.ofByteArray());
        assertThat(down.statusCode()).isEqualTo(200);
        assertThat(new String(down.body(), StandardCharsets.UTF_8)).isEqualTo("a report made by a sibling\n");
        assertThat(Db.count(a.dbName, "SELECT count(*) FROM files WHERE id = '" + file + "' AND company_id = '" + company
            + "' AND owner_type = 'application' AND owner_id = '" + app + "'")).isEqualTo(1);
        assertThat(Files.readString(out)).contains("sibling: joined cluster '" + name + "'")
            .contains("listening to files.events." + company);
        assertThat(members(name)).as("two nodes and the sibling").isEqualTo(3);

        sibling.destroy(); // SIGTERM: the sibling leaves the cluster
        assertThat(sibling.waitFor(120, TimeUnit.SECONDS)).as(Files.readString(out)).isTrue();
        assertThat(Files.readString(out)).contains("sibling: left the cluster");
        Eventually.eventually(Duration.ofSeconds(60), () -> assertThat(members(name)).isEqualTo(2));
      } finally {
        b.stop(); // keeps the shared database and store for a
      }
    } finally {
      if (sibling != null && sibling.isAlive()) {
        sibling.destroyForcibly();
      }
    }
  }

  /** A sibling's Hazelcast configuration comes from the cluster's name and members; the rest is Vert.x's default. */
  @Test
  void aSiblingNeedsTheClusterNameAndMembersOnly() {
    var hz = FilesCluster.hazelcast("files-x", List.of("10.0.0.5:5801", "10.0.0.6:5801"), "127.0.0.1", 5830);
    assertThat(hz.getClusterName()).isEqualTo("files-x");
    assertThat(hz.getNetworkConfig().getPort()).isEqualTo(5830);
    assertThat(hz.getNetworkConfig().getPortCount()).isEqualTo(10);
    assertThat(hz.getNetworkConfig().getJoin().getTcpIpConfig().getMembers()).containsExactly("10.0.0.5:5801", "10.0.0.6:5801");
    assertThat(hz.getNetworkConfig().getJoin().getMulticastConfig().isEnabled()).isFalse();
    assertThat(hz.getNetworkConfig().getInterfaces().getInterfaces()).containsExactly("127.0.0.1");
    assertThat(hz.getProperty("hazelcast.socket.bind.any")).isEqualTo("false");
    assertThat(hz.getMultiMapConfig("__vertx.subs").getValueCollectionType())
        .isEqualTo(com.hazelcast.config.MultiMapConfig.ValueCollectionType.SET);
    assertThatThrownBy(() -> FilesCluster.join(Map.of("FILES_CLUSTER_MEMBERS", "127.0.0.1:5801")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("FILES_CLUSTER_NAME is required: the nodes' cluster.name; they log it as joined cluster '<name>'");
    assertThatThrownBy(() -> FilesCluster.join(Map.of("FILES_CLUSTER_NAME", "x")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("FILES_CLUSTER_MEMBERS is required");
    assertThatThrownBy(() -> FilesCluster.join(Map.of("FILES_CLUSTER_NAME", "x", "FILES_CLUSTER_MEMBERS", "127.0.0.1:5801",
        "FILES_CLUSTER_PORT", "0"))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("FILES_CLUSTER_PORT must be a port from 1 to 65535, got '0'");
  }

  @Test
  void aFileEventIsReadIntoARecord() {
    JsonObject json = new JsonObject().put("id", "e1").put("type", FileEvent.UPLOADED).put("company_id", "c")
        .put("file_id", "f").put("at", "2026-12-01T06:30:00.123Z").put("resource", new JsonObject().put("id", "f"))
        .put("position", 7);
    FileEvent event = FileEvent.from(json);
    assertThat(event.type()).isEqualTo("file.uploaded");
    assertThat(event.at()).isEqualTo(java.time.Instant.parse("2026-12-01T06:30:00.123Z"));
    assertThat(event.resource()).isEqualTo(new JsonObject().put("id", "f"));
    assertThat(event.json().getInteger("position")).as("fields this version does not read").isEqualTo(7);
    assertThat(FileEvent.address("c")).isEqualTo("files.events.c");
    assertThatThrownBy(() -> FileEvent.from(json.copy().put("at", "yesterday"))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FileEvent.from(new JsonObject().put("id", "e1"))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("not a file event: no \"type\"");
    assertThat(FileEvent.from(json.copy().put("type", FileEvent.DELETED).putNull("resource")).resource()).isNull();
  }

  @Test
  void aFailureIsReadFromItsCode() {
    assertThat(FilesApiFailure.of(new ReplyException(ReplyFailure.RECIPIENT_FAILURE, 404, "no such file"))).isEqualTo(FilesApiFailure.NOT_FOUND);
    assertThat(FilesApiFailure.of(new ReplyException(ReplyFailure.RECIPIENT_FAILURE, 503, "database unavailable (request x)")))
        .satisfies(f -> assertThat(f.retryable()).isTrue()).isEqualTo(FilesApiFailure.UNAVAILABLE);
    assertThat(FilesApiFailure.of(new ReplyException(ReplyFailure.NO_HANDLERS, -1, "no handlers"))).isEqualTo(FilesApiFailure.NO_SERVICE);
    assertThat(FilesApiFailure.of(new ReplyException(ReplyFailure.TIMEOUT, -1, "timeout"))).isEqualTo(FilesApiFailure.TIMEOUT);
    assertThat(FilesApiFailure.of(new ReplyException(ReplyFailure.RECIPIENT_FAILURE, 418, "teapot"))).isEqualTo(FilesApiFailure.OTHER);
    assertThat(FilesApiFailure.of(new IllegalStateException())).isEqualTo(FilesApiFailure.OTHER);
    assertThat(FilesApiFailure.FORBIDDEN.status()).isEqualTo(403);
    assertThat(FilesApiFailure.FORBIDDEN.retryable()).isFalse();
  }

  /** examples/sibling/pom.xml names this build's version and the Vert.x it is built with. */
  @Test
  void theExamplePomNamesThisBuild() throws Exception {
    String root = Files.readString(PROJECT.resolve("pom.xml"));
    String example = Files.readString(PROJECT.resolve("examples/sibling/pom.xml"));
    assertThat(tag(example, "files.version")).isEqualTo(first(root, "<version>([^<]+)</version>"));
    assertThat(tag(example, "vertx.version"))
        .isEqualTo(first(root, "<artifactId>vertx-stack-depchain</artifactId>\\s*<version>([^<]+)</version>"));
    assertThat(example).contains("<classifier>api</classifier>");
  }

  // --- support ---

  /** The members of cluster {@code name} as the nodes of this JVM see them (the most any of them sees). */
  private static int members(String name) {
    return com.hazelcast.core.Hazelcast.getAllHazelcastInstances().stream()
        .filter(h -> h.getConfig().getClusterName().equals(name))
        .mapToInt(h -> h.getCluster().getMembers().size()).max().orElse(0);
  }

  /** The api jar and the jars of Vert.x and Hazelcast from this test run's class path; no class of the service. */
  static List<Path> siblingClassPath() {
    String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<Path> out = new ArrayList<>(List.of(API_JAR));
    Stream.of(classpath.split(File.pathSeparator)).map(Path::of)
        .filter(p -> SIBLING_DEPENDENCY.matcher(p.getFileName().toString()).matches()).forEach(out::add);
    assertThat(out.stream().map(p -> p.getFileName().toString()))
        .anyMatch(n -> n.startsWith("vertx-core-5")).anyMatch(n -> n.startsWith("hazelcast-5"))
        .anyMatch(n -> n.startsWith("vertx-service-proxy-")).noneMatch(n -> n.equals("classes") || n.equals("files-service.jar"));
    return out;
  }

  private static List<String> classesOf(Path jar) throws Exception {
    List<String> names = new ArrayList<>();
    try (JarFile j = new JarFile(jar.toFile())) {
      for (Enumeration<JarEntry> e = j.entries(); e.hasMoreElements(); ) {
        String n = e.nextElement().getName();
        if (n.endsWith(".class")) {
          names.add(n.substring(0, n.length() - ".class".length()).replace('/', '.'));
        }
      }
    }
    return names;
  }

  private static URL[] urls(List<Path> paths) throws Exception {
    URL[] urls = new URL[paths.size()];
    for (int i = 0; i < urls.length; i++) {
      urls[i] = paths.get(i).toUri().toURL();
    }
    return urls;
  }

  private static String join(List<Path> paths) {
    return String.join(File.pathSeparator, paths.stream().map(Path::toString).toList());
  }

  private static String tag(String xml, String name) {
    return first(xml, "<" + Pattern.quote(name) + ">([^<]+)</" + Pattern.quote(name) + ">");
  }

  private static String first(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    assertThat(m.find()).as(regex).isTrue();
    return m.group(1);
  }

  /** Waits for a line matching {@code line} in {@code out}; fails when the process ends first or after 240 s. */
  private static Matcher waitFor(Path out, Process process, Pattern line) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
    for (;;) {
      Matcher m = line.matcher(Files.readString(out));
      if (m.find()) {
        return m;
      }
      if (!process.isAlive()) {
        throw new AssertionError("the sibling ended with " + process.exitValue() + ": " + Files.readString(out));
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no " + line + " within 240 s: " + Files.readString(out));
      }
      Thread.sleep(250);
    }
  }
}

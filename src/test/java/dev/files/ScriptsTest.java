package dev.files;

import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.ProjectCopy;
import dev.files.support.ProjectCopy.Result;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scripts under {@code scripts/}, run as a user runs them, in a copy of the project: a
 * temporary directory with the scripts, {@code conf/config.json} and a {@code target/files-service.jar}
 * that is a thin jar (its manifest's Class-Path names the compiled classes and the dependencies of
 * this test run), so that nothing is built and no {@code data/} of the project is touched.
 *
 * <ul>
 *   <li>every script answers {@code --help} and {@code -h} with its usage (exit 0) and refuses a
 *       bad argument in one line, without a Java stack trace;</li>
 *   <li>{@code scripts/token --ttl 0} (negative, non-numeric) is refused: a token without {@code exp}
 *       is never printed;</li>
 *   <li>{@code scripts/run} execs the JVM (its PID is Java's; SIGTERM to it stops the node), uses the
 *       master key of {@code FILES_CONFIG} rather than {@code data/master.key}, keeps the key id with
 *       the key in {@code data/master.key} and reads the older bare-base64 form as id {@code k1},
 *       checks the storage path of {@code FILES_CONFIG} before making a key, and stops the private
 *       PostgreSQL it started once the node has ended.</li>
 * </ul>
 */
class ScriptsTest {

  /** The project directory (Surefire runs tests in it). */
  private static final Path PROJECT = Path.of("").toAbsolutePath();
  /** Scripts left out of the --help check (none: every script answers it). */
  private static final Set<String> NOT_CHECKED = Set.of();
  /** Generous: the test machine is shared and loaded; a node start takes seconds to a minute there. */
  private static final long START_SECONDS = 240;
  private static final long STOP_SECONDS = 60;

  @TempDir
  Path tmp;

  @Test
  void everyScriptAnswersHelpAndRefusesABadArgumentInOneLine() throws Exception {
    Path root = copyOfProject();
    List<String> scripts;
    try (Stream<Path> s = Files.list(PROJECT.resolve("scripts"))) {
      scripts = s.filter(Files::isRegularFile).filter(Files::isExecutable)
          .map(p -> p.getFileName().toString()).filter(n -> !NOT_CHECKED.contains(n)).sorted().toList();
    }
    assertThat(scripts).contains("run", "test", "token", "rotate-keys", "cluster", "sibling");
    for (String name : scripts) {
      for (String help : List.of("--help", "-h")) {
        Result r = run(root, Map.of(), 60, "scripts/" + name, help);
        assertThat(r.exit()).as(name + " " + help + ": " + r.output()).isZero();
        assertThat(r.output()).as(name + " " + help).startsWith("usage: scripts/" + name).doesNotContain("Exception");
      }
      for (String wrong : List.of("no-such-argument", "--no-such-option")) { // scripts/test once passed the latter to Maven
        Result bad = run(root, Map.of(), 120, "scripts/" + name, wrong);
        assertThat(bad.exit()).as(name + ": " + bad.output()).isEqualTo(2);
        assertThat(bad.output().lines().toList()).as(name + " with a bad argument").hasSize(1);
        assertThat(bad.output()).as(name).contains(wrong).doesNotContain("Exception").doesNotContain("\tat ");
      }
    }
    // an option without its value, a value out of range, one argument too many: one line, exit 2, before
    // anything starts (what scripts/bench measures is checked by running it)
    List<List<String>> wrongs = List.of(
        List.of("scripts/token", "--ttl"), List.of("scripts/token", "--company"), List.of("scripts/token", "--sub", "x"),
        List.of("scripts/cluster", "--base-port"), List.of("scripts/cluster", "--base-port", "80"),
        List.of("scripts/cluster", "--base-port", "65497"), List.of("scripts/cluster", "0"), List.of("scripts/cluster", "10"),
        List.of("scripts/cluster", "2", "3"), List.of("scripts/sibling", "--base-port"), List.of("scripts/sibling", "--company"),
        List.of("scripts/sibling", "--company", "acme"), List.of("scripts/sibling", "Missing.java"),
        List.of("scripts/sibling", "notes.txt"), List.of("scripts/run", "--port", "9000"), List.of("scripts/rotate-keys", "now"),
        List.of("scripts/test", "RangeTest"), List.of("scripts/bench", "--runs"), List.of("scripts/bench", "--runs", "0"),
        List.of("scripts/bench", "--runs", "five"), List.of("scripts/bench", "--runs", "--quick"),
        List.of("scripts/bench", "--size"), List.of("scripts/bench", "--small-seconds", "-1"),
        List.of("scripts/bench", "--heap", "lots"), List.of("scripts/bench", "--only"),
        List.of("scripts/bench", "--only", "everything"), List.of("scripts/chaos", "--seconds"),
        List.of("scripts/chaos", "--seconds", "1"), List.of("scripts/chaos", "--fault", "fire"),
        List.of("scripts/chaos", "--clients", "0"));
    for (List<String> command : wrongs) {
      Result bad = run(root, Map.of(), 120, command.toArray(String[]::new));
      assertThat(bad.exit()).as(command + ": " + bad.output()).isEqualTo(2);
      assertThat(bad.output().lines().toList()).as(command + ": " + bad.output()).hasSize(1);
      assertThat(bad.output()).as(command.toString()).startsWith(command.get(0).substring("scripts/".length()) + ": ")
          .doesNotContain("Exception");
    }
  }

  /**
   * scripts/bench: an option without its value or with a bad one is named in one line (exit 2) before
   * anything is installed or started, and --help documents every option the script accepts.
   */
  @Test
  void benchRefusesBadValuesInOneLineAndDocumentsEveryOption() throws Exception {
    Path root = copyOfProject();
    Map<List<String>, String> expected = Map.of(
        List.of("--runs"), "bench: --runs needs a value (scripts/bench --help)",
        List.of("--quick", "--runs"), "bench: --runs needs a value (scripts/bench --help)",
        List.of("--runs", "0"), "bench: --runs takes a whole number from 1 to 100000, got '0'",
        List.of("--runs", "2x"), "bench: --runs takes a whole number from 1 to 100000, got '2x'",
        List.of("--runs", "100001"), "bench: --runs takes a whole number from 1 to 100000, got '100001'",
        List.of("--small-seconds", "0"), "bench: --small-seconds takes a whole number from 1 to 100000, got '0'",
        List.of("--only", "scaling"), "bench: --only takes transfer, small, tus, thumbnails, big, tusbig or cluster, got 'scaling'");
    for (Map.Entry<List<String>, String> e : expected.entrySet()) {
      List<String> command = new ArrayList<>(List.of("scripts/bench"));
      command.addAll(e.getKey());
      Result bad = run(root, Map.of(), 120, command.toArray(String[]::new));
      assertThat(bad.exit()).as(command + ": " + bad.output()).isEqualTo(2);
      assertThat(bad.output().lines().toList()).as(command.toString()).containsExactly(e.getValue());
    }
    assertThat(root.resolve("target/bench-refs")).as("nothing built for a refused argument").doesNotExist();

    String script = Files.readString(PROJECT.resolve("scripts/bench"));
    java.util.regex.Matcher options = java.util.regex.Pattern.compile("(?m)^\\s+(--[a-z-]+)(?:\\|-h)?\\)").matcher(script);
    List<String> accepted = new ArrayList<>();
    while (options.find()) accepted.add(options.group(1));
    assertThat(accepted).contains("--runs", "--size", "--heap", "--small-seconds", "--big", "--only", "--quick");
    Result help = run(root, Map.of(), 60, "scripts/bench", "--help");
    assertThat(help.exit()).isZero();
    for (String option : accepted) {
      assertThat(help.output()).as("--help documents " + option).containsPattern("(?m)^  " + option + "\\b");
    }
    assertThat(help.output()).contains("durable reference", "@tus/server", "NEVER FSYNCS", "FSYNCS", "Tus-Resumable: 1.0.0",
        "--runs 5 takes about");
  }

  @Test
  void tokenRefusesALifetimeThatWouldLeaveOutExp() throws Exception {
    Path root = copyOfProject();
    String sub = UUID.randomUUID().toString();
    for (String ttl : List.of("0", "-1", "soon", "4294967296")) {
      Result r = run(root, Map.of(), 120, "scripts/token", "--sub", sub, "--ttl", ttl);
      assertThat(r.exit()).as("--ttl " + ttl + ": " + r.output()).isEqualTo(2);
      assertThat(r.output().lines().toList()).as("--ttl " + ttl).containsExactly(
          "token: --ttl must be a whole number of seconds from 1 to 2147483647, got '" + ttl + "'");
    }
    Result bad = run(root, Map.of(), 120, "scripts/token", "--sub", "not-a-uuid");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.output().lines().toList()).containsExactly("token: --sub must be a UUID, got 'not-a-uuid'");

    Result ok = run(root, Map.of(), 120, "scripts/token", "--sub", sub, "--ttl", "90");
    assertThat(ok.exit()).as(ok.output()).isZero();
    String[] parts = ok.output().strip().split("\\.");
    assertThat(parts).hasSize(3);
    JsonObject claims = new JsonObject(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
    assertThat(claims.getString("sub")).isEqualTo(sub);
    assertThat(claims.getLong("exp") - claims.getLong("iat")).isEqualTo(90);
  }

  /**
   * The master key of FILES_CONFIG is the one used, even beside a data/master.key holding another
   * key (before, that file's key replaced it while the configured id was kept: files written then
   * could not be read with the configured key). And the node is the script's own PID.
   */
  @Test
  void runUsesTheMasterKeyOfFilesConfigAndExecsJava() throws Exception {
    Path root = copyOfProject();
    Files.createDirectories(root.resolve("data"));
    String otherKey = Base64.getEncoder().encodeToString(Samples.random(new java.util.Random(7), 32));
    Path keyFile = root.resolve("data/master.key");
    Files.writeString(keyFile, otherKey + "\n");
    Node node = new Node(tmp, new JsonObject()
        .put("encryption", new JsonObject().put("master_key", TestNode.MASTER_KEY).put("master_key_id", TestNode.MASTER_KEY_ID)));
    byte[] content = Samples.random(new java.util.Random(11), 200_000);
    UUID fileId;
    try {
      Process p = node.start(root);
      ProcessHandle handle = p.toHandle();
      assertThat(handle.info().command().orElse("")).as("the script's PID runs Java").endsWith("/java");
      assertThat(handle.children().count()).as("nothing left under the JVM").isZero();
      assertThat(handle.info().arguments().map(List::of).orElse(List.of())).as("FILES_JAVA_OPTS reach the JVM")
          .contains("-Xmx256m");
      List<String> environment = List.of(Files.readString(Path.of("/proc/" + handle.pid() + "/environ")).split("\0"));
      assertThat(environment).as("the node sees configuration only, not the script's own variables")
          .contains("FILES_CONFIG=" + node.config).noneMatch(v -> v.startsWith("FILES_JAVA_OPTS="));
      assertThat(node.output()).doesNotContain("master.key");
      fileId = node.upload(content);
      stop(p);
      assertThat(handle.isAlive()).isFalse();
      assertThat(Files.readString(keyFile)).isEqualTo(otherKey + "\n");
      assertThat(Db.count(node.db, "SELECT count(*) FROM files WHERE id = '" + fileId + "' AND data_key_id = '"
          + TestNode.MASTER_KEY_ID + "'")).isEqualTo(1);
      // A node with only the configured key reads the file back.
      try (TestNode reader = TestNode.start(Map.of("db.url", TestNode.PG + "/" + node.db,
          "storage.local.path", node.storage.toString()))) {
        HttpResponse<byte[]> down = new Api(reader).download(node.company, fileId, node.token);
        assertThat(down.statusCode()).isEqualTo(200);
        assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));
      }
    } finally {
      node.close();
    }
  }

  /** data/master.key keeps the key's id; the older bare-base64 form is read as id k1. */
  @Test
  void runKeepsTheKeyIdWithTheKeyInDataMasterKey() throws Exception {
    Path root = copyOfProject();
    Path keyFile = root.resolve("data/master.key");
    Node first = new Node(tmp.resolve("first"), new JsonObject()
        .put("encryption", new JsonObject().put("master_key_id", "k3")));
    try {
      Process p = first.start(root);
      assertThat(first.output()).contains("run: generated master key 'k3' in data/master.key")
          .contains("run: using master key 'k3' from data/master.key");
      stop(p);
      String stored = Files.readString(keyFile).strip();
      assertThat(stored).matches("k3:[A-Za-z0-9+/]{43}=");
      assertThat(Base64.getDecoder().decode(stored.substring(3))).hasSize(32);
      assertThat(Files.getPosixFilePermissions(keyFile))
          .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    } finally {
      first.close();
    }

    Files.writeString(keyFile, TestNode.MASTER_KEY + "\n"); // the older form: the key alone
    Node second = new Node(tmp.resolve("second"), new JsonObject());
    byte[] content = Samples.random(new java.util.Random(5), 50_000);
    try {
      Process p = second.start(root);
      assertThat(second.output()).contains("run: using master key 'k1' from data/master.key")
          .doesNotContain("generated");
      UUID fileId = second.upload(content);
      stop(p);
      assertThat(Db.count(second.db, "SELECT count(*) FROM files WHERE id = '" + fileId + "' AND data_key_id = 'k1'"))
          .isEqualTo(1);
      try (TestNode reader = TestNode.start(Map.of("db.url", TestNode.PG + "/" + second.db,
          "storage.local.path", second.storage.toString(), "encryption.master_key_id", "k1"))) {
        HttpResponse<byte[]> down = new Api(reader).download(second.company, fileId, second.token);
        assertThat(down.statusCode()).isEqualTo(200);
        assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));
      }
    } finally {
      second.close();
    }
  }

  /**
   * Nodes that start at once on one directory (scripts/cluster; two clusters side by side) make one
   * master key between them, and each reads that one: sixteen makers released together, one makes
   * it, every one reads the same complete key, and no temporary file is left. Written in place, a
   * later maker's key replaced an earlier one's after that node had read it, and two nodes of one
   * cluster ran with different keys of the same id (a file uploaded to one could not be read on the other).
   */
  @Test
  void makersStartingAtOnceShareOneMasterKey() throws Exception {
    Path data = Files.createDirectories(tmp.resolve("data"));
    Path keyFile = data.resolve("master.key");
    Path gate = tmp.resolve("gate");
    String maker = "while [ ! -e \"$GATE\" ]; do sleep 0.005; done; . \"$COMMON\"; "
        + "if make_master_key \"$KEY\" k1; then echo made; else echo found; fi; cat \"$KEY\"";
    List<Process> makers = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      ProcessBuilder pb = new ProcessBuilder("bash", "-c", maker).redirectErrorStream(true);
      pb.environment().putAll(Map.of("GATE", gate.toString(), "KEY", keyFile.toString(),
          "COMMON", PROJECT.resolve("scripts/lib/common.sh").toString()));
      makers.add(pb.start());
    }
    Files.createFile(gate);
    List<String> outputs = new ArrayList<>();
    for (Process p : makers) {
      assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.exitValue()).as(out).isZero();
      outputs.add(out);
    }
    String stored = Files.readString(keyFile);
    assertThat(stored).matches("k1:[A-Za-z0-9+/]{43}=\n");
    assertThat(outputs).filteredOn(o -> o.startsWith("made\n")).hasSize(1);
    assertThat(outputs).allSatisfy(o -> assertThat(o.substring(o.indexOf('\n') + 1)).isEqualTo(stored));
    assertThat(Files.getPosixFilePermissions(keyFile))
        .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    try (Stream<Path> left = Files.list(data)) {
      assertThat(left.map(f -> f.getFileName().toString())).containsExactly("master.key");
    }
  }

  /**
   * With no PostgreSQL at db.url, scripts/run starts a private one in data/pg; after the exec, a
   * watcher (the JVM's only child) stops it once the node has ended. Needs PostgreSQL's binaries.
   */
  @Test
  void runStopsItsPrivatePostgresqlOnceTheNodeHasEnded() throws Exception {
    boolean binaries;
    try (Stream<Path> s = Files.list(Path.of("/usr/lib/postgresql"))) {
      binaries = s.anyMatch(v -> Files.isExecutable(v.resolve("bin/pg_ctl")));
    } catch (IOException none) {
      binaries = false;
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(binaries, "no PostgreSQL binaries in /usr/lib/postgresql");
    Path root = copyOfProject();
    // The private server runs as an unprivileged user when the tests run as root: it must reach data/pg.
    for (Path p = root; p.startsWith(tmp.getParent()) && !p.equals(tmp.getParent()); p = p.getParent()) {
      Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    int pgPort = TestNode.freePort();
    Node node = new Node(tmp.resolve("private"), new JsonObject()
        .put("db", new JsonObject().put("url", "postgresql://postgres@127.0.0.1:" + pgPort + "/files"))
        .put("encryption", new JsonObject().put("master_key", TestNode.MASTER_KEY).put("master_key_id", TestNode.MASTER_KEY_ID)));
    Path pidFile = root.resolve("data/pg/postmaster.pid");
    try {
      Process p = node.start(root);
      assertThat(node.output()).contains("run: started a private PostgreSQL");
      assertThat(p.toHandle().info().command().orElse("")).endsWith("/java");
      assertThat(p.toHandle().children().count()).as("the watcher").isEqualTo(1);
      assertThat(pidFile).exists();
      long postgres = Long.parseLong(Files.readAllLines(pidFile).get(0).strip());
      assertThat(ProcessHandle.of(postgres)).isPresent();
      assertThat(node.upload(new byte[]{1, 2, 3})).isNotNull();
      stop(p);
      String stopped = "run: stopped the private PostgreSQL in " + root.resolve("data/pg");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_SECONDS);
      while ((ProcessHandle.of(postgres).map(ProcessHandle::isAlive).orElse(false) || !node.output().contains(stopped))
          && System.nanoTime() < deadline) {
        Thread.sleep(200);
      }
      assertThat(ProcessHandle.of(postgres).map(ProcessHandle::isAlive).orElse(false))
          .as("the private PostgreSQL stopped after the node").isFalse();
      assertThat(node.output()).contains(stopped);
    } finally {
      if (node.process != null && node.process.isAlive()) {
        node.process.destroyForcibly().waitFor(STOP_SECONDS, TimeUnit.SECONDS);
      }
      if (Files.exists(pidFile)) { // the watcher did not stop the server: stop it here
        List<String> stop = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
          stop.addAll(List.of("runuser", "-u", Files.getOwner(root.resolve("data/pg")).getName(), "--"));
        }
        try (Stream<Path> versions = Files.list(Path.of("/usr/lib/postgresql"))) {
          stop.add(versions.map(v -> v.resolve("bin/pg_ctl")).filter(Files::isExecutable).sorted().reduce((a, b) -> b)
              .orElseThrow().toString());
        }
        stop.addAll(List.of("-D", root.resolve("data/pg").toString(), "-m", "immediate", "stop"));
        new ProcessBuilder(stop).inheritIO().start().waitFor(STOP_SECONDS, TimeUnit.SECONDS);
      }
      // no Db.drop: the database went with the private server's data directory
    }
  }

  /** No key anywhere but encrypted files in the storage path of FILES_CONFIG: no new key is made. */
  @Test
  void runRefusesToMakeAKeyOverTheStoredFilesOfFilesConfig() throws Exception {
    Path root = copyOfProject();
    Path storage = Files.createDirectories(tmp.resolve("elsewhere/store/ab/ab000000-0000-0000-0000-000000000000"));
    Files.write(storage.resolve(UUID.randomUUID() + ".chunk"), new byte[]{1, 2, 3});
    Path config = tmp.resolve("refuse.json");
    Files.writeString(config, new JsonObject()
        .put("storage", new JsonObject().put("local", new JsonObject().put("path", tmp.resolve("elsewhere/store").toString())))
        .put("auth", new JsonObject().put("jwt", new JsonObject().put("secret", TestNode.SECRET))).encodePrettily());
    Result r = run(root, Map.of("FILES_CONFIG", config.toString()), 120, "scripts/run");
    assertThat(r.exit()).as(r.output()).isEqualTo(1);
    assertThat(r.output().lines().toList()).containsExactly("run: " + tmp.resolve("elsewhere/store")
        + " holds encrypted files but " + root.resolve("data/master.key")
        + " is missing: restore it (or configure encryption.master_key); not making a new one");
    assertThat(root.resolve("data/master.key")).doesNotExist();
  }

  /**
   * The README's walkthrough (its three shell blocks, "Walkthrough with curl", "Chunked upload" and
   * "Resumable upload with tus"), run as
   * written in one shell, in a copy of the project, against a node of scripts/run on a port of its own
   * ({@code FILES_HTTP_PORT}, which the walkthrough reads) with a database of its own. It writes only into
   * the directory it makes ({@code mktemp -d}, here under the test's own TMPDIR), never to fixed paths.
   */
  @Test
  void theReadmeWalkthroughRunsAsWritten() throws Exception {
    List<String> blocks = ProjectCopy.shellBlocks(PROJECT.resolve("README.md"), "## Walkthrough with curl");
    assertThat(blocks).hasSize(3);
    String walkthrough = blocks.get(0) + blocks.get(1) + "echo '-- tus'\n" + blocks.get(2);
    assertThat(walkthrough).as("the walkthrough writes into its own directory").doesNotContain("/tmp");
    Path root = copyOfProject();
    int port = TestNode.freePort();
    String db = "files_walk_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Path temp = Files.createDirectories(tmp.resolve("walk-tmp"));
    Path photo = Files.write(tmp.resolve("photo.png"), Samples.image("png", 900, 600));
    Map<String, String> env = Map.of("FILES_HTTP_PORT", Integer.toString(port), "FILES_DB_URL", TestNode.PG + "/" + db);
    Path out = tmp.resolve("run.out");
    Process node = ProjectCopy.start(root, env, out, "scripts/run");
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_SECONDS);
      while (!Files.readString(out).contains("files service listening on")) {
        assertThat(node.isAlive()).as("scripts/run: " + Files.readString(out)).isTrue();
        assertThat(System.nanoTime()).as("scripts/run did not listen: " + Files.readString(out)).isLessThan(deadline);
        Thread.sleep(200);
      }
      Path script = Files.writeString(tmp.resolve("walkthrough.sh"), "set -euo pipefail\n" + walkthrough);
      Map<String, String> shell = new java.util.HashMap<>(env);
      shell.remove("FILES_DB_URL");
      shell.put("PHOTO", photo.toString());
      shell.put("TMPDIR", temp.toString());
      Result r = ProjectCopy.run(root, shell, 300, tmp.resolve("walkthrough.out"), "bash", script.toString());
      assertThat(r.exit()).as(r.output()).isZero();
      List<String> all = r.output().lines().toList();
      assertThat(all).as(r.output()).contains("-- tus");
      List<String> lines = all.subList(0, all.indexOf("-- tus"));
      List<String> tus = all.subList(all.indexOf("-- tus") + 1, all.size());
      assertThat(tus).as("tus: two PATCHes, then the complete file").hasSize(3);
      assertThat(tus.subList(0, 2)).containsExactly("204", "204");
      assertThat(tus.get(2)).contains("\"name\":\"tus.png\"").contains("\"upload_status\":\"complete\"")
          .contains("\"size\":" + Files.size(photo));
      String sha = Api.sha256(Files.readAllBytes(photo));
      assertThat(lines.get(0)).as("the classic upload").contains("\"upload_status\":\"complete\"")
          .contains("\"thumbnails_status\":\"done\"");
      assertThat(lines).as("the checksums of the photo and of its copy").contains(sha + "  " + photo)
          .anyMatch(l -> l.startsWith(sha + "  " + temp) && l.endsWith("/copy"));
      assertThat(lines).as("the thumbnail").anyMatch(l -> l.matches("image/jpeg, [1-9][0-9]* bytes"));
      assertThat(lines).as("a range of 100 bytes, then the download with the token in the query").containsSubsequence("100", "200");
      assertThat(lines).as("the delete").contains("{\"status\":\"success\"}");
      assertThat(lines.stream().filter(l -> l.startsWith("{\"resource\"") && l.contains("\"name\":\"logo.png\""))
          .toList()).as("three chunks, the last completing the upload").hasSize(3)
          .last().asString().contains("\"upload_status\":\"complete\"");
      assertThat(lines.get(lines.size() - 1)).as("chunk 2 is stored").isEqualTo("200");
      // everything it wrote is in the one directory it made
      try (Stream<Path> made = Files.list(temp)) {
        List<Path> dirs = made.toList();
        assertThat(dirs).hasSize(1);
        try (Stream<Path> files = Files.list(dirs.get(0))) {
          assertThat(files.map(f -> f.getFileName().toString()).sorted().toList())
              .containsExactly("copy", "part.00", "part.01", "part.02", "thumb", "up.json");
        }
        assertThat(dirs.get(0).resolve("copy")).hasBinaryContent(Files.readAllBytes(photo));
      }
    } finally {
      node.destroy();
      if (!node.waitFor(STOP_SECONDS, TimeUnit.SECONDS)) {
        node.destroyForcibly();
      }
      Db.drop(db);
    }
  }

  /** scripts/test ends with one line per skipped test and why, read from Surefire's XML reports. */
  @Test
  void skippedTestsAreListedWithTheirReasons() throws Exception {
    Path report = Files.writeString(tmp.resolve("TEST-dev.files.x.SomeTest.xml"), """
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuite name="dev.files.x.SomeTest" tests="4" skipped="3">
          <testcase name="runs" classname="dev.files.x.SomeTest" time="0.1"/>
          <testcase name="video(Path)" classname="dev.files.x.SomeTest" time="0.0">
            <skipped type="org.opentest4j.TestAbortedException"><![CDATA[org.opentest4j.TestAbortedException: Assumption failed: ffmpeg is not installed
        	at org.junit.jupiter.api.Assumptions.throwAssumptionFailed(Assumptions.java:321)
        ]]></skipped>
          </testcase>
          <testcase name="office" classname="dev.files.x.SomeTest" time="0.0">
            <skipped message="soffice &amp; its fonts are not installed"/>
          </testcase>
          <testcase name="disabled" classname="dev.files.x.SomeTest" time="0.0"><skipped/></testcase>
        </testsuite>
        """);
    Result r = ProjectCopy.run(PROJECT, Map.of(), 120, tmp.resolve("skipped.out"), "java",
        PROJECT.resolve("scripts/lib/SkippedTests.java").toString(), report.toString());
    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output().lines().toList()).containsExactly(
        "skipped: SomeTest.disabled: no reason given",
        "skipped: SomeTest.office: soffice & its fonts are not installed",
        "skipped: SomeTest.video(Path): ffmpeg is not installed");
    assertThat(Files.readString(PROJECT.resolve("scripts/test"))).contains("java scripts/lib/SkippedTests.java");
  }

  /**
   * docs/files.service, the systemd unit of one node: the JVM flags of scripts/lib/common.sh, SIGTERM to
   * drain, a stop timeout above the longest drain and stop the node allows itself
   * ({@code http.drain_timeout_ms} + 5 s, then 30 s), and a restart on failure only.
   */
  @Test
  void theSystemdUnitDrainsWithinItsStopTimeout() throws Exception {
    String unit = Files.readString(PROJECT.resolve("docs/files.service")).replace("\\\n", " ");
    Map<String, String> settings = new java.util.HashMap<>();
    unit.lines().map(String::strip).filter(l -> l.matches("[A-Za-z]+=.*"))
        .forEach(l -> settings.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1).strip()));
    String common = Files.readString(PROJECT.resolve("scripts/lib/common.sh"));
    String flags = common.substring(common.indexOf("JVM_FLAGS=(") + "JVM_FLAGS=(".length(), common.indexOf(")", common.indexOf("JVM_FLAGS=(")));
    List<String> exec = List.of(settings.get("ExecStart").split("\\s+"));
    assertThat(exec).containsSubsequence(List.of(flags.strip().split("\\s+")));
    assertThat(exec).contains("-jar").anyMatch(a -> a.startsWith("-Dfiles.home="));
    long drainMs = new JsonObject(Files.readString(PROJECT.resolve("conf/config.json"))).getJsonObject("http").getLong("drain_timeout_ms");
    assertThat(Long.parseLong(settings.get("TimeoutStopSec"))).isGreaterThan(drainMs / 1000 + 5 + 30);
    assertThat(settings).containsEntry("KillSignal", "SIGTERM").containsEntry("KillMode", "mixed")
        .containsEntry("Restart", "on-failure").containsKey("StartLimitBurst");
  }

  // --- support ---

  private Result run(Path root, Map<String, String> env, long timeoutSeconds, String... command) throws Exception {
    return ProjectCopy.run(root, env, timeoutSeconds, Files.createTempFile(tmp, "out", ".txt"), command);
  }

  /** SIGTERM to the script's PID (then Java's); the node must be gone within {@link #STOP_SECONDS}. */
  private static void stop(Process p) throws InterruptedException {
    p.destroy(); // SIGTERM
    boolean ended = p.waitFor(STOP_SECONDS, TimeUnit.SECONDS);
    if (!ended) {
      p.destroyForcibly();
    }
    assertThat(ended).as("the node ended after SIGTERM to the script").isTrue();
  }

  private Path copyOfProject() throws IOException {
    return ProjectCopy.make(tmp);
  }

  /**
   * One node started by scripts/run with a FILES_CONFIG file: its own database, storage directory,
   * port and JWT secret, plus {@code extra} (merged into the file).
   */
  private final class Node implements AutoCloseable {
    final String db = "files_scripts_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    final Path storage;
    final Path config;
    final Path out;
    final int port;
    final UUID company = UUID.randomUUID();
    final String token = TestNode.userToken(UUID.randomUUID(), company);
    private Process process;

    Node(Path dir, JsonObject extra) throws IOException {
      Files.createDirectories(dir);
      storage = dir.resolve("store");
      config = dir.resolve("config.json");
      out = dir.resolve("run.out");
      port = TestNode.freePort();
      JsonObject json = new JsonObject()
          .put("http", new JsonObject().put("host", "127.0.0.1").put("port", port))
          .put("db", new JsonObject().put("url", TestNode.PG + "/" + db))
          .put("storage", new JsonObject().put("local", new JsonObject().put("path", storage.toString())))
          .put("auth", new JsonObject().put("jwt", new JsonObject().put("secret", TestNode.SECRET)))
          .put("thumbnails", new JsonObject().put("workers", 0));
      Files.writeString(config, json.mergeIn(extra, true).encodePrettily());
    }

    /** Runs scripts/run in {@code root} and waits for the node's "listening on" line. */
    Process start(Path root) throws Exception {
      process = ProjectCopy.start(root, Map.of("FILES_CONFIG", config.toString()), out, "scripts/run");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_SECONDS);
      while (!output().contains("files service listening on")) {
        if (!process.isAlive()) {
          throw new AssertionError("scripts/run ended with " + process.exitValue() + ": " + output());
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError("scripts/run did not listen within " + START_SECONDS + " s: " + output());
        }
        Thread.sleep(200);
      }
      return process;
    }

    String output() throws IOException {
      return Files.readString(out);
    }

    /** A classic upload through the node; returns the new file's id. */
    UUID upload(byte[] content) throws Exception {
      HttpResponse<String> r = new Api("http://127.0.0.1:" + port + "/internal/services/files/v1")
          .upload(company, token, "a.bin", "application/x-test", content);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      return UUID.fromString(new JsonObject(r.body()).getJsonObject("resource").getString("id"));
    }

    @Override
    public void close() throws Exception {
      if (process != null && process.isAlive()) {
        process.destroyForcibly();
        process.waitFor(STOP_SECONDS, TimeUnit.SECONDS);
      }
      Db.drop(db);
    }
  }
}

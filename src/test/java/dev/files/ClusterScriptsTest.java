package dev.files;

import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.ProjectCopy;
import dev.files.support.ProjectCopy.Result;
import dev.files.support.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code scripts/cluster} and {@code scripts/sibling} as an operator and a sibling's developer use them, in
 * a copy of the project ({@link ProjectCopy}), with base ports chosen free at run time: two clusters side
 * by side on one machine, each on its own ports, database and S3Proxy; every process's PID and log
 * printed; a node killed with SIGKILL reported without a job notice of the shell; SIGTERM and SIGINT stop
 * every process the script started. And docs/event-bus.md's path from an empty directory to a sibling
 * receiving {@code file.uploaded}, its three shell blocks run exactly as written, with the base port
 * {@code 19000} of the document replaced by this run's (and node 2's port with it).
 */
class ClusterScriptsTest {

  /** Generous: three nodes, two S3Proxies and a sibling start on a shared, loaded 2-core machine. */
  private static final Duration START = Duration.ofSeconds(420);
  private static final Duration STOP = Duration.ofSeconds(180);
  private static final Pattern PROCESS = Pattern.compile("cluster: (S3Proxy|node \\d) on http://127\\.0\\.0\\.1:(\\d+)\\S* \\(pid (\\d+), log ([^;]+);");

  @TempDir
  Path tmp;

  @Test
  void twoClustersSideBySideAndASiblingFromAnEmptyDirectory() throws Exception {
    Path root = ProjectCopy.make(tmp);
    int a = ProjectCopy.freePortBlock(40);
    int b;
    do {
      b = ProjectCopy.freePortBlock(40);
    } while (Math.abs(a - b) < 40);
    String db = "files_scripts_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Map<String, String> env = Map.of("FILES_DB_URL", TestNode.PG + "/" + db);
    List<String> blocks = ProjectCopy.shellBlocks(ProjectCopy.PROJECT.resolve("docs/event-bus.md"),
        "## From an empty directory to `file.uploaded`");
    assertThat(blocks).hasSize(3);
    List<String> steps = new ArrayList<>();
    for (String block : blocks) {
      steps.add(block.replace("19000", Integer.toString(a)).replace("19002", Integer.toString(a + 2)));
    }
    assertThat(steps.get(0)).isEqualTo("scripts/cluster 2 --base-port " + a + "\n");

    Path outA = tmp.resolve("cluster-a.out");
    Path outB = tmp.resolve("cluster-b.out");
    Path outSibling = tmp.resolve("sibling.out");
    List<Long> started = new ArrayList<>();
    // as from a terminal: SIGINT at its default even when this JVM was started with it ignored (a background
    // job of a non-interactive shell, nohup), which the scripts would inherit and could not trap
    Process clusterA = ProjectCopy.start(root, env, outA, "env", "--default-signal=INT", "bash", "-c", steps.get(0));
    Process clusterB = ProjectCopy.start(root, env, outB, "env", "--default-signal=INT", "scripts/cluster", "1",
        "--base-port", Integer.toString(b));
    Process sibling = null;
    try {
      waitFor(outA, clusterA, "cluster: 2 node(s) up");
      waitFor(outB, clusterB, "cluster: 1 node(s) up");
      Map<String, long[]> processesA = processes(Files.readString(outA), a, 2, root);
      Map<String, long[]> processesB = processes(Files.readString(outB), b, 1, root);
      processesA.values().forEach(p -> started.add(p[1]));
      processesB.values().forEach(p -> started.add(p[1]));
      for (long pid : started) {
        assertThat(ProcessHandle.of(pid).flatMap(h -> h.info().command())).as("pid " + pid).hasValueSatisfying(
            c -> assertThat(c).endsWith("/java"));
      }
      // every port of a node is the one the base port says (HTTP, Hazelcast, event bus), on 127.0.0.1 only
      assertThat(Files.readString(outA)).contains("(pid " + processesA.get("node 2")[1] + ", log data/cluster-" + a
          + "/node-2.log; Hazelcast 127.0.0.1:" + (a + 12) + ", event bus 127.0.0.1:" + (a + 22) + ")");
      assertThat(ClusterConfigTest.listeners(a + 12)).containsExactly("127.0.0.1");
      assertThat(ClusterConfigTest.listeners(a + 22)).containsExactly("127.0.0.1");
      assertThat(ClusterConfigTest.listeners(b + 21)).containsExactly("127.0.0.1");
      assertThat(root.resolve("data/cluster-" + a + "/sibling.env")).content().contains(
          "FILES_CLUSTER_MEMBERS=127.0.0.1:" + (a + 11) + ",127.0.0.1:" + (a + 12) + "\n",
          "FILES_CLUSTER_PORT=" + (a + 30) + "\n");

      // terminal 2: an empty directory, the document's Java file, scripts/sibling
      Path empty = Files.createDirectories(tmp.resolve("sibling-work"));
      Map<String, String> siblingEnv = new HashMap<>(env);
      siblingEnv.put("SERVICE_DIR", root.toString());
      sibling = ProjectCopy.start(empty, siblingEnv, outSibling, "bash", "-c", steps.get(1));
      waitFor(outSibling, sibling, "sibling: deployed HelloSibling");
      assertThat(empty.resolve("hello-sibling/HelloSibling.java")).exists();

      // terminal 3: a user of the company uploads README.md to node 2
      Result upload = ProjectCopy.run(root, env, 120, tmp.resolve("upload.out"), "bash", "-c", steps.get(2));
      assertThat(upload.exit()).as(upload.output()).isZero();
      JsonObject resource = new JsonObject(upload.output().strip()).getJsonObject("resource");
      UUID file = UUID.fromString(resource.getString("id"));
      UUID company = UUID.fromString(resource.getString("company_id"));
      waitFor(outSibling, sibling, "file.uploaded " + file);

      // the file is in cluster A, read back from node 1, and not in cluster B (its own database and store)
      Result minted = ProjectCopy.run(root, env, 120, tmp.resolve("token.out"), "scripts/token", "--sub",
          UUID.randomUUID().toString(), "--company", company.toString());
      assertThat(minted.exit()).as(minted.output()).isZero();
      String token = minted.output().strip();
      HttpResponse<byte[]> down = new Api("http://127.0.0.1:" + (a + 1) + "/internal/services/files/v1").download(company, file, token);
      assertThat(down.statusCode()).as(new String(down.body())).isEqualTo(200);
      assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(Files.readAllBytes(root.resolve("README.md"))));
      Api apiB = new Api("http://127.0.0.1:" + (b + 1) + "/internal/services/files/v1");
      assertThat(apiB.get(apiB.file(company, file), token).statusCode()).isEqualTo(404);
      HttpResponse<String> inB = apiB.upload(company, token, "b.txt", "text/plain", "in cluster b".getBytes());
      assertThat(inB.statusCode()).as(inB.body()).isEqualTo(200);
      assertThat(Db.count(db + "_cluster_" + a, "SELECT count(*) FROM files")).isEqualTo(1);
      assertThat(Db.count(db + "_cluster_" + b, "SELECT count(*) FROM files")).isEqualTo(1);

      // a node killed with SIGKILL: reported by the script, without the shell's job notice; the other goes on
      long node2 = processesA.get("node 2")[1];
      ProcessHandle.of(node2).ifPresent(ProcessHandle::destroyForcibly);
      waitFor(outA, clusterA, "cluster: node 2 (pid " + node2 + ") ended; see data/cluster-" + a + "/node-2.log");
      assertThat(Files.readString(outA)).doesNotContain("Killed").doesNotContain("line ");
      HttpResponse<byte[]> again = new Api("http://127.0.0.1:" + (a + 1) + "/internal/services/files/v1").download(company, file, token);
      assertThat(again.statusCode()).as(new String(again.body())).isEqualTo(200);
      assertThat(Api.sha256(again.body())).isEqualTo(Api.sha256(Files.readAllBytes(root.resolve("README.md"))));

      // the sibling leaves the cluster on SIGTERM
      ProcessHandle siblingJava = sibling.descendants().filter(h -> h.info().command().orElse("").endsWith("/java"))
          .findFirst().orElse(sibling.toHandle());
      siblingJava.destroy();
      assertThat(sibling.waitFor(STOP.toSeconds(), TimeUnit.SECONDS)).as(Files.readString(outSibling)).isTrue();
      assertThat(Files.readString(outSibling)).contains("sibling: left the cluster");

      // SIGTERM to cluster A's script, SIGINT to B's: each stops every process it started, S3Proxy last
      ProcessHandle scriptA = script(clusterA);
      scriptA.destroy();
      new ProcessBuilder("kill", "-INT", Long.toString(script(clusterB).pid())).inheritIO().start().waitFor();
      assertThat(scriptA.onExit().get(STOP.toSeconds(), TimeUnit.SECONDS).isAlive()).as(() -> outputs(outA, outB)).isFalse();
      for (Process cluster : List.of(clusterA, clusterB)) {
        assertThat(cluster.waitFor(STOP.toSeconds(), TimeUnit.SECONDS)).as(() -> outputs(outA, outB)).isTrue();
      }
      for (long pid : started) {
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("pid " + pid + " stopped").isFalse();
      }
      String stoppedA = Files.readString(outA);
      assertThat(stoppedA.indexOf("cluster: stopping 1 node(s), then S3Proxy")).isPositive();
      assertThat(stoppedA.strip()).endsWith("cluster: stopped");
      assertThat(Files.readString(outB).strip()).endsWith("cluster: stopped");
      assertThat(root.resolve("data/cluster-" + a + "/sibling.env")).doesNotExist();
      assertThat(clusterB.exitValue()).isEqualTo(130);
    } finally {
      for (Process p : new Process[]{sibling, clusterA, clusterB}) {
        if (p != null && p.isAlive()) {
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
        }
      }
      for (long pid : started) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
      Db.drop(db + "_cluster_" + a);
      Db.drop(db + "_cluster_" + b);
    }
  }

  /** What the two scripts printed, for a failure's message. */
  private static String outputs(Path outA, Path outB) {
    try {
      return "scripts/cluster A printed:\n" + Files.readString(outA) + "\nscripts/cluster B printed:\n" + Files.readString(outB);
    } catch (java.io.IOException e) {
      return "(their output could not be read: " + e.getMessage() + ")";
    }
  }

  /** The process running scripts/cluster: {@code p} itself, or its child when a shell ran it. */
  private static ProcessHandle script(Process p) {
    return p.toHandle().info().arguments().map(List::of).orElse(List.of()).stream().anyMatch(x -> x.endsWith("scripts/cluster"))
        ? p.toHandle()
        : p.children().filter(c -> c.info().arguments().map(List::of).orElse(List.of()).stream()
            .anyMatch(x -> x.endsWith("scripts/cluster"))).findFirst().orElseThrow();
  }

  /** Waits until {@code out} contains {@code text}; fails when the process ends first or after {@link #START}. */
  private static void waitFor(Path out, Process process, String text) throws Exception {
    long deadline = System.nanoTime() + START.toNanos();
    while (!Files.readString(out).contains(text)) {
      if (!process.isAlive()) {
        throw new AssertionError("ended with " + process.exitValue() + " before '" + text + "': " + Files.readString(out));
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no '" + text + "' within " + START.toSeconds() + " s: " + Files.readString(out));
      }
      Thread.sleep(250);
    }
  }

  /**
   * The processes a scripts/cluster printed: name to {port, pid}, checked against the port layout of the
   * base port, with their log files present in the cluster's directory.
   */
  private static Map<String, long[]> processes(String output, int base, int nodes, Path root) {
    Map<String, long[]> found = new HashMap<>();
    Matcher m = PROCESS.matcher(output);
    while (m.find()) {
      found.put(m.group(1), new long[]{Long.parseLong(m.group(2)), Long.parseLong(m.group(3))});
      assertThat(root.resolve(m.group(4))).as(m.group(0)).exists();
    }
    assertThat(found).containsKey("S3Proxy").hasSize(nodes + 1);
    assertThat(found.get("S3Proxy")[0]).isEqualTo(base);
    for (int i = 1; i <= nodes; i++) {
      assertThat(found.get("node " + i)[0]).isEqualTo(base + i);
    }
    return found;
  }
}

package dev.files;

import dev.files.support.Api;
import dev.files.support.TestCluster;
import dev.files.support.Chunks;
import dev.files.support.Db;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A rolling restart of a 3-node cluster (each node its own JVM; one database, one shared storage
 * directory) while a client uploads continuously: the nodes are restarted one after another (SIGTERM,
 * the node drains and exits 0, then a new process starts on the same ports and the test waits until it
 * is ready and every node sees 3 members again).
 *
 * <p>The client runs {@value #CLIENTS} threads; each uploads files one after another: most in
 * {@value #CHUNKS} chunks of 64 KiB, each chunk sent to the next node in its rotation (round-robin), and
 * every third file as one whole-file upload. The client acts as a load balancer would: a node that has been
 * sent SIGTERM stays in the rotation until a request to it fails at the connection (refused once the drain
 * closed its port, or an idle kept-alive connection closed by the drain before the request was read); that
 * request is then sent again to another node and the node leaves the rotation until it is ready again. A
 * chunk sent again is the same chunk, which the service records once. Any other failure fails the test: a
 * 5xx or any status other than 200, or a connection failure of a node that was not sent SIGTERM.
 *
 * <p>Asserted afterwards: every stopped node exited 0 after its drain; every upload completed, and its
 * download (through any node) has the SHA-256 of what was sent; every chunk is recorded once; no owner
 * row of an upload session is left naming a node that has stopped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterRollingRestartTest {

  static final int CHUNK = 64 * 1024;
  static final int CHUNKS = 6;
  static final int CLIENTS = 3;
  /** Answers of every node in the rotation before a node is stopped, and after the last restart. */
  static final int ANSWERS = 3;

  /** Node ids of the processes stopped so far. */
  final List<String> stoppedIds = new ArrayList<>();
  /** Whether node i is in the client's rotation. */
  final boolean[] up = new boolean[3];
  /** Whether node i has been sent SIGTERM and not restarted yet. */
  final boolean[] stopping = new boolean[3];
  final UUID company = UUID.randomUUID();
  final String token = TestNode.userToken(UUID.randomUUID(), company);
  TestCluster cluster;

  @BeforeAll
  void start() throws Exception {
    cluster = TestCluster.configure("files-rolling", 3, Map.of("thumbnails.workers", 0, "http.drain_timeout_ms", 20_000));
    for (int i = 0; i < 3; i++) {
      cluster.spawn(i);
    }
    for (int i = 0; i < 3; i++) {
      cluster.awaitReady(i);
    }
    cluster.awaitMembers(3);
  }

  @AfterAll
  void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
  }

  /** The metric files_upload_sessions of each node: the sessions it runs. */
  private List<Double> sessionsPerNode() throws Exception {
    List<Double> out = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      out.add(OperabilityTest.metric(cluster.api(i).get(cluster.base(i) + "/metrics", null).body(), "files_upload_sessions"));
    }
    return out;
  }

  /** A request of the client to one node. */
  private interface Exchange {
    HttpResponse<String> send(Api api) throws IOException, InterruptedException;
  }

  /** The rotation: which node the client sends its next request to. */
  private final AtomicInteger next = new AtomicInteger();
  /** Requests sent again to another node after a connection failure at a node taken out of the rotation. */
  private final AtomicInteger resent = new AtomicInteger();
  /** Answers per node (to show that every node served during the run). */
  private final Map<Integer, AtomicInteger> served = new ConcurrentHashMap<>();

  /**
   * Sends one request as a load balancer would: to the next node in the rotation, and again to another
   * when that node was taken out of the rotation meanwhile and the connection failed. Asserts a 200.
   */
  private JsonObject exchange(String what, Exchange exchange) throws Exception {
    for (int attempt = 0; attempt < 20; attempt++) {
      int i = pick();
      try {
        HttpResponse<String> r = exchange.send(cluster.api(i));
        assertThat(r.statusCode()).as(what + " through node " + i + ": " + r.body()).isEqualTo(200);
        served.computeIfAbsent(i, k -> new AtomicInteger()).incrementAndGet();
        return Api.resource(r);
      } catch (IOException e) {
        synchronized (up) {
          if (!stopping[i]) {
            throw new AssertionError(what + " through node " + i + " (in the rotation) failed: " + e, e);
          }
        }
        resent.incrementAndGet();
      }
    }
    throw new AssertionError(what + ": no node answered");
  }

  /**
   * Waits until every node in the rotation has answered {@value #ANSWERS} more requests of the client than
   * now (or a client failed: the test then reports that failure).
   */
  private void awaitAnswers(List<Throwable> failures) throws Exception {
    Map<Integer, Integer> before = new HashMap<>();
    served.forEach((i, n) -> before.put(i, n.get()));
    eventually(Duration.ofSeconds(120), () -> {
      if (!failures.isEmpty()) {
        return;
      }
      for (int i = 0; i < 3; i++) {
        boolean inRotation;
        synchronized (up) {
          inRotation = up[i];
        }
        if (inRotation) {
          int now = served.getOrDefault(i, new AtomicInteger()).get();
          assertThat(now - before.getOrDefault(i, 0)).as("answers of node " + i).isGreaterThanOrEqualTo(ANSWERS);
        }
      }
    });
  }

  private int pick() {
    synchronized (up) {
      for (int k = 0; k < 3; k++) {
        int i = Math.floorMod(next.getAndIncrement(), 3);
        if (up[i]) {
          return i;
        }
      }
    }
    throw new AssertionError("no node in the rotation");
  }

  private void setUp(int i, boolean value) {
    synchronized (up) {
      up[i] = value;
      stopping[i] = !value;
    }
  }

  private void setStopping(int i) {
    synchronized (up) {
      stopping[i] = true;
    }
  }

  record Uploaded(UUID id, String sha256, int chunks, int size) {
  }

  /** One client thread: uploads files until {@code stop}; records each completed upload. */
  private void client(int n, java.util.concurrent.atomic.AtomicBoolean stop, List<Uploaded> done) throws Exception {
    Random random = new Random(100 + n);
    for (int f = 0; !stop.get(); f++) {
      if (f % 3 == 2) {
        byte[] content = Samples.random(random, CHUNK + random.nextInt(CHUNK));
        JsonObject r = exchange("whole-file upload", api -> api.upload(company, token, "whole.bin",
            "application/octet-stream", content));
        done.add(new Uploaded(UUID.fromString(r.getString("id")), Api.sha256(content), 1, content.length));
        continue;
      }
      byte[] content = Samples.random(random, CHUNKS * CHUNK + random.nextInt(CHUNK));
      List<long[]> parts = Chunks.split(content.length, CHUNK);
      JsonObject init = exchange("init", api -> {
        HttpResponse<String> r = Api.CLIENT.send(api.request(api.files(company) + "?filename=c.bin&total_chunks="
            + parts.size() + "&total_size=" + content.length, token).header("Content-Type", "text/plain")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        return r;
      });
      UUID file = UUID.fromString(init.getString("id"));
      JsonObject last = null;
      for (int c = 0; c < parts.size(); c++) {
        int number = c + 1;
        byte[] bytes = Chunks.slice(content, parts.get(c));
        last = exchange("chunk " + number + " of file " + file, api -> api.post(api.file(company, file) + "?"
            + Chunks.query(number, parts.size(), content.length), token, new Api.Multipart().filename("blob"), bytes));
      }
      assertThat(last.getString("upload_status")).as("file " + file + " after its last chunk").isEqualTo("complete");
      done.add(new Uploaded(file, Api.sha256(content), parts.size(), content.length));
    }
  }

  @Test
  void everyNodeRestartedInTurnWhileAClientUploadsNoUploadFailsAndEveryFileIsByteExact() throws Exception {
    for (int i = 0; i < 3; i++) {
      setUp(i, true);
    }
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    List<Uploaded> done = new CopyOnWriteArrayList<>();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int n = 0; n < CLIENTS; n++) {
      int id = n;
      Thread t = new Thread(() -> {
        try {
          client(id, stop, done);
        } catch (Throwable e) {
          failures.add(e);
          stop.set(true);
        }
      }, "rolling-client-" + n);
      t.start();
      threads.add(t);
    }
    try {
      for (int i = 0; i < 3 && failures.isEmpty(); i++) {
        awaitAnswers(failures); // uploads under way on every node
        int before = done.size();
        setStopping(i);
        String stopped = cluster.id(i);
        cluster.terminate(i); // SIGTERM
        assertThat(cluster.awaitExit(i, 120)).as("node " + i + " stops after its drain").isTrue();
        String log = cluster.log(i);
        assertThat(cluster.process(i).exitValue()).as("exit code of node " + i + ": " + cluster.logTail(i)).isZero();
        assertThat(log).contains("drain started").contains("drain finished").contains("files service stopped");
        stoppedIds.add(stopped);
        setUp(i, false);
        cluster.start(i);
        cluster.awaitMembers(3);
        setUp(i, true);
        System.out.println("node " + i + " restarted; uploads completed meanwhile: " + (done.size() - before));
      }
      awaitAnswers(failures); // uploads go on through the restarted last node
    } finally {
      stop.set(true);
      for (Thread t : threads) {
        t.join(60_000);
      }
    }
    assertThat(failures).as("client failures").isEmpty();
    System.out.println("rolling restart: " + done.size() + " uploads completed, " + resent.get()
        + " request(s) sent again to another node, answers per node " + served);
    assertThat(done.size()).as("uploads completed").isGreaterThanOrEqualTo(9);

    for (int k = 0; k < done.size(); k++) {
      Uploaded u = done.get(k);
      int i = k % 3;
      HttpResponse<byte[]> down = cluster.api(i).download(company, u.id(), token);
      assertThat(down.statusCode()).as("download of " + u.id() + " through node " + i).isEqualTo(200);
      assertThat(Api.sha256(down.body())).as("SHA-256 of " + u.id()).isEqualTo(u.sha256());
      assertThat(Db.count(cluster.db(), "SELECT count(*) FROM chunks WHERE file_id = '" + u.id() + "'"))
          .as("chunks recorded of " + u.id()).isEqualTo(u.chunks());
      assertThat(Db.count(cluster.db(), "SELECT count(*) FROM files WHERE id = '" + u.id() + "' AND upload_generation IS NULL"
          + " AND size = " + u.size() + " AND chunks = " + u.chunks())).as("file row of " + u.id()).isEqualTo(1);
    }
    // no owner row names a node that has stopped: each stopping node removed its rows (or they were taken over)
    List<String> owners = Db.strings(cluster.db(), "SELECT owner_node FROM upload_sessions");
    assertThat(owners).as("owner rows naming a stopped node " + stoppedIds).doesNotContainAnyElementsOf(stoppedIds);
    assertThat(owners).as("owner rows name running nodes").isSubsetOf(cluster.ids());
    System.out.println("owner rows left (sessions still running per node " + sessionsPerNode() + "): " + Db.strings(cluster.db(),
        "SELECT u.file_id || ' epoch ' || u.epoch || ' owner ' || u.owner_node || ' upload generation '"
        + " || coalesce(f.upload_generation::text, '-') FROM upload_sessions u LEFT JOIN files f ON f.id = u.file_id"));
    assertThat(Db.strings(cluster.db(), "SELECT node_id FROM nodes")).as("leases of stopped nodes")
        .doesNotContainAnyElementsOf(stoppedIds);
  }
}

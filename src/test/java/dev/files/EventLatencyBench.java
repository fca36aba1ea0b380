package dev.files;

import dev.files.bus.Addresses;
import dev.files.support.Api;
import dev.files.support.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Latency of a file event on a 3-node cluster (one database): from the event's {@code at} (taken in the
 * committing transaction, just before its COMMIT) to its delivery to a subscriber of {@code files.events}
 * on another node than the one that committed, over {@code files.bench.events} (default 1000) sequential
 * small uploads. A measurement, not a test: {@code scripts/test -o -Dtests.excluded=none -Dgroups=bench
 * -Dtest=EventLatencyBench}.
 */
class EventLatencyBench {

  @Test
  @Tag("bench")
  void eventLatencyOnThreeNodes() throws Exception {
    int count = Integer.getInteger("files.bench.events", 1000);
    int base = TestNode.freePort();
    String name = "files-bench-events-" + UUID.randomUUID();
    String members = "127.0.0.1:" + base + ",127.0.0.1:" + (base + 1) + ",127.0.0.1:" + (base + 2);
    TestNode a = TestNode.start(Map.of("cluster.enabled", true, "cluster.name", name, "cluster.port", base,
        "cluster.members", members, "thumbnails.workers", 0));
    List<TestNode> others = new ArrayList<>();
    try {
      for (int i = 1; i <= 2; i++) {
        Map<String, Object> s = new HashMap<>(a.settings);
        s.put("http.port", TestNode.freePort());
        s.put("cluster.port", base + i);
        others.add(TestNode.start(s));
      }
      TestNode subscriberNode = others.get(1);
      Map<String, Long> latencyMicros = new ConcurrentHashMap<>();
      Map<String, Integer> times = new ConcurrentHashMap<>();
      subscriberNode.node.vertx().eventBus().<JsonObject>consumer(Addresses.EVENTS, m -> {
        Instant now = Instant.now();
        JsonObject e = m.body();
        times.merge(e.getString("id"), 1, Integer::sum);
        Duration d = Duration.between(Instant.parse(e.getString("at")), now);
        latencyMicros.putIfAbsent(e.getString("id"), d.toNanos() / 1000);
      }).completion().await(10, TimeUnit.SECONDS);
      Thread.sleep(1000);
      UUID company = UUID.randomUUID();
      String token = TestNode.userToken(UUID.randomUUID(), company);
      Api api = new Api(a);
      for (int i = 0; i < count; i++) {
        HttpResponse<String> r = api.upload(company, token, "e" + i + ".txt", "text/plain", ("event " + i).getBytes());
        assertThat(r.statusCode()).isEqualTo(200);
      }
      eventually(Duration.ofSeconds(60), () -> assertThat(latencyMicros).hasSize(count));
      Thread.sleep(1000);
      assertThat(times.values()).allMatch(n -> n == 1);
      List<Long> sorted = latencyMicros.values().stream().sorted().toList();
      String leader = a.node.relay().leading() ? "A (committing node)"
          : others.get(0).node.relay().leading() ? "B" : "C (subscriber's node)";
      System.out.printf("file events, 3 nodes, %d uploads on A, subscriber on C, relay on %s: at -> delivery"
              + " p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms%n", count, leader,
          pct(sorted, 50), pct(sorted, 90), pct(sorted, 99), sorted.get(sorted.size() - 1) / 1000.0);
    } finally {
      for (TestNode n : others) {
        n.stop();
      }
      a.close();
    }
  }

  private static double pct(List<Long> sorted, int p) {
    int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, i)) / 1000.0;
  }
}

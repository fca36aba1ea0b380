package dev.files;

import dev.files.cluster.ClusterSettings;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import dev.files.support.Eventually;
import dev.files.support.TestNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The cluster a node joins and where Hazelcast listens come from {@code cluster.*}, not from cluster.xml:
 * two nodes in one JVM join each other through {@code cluster.members}, under {@code cluster.name}, and
 * Hazelcast binds {@code cluster.host} (127.0.0.1) only, never every interface.
 */
class ClusterConfigTest {

  @Test
  void twoNodesJoinThroughTheConfiguredMembersAndListenOnTheClusterHostOnly() throws Exception {
    int base = TestNode.twoFreePorts();
    String name = "files-conf-" + UUID.randomUUID();
    String members = "127.0.0.1:" + base + ", 127.0.0.1:" + (base + 1);
    int bus = TestNode.freePort();
    try (TestNode a = TestNode.start(Map.of("cluster.enabled", true, "cluster.name", name, "cluster.port", base,
             "cluster.members", members, "cluster.event_bus_port", bus));
         TestNode b = TestNode.start(Map.of("cluster.enabled", true, "cluster.name", name, "cluster.port", base + 1,
             "cluster.members", "[\"127.0.0.1:" + base + "\", \"127.0.0.1:" + (base + 1) + "\"]"))) {
      List<HazelcastInstance> ours = Hazelcast.getAllHazelcastInstances().stream()
          .filter(h -> h.getConfig().getClusterName().equals(name)).toList();
      assertThat(ours).hasSize(2);
      Eventually.eventually(java.time.Duration.ofSeconds(60), () -> assertThat(ours).allSatisfy(h -> assertThat(h.getCluster().getMembers()).hasSize(2)));
      Set<Integer> ports = new TreeSet<>();
      for (HazelcastInstance h : ours) {
        assertThat(h.getConfig().getNetworkConfig().getJoin().getTcpIpConfig().getMembers())
            .containsExactly("127.0.0.1:" + base, "127.0.0.1:" + (base + 1));
        assertThat(h.getCluster().getLocalMember().getAddress().getHost()).isEqualTo("127.0.0.1");
        int port = h.getCluster().getLocalMember().getAddress().getPort();
        ports.add(port);
        // what the kernel says: the member port is listened on at 127.0.0.1 and nowhere else (not 0.0.0.0, not ::)
        assertThat(listeners(port)).as("addresses listening on Hazelcast port %d", port).containsExactly("127.0.0.1");
      }
      assertThat(ports).containsExactly(base, base + 1);
      // the event bus of node a listens where cluster.event_bus_port says, on cluster.host only
      assertThat(listeners(bus)).as("addresses listening on event bus port %d", bus).containsExactly("127.0.0.1");
    }
  }

  /**
   * A relative cluster.config is found in the installation (the JVM property files.home, which scripts/run
   * sets; else the project of the jar or classes directory), not in the working directory; when the
   * installation has no cluster.xml (the default), the copy packed into the jar is used.
   */
  @Test
  void clusterConfigIsFoundInTheInstallationNotTheWorkingDirectory(@TempDir Path home) throws Exception {
    assertThat(ClusterSettings.installation()).as("the classes of target/classes: the project").isEqualTo(Path.of("").toAbsolutePath());
    String before = System.getProperty("files.home");
    System.setProperty("files.home", home.toString());
    try {
      assertThat(ClusterSettings.installation()).isEqualTo(home);
      Files.writeString(home.resolve("custom.xml"), """
          <hazelcast xmlns="http://www.hazelcast.com/schema/config">
            <properties><property name="hazelcast.heartbeat.interval.seconds">7</property></properties>
          </hazelcast>
          """);
      var custom = ClusterSettings.hazelcast(FilesConfig.load(Map.of(), Map.of("cluster.config", "custom.xml")));
      assertThat(custom.getProperty("hazelcast.heartbeat.interval.seconds")).isEqualTo("7");
      var packed = ClusterSettings.hazelcast(FilesConfig.load(Map.of(), Map.of()));
      assertThat(packed.getProperty("hazelcast.phone.home.enabled")).as("cluster.xml's own settings").isEqualTo("false");
      assertThat(packed.getMultiMapConfig("__vertx.subs").getValueCollectionType())
          .isEqualTo(com.hazelcast.config.MultiMapConfig.ValueCollectionType.SET);
      assertThatThrownBy(() -> ClusterSettings.hazelcast(FilesConfig.load(Map.of(), Map.of("cluster.config", "missing.xml"))))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("cannot join the cluster: cannot read " + home.resolve("missing.xml") + " (check cluster.config)");
    } finally {
      if (before == null) {
        System.clearProperty("files.home");
      } else {
        System.setProperty("files.home", before);
      }
    }
  }

  /** No member list: the same cluster.port on one machine, the second node takes the next port and they join. */
  @Test
  void nodesOnOneMachineFindEachOtherWithoutAMemberList() throws Exception {
    int base = TestNode.twoFreePorts();
    String name = "files-conf-" + UUID.randomUUID();
    Map<String, Object> settings = Map.of("cluster.enabled", true, "cluster.name", name, "cluster.port", base);
    try (TestNode a = TestNode.start(settings); TestNode b = TestNode.start(settings)) {
      List<HazelcastInstance> ours = Hazelcast.getAllHazelcastInstances().stream()
          .filter(h -> h.getConfig().getClusterName().equals(name)).toList();
      Eventually.eventually(java.time.Duration.ofSeconds(60), () -> assertThat(ours).hasSize(2)
          .allSatisfy(h -> assertThat(h.getCluster().getMembers()).hasSize(2)));
      assertThat(ours.stream().map(h -> h.getCluster().getLocalMember().getAddress().getPort()))
          .containsExactlyInAnyOrder(base, base + 1);
    }
  }

  @Test
  void theDefaultNameDependsOnTheWorkingDirectoryAndTheDatabase() {
    String one = ClusterSettings.defaultName(Path.of("/srv/files-a"), "postgresql://postgres@127.0.0.1:5432/files");
    assertThat(one).matches("files-[0-9a-f]{12}");
    assertThat(ClusterSettings.defaultName(Path.of("/srv/files-a"), "postgresql://postgres@127.0.0.1:5432/files"))
        .isEqualTo(one);
    assertThat(ClusterSettings.defaultName(Path.of("/srv/files-b"), "postgresql://postgres@127.0.0.1:5432/files"))
        .isNotEqualTo(one);
    assertThat(ClusterSettings.defaultName(Path.of("/srv/files-a"), "postgresql://postgres@127.0.0.1:5432/other"))
        .isNotEqualTo(one);
    // the password is not part of it (it is masked before hashing): changing it keeps the cluster
    assertThat(ClusterSettings.defaultName(Path.of("/srv/a"), "postgresql://u:one@h:5432/files"))
        .isEqualTo(ClusterSettings.defaultName(Path.of("/srv/a"), "postgresql://u:two@h:5432/files"));
    FilesConfig unnamed = FilesConfig.load(Map.of(), Map.of("db.url", "postgresql://postgres@127.0.0.1:5432/x"));
    assertThat(ClusterSettings.name(unnamed))
        .isEqualTo(ClusterSettings.defaultName(Path.of("").toAbsolutePath(), "postgresql://postgres@127.0.0.1:5432/x"));
    FilesConfig named = FilesConfig.load(Map.of("FILES_CLUSTER_NAME", "prod-files"), Map.of());
    assertThat(ClusterSettings.name(named)).isEqualTo("prod-files");
  }

  @Test
  void theConfigurationReplacesWhatTheXmlSaysAndIsReadFromTheEnvironment() {
    FilesConfig config = FilesConfig.load(Map.of("FILES_CLUSTER_MEMBERS", "10.0.0.5:5801,10.0.0.6:5801",
        "FILES_CLUSTER_PORT", "5801", "FILES_CLUSTER_NAME", "prod"), Map.of("cluster.config", "cluster.xml"));
    var hz = ClusterSettings.hazelcast(config);
    assertThat(hz.getClusterName()).isEqualTo("prod");
    assertThat(hz.getNetworkConfig().getPort()).isEqualTo(5801);
    assertThat(hz.getNetworkConfig().isPortAutoIncrement()).as("members on other machines: exactly the port").isFalse();
    assertThat(hz.getNetworkConfig().getJoin().getTcpIpConfig().isEnabled()).isTrue();
    assertThat(hz.getNetworkConfig().getJoin().getMulticastConfig().isEnabled()).isFalse();
    assertThat(hz.getNetworkConfig().getJoin().getTcpIpConfig().getMembers())
        .containsExactly("10.0.0.5:5801", "10.0.0.6:5801");
    assertThat(hz.getNetworkConfig().getInterfaces().isEnabled()).isTrue();
    assertThat(hz.getNetworkConfig().getInterfaces().getInterfaces()).containsExactly("127.0.0.1");
    assertThat(hz.getProperty("hazelcast.socket.bind.any")).isEqualTo("false");
    assertThat(hz.getMapConfig("__vertx.haInfo").getBackupCount()).as("the XML's own settings stay").isEqualTo(1);

    var local = ClusterSettings.hazelcast(FilesConfig.load(Map.of(), Map.of("cluster.config", "cluster.xml")));
    assertThat(local.getNetworkConfig().getPort()).isEqualTo(5701);
    assertThat(local.getNetworkConfig().isPortAutoIncrement()).as("one machine: the next ports may be taken").isTrue();
    assertThat(local.getNetworkConfig().getJoin().getTcpIpConfig().getMembers()).containsExactly("127.0.0.1");
  }

  @Test
  void malformedMembersAndWildcardHostsAreRefusedInOneLine() throws Exception {
    assertThatThrownBy(() -> ClusterSettings.hazelcast(FilesConfig.load(Map.of(),
        Map.of("cluster.members", "127.0.0.1:5801-5805"))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("cluster.members: '127.0.0.1:5801-5805' is not host:port with a port 1-65535"
            + " (ranges are not accepted: list members one by one) (check cluster.members)");
    assertThatThrownBy(() -> ClusterSettings.hazelcast(FilesConfig.load(Map.of(), Map.of("cluster.host", "0.0.0.0"))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("cluster.host must be one address of this machine, not 0.0.0.0 (every interface) (check cluster.host)");
    // and through a start: the node refuses at once, before joining anything
    Map<String, Object> settings = TestNode.settings(Map.of("cluster.enabled", true, "cluster.members", "127.0.0.1:5801-5805"));
    assertThatThrownBy(() -> Node.start(FilesConfig.load(Map.of(), TestNode.nodeSettings(settings)))
        .await(60, java.util.concurrent.TimeUnit.SECONDS))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("cluster.members: '127.0.0.1:5801-5805' is not host:port");
    Files.deleteIfExists(Path.of((String) settings.get("storage.local.path"))); // the start never reached it
    assertThatThrownBy(() -> FilesConfig.load(Map.of("FILES_CLUSTER_PORT", "70000"), Map.of()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("cluster.port (FILES_CLUSTER_PORT) must be between 1 and 65535, got 70000");
  }

  /**
   * The local addresses of the TCP sockets listening on {@code port}, from /proc/net/tcp and /proc/net/tcp6:
   * IPv4 as dotted quads (an IPv4-mapped IPv6 address as its IPv4), {@code ::} (every interface) as
   * such, any other IPv6 address as 32 hex digits.
   */
  static Set<String> listeners(int port) throws IOException {
    Set<String> out = new TreeSet<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      Path p = Path.of(table);
      if (!Files.exists(p)) {
        continue;
      }
      List<String> lines = Files.readAllLines(p); // once: the table changes between two reads
      for (String line : lines.subList(1, lines.size())) {
        String[] f = line.strip().split("\\s+");
        String[] local = f[1].split(":");
        if (!f[3].equals("0A") || Integer.parseInt(local[1], 16) != port) {
          continue; // 0A: LISTEN
        }
        String hex = local[0];
        if (hex.length() == 32 && hex.startsWith("0000000000000000FFFF0000")) {
          hex = hex.substring(24); // IPv4-mapped
        }
        if (hex.length() == 8) { // four bytes in host (little-endian) order
          long v = Long.parseLong(hex, 16);
          out.add((v & 0xff) + "." + ((v >> 8) & 0xff) + "." + ((v >> 16) & 0xff) + "." + ((v >> 24) & 0xff));
        } else {
          out.add(hex.matches("0{32}") ? "::" : hex);
        }
      }
    }
    return out;
  }
}

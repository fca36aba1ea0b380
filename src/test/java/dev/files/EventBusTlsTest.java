package dev.files;

import dev.files.cluster.ClusterSettings;
import dev.files.support.TestNode;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Event-bus TLS ({@code cluster.tls.*}) with certificates made here by keytool: a node and a member whose
 * certificates the shared trust store holds exchange messages both ways; a member whose certificate is not
 * trusted (it trusts the others, they do not trust it) joins Hazelcast, sees the node's consumer, and still
 * cannot deliver a message to it.
 */
class EventBusTlsTest {

  @TempDir
  Path dir;

  @Test
  void trustedNodesExchangeMessagesAndAnUntrustedOneCannotDeliver() throws Exception {
    Path a = keyStore("a");
    Path b = keyStore("b");
    Path c = keyStore("c");
    Path trust = dir.resolve("trust.p12");
    for (String name : List.of("a", "b")) {
      keytool("-importcert", "-noprompt", "-alias", name, "-file", dir.resolve(name + ".crt").toString(),
          "-keystore", trust.toString(), "-storetype", "PKCS12", "-storepass", "trust-pw");
    }
    int base = TestNode.freePort();
    String name = "files-tls-" + UUID.randomUUID();
    String members = "127.0.0.1:" + base + ",127.0.0.1:" + (base + 1) + ",127.0.0.1:" + (base + 2);
    Map<String, Object> tls = Map.of("cluster.enabled", true, "cluster.name", name, "cluster.members", members,
        "cluster.tls.enabled", true, "cluster.tls.trust_store", trust.toString(),
        "cluster.tls.trust_store_password", "trust-pw");
    Map<String, Object> nodeSettings = new HashMap<>(tls);
    nodeSettings.put("cluster.port", base);
    nodeSettings.put("cluster.tls.key_store", a.toString());
    nodeSettings.put("cluster.tls.key_store_password", "secret-a");
    List<Vertx> members2 = new ArrayList<>();
    try (TestNode node = TestNode.start(nodeSettings)) {
      Vertx trusted = member(node, base + 1, b, "secret-b");
      members2.add(trusted);
      Vertx untrusted = member(node, base + 2, c, "secret-c");
      members2.add(untrusted);

      List<String> received = new CopyOnWriteArrayList<>();
      node.node.vertx().eventBus().<String>consumer("test.tls.node", m -> {
        received.add(m.body());
        m.reply("node got " + m.body());
      }).completion().await(10, TimeUnit.SECONDS);
      trusted.eventBus().<String>consumer("test.tls.member", m -> m.reply("member got " + m.body()))
          .completion().await(10, TimeUnit.SECONDS);

      // a request that fails (no reply within 5 s on a loaded machine) is asked again, until 2 min
      eventually(Duration.ofSeconds(120), () -> assertThat(trusted.eventBus()
          .<String>request("test.tls.node", "hello", new DeliveryOptions().setSendTimeout(5000))
          .map(m -> m.body()).otherwise(failed -> "failed: " + failed.getMessage())
          .await(10, TimeUnit.SECONDS)).isEqualTo("node got hello"));
      assertThat(node.node.vertx().eventBus().<String>request("test.tls.member", "hi")
          .await(10, TimeUnit.SECONDS).body()).isEqualTo("member got hi");

      // the untrusted member knows where the consumer is (Hazelcast has no TLS) ...
      HazelcastClusterManager cm = (HazelcastClusterManager) ((io.vertx.core.internal.VertxInternal) untrusted).clusterManager();
      eventually(Duration.ofSeconds(30), () -> {
        io.vertx.core.Promise<List<io.vertx.core.spi.cluster.RegistrationInfo>> regs = io.vertx.core.Promise.promise();
        cm.getRegistrations("test.tls.node", regs);
        assertThat(regs.future().await(10, TimeUnit.SECONDS)).isNotEmpty();
      });
      // ... and cannot deliver to it: the node refuses its certificate
      assertThatThrownBy(() -> untrusted.eventBus().<String>request("test.tls.node", "from the untrusted member",
              new DeliveryOptions().setSendTimeout(5000)).await(20, TimeUnit.SECONDS))
          .isInstanceOfSatisfying(ReplyException.class,
              e -> assertThat(e.failureType()).isNotEqualTo(ReplyFailure.RECIPIENT_FAILURE));
      untrusted.eventBus().send("test.tls.node", "sent by the untrusted member");
      Thread.sleep(2000); // let a delivery, if any, arrive
      assertThat(received).containsExactly("hello");
    } finally {
      for (Vertx v : members2) {
        v.close().await(30, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void tlsWithoutAKeyStoreRefusesToStartNamingTheKey() throws Exception {
    Map<String, Object> settings = TestNode.settings(Map.of("cluster.enabled", true, "cluster.tls.enabled", true,
        "cluster.name", "files-tls-" + UUID.randomUUID(), "cluster.port", TestNode.freePort()));
    assertThatThrownBy(() -> Node.start(FilesConfig.load(Map.of(), TestNode.nodeSettings(settings))).await(60, TimeUnit.SECONDS))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("cluster.tls.key_store must be set when cluster.tls.enabled is true (a PKCS#12 file) (check cluster.tls.key_store)");
    Path store = keyStore("w");
    Map<String, Object> wrong = new HashMap<>(settings);
    wrong.putAll(Map.of("cluster.tls.key_store", store.toString(), "cluster.tls.key_store_password", "not-the-password",
        "cluster.tls.trust_store", store.toString(), "cluster.tls.trust_store_password", "secret-w"));
    assertThatThrownBy(() -> Node.start(FilesConfig.load(Map.of(), TestNode.nodeSettings(wrong))).await(60, TimeUnit.SECONDS))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("cannot open the PKCS#12 store " + store + ": ")
        .hasMessageEndingWith(" (check cluster.tls.key_store and cluster.tls.key_store_password)");
  }

  /** A clustered Vert.x on the node's cluster, its event bus configured like a node's, with this key store. */
  private Vertx member(TestNode node, int port, Path keyStore, String password) throws Exception {
    Map<String, Object> settings = new HashMap<>(TestNode.nodeSettings(node.settings));
    settings.put("cluster.port", port);
    settings.put("cluster.tls.key_store", keyStore.toString());
    settings.put("cluster.tls.key_store_password", password);
    FilesConfig config = FilesConfig.load(Map.of(), settings);
    return Vertx.builder().with(new VertxOptions().setEventBusOptions(ClusterSettings.eventBus(config)))
        .withClusterManager(new HazelcastClusterManager(ClusterSettings.hazelcast(config)))
        .buildClustered().await(60, TimeUnit.SECONDS);
  }

  /** A PKCS#12 key store {@code <name>.p12} (password {@code secret-<name>}) with a new self-signed EC certificate for 127.0.0.1, exported to {@code <name>.crt}. */
  private Path keyStore(String name) throws Exception {
    Path store = dir.resolve(name + ".p12");
    keytool("-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=files-test-" + name,
        "-ext", "san=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(),
        "-storepass", "secret-" + name, "-keypass", "secret-" + name);
    keytool("-exportcert", "-alias", name, "-keystore", store.toString(), "-storepass", "secret-" + name,
        "-file", dir.resolve(name + ".crt").toString());
    return store;
  }

  private static void keytool(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("keytool %s: %s", args[0], out).isZero();
  }
}

package dev.files.cluster;

import com.hazelcast.config.ClasspathXmlConfig;
import com.hazelcast.config.Config;
import com.hazelcast.config.FileSystemXmlConfig;
import dev.files.FilesConfig;
import dev.files.api.FilesCluster;
import dev.files.model.Texts;

import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.PfxOptions;

import java.io.FileNotFoundException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The Hazelcast configuration of a clustered node: the XML file named by {@code cluster.config} (the place
 * for advanced settings: properties, heartbeats, maps; a relative path is in the {@link #installation()}), then, from the service configuration, whatever decides
 * which cluster a node joins and where it listens. These replace what the XML says about them:
 * <ul>
 *   <li>the cluster name: {@code cluster.name}, or when empty {@link #defaultName(Path, String)};</li>
 *   <li>the member port: {@code cluster.port}; auto-increment (by the XML's port-count) only when every member
 *       listed is on {@code cluster.host} (one machine, several nodes); otherwise exactly that port;</li>
 *   <li>the members to join over TCP/IP: {@code cluster.members} ({@code host} or {@code host:port} each; when
 *       empty, {@code cluster.host}, on which Hazelcast tries every port of the range); multicast and
 *       auto-detection are off;</li>
 *   <li>the interface: {@code cluster.host} (an IP address, or a name resolved once at start), and Hazelcast
 *       listens on that address only ({@code hazelcast.socket.bind.any=false}); without it Hazelcast listens on
 *       every interface of the machine.</li>
 * </ul>
 * Errors are {@link IllegalStateException}s with one line naming the key to check.
 */
public final class ClusterSettings {

  private ClusterSettings() {
  }

  /**
   * The Hazelcast configuration of this node.
   *
   * @throws IllegalStateException when {@code cluster.config} cannot be read or is not Hazelcast XML, when
   *     {@code cluster.host} is a wildcard or does not resolve, or when a member of {@code cluster.members} is not
   *     {@code host[:port]}
   */
  public static Config hazelcast(FilesConfig config) {
    Config hz = xml(config.string("cluster.config"));
    String host = host(config);
    List<String> members = members(config, host);
    return FilesCluster.network(hz, name(config), members, host, (int) config.number("cluster.port"),
        oneHost(members, host));
  }

  /** The default of {@code cluster.config}, also packed into the jar. */
  static final String DEFAULT_XML = "cluster.xml";

  /**
   * The Hazelcast XML named by {@code cluster.config}: an absolute path as it is, a relative one in the
   * {@link #installation()} (not the working directory). The default, {@value #DEFAULT_XML}, when the
   * installation has no such file, is the copy packed into the jar.
   */
  static Config xml(String configured) {
    Path file = installation().resolve(configured).normalize();
    try {
      if (configured.equals(DEFAULT_XML) && !Files.exists(file)) {
        return new ClasspathXmlConfig(DEFAULT_XML);
      }
      return new FileSystemXmlConfig(file.toFile());
    } catch (FileNotFoundException e) {
      throw new IllegalStateException("cannot join the cluster: cannot read " + file + " (check cluster.config)", e);
    } catch (RuntimeException e) {
      throw new IllegalStateException("cannot join the cluster: " + file + " is not a Hazelcast configuration: "
          + Texts.oneLine(e) + " (check cluster.config)", e);
    }
  }

  /**
   * The directory the service is installed in, against which {@code cluster.config} is resolved: the system
   * property {@code files.home} when set ({@code scripts/run} sets it to the project directory), else the
   * directory of the jar (or classes directory) this class was loaded from, or the project directory above it
   * when that is Maven's {@code target} (or {@code target/classes}).
   */
  public static Path installation() {
    String home = System.getProperty("files.home", "").strip();
    if (!home.isEmpty()) {
      return Path.of(home).toAbsolutePath();
    }
    try {
      Path code = Path.of(ClusterSettings.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path dir = Files.isDirectory(code) ? code : code.getParent();
      if (dir.getFileName() != null && dir.getFileName().toString().equals("classes")) {
        dir = dir.getParent();
      }
      if (dir.getFileName() != null && dir.getFileName().toString().equals("target") && dir.getParent() != null) {
        dir = dir.getParent();
      }
      return dir;
    } catch (java.net.URISyntaxException | RuntimeException e) {
      return Path.of("").toAbsolutePath();
    }
  }

  /**
   * The event-bus options of a clustered node: it listens on {@code cluster.host}, port
   * {@code cluster.event_bus_port} (0: any free port); with
   * {@code cluster.tls.enabled}, its connections to and from the other nodes use TLS with client
   * authentication required: it presents the certificate of {@code cluster.tls.key_store} (PKCS#12,
   * password {@code cluster.tls.key_store_password}) and accepts only peers whose certificate is trusted
   * by {@code cluster.tls.trust_store} (PKCS#12, password {@code cluster.tls.trust_store_password}), both
   * ways. Hazelcast's own connections are not covered (README, "Running a cluster").
   *
   * @throws IllegalStateException when TLS is on and a store is not set, cannot be read or does not open
   *     with its password
   */
  public static EventBusOptions eventBus(FilesConfig config) {
    EventBusOptions options = new EventBusOptions().setHost(host(config))
        .setPort((int) config.number("cluster.event_bus_port"));
    if (!config.flag("cluster.tls.enabled")) {
      return options;
    }
    return options.setSsl(true).setClientAuth(ClientAuth.REQUIRED)
        .setKeyCertOptions(new PfxOptions().setPath(store(config, "cluster.tls.key_store"))
            .setPassword(config.string("cluster.tls.key_store_password")))
        .setTrustOptions(new PfxOptions().setPath(store(config, "cluster.tls.trust_store"))
            .setPassword(config.string("cluster.tls.trust_store_password")));
  }

  /** The path of the PKCS#12 store of {@code key}, opened once with its password ({@code key + "_password"}). */
  private static String store(FilesConfig config, String key) {
    String path = config.string(key).strip();
    if (path.isEmpty()) {
      throw new IllegalStateException(key + " must be set when cluster.tls.enabled is true (a PKCS#12 file) (check " + key + ")");
    }
    try (var in = Files.newInputStream(Path.of(path))) {
      java.security.KeyStore.getInstance("PKCS12").load(in, config.string(key + "_password").toCharArray());
    } catch (java.io.IOException | java.security.GeneralSecurityException e) {
      String reason = e instanceof java.nio.file.NoSuchFileException ? "no such file"
          : e instanceof java.nio.file.AccessDeniedException ? "permission denied"
          : e.getCause() instanceof java.security.UnrecoverableKeyException ? "wrong password"
          : Texts.oneLine(e);
      throw new IllegalStateException("cannot open the PKCS#12 store " + path + ": " + reason + " (check " + key
          + " and " + key + "_password)", e);
    }
    return path;
  }

  /** {@code cluster.name}, or when empty the default of this working directory and database. */
  public static String name(FilesConfig config) {
    String name = config.string("cluster.name").strip();
    return name.isEmpty() ? defaultName(Path.of("").toAbsolutePath(), config.string("db.url")) : name;
  }

  /**
   * The default cluster name: {@code files-} and the first 12 hex digits of the SHA-256 of the absolute working
   * directory, a line feed, and {@code db.url} with its password masked. Nodes started from one directory on one
   * database (scripts, one machine) share it; two unrelated clones on one machine do not, so they never join each
   * other by accident. Nodes on several machines set {@code cluster.name}.
   */
  public static String defaultName(Path workingDirectory, String dbUrl) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest((workingDirectory.toAbsolutePath() + "\n"
          + FilesConfig.printable("db.url", dbUrl)).getBytes(StandardCharsets.UTF_8));
      return "files-" + HexFormat.of().formatHex(digest, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }

  /** {@code cluster.host} as an IP address (127.0.0.1 when blank); a wildcard or an unknown name is refused. */
  static String host(FilesConfig config) {
    String host = config.string("cluster.host").strip();
    if (host.isEmpty()) {
      return "127.0.0.1";
    }
    InetAddress address;
    try {
      address = InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("cluster.host " + host + " does not resolve (check cluster.host)", e);
    }
    if (address.isAnyLocalAddress()) {
      throw new IllegalStateException("cluster.host must be one address of this machine, not " + host
          + " (every interface) (check cluster.host)");
    }
    return address.getHostAddress();
  }

  /** {@code cluster.members} checked ({@code host} or {@code host:port}); when empty, the host alone. */
  static List<String> members(FilesConfig config, String host) {
    List<String> members = new ArrayList<>();
    for (String member : config.list("cluster.members")) {
      int colon = member.lastIndexOf(':');
      boolean bracketed = member.startsWith("[");
      boolean hasPort = colon > 0 && (bracketed ? member.lastIndexOf(']') == colon - 1 : member.indexOf(':') == colon);
      if (hasPort) {
        String port = member.substring(colon + 1);
        int p;
        try {
          p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
          p = -1;
        }
        if (p < 1 || p > 65535 || member.substring(0, colon).isBlank()) {
          throw new IllegalStateException("cluster.members: '" + member + "' is not host:port with a port 1-65535"
              + " (ranges are not accepted: list members one by one) (check cluster.members)");
        }
      } else if (member.isBlank() || member.contains("/") || member.contains(" ")) {
        throw new IllegalStateException("cluster.members: '" + member + "' is not host:port (check cluster.members)");
      }
      members.add(member);
    }
    return members.isEmpty() ? List.of(host) : List.copyOf(members);
  }

  /** True when every member is on {@code host} (then ports auto-increment, several nodes share the machine). */
  static boolean oneHost(List<String> members, String host) {
    for (String member : members) {
      int colon = member.lastIndexOf(':');
      String h = colon > 0 && member.indexOf(':') == colon ? member.substring(0, colon)
          : member.startsWith("[") && colon > 0 ? member.substring(1, colon - 1) : member;
      try {
        if (!InetAddress.getByName(h).getHostAddress().equals(host)) {
          return false;
        }
      } catch (UnknownHostException e) {
        return false;
      }
    }
    return true;
  }
}

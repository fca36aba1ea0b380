package dev.files.bus;

import io.vertx.core.Handler;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Closes the service's internal event-bus addresses ({@code files.upload.*}, {@code files.thumbnails},
 * {@code files.thumbnails.ready.*}, {@code files.internal.*}) to everything but the service's own nodes.
 *
 * <p>Every internal message carries the header {@value #HEADER}: the cluster's secret, the base64 of
 * HMAC-SHA256(master key, {@code "files event bus"}) where the master key is the 32 bytes of
 * {@code encryption.master_key}. Nothing new to configure: every node of a cluster has that key. A
 * consumer wrapped by {@link #guard(Handler)} acts only on a message whose header is the secret of this
 * node's master key or of one of {@code encryption.previous_keys} (so nodes keep talking while a key
 * rotation is rolled out); any other message is logged and never handed on, and when it expects a reply
 * it is failed with code 403. Senders add the header with {@link #options()}.
 *
 * <p>What it does not do: the header is a bearer secret. Without event-bus TLS it crosses the network in
 * clear, and a process that joins the cluster can listen to published addresses or register its own
 * consumer on an internal address and so learn it; with {@code cluster.tls.*} a process without a trusted
 * certificate can neither deliver to nor receive from a node. Keep the cluster network private
 * (README, "Running a cluster").
 */
public final class InternalBus {

  private static final Logger LOG = LoggerFactory.getLogger(InternalBus.class);
  /** The header carrying the cluster's secret. */
  public static final String HEADER = "files-cluster-secret";
  private static final byte[] LABEL = "files event bus".getBytes(StandardCharsets.UTF_8);

  private final String secret;
  private final List<byte[]> accepted;

  private InternalBus(String secret, List<String> accepted) {
    this.secret = secret;
    this.accepted = accepted.stream().map(s -> s.getBytes(StandardCharsets.US_ASCII)).toList();
  }

  /**
   * The guard of a node: its secret from {@code masterKey} (base64 of the key), also accepting those of
   * {@code previousKeys} ({@code id:base64[,id:base64...]}, may be blank).
   *
   * @throws IllegalStateException when a key is not base64
   */
  public static InternalBus create(String masterKey, String previousKeys) {
    String mine = secret(masterKey);
    List<String> accepted = new ArrayList<>(List.of(mine));
    if (previousKeys != null && !previousKeys.isBlank()) {
      for (String entry : previousKeys.split(",")) {
        int colon = entry.indexOf(':');
        accepted.add(secret(colon < 0 ? entry.strip() : entry.substring(colon + 1).strip()));
      }
    }
    return new InternalBus(mine, accepted);
  }

  /** The secret derived from a master key (base64); a blank key (null cipher, benchmarks) gives a fixed one. */
  static String secret(String masterKey) {
    byte[] key = masterKey == null || masterKey.isBlank() ? "files without a master key".getBytes(StandardCharsets.UTF_8)
        : Base64.getDecoder().decode(masterKey.strip());
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return Base64.getEncoder().encodeToString(mac.doFinal(LABEL));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }

  /** Delivery options carrying the cluster's secret: use them for every internal send, request and publish. */
  public DeliveryOptions options() {
    return new DeliveryOptions().addHeader(HEADER, secret);
  }

  /**
   * Wraps the handler of an internal consumer: a message without the cluster's secret is logged (address,
   * no content), failed with 403 when it expects a reply, and never reaches {@code handler}.
   */
  public <T> Handler<Message<T>> guard(Handler<Message<T>> handler) {
    return msg -> {
      if (trusted(msg.headers().get(HEADER))) {
        handler.handle(msg);
        return;
      }
      LOG.warn("refused a message on internal address {}: it does not carry this cluster's secret "
          + "(a process that is not a node of this service, or a node with another master key)", msg.address());
      if (msg.replyAddress() != null) {
        msg.fail(403, "internal address: only the nodes of the files service may send here");
      }
    };
  }

  private boolean trusted(String header) {
    if (header == null) {
      return false;
    }
    byte[] given = header.getBytes(StandardCharsets.US_ASCII);
    boolean ok = false;
    for (byte[] a : accepted) {
      ok |= MessageDigest.isEqual(a, given);
    }
    return ok;
  }
}

package dev.files.auth;

import dev.files.error.Kind;
import dev.files.error.ServiceException;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.UUID;

/**
 * Short-lived signed download URLs, the answer of {@code files.api} action {@code read}:
 * {@code GET .../companies/<company_id>/files/<file_id>/download?expires=<epoch s>&signature=<s>}
 * where {@code s} is base64url (no padding) of HMAC-SHA256 over {@code "<company_id>/<file_id>/<expires>"}.
 * The HTTP edge honours such a URL on that download route only, until {@code expires}; after it, or
 * with another signature, the answer is 401.
 *
 * <p>The HMAC key is derived from the master key ({@code encryption.master_key}) every node of a
 * cluster shares, so a URL made by one node is honoured by all. Without a master key (null cipher,
 * benchmarks only) the key is random per node: its URLs work on that node only.
 */
public final class DownloadSigner {

  /** How long a signed URL is honoured, seconds. */
  public static final long TTL_S = 300;

  private final SecretKeySpec key;

  /** @param masterKey {@code encryption.master_key} (base64), or blank for a random per-node key */
  public DownloadSigner(String masterKey) {
    byte[] seed;
    if (masterKey == null || masterKey.isBlank()) {
      seed = new byte[32];
      new SecureRandom().nextBytes(seed);
    } else {
      seed = Base64.getDecoder().decode(masterKey.strip());
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(seed, "HmacSHA256"));
      // a key of its own for URLs: the master key itself never signs anything a client sees
      this.key = new SecretKeySpec(mac.doFinal("files download url v1".getBytes(StandardCharsets.UTF_8)), "HmacSHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA256 is not available", e);
    }
  }

  /** The signature of a download of {@code fileId} in {@code companyId} until {@code expiresS} (epoch seconds). */
  public String sign(UUID companyId, UUID fileId, long expiresS) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      byte[] sig = mac.doFinal((companyId + "/" + fileId + "/" + expiresS).getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(sig);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HMAC-SHA256 is not available", e);
    }
  }

  /** The query of a URL valid for {@link #TTL_S} from {@code nowMs}: {@code expires=…&signature=…}. */
  public String query(UUID companyId, UUID fileId, long nowMs) {
    long expires = nowMs / 1000 + TTL_S;
    return "expires=" + expires + "&signature=" + sign(companyId, fileId, expires);
  }

  /**
   * Checks a signed URL's parameters.
   *
   * @throws ServiceException of kind {@link Kind#UNAUTHORIZED} (401) when {@code expires} is not a number, has passed, or the signature does not match
   */
  public void verify(UUID companyId, UUID fileId, String expires, String signature) {
    long exp;
    try {
      exp = Long.parseLong(expires);
    } catch (NumberFormatException e) {
      throw ServiceException.unauthorized("invalid signed URL: expires must be seconds since the epoch");
    }
    byte[] expected = sign(companyId, fileId, exp).getBytes(StandardCharsets.US_ASCII);
    if (signature == null || !MessageDigest.isEqual(expected, signature.getBytes(StandardCharsets.US_ASCII))) {
      throw ServiceException.unauthorized("invalid signed URL: the signature does not match");
    }
    if (System.currentTimeMillis() / 1000 > exp) {
      throw ServiceException.unauthorized("signed URL expired");
    }
  }
}

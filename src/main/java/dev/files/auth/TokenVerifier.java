package dev.files.auth;

import dev.files.FilesConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;

import java.security.KeyFactory;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;

/**
 * Verifies the service's JWTs and turns them into {@link Caller}s.
 *
 * <p>Keys come from the configuration: {@code auth.jwt.secret} (HS256) and/or
 * {@code auth.jwt.public_key} (a PEM public key: RS256 for RSA, ES256 for EC). With neither, the
 * service must not start: vertx-auth-jwt without keys accepts unsigned {@code alg: none} tokens.
 * {@code exp} is required; {@code auth.jwt.issuer}, when set, must match {@code iss}.
 */
public final class TokenVerifier {

  private final JWTAuth jwt;

  private TokenVerifier(JWTAuth jwt) {
    this.jwt = jwt;
  }

  /**
   * Builds the verifier.
   *
   * @throws IllegalStateException when no key is configured or the public key cannot be read
   */
  public static TokenVerifier create(Vertx vertx, FilesConfig config) {
    return new TokenVerifier(JWTAuth.create(vertx, options(config)));
  }

  /** The vertx-auth-jwt options for the configured keys; also used to sign tokens (scripts/token). */
  public static JWTAuthOptions options(FilesConfig config) {
    String secret = config.string("auth.jwt.secret");
    String publicKey = config.string("auth.jwt.public_key");
    if (secret.isBlank() && publicKey.isBlank()) {
      throw new IllegalStateException("no JWT key configured: set auth.jwt.secret (FILES_AUTH_JWT_SECRET, HS256) "
          + "or auth.jwt.public_key (FILES_AUTH_JWT_PUBLIC_KEY, PEM for RS256/ES256); "
          + "without a key, unsigned 'alg: none' tokens would be accepted");
    }
    JWTOptions jwtOptions = new JWTOptions().setLeeway((int) config.number("auth.jwt.leeway_s"));
    String issuer = config.string("auth.jwt.issuer");
    if (!issuer.isBlank()) {
      jwtOptions.setIssuer(issuer);
    }
    JWTAuthOptions options = new JWTAuthOptions().setJWTOptions(jwtOptions);
    if (!secret.isBlank()) {
      options.addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(secret));
    }
    if (!publicKey.isBlank()) {
      options.addPubSecKey(new PubSecKeyOptions().setAlgorithm(algorithmOf(publicKey)).setBuffer(publicKey));
    }
    return options;
  }

  /** RS256 for an RSA key, ES256 for an EC key. */
  static String algorithmOf(String pem) {
    String base64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    byte[] der;
    try {
      der = Base64.getDecoder().decode(base64);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("auth.jwt.public_key is not a PEM public key");
    }
    for (String[] kind : new String[][]{{"RSA", "RS256"}, {"EC", "ES256"}}) {
      try {
        KeyFactory.getInstance(kind[0]).generatePublic(new X509EncodedKeySpec(der));
        return kind[1];
      } catch (Exception ignored) {
        // try the next kind
      }
    }
    throw new IllegalStateException("auth.jwt.public_key is neither an RSA nor an EC public key");
  }

  /**
   * Verifies a token and returns its caller.
   *
   * @return fails with {@link AuthException} (401) for a bad signature, {@code alg: none}, expiry,
   *     a missing {@code exp}, or a {@code sub}/{@code application_id} that is not a UUID
   */
  public Future<Caller> verify(String token) {
    return jwt.authenticate(new TokenCredentials(token))
        .recover(err -> Future.failedFuture(new AuthException("invalid token: " + reason(err))))
        .map(user -> {
          JsonObject claims = user.attributes().getJsonObject("accessToken", user.principal());
          if (claims.getValue("exp") == null) {
            throw new AuthException("invalid token: exp is required");
          }
          UUID sub = uuid(claims.getValue("sub"), "sub");
          if (sub == null) {
            throw new AuthException("invalid token: sub is required");
          }
          UUID app = uuid(claims.getValue("application_id"), "application_id");
          Set<UUID> companies = new HashSet<>();
          if (claims.getValue("companies") instanceof JsonArray list) {
            for (Object c : list) {
              try {
                companies.add(UUID.fromString(String.valueOf(c)));
              } catch (IllegalArgumentException ignored) {
                // not a company id: it cannot grant anything
              }
            }
          }
          boolean server = Boolean.TRUE.equals(claims.getValue("server_request"));
          return new Caller(sub, app, Set.copyOf(companies), server);
        });
  }

  private static String reason(Throwable err) {
    String m = err.getMessage() == null ? err.getClass().getSimpleName() : err.getMessage();
    if (m.contains("\n") || m.contains("[Source") || m.length() > 200) {
      return "malformed token"; // a JSON parser's details say nothing useful to the caller
    }
    return m.replaceFirst("^Invalid JWT token: ", "");
  }

  private static UUID uuid(Object value, String claim) {
    if (value == null) {
      return null;
    }
    try {
      return UUID.fromString(String.valueOf(value));
    } catch (IllegalArgumentException e) {
      throw new AuthException("invalid token: " + claim + " must be a UUID");
    }
  }
}

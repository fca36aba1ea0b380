package dev.files.auth;

import dev.files.error.Kind;
import dev.files.error.ServiceException;

import dev.files.FilesConfig;
import dev.files.model.Uuids;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;

import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Verifies the service's JWTs and turns them into {@link Caller}s.
 *
 * <p>Keys come from the configuration: {@code auth.jwt.secret} (HS256, at least
 * {@value #MIN_SECRET_BYTES} bytes, RFC 7518 section 3.2) or {@code auth.jwt.public_key} (a PEM
 * public key: RS256 for RSA, ES256 for EC); both at once only with {@code auth.jwt.allow_mixed}
 * (a shared secret beside a key pair lets whoever holds the secret sign tokens too). With no key the
 * service must not start: vertx-auth-jwt without keys accepts unsigned {@code alg: none} tokens.
 * {@code exp} is required; {@code exp}, {@code iat} and {@code nbf} must be numbers (NumericDate,
 * RFC 7519); {@code auth.jwt.issuer}, when set, must match {@code iss}; {@code auth.jwt.audience},
 * when set, must be {@code aud} or one of its entries. Every other token is a 401.
 */
public final class TokenVerifier {

  /** Shortest HS256 secret accepted, in bytes (UTF-8): a key as long as the hash (RFC 7518, 3.2). */
  public static final int MIN_SECRET_BYTES = 32;
  /** The registered claims that must be NumericDate (a JSON number) when present. */
  private static final String[] TIME_CLAIMS = {"exp", "iat", "nbf"};

  /** Most tokens kept verified at once; beyond, the cache starts again empty. */
  static final int CACHED_TOKENS = 10_000;

  private final JWTAuth jwt;
  private final boolean audienceChecked;
  private final long leewayMs;
  /**
   * Tokens already verified, with their caller and the time (epoch ms) their {@code exp} (plus the
   * leeway) passes: a client sends one token with many requests, and its signature, claims and
   * times do not change. Only {@code exp} can turn a verified token bad; {@code nbf} and
   * {@code iat} only become truer with time.
   */
  private final java.util.concurrent.ConcurrentHashMap<String, Verified> verified = new java.util.concurrent.ConcurrentHashMap<>();

  private record Verified(Caller caller, long validUntilMs) {
  }

  private TokenVerifier(JWTAuth jwt, boolean audienceChecked, long leewayMs) {
    this.jwt = jwt;
    this.audienceChecked = audienceChecked;
    this.leewayMs = leewayMs;
  }

  /**
   * Builds the verifier.
   *
   * @throws IllegalStateException when no key is configured, the secret is shorter than
   *     {@value #MIN_SECRET_BYTES} bytes, both kinds of key are set without {@code auth.jwt.allow_mixed},
   *     or the public key cannot be read
   */
  public static TokenVerifier create(Vertx vertx, FilesConfig config) {
    JWTAuthOptions options = options(config);
    List<String> audience = options.getJWTOptions().getAudience();
    return new TokenVerifier(JWTAuth.create(vertx, options), audience != null && !audience.isEmpty(),
        options.getJWTOptions().getLeeway() * 1000L);
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
    int secretBytes = secret.getBytes(StandardCharsets.UTF_8).length;
    if (!secret.isBlank() && secretBytes < MIN_SECRET_BYTES) {
      throw new IllegalStateException("auth.jwt.secret (FILES_AUTH_JWT_SECRET) is " + secretBytes + " bytes; HS256 needs "
          + "at least " + MIN_SECRET_BYTES + " (make one with: head -c 32 /dev/urandom | base64)");
    }
    if (!secret.isBlank() && !publicKey.isBlank() && !config.flag("auth.jwt.allow_mixed")) {
      throw new IllegalStateException("both auth.jwt.secret (HS256) and auth.jwt.public_key are set: whoever holds the "
          + "secret could sign tokens the key pair is meant to guard; keep one, or set auth.jwt.allow_mixed=true "
          + "(FILES_AUTH_JWT_ALLOW_MIXED) to accept both");
    }
    JWTOptions jwtOptions = new JWTOptions().setLeeway((int) config.number("auth.jwt.leeway_s"));
    String issuer = config.string("auth.jwt.issuer");
    if (!issuer.isBlank()) {
      jwtOptions.setIssuer(issuer);
    }
    String audience = config.string("auth.jwt.audience");
    if (!audience.isBlank()) {
      jwtOptions.setAudience(List.of(audience));
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
   * Verifies a token and returns its caller. A token verified before and not yet expired is
   * answered from memory (at most {@value #CACHED_TOKENS} tokens are kept).
   *
   * @return fails with {@link ServiceException} of kind {@link Kind#UNAUTHORIZED} (401) for a bad signature, {@code alg: none}, expiry,
   *     a missing {@code exp}, or a {@code sub}/{@code application_id} that is not a UUID
   */
  public Future<Caller> verify(String token) {
    Verified known = verified.get(token);
    if (known != null) {
      if (System.currentTimeMillis() < known.validUntilMs()) {
        return Future.succeededFuture(known.caller());
      }
      verified.remove(token); // expired: verified again below, and refused
    }
    return check(token).andThen(ar -> {
      if (ar.succeeded() && exp(token) instanceof Number exp) {
        if (verified.size() >= CACHED_TOKENS) {
          verified.clear();
        }
        verified.put(token, new Verified(ar.result(), exp.longValue() * 1000L + leewayMs));
      }
    });
  }

  /** The {@code exp} claim of a token already verified. */
  private static Object exp(String token) {
    String[] parts = token.split("\\.", -1);
    return new JsonObject(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8)).getValue("exp");
  }

  private Future<Caller> check(String token) {
    String refused = claimTypes(token);
    if (refused != null) {
      return Future.failedFuture(ServiceException.unauthorized("invalid token: " + refused));
    }
    Future<io.vertx.ext.auth.User> authenticated;
    try {
      authenticated = jwt.authenticate(new TokenCredentials(token));
    } catch (RuntimeException e) { // a claim the library did not expect: the token is at fault
      authenticated = Future.failedFuture(e);
    }
    return authenticated
        .recover(err -> Future.failedFuture(ServiceException.unauthorized("invalid token: " + reason(err))))
        .map(user -> {
          JsonObject claims = user.attributes().getJsonObject("accessToken", user.principal());
          if (claims.getValue("exp") == null) {
            throw ServiceException.unauthorized("invalid token: exp is required");
          }
          UUID sub = uuid(claims.getValue("sub"), "sub");
          if (sub == null) {
            throw ServiceException.unauthorized("invalid token: sub is required");
          }
          UUID app = uuid(claims.getValue("application_id"), "application_id");
          Set<UUID> companies = new HashSet<>();
          if (claims.getValue("companies") instanceof JsonArray list) {
            for (Object c : list) {
              UUID id = Uuids.parse(c); // only the canonical spelling names a company
              if (id != null) {
                companies.add(id);
              }
            }
          }
          boolean server = Boolean.TRUE.equals(claims.getValue("server_request"));
          return new Caller(sub, app, Set.copyOf(companies), server);
        })
        .recover(err -> Future.failedFuture(err instanceof ServiceException ? err
            : ServiceException.unauthorized("invalid token: malformed claims")));
  }

  /**
   * Checks the claim types the library would otherwise trip over, before the signature (a token
   * refused here is refused either way): the payload must be a JSON object whose {@code exp},
   * {@code iat} and {@code nbf}, when present, are numbers, and whose {@code aud}, when an audience
   * is configured, is a string or an array of strings.
   *
   * @return why the token is refused, or null to go on to the signature and the values
   */
  private String claimTypes(String token) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      return null; // the library says what is wrong with the token's shape
    }
    Object payload;
    try {
      payload = io.vertx.core.json.Json.decodeValue(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      return "malformed token";
    }
    if (!(payload instanceof JsonObject claims)) {
      return "the payload is not a JSON object";
    }
    for (String claim : TIME_CLAIMS) {
      if (claims.containsKey(claim) && !(claims.getValue(claim) instanceof Number)) {
        return claim + " must be a number (seconds since the epoch)";
      }
    }
    Object aud = claims.getValue("aud");
    if (audienceChecked && aud == null) {
      return "aud is required";
    }
    if (audienceChecked && !(aud instanceof String)) {
      if (!(aud instanceof JsonArray list) || list.stream().anyMatch(x -> !(x instanceof String))) {
        return "aud must be a string or an array of strings";
      }
    }
    return null;
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
    UUID id = Uuids.parse(value);
    if (id == null) {
      throw ServiceException.unauthorized("invalid token: " + claim + " must be a UUID (8-4-4-4-12 hex digits)");
    }
    return id;
  }
}

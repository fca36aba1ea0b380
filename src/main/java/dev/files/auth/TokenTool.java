package dev.files.auth;

import dev.files.FilesConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Prints a token for the configured key (used by {@code scripts/token}):
 * {@code --sub <uuid> --company <uuid> [--company <uuid>…] [--application] [--server] [--ttl 3600]
 * [--private-key key.pem]}. HS256 with {@code auth.jwt.secret}; with {@code --private-key} (PKCS#8
 * PEM) RS256 or ES256 for a service configured with the matching {@code auth.jwt.public_key}.
 * {@code --application} makes an application token ({@code application_id} = {@code sub});
 * {@code --server} adds {@code server_request: true}. Every token carries {@code exp} (the service
 * refuses tokens without it): {@code --ttl} is whole seconds from 1 to 2147483647.
 *
 * <p>{@code --help} prints the usage on stdout and exits 0. A bad argument or a missing key is one
 * line on stderr ({@code token: ...}) and exit status 2; a key that cannot sign, exit status 1.
 */
public final class TokenTool {

  /** The usage text, as {@code scripts/token --help} prints it. */
  public static final String USAGE = """
      usage: scripts/token --sub <uuid> [--company <uuid>]... [--application] [--server]
                           [--ttl <seconds>] [--private-key <pkcs8.pem>]
      Prints a JWT for the files service, signed with the configured auth.jwt.secret (HS256; the
      development secret when none is configured, as scripts/run does), or with --private-key
      (RS256 or ES256, for a service configured with the matching auth.jwt.public_key).
        --sub <uuid>          the caller (user id; the application id with --application); required
        --company <uuid>      a company the caller belongs to (the companies claim); repeatable
        --application         an application token (application_id = sub)
        --server              a server-to-server token (server_request: true)
        --ttl <seconds>       lifetime, 1 to 2147483647 (default 3600); the token carries exp
        --private-key <file>  PKCS#8 PEM private key (RSA or EC) to sign with instead of the secret
        -h, --help            this help""";

  private TokenTool() {
  }

  /** What was asked for on the command line. */
  record Request(String sub, List<String> companies, boolean application, boolean server, long ttl, String privateKeyFile) {
  }

  /** A bad command line: its message is the one line printed. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message, null, false, false);
    }
  }

  public static void main(String[] args) {
    for (String a : args) {
      if (a.equals("--help") || a.equals("-h")) {
        System.out.println(USAGE);
        System.exit(0);
        return;
      }
    }
    String token;
    try {
      token = sign(parse(args));
    } catch (UsageException e) {
      System.err.println("token: " + e.getMessage());
      System.exit(2);
      return;
    } catch (RuntimeException e) {
      System.err.println("token: cannot sign: " + (e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("")));
      System.exit(1);
      return;
    }
    System.out.println(token);
    System.exit(0);
  }

  /**
   * Parses the command line.
   *
   * @throws UsageException for an unknown option, a missing value, a malformed UUID, or a
   *     {@code --ttl} that is not a whole number of seconds from 1 to {@link Integer#MAX_VALUE}
   */
  static Request parse(String[] args) throws UsageException {
    String sub = null;
    List<String> companies = new ArrayList<>();
    boolean application = false;
    boolean server = false;
    long ttl = 3600;
    String privateKey = null;
    for (int i = 0; i < args.length; i++) {
      String option = args[i];
      switch (option) {
        case "--sub" -> sub = uuid(option, value(args, ++i, option));
        case "--company" -> companies.add(uuid(option, value(args, ++i, option)));
        case "--application" -> application = true;
        case "--server" -> server = true;
        case "--ttl" -> ttl = ttl(value(args, ++i, option));
        case "--private-key" -> privateKey = value(args, ++i, option);
        default -> throw new UsageException("unknown argument '" + option + "' (scripts/token --help)");
      }
    }
    if (sub == null) {
      throw new UsageException("--sub <uuid> is required (scripts/token --help)");
    }
    return new Request(sub, List.copyOf(companies), application, server, ttl, privateKey);
  }

  private static String value(String[] args, int i, String option) throws UsageException {
    if (i >= args.length || args[i].startsWith("--")) {
      throw new UsageException(option + " needs a value (scripts/token --help)");
    }
    return args[i];
  }

  private static String uuid(String option, String raw) throws UsageException {
    try {
      if (raw.length() == 36) {
        return UUID.fromString(raw).toString();
      }
    } catch (IllegalArgumentException ignored) {
      // falls through
    }
    throw new UsageException(option + " must be a UUID, got '" + raw + "'");
  }

  /** Whole seconds, 1 to Integer.MAX_VALUE: vertx-auth-jwt leaves {@code exp} out for 0 and takes an int. */
  private static long ttl(String raw) throws UsageException {
    long n;
    try {
      n = Long.parseLong(raw.strip());
    } catch (NumberFormatException e) {
      n = -1;
    }
    if (n < 1 || n > Integer.MAX_VALUE) {
      throw new UsageException("--ttl must be a whole number of seconds from 1 to " + Integer.MAX_VALUE + ", got '" + raw + "'");
    }
    return n;
  }

  /** Signs the token the request describes. */
  static String sign(Request r) throws UsageException {
    JsonObject claims = new JsonObject().put("sub", r.sub()).put("companies", new JsonArray(r.companies()));
    if (r.application()) {
      claims.put("application_id", r.sub());
    }
    if (r.server()) {
      claims.put("server_request", true);
    }
    JWTAuthOptions options;
    String algorithm;
    if (r.privateKeyFile() != null) {
      String privateKey;
      try {
        privateKey = Files.readString(Path.of(r.privateKeyFile()));
      } catch (IOException | RuntimeException e) {
        throw new UsageException("cannot read --private-key " + r.privateKeyFile() + " (" + e.getClass().getSimpleName() + ")");
      }
      if (!privateKey.contains("PRIVATE KEY-----")) {
        throw new UsageException("--private-key " + r.privateKeyFile() + " is not a PEM private key");
      }
      algorithm = privateKey.contains("EC PRIVATE") ? "ES256" : guessAlgorithm(privateKey);
      options = new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions().setAlgorithm(algorithm).setBuffer(privateKey));
    } else {
      FilesConfig config;
      try {
        config = FilesConfig.load();
      } catch (RuntimeException e) {
        throw new UsageException("configuration: " + e.getMessage());
      }
      String secret = config.string("auth.jwt.secret");
      if (secret.isBlank()) {
        throw new UsageException("no auth.jwt.secret configured (FILES_AUTH_JWT_SECRET): give --private-key for RS256/ES256");
      }
      algorithm = "HS256";
      options = new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions().setAlgorithm(algorithm).setBuffer(secret));
      String issuer = config.string("auth.jwt.issuer");
      if (!issuer.isBlank()) {
        claims.put("iss", issuer);
      }
    }
    Vertx vertx = Vertx.vertx();
    try {
      return JWTAuth.create(vertx, options)
          .generateToken(claims, new JWTOptions().setAlgorithm(algorithm).setExpiresInSeconds((int) r.ttl()));
    } finally {
      vertx.close();
    }
  }

  private static String guessAlgorithm(String pem) {
    try {
      String base64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
      var spec = new java.security.spec.PKCS8EncodedKeySpec(java.util.Base64.getDecoder().decode(base64));
      java.security.KeyFactory.getInstance("EC").generatePrivate(spec);
      return "ES256";
    } catch (Exception notEc) {
      return "RS256";
    }
  }
}

package dev.files.auth;

import dev.files.FilesConfig;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;

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
 * {@code --server} adds {@code server_request: true}.
 */
public final class TokenTool {

  private TokenTool() {
  }

  public static void main(String[] args) throws Exception {
    String sub = null;
    List<String> companies = new ArrayList<>();
    boolean application = false;
    boolean server = false;
    long ttl = 3600;
    String privateKey = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--sub" -> sub = args[++i];
        case "--company" -> companies.add(args[++i]);
        case "--application" -> application = true;
        case "--server" -> server = true;
        case "--ttl" -> ttl = Long.parseLong(args[++i]);
        case "--private-key" -> privateKey = Files.readString(Path.of(args[++i]));
        default -> usage("unknown option " + args[i]);
      }
    }
    if (sub == null) {
      usage("--sub is required");
    }
    UUID.fromString(sub);
    companies.forEach(UUID::fromString);

    JsonObject claims = new JsonObject().put("sub", sub).put("companies", new JsonArray(companies));
    if (application) {
      claims.put("application_id", sub);
    }
    if (server) {
      claims.put("server_request", true);
    }
    JWTAuthOptions options;
    String algorithm;
    if (privateKey != null) {
      algorithm = privateKey.contains("EC PRIVATE") ? "ES256" : guessAlgorithm(privateKey);
      options = new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions().setAlgorithm(algorithm).setBuffer(privateKey));
    } else {
      FilesConfig config = FilesConfig.load();
      String secret = config.string("auth.jwt.secret");
      if (secret.isBlank()) {
        usage("no auth.jwt.secret configured (FILES_AUTH_JWT_SECRET): give --private-key for RS256/ES256");
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
      String token = JWTAuth.create(vertx, options)
          .generateToken(claims, new JWTOptions().setAlgorithm(algorithm).setExpiresInSeconds((int) ttl));
      System.out.println(token);
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

  private static void usage(String problem) {
    System.err.println("token: " + problem);
    System.err.println("usage: scripts/token --sub <uuid> [--company <uuid>]... [--application] [--server] "
        + "[--ttl seconds] [--private-key pkcs8.pem]");
    System.exit(2);
  }
}

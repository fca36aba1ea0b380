package dev.files.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.files.FilesConfig;
import dev.files.error.Kind;
import dev.files.error.ServiceException;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Verified tokens are kept in memory: a kept token is still refused once it has expired. */
class TokenVerifierCacheTest {

  private static final String SECRET = "token-verifier-cache-test-secret-0123456789";
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aKeptTokenIsRefusedOnceExpired() throws Exception {
    FilesConfig config = FilesConfig.load(Map.of(), Map.of("auth.jwt.secret", SECRET, "auth.jwt.leeway_s", 0));
    TokenVerifier verifier = TokenVerifier.create(vertx, config);
    JWTAuth signer = JWTAuth.create(vertx, TokenVerifier.options(config));
    UUID user = UUID.randomUUID();
    long exp = System.currentTimeMillis() / 1000 + 2;
    String token = signer.generateToken(new JsonObject().put("sub", user.toString()).put("exp", exp),
        new JWTOptions().setNoTimestamp(true));

    Caller first = verifier.verify(token).await(5, TimeUnit.SECONDS);
    Caller again = verifier.verify(token).await(5, TimeUnit.SECONDS); // from memory
    assertThat(first.subject()).isEqualTo(user);
    assertThat(again).isEqualTo(first);

    Thread.sleep(Math.max(0, exp * 1000 - System.currentTimeMillis()) + 200);
    Throwable refused = verifier.verify(token).transform(ar -> io.vertx.core.Future.succeededFuture(ar.cause()))
        .await(5, TimeUnit.SECONDS);
    assertThat(refused).isInstanceOf(ServiceException.class);
    assertThat(((ServiceException) refused).kind()).isEqualTo(Kind.UNAUTHORIZED);
    assertThat(refused.getMessage()).contains("expired");
  }
}

package dev.files.auth;

import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.support.TestNode;
import org.junit.jupiter.api.Test;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Signed download URLs: one master key signs for every node; expiry, other files and other keys are refused. */
class DownloadSignerTest {

  private final UUID company = UUID.randomUUID();
  private final UUID file = UUID.randomUUID();

  @Test
  void aUrlSignedByOneNodeIsHonouredByAnotherUntilItExpires() {
    DownloadSigner one = new DownloadSigner(TestNode.MASTER_KEY);
    DownloadSigner other = new DownloadSigner(TestNode.MASTER_KEY);
    long now = System.currentTimeMillis();
    String query = one.query(company, file, now);
    assertThat(query).matches("expires=\\d+&signature=[A-Za-z0-9_-]{43}");
    long expires = Long.parseLong(query.substring("expires=".length(), query.indexOf('&')));
    assertThat(expires).isEqualTo(now / 1000 + DownloadSigner.TTL_S);
    String signature = query.substring(query.indexOf("signature=") + "signature=".length());
    assertThatCode(() -> other.verify(company, file, Long.toString(expires), signature)).doesNotThrowAnyException();

    assertThatThrownBy(() -> other.verify(company, UUID.randomUUID(), Long.toString(expires), signature))
        .isInstanceOf(ServiceException.class).hasFieldOrPropertyWithValue("kind", Kind.UNAUTHORIZED).hasMessage("invalid signed URL: the signature does not match");
    assertThatThrownBy(() -> other.verify(company, file, Long.toString(expires + 3600), signature))
        .isInstanceOf(ServiceException.class).hasFieldOrPropertyWithValue("kind", Kind.UNAUTHORIZED).hasMessage("invalid signed URL: the signature does not match");
    assertThatThrownBy(() -> new DownloadSigner("").verify(company, file, Long.toString(expires), signature))
        .isInstanceOf(ServiceException.class).hasFieldOrPropertyWithValue("kind", Kind.UNAUTHORIZED).hasMessage("invalid signed URL: the signature does not match");
    assertThatThrownBy(() -> other.verify(company, file, "soon", signature))
        .isInstanceOf(ServiceException.class).hasFieldOrPropertyWithValue("kind", Kind.UNAUTHORIZED).hasMessage("invalid signed URL: expires must be seconds since the epoch");

    long past = now / 1000 - 1;
    String old = one.sign(company, file, past);
    assertThatThrownBy(() -> other.verify(company, file, Long.toString(past), old))
        .isInstanceOf(ServiceException.class).hasFieldOrPropertyWithValue("kind", Kind.UNAUTHORIZED).hasMessage("signed URL expired");
  }
}

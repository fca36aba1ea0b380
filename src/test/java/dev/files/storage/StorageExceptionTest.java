package dev.files.storage;

import dev.files.error.ErrorAnswer;
import dev.files.error.Kind;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.RejectedExecutionException;

import static org.assertj.core.api.Assertions.assertThat;

/** A store failure's kind and public message are chosen where it is made; its detail stays for the log. */
class StorageExceptionTest {

  @Test
  void aFullDiskIs507WithItsOwnWords() {
    StorageException e = StorageException.of("cannot write an object",
        new FileSystemException("/data/objects/ab/cd.tmp", null, "No space left on device"));
    assertThat(e.kind()).isEqualTo(Kind.FULL);
    assertThat(e.publicMessage()).isEqualTo("storage is full");
    assertThat(ErrorAnswer.of(e).status()).isEqualTo(507);
    assertThat(e.getMessage()).isEqualTo("cannot write an object: storage is full");
  }

  @Test
  void otherFailuresSayWhatFailedButNotWhere() {
    StorageException e = StorageException.of("cannot create an object", new IOException("/data/objects/secret: boom"));
    assertThat(e.kind()).isEqualTo(Kind.UNAVAILABLE);
    assertThat(e.publicMessage()).isEqualTo("storage unavailable: cannot create an object");
    assertThat(e.getMessage()).contains("/data/objects/secret");
    ErrorAnswer a = ErrorAnswer.of(e);
    assertThat(a.status()).isEqualTo(503);
    assertThat(a.retryAfterS()).isEqualTo(5);
    assertThat(a.message()).doesNotContain("/data");

    StorageException segments = StorageException.of("cannot read an object", "segments 3..5 do not decrypt",
        new javax.crypto.AEADBadTagException("tag mismatch"));
    assertThat(segments.publicMessage()).isEqualTo("storage unavailable: cannot read an object");
    assertThat(segments.getMessage()).startsWith("cannot read an object: segments 3..5 do not decrypt");
  }

  @Test
  void aMissingFileIsDamagedDataAndAFullQueueIsBusy() {
    StorageException missing = StorageException.of("cannot read an object", new NoSuchFileException("/data/x"));
    assertThat(missing.kind()).isEqualTo(Kind.DAMAGED);
    assertThat(missing.publicMessage()).isEqualTo("stored data of this file is missing");
    assertThat(ErrorAnswer.of(missing).status()).isEqualTo(500);

    StorageException refused = StorageException.of("cannot store an object", new RejectedExecutionException("full"));
    assertThat(refused.kind()).isEqualTo(Kind.BUSY);
    StorageException busy = StorageException.busy("storage queue full (8 tasks waiting): cannot write");
    assertThat(busy.publicMessage()).isEqualTo("storage is busy, try again shortly");
    assertThat(ErrorAnswer.of(busy)).isEqualTo(ErrorAnswer.of(Kind.BUSY, "storage is busy, try again shortly"));
    assertThat(ErrorAnswer.of(busy).retryAfterS()).isEqualTo(1);
    assertThat(StorageException.of("cannot read an object", busy)).isSameAs(busy);
  }

  @Test
  void objectStoreReasonsHaveTheirKinds() {
    assertThat(new ObjectStoreException("storing an object", ObjectStoreException.Reason.FULL, null).publicMessage())
        .isEqualTo("storage is full");
    ObjectStoreException notFound = new ObjectStoreException("reading an object", ObjectStoreException.Reason.NOT_FOUND, null);
    assertThat(notFound.kind()).isEqualTo(Kind.DAMAGED);
    assertThat(notFound.publicMessage()).isEqualTo("stored data of this file is missing");
    ObjectStoreException down = new ObjectStoreException("storing an object", ObjectStoreException.Reason.UNAVAILABLE, null);
    assertThat(down.kind()).isEqualTo(Kind.UNAVAILABLE);
    assertThat(down.publicMessage()).isEqualTo("storing an object failed: storage is unavailable");
    assertThat(ObjectStoreException.of("storing an object", ObjectStoreException.Reason.UNAVAILABLE,
        new IOException("Disk quota exceeded")).reason()).isEqualTo(ObjectStoreException.Reason.FULL);
  }
}

package dev.files.crypto;

import dev.files.storage.IoExecutor;
import dev.files.storage.local.LocalObjectStore;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Encryption above a store of opaque bytes (a local directory here; S3 in {@code S3StorageTest}):
 * what is written comes back byte-exact, whole and in ranges that start and end anywhere (several
 * windows and batches of segments), the store holds ciphertext of the size the segment layout
 * predicts, and the SHA-256 reported is the plaintext's.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EncryptedObjectsTest {

  private final Random random = new Random(11);
  private Vertx vertx;
  private IoExecutor io;
  private Path dir;
  private EncryptedObjects objects;
  private ChunkCipher cipher;

  @BeforeAll
  void start() throws Exception {
    vertx = Vertx.vertx();
    io = new IoExecutor(vertx, 2);
    dir = Files.createTempDirectory("encrypted-objects");
    objects = new EncryptedObjects(vertx, io, new LocalObjectStore(vertx, io, dir, false));
    DataKeys keys = DataKeys.create(TestNode.MASTER_KEY, TestNode.MASTER_KEY_ID, "", false);
    UUID file = UUID.randomUUID();
    cipher = DataKeys.cipher(keys.newDataKey(file).aead(), file, 1, 1);
  }

  @AfterAll
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
    io.close();
    try (var s = Tree.walk(dir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private StoredChunk write(String key, byte[] content) throws Exception {
    return vertx.<StoredChunk>executeBlocking(() -> null, false).compose(x -> objects.create(key, cipher)).compose(w -> {
      Future<Void> chain = Future.succeededFuture();
      for (int at = 0; at < content.length; at += 8192) {
        Buffer b = Buffer.buffer(Arrays.copyOfRange(content, at, Math.min(content.length, at + 8192)));
        chain = chain.compose(v -> w.write(b));
      }
      return chain.compose(v -> w.commit());
    }).await(120, TimeUnit.SECONDS);
  }

  private byte[] read(String key, long size, long offset, long length) throws Exception {
    return read(key, size, offset, length, false);
  }

  /** The range read; a slow reader takes one buffer at a time, a millisecond apart (back-pressure). */
  private byte[] read(String key, long size, long offset, long length, boolean slow) throws Exception {
    return vertx.<Void>executeBlocking(() -> null, false).compose(x -> objects.read(key, size, offset, length, cipher)).compose(r -> {
      Buffer all = Buffer.buffer();
      Promise<byte[]> done = Promise.promise();
      if (slow) {
        r.pause();
      }
      r.handler(b -> {
        all.appendBuffer(b);
        if (slow) {
          vertx.setTimer(1, t -> r.fetch(1));
        }
      }).exceptionHandler(done::tryFail).endHandler(v -> done.tryComplete(all.getBytes()));
      if (slow) {
        r.fetch(1);
      }
      return done.future().eventually(r::close);
    }).await(120, TimeUnit.SECONDS);
  }

  @Test
  void roundTripsWholeAndInRanges() throws Exception {
    int size = 40 * 1024 * 1024 + 12345; // several windows of 128 segments
    byte[] content = new byte[size];
    random.nextBytes(content);
    String key = "ab/" + UUID.randomUUID() + "/x.chunk";
    StoredChunk stored = write(key, content);
    assertThat(stored.size()).isEqualTo(size);
    assertThat(stored.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content)));
    assertThat(Files.size(dir.resolve(key))).isEqualTo(DataKeys.LAYOUT.ciphertextSize(size));

    assertThat(read(key, size, 0, size)).isEqualTo(content);
    for (int i = 0; i < 8; i++) {
      assertThat(read(key, size, 0, size, true)).as("a slow reader").isEqualTo(content);
    }
    long[][] ranges = {{0, 1}, {1, 65_000}, {65_000, 1000}, {9_999_999, 20_000_000}, {size - 1, 1}, {size - 70_000, 70_000},
        {33 * 1024 * 1024, 3 * 1024 * 1024}, {5, 0}};
    for (long[] r : ranges) {
      assertThat(read(key, size, r[0], r[1])).as("range %d+%d", r[0], r[1])
          .isEqualTo(Arrays.copyOfRange(content, (int) r[0], (int) (r[0] + r[1])));
    }
  }

  @Test
  void smallAndEmptyObjects() throws Exception {
    for (int size : new int[]{0, 1, 65_000, 65_496, 65_497, 200_000}) {
      byte[] content = new byte[size];
      random.nextBytes(content);
      String key = "cd/" + UUID.randomUUID() + "/y.chunk";
      assertThat(write(key, content).size()).isEqualTo(size);
      assertThat(Files.size(dir.resolve(key))).isEqualTo(DataKeys.LAYOUT.ciphertextSize(size));
      assertThat(read(key, size, 0, size)).as("size %d", size).isEqualTo(content);
    }
  }
}

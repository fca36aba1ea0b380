package dev.files.storage.local;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link Writeback} starts the disk once per {@link Writeback#STEP_BYTES} written, leaves the bytes
 * as written, and never fails a write (the store's durability is its final force, checked with the
 * bytes in ObjectStoreContractTest).
 */
class WritebackTest {

  private static final int MIB = 1024 * 1024;

  @TempDir
  Path dir;

  @Test
  void startsOncePerStepAndLeavesTheBytesAsWritten() throws Exception {
    assumeTrue(System.getProperty("os.name").startsWith("Linux"), "sync_file_range is Linux's");
    assertThat(Writeback.available()).isTrue();
    Path file = dir.resolve("f");
    byte[] data = new byte[(int) (3 * Writeback.STEP_BYTES + 123_456)];
    new Random(7).nextBytes(data);
    int calls;
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
         Writeback writeback = new Writeback(file)) {
      ByteBuffer bb = ByteBuffer.wrap(data);
      long written = 0;
      while (bb.position() < bb.capacity()) {
        bb.limit(Math.min(bb.capacity(), bb.position() + MIB + 17)); // steps fall inside writes
        written += channel.write(bb);
        writeback.written(written);
      }
      channel.force(false);
      calls = writeback.started();
      writeback.close(); // twice (try-with-resources again): harmless
    }
    assertThat(calls).isEqualTo(3);
    assertThat(Files.readAllBytes(file)).isEqualTo(data);
  }

  /**
   * A chunk of a chunked upload (8 MiB, written in the store's 1 MiB batches) has most of its bytes
   * on their way to the disk before its end, so that its final force waits for its last step only.
   */
  @Test
  void anEightMiBChunkStartsItsWritebackWhileItStreams() throws Exception {
    assumeTrue(System.getProperty("os.name").startsWith("Linux"), "sync_file_range is Linux's");
    Path file = dir.resolve("chunk");
    byte[] batch = new byte[MIB];
    new Random(8).nextBytes(batch);
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
         Writeback writeback = new Writeback(file)) {
      long written = 0;
      for (int i = 0; i < 7; i++) { // all but the last batch
        written += channel.write(ByteBuffer.wrap(batch));
        writeback.written(written);
      }
      assertThat(writeback.started()).isEqualTo(3); // 0–2, 2–4 and 4–6 MiB; 6–7 MiB waits for the next step
    }
  }

  @Test
  void aFileItCannotOpenStartsNothingAndDoesNotFail() {
    try (Writeback writeback = new Writeback(dir.resolve("missing"))) {
      writeback.written(Writeback.STEP_BYTES);
      writeback.written(3 * Writeback.STEP_BYTES);
      assertThat(writeback.started()).isZero();
    }
  }

  @Test
  void nothingStartsBeforeAStep() throws Exception {
    Path file = Files.write(dir.resolve("small"), new byte[1000]);
    try (Writeback writeback = new Writeback(file)) {
      writeback.written(Writeback.STEP_BYTES - 1);
      assertThat(writeback.started()).isZero();
    }
  }
}

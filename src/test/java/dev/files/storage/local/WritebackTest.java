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

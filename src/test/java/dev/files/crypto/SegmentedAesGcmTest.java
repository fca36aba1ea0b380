package dev.files.crypto;

import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.StreamingAead;
import com.google.crypto.tink.streamingaead.AesGcmHkdfStreamingParameters;
import com.google.crypto.tink.streamingaead.StreamingAeadConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link SegmentedAesGcm} against Tink's own channels on the same keys: each reads what the other
 * wrote, byte for byte, around every segment boundary, for whole objects and ranges; tampered and
 * truncated objects fail.
 */
class SegmentedAesGcmTest {

  static final int SEGMENT = DataKeys.SEGMENT_BYTES;
  static final int FIRST_PLAIN = SEGMENT - 40 - 16;
  static final int PLAIN = SEGMENT - 16;
  static final byte[] AD = "files/test/1/1".getBytes(StandardCharsets.US_ASCII);

  static KeysetHandle handle;
  static StreamingAead tink;
  static StreamingAead fast;
  final Random random = new Random(5);

  @BeforeAll
  static void keys() throws Exception {
    StreamingAeadConfig.register();
    handle = KeysetHandle.generateNew(AesGcmHkdfStreamingParameters.builder()
        .setKeySizeBytes(32).setDerivedAesGcmKeySizeBytes(32)
        .setHkdfHashType(AesGcmHkdfStreamingParameters.HashType.SHA256)
        .setCiphertextSegmentSizeBytes(SEGMENT).build());
    tink = handle.getPrimitive(RegistryConfiguration.get(), StreamingAead.class);
    fast = SegmentedAesGcm.of(handle, tink);
    assertThat(fast).isInstanceOf(SegmentedAesGcm.class);
  }

  static final int[] SIZES = {0, 1, FIRST_PLAIN - 1, FIRST_PLAIN, FIRST_PLAIN + 1, FIRST_PLAIN + PLAIN - 1,
      FIRST_PLAIN + PLAIN, FIRST_PLAIN + PLAIN + 1, FIRST_PLAIN + 20 * PLAIN, 1_048_576 + 17, 3 * 1_048_576};

  static byte[] encrypt(StreamingAead aead, byte[] plain, int writeSize) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (WritableByteChannel ch = aead.newEncryptingChannel(Channels.newChannel(out), AD)) {
      for (int i = 0; i < plain.length; i += writeSize) {
        ch.write(ByteBuffer.wrap(plain, i, Math.min(writeSize, plain.length - i)));
      }
    }
    return out.toByteArray();
  }

  static Path file(byte[] bytes) throws IOException {
    Path p = Files.createTempFile("segments", ".bin");
    Files.write(p, bytes);
    return p;
  }

  /**
   * Plaintext [from, from + length) read through {@code aead}'s seekable channel in reads of
   * {@code readSize}; when that is the end of the {@code total} bytes, the next read must say so.
   */
  static byte[] read(StreamingAead aead, Path object, long from, int length, int total, int readSize, boolean direct)
      throws Exception {
    byte[] out = new byte[length];
    try (SeekableByteChannel ch = aead.newSeekableDecryptingChannel(FileChannel.open(object, StandardOpenOption.READ), AD)) {
      ch.position(from);
      int at = 0;
      while (at < length) {
        ByteBuffer b = direct ? ByteBuffer.allocateDirect(Math.min(readSize, length - at)) : ByteBuffer.allocate(Math.min(readSize, length - at));
        int n = ch.read(b);
        assertThat(n).as("read at %d", from + at).isPositive();
        b.flip();
        b.get(out, at, n);
        at += n;
      }
      if (from + length == total && aead == fast) { // (Tink's keyset channel may answer 0 there)
        assertThat(ch.read(ByteBuffer.allocate(1))).as("read at the end").isEqualTo(-1);
      }
    }
    return out;
  }

  @Test
  void eachReadsWhatTheOtherWrote() throws Exception {
    for (int size : SIZES) {
      byte[] plain = new byte[size];
      random.nextBytes(plain);
      byte[] byTink = encrypt(tink, plain, 8192);
      byte[] byFast = encrypt(fast, plain, 1_048_576);
      assertThat(byFast.length).as("ciphertext size of %d bytes", size).isEqualTo(byTink.length);
      assertThat(encrypt(fast, plain, 4093).length).isEqualTo(byTink.length);
      Path t = file(byTink);
      Path f = file(byFast);
      try {
        for (int readSize : new int[] {512 * 1024, 65_536, 1000}) {
          assertThat(read(fast, t, 0, size, size, readSize, false)).as("fast reads Tink's %d bytes", size).isEqualTo(plain);
          assertThat(read(tink, f, 0, size, size, readSize, false)).as("Tink reads fast's %d bytes", size).isEqualTo(plain);
        }
        assertThat(read(fast, f, 0, size, size, 300_000, true)).isEqualTo(plain);
        for (int i = 0; i < 20 && size > 0; i++) { // ranges, some across boundaries
          int from = random.nextInt(size);
          int length = 1 + random.nextInt(Math.min(size - from, 200_000));
          assertThat(read(fast, t, from, length, size, 512 * 1024, false))
              .as("range %d+%d of %d", from, length, size).isEqualTo(Arrays.copyOfRange(plain, from, from + length));
        }
      } finally {
        Files.delete(t);
        Files.delete(f);
      }
    }
  }

  /**
   * The primitive made from the keyset alone (as every data key's is) makes Tink's own primitive when
   * its streams are first used: they read and write the same bytes as its channels.
   */
  @Test
  void streamsOfAKeysetAlone() throws Exception {
    StreamingAead lazy = SegmentedAesGcm.of(handle);
    assertThat(lazy).isInstanceOf(SegmentedAesGcm.class);
    byte[] plain = new byte[FIRST_PLAIN + PLAIN + 17];
    random.nextBytes(plain);
    byte[] byChannel = encrypt(lazy, plain, 65_536);
    try (var in = lazy.newDecryptingStream(new java.io.ByteArrayInputStream(byChannel), AD)) {
      assertThat(in.readAllBytes()).isEqualTo(plain);
    }
    ByteArrayOutputStream byStream = new ByteArrayOutputStream();
    try (var out = lazy.newEncryptingStream(byStream, AD)) {
      out.write(plain);
    }
    try (var ch = lazy.newDecryptingChannel(Channels.newChannel(new java.io.ByteArrayInputStream(byStream.toByteArray())), AD)) {
      assertThat(Channels.newInputStream(ch).readAllBytes()).isEqualTo(plain);
    }
    Path f = file(byStream.toByteArray());
    try {
      assertThat(read(lazy, f, 0, plain.length, plain.length, 65_536, false)).isEqualTo(plain);
    } finally {
      Files.delete(f);
    }
  }

  /** On Linux x86-64 (this project's machines) the segments go through AWS-LC, checked above against Tink. */
  @Test
  void nativeProviderOnLinuxX86() throws Exception {
    if (System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64")) {
      assertThat(SegmentedAesGcm.provider()).isEqualTo("AmazonCorrettoCryptoProvider");
    }
  }

  @Test
  void tamperedOrTruncatedObjectsFail() throws Exception {
    byte[] plain = new byte[FIRST_PLAIN + 3 * PLAIN + 99];
    random.nextBytes(plain);
    byte[] good = encrypt(fast, plain, 65_536);
    byte[] flipped = good.clone();
    flipped[SEGMENT + 100] ^= 1; // inside segment 1
    Path p = file(flipped);
    try {
      assertThat(read(fast, p, 0, FIRST_PLAIN, plain.length, 65_536, false)).isEqualTo(Arrays.copyOf(plain, FIRST_PLAIN));
      assertThatThrownBy(() -> read(fast, p, 0, plain.length, plain.length, 512 * 1024, false)).isInstanceOf(IOException.class);
      // a cut at a segment boundary: the new last segment was not sealed as last
      Files.write(p, Arrays.copyOf(good, 2 * SEGMENT));
      assertThatThrownBy(() -> read(fast, p, 0, FIRST_PLAIN + PLAIN, FIRST_PLAIN + PLAIN, 512 * 1024, false)).isInstanceOf(IOException.class);
      // another file's associated data
      Files.write(p, good);
      try (SeekableByteChannel ch = fast.newSeekableDecryptingChannel(FileChannel.open(p), "files/other/1/1".getBytes(StandardCharsets.US_ASCII))) {
        assertThatThrownBy(() -> ch.read(ByteBuffer.allocate(10))).isInstanceOf(IOException.class);
      }
    } finally {
      Files.delete(p);
    }
  }

  /**
   * Throughput of both implementations on one thread, in MB per second of this thread's CPU time
   * (so that other load on the machine does not count); run with -Dgroups=bench.
   */
  @Test
  @Tag("bench")
  void throughput() throws Exception {
    byte[] plain = new byte[256 * 1024 * 1024];
    random.nextBytes(plain);
    Path t = file(encrypt(tink, plain, 1_048_576));
    try {
      java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
      for (int round = 0; round < 5; round++) {
        for (StreamingAead aead : new StreamingAead[] {tink, fast}) {
          String name = aead == fast ? "array path" : "Tink channels";
          long t0 = cpu.getCurrentThreadCpuTime();
          try (WritableByteChannel ch = aead.newEncryptingChannel(Channels.newChannel(OutputStream.nullOutputStream()), AD)) {
            for (int i = 0; i < plain.length; i += 1_048_576) {
              ch.write(ByteBuffer.wrap(plain, i, 1_048_576));
            }
          }
          long t1 = cpu.getCurrentThreadCpuTime();
          read(aead, t, 0, plain.length, plain.length, 512 * 1024, false);
          long t2 = cpu.getCurrentThreadCpuTime();
          System.out.printf("%s: encrypt %.0f MB/CPU-s, decrypt %.0f MB/CPU-s%n", name,
              plain.length * 1e3 / (t1 - t0), plain.length * 1e3 / (t2 - t1));
        }
      }
    } finally {
      Files.delete(t);
    }
  }
}

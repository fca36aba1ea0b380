package dev.files;

import dev.files.support.Api;
import dev.files.support.NodeTest;
import dev.files.support.Chunks;
import dev.files.support.Db;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.FilterInputStream;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryType;
import java.lang.invoke.VarHandle;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** A chunked upload past 2^31 bytes in 64 MiB chunks, streamed both ways and checked byte-exact by SHA-256. */
class LargeChunkedUploadTest extends NodeTest {

  static final long SIZE = 2_148_532_225L; // 2^31 + 1,048,577
  static final long CHUNK = 64L * 1024 * 1024;
  static final long SEED = 0x5EED_2148_5322_25L;

  @Test
  void uploadPastTwoGibibytesInChunksOf64Mib() throws Exception {
    List<long[]> parts = Chunks.split(SIZE, CHUNK);
    assertThat(parts).hasSize(32);
    UUID file = UUID.fromString(new Chunks(api, company, token)
        .init("filename=large.bin&total_chunks=" + parts.size() + "&total_size=" + SIZE).getString("id"));

    Hashing sent = new Hashing();
    long t0 = System.nanoTime();
    JsonObject last = null;
    for (int i = 0; i < parts.size(); i++) {
      last = sendChunk(file, i + 1, parts.size(), parts.get(i), sent);
    }
    double upSeconds = (System.nanoTime() - t0) / 1e9;
    assertThat(sent.count).as("bytes sent").isEqualTo(SIZE);
    assertThat(last.getString("upload_status")).isEqualTo("complete");
    assertThat(last.getJsonObject("upload_data").getLong("size")).isEqualTo(SIZE);

    JsonObject r = Api.resource(api.get(api.file(company, file), token));
    assertThat(r.getString("upload_status")).isEqualTo("complete");
    assertThat(r.getJsonObject("upload_data").getLong("size")).isEqualTo(SIZE);
    assertThat(r.getJsonObject("upload_data").getInteger("chunks")).isEqualTo(parts.size());
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(parts.size());

    Hashing got = new Hashing();
    long t1 = System.nanoTime();
    HttpResponse<InputStream> down = Api.CLIENT.send(api.request(api.file(company, file) + "/download", token).GET().build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(down.headers().firstValueAsLong("Content-Length").orElse(-1)).isEqualTo(SIZE);
    try (InputStream in = got.wrap(down.body())) {
      in.transferTo(OutputSink.INSTANCE);
    }
    double downSeconds = (System.nanoTime() - t1) / 1e9;
    assertThat(got.count).as("bytes downloaded").isEqualTo(SIZE);
    assertThat(got.hex()).as("SHA-256 of the download").isEqualTo(sent.hex());

    System.out.printf("%,d bytes in %d chunks of 64 MiB: up %.0f MB/s (%.1f s), down %.0f MB/s (%.1f s), heap pools peak (sum, -Xmx1g) %d MiB%n",
        SIZE, parts.size(), SIZE / upSeconds / 1e6, upSeconds, SIZE / downSeconds / 1e6, downSeconds, peakHeapMib());
  }

  /** Peak heap use of this JVM (test and node), summed over the heap pools. */
  private static long peakHeapMib() {
    return ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP)
        .mapToLong(p -> p.getPeakUsage().getUsed()).sum() >> 20;
  }

  /** Sends bytes [range[0], range[1]) of the pattern as chunk {@code number}; asserts 200, returns the resource. */
  private JsonObject sendChunk(UUID file, int number, int total, long[] range, Hashing sent) throws Exception {
    long length = range[1] - range[0];
    Api.Multipart form = new Api.Multipart().filename("large.bin");
    HttpRequest request = api.request(api.file(company, file) + "?chunk_number=" + number + "&total_chunks=" + total
            + "&total_size=" + SIZE, token)
        .header("Content-Type", form.contentType())
        .POST(form.body(() -> sent.wrap(new FastPattern(SEED, range[0], length)), length))
        .build();
    HttpResponse<String> r = Api.CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("chunk " + number + ": " + r.body()).isEqualTo(200);
    return Api.resource(r);
  }

  /** A running SHA-256 and byte count over the streams it wraps, in the order they are read. */
  private static final class Hashing {
    final MessageDigest digest = sha256();
    long count;

    InputStream wrap(InputStream in) {
      return new FilterInputStream(in) {
        @Override
        public int read() throws java.io.IOException {
          int b = super.read();
          if (b >= 0) {
            digest.update((byte) b);
            count++;
          }
          return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws java.io.IOException {
          int n = super.read(buf, off, len);
          if (n > 0) {
            digest.update(buf, off, n);
            count += n;
          }
          return n;
        }
      };
    }

    String hex() {
      return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest sha256() {
      try {
        return MessageDigest.getInstance("SHA-256");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** Discards what is written to it. */
  private static final class OutputSink extends java.io.OutputStream {
    static final OutputSink INSTANCE = new OutputSink();

    @Override
    public void write(int b) {
    }

    @Override
    public void write(byte[] b, int off, int len) {
    }
  }

  /**
   * Bytes [offset, offset + length) of a deterministic sequence, fast: it is made of 64 KiB blocks, block
   * {@code k} being a xorshift64 stream seeded from (seed, k), so any range is generated without the bytes
   * before it and a block costs one pass of 8-byte words.
   */
  static final class FastPattern extends InputStream {
    static final int BLOCK = 64 * 1024;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final long seed;
    private final long end;
    private final byte[] block = new byte[BLOCK];
    private long blockIndex = -1;
    private long position;

    FastPattern(long seed, long offset, long length) {
      this.seed = seed;
      this.position = offset;
      this.end = offset + length;
    }

    private void fill(long index) {
      long s = mix(seed + index * 0x9E3779B97F4A7C15L);
      for (int i = 0; i < BLOCK; i += 8) {
        s ^= s << 13;
        s ^= s >>> 7;
        s ^= s << 17;
        LONGS.set(block, i, s);
      }
      blockIndex = index;
    }

    /** SplitMix64's finaliser: a well-spread non-zero state for every block. */
    private static long mix(long z) {
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      z ^= z >>> 31;
      return z == 0 ? 1 : z;
    }

    @Override
    public int read(byte[] buf, int off, int len) {
      if (position >= end) {
        return -1;
      }
      if (len == 0) {
        return 0;
      }
      long index = position / BLOCK;
      if (index != blockIndex) {
        fill(index);
      }
      int within = (int) (position % BLOCK);
      int n = (int) Math.min(Math.min(len, BLOCK - within), end - position);
      System.arraycopy(block, within, buf, off, n);
      position += n;
      return n;
    }

    @Override
    public int read() {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }
  }
}

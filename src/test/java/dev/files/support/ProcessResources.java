package dev.files.support;

import dev.files.storage.PooledBuffers;
import io.netty.buffer.PoolArenaMetric;
import io.netty.buffer.PooledByteBufAllocator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a read or a download holds while it runs and must give back when it ends or is abandoned:
 * pooled direct buffers and open files. Tests take both counts before, and wait (with
 * {@link Eventually}) until they are back afterwards. The counts are of this JVM: the test's and an
 * in-process node's together.
 */
public final class ProcessResources {

  private ProcessResources() {
  }

  /**
   * Buffers of the pool downloads use ({@link PooledBuffers#ALLOCATOR}) that are taken now: the
   * active allocations summed over its direct arenas (a count of buffers, not bytes).
   */
  public static long takenDirectBuffers() {
    return ((PooledByteBufAllocator) PooledBuffers.ALLOCATOR).metric().directArenas().stream()
        .mapToLong(PoolArenaMetric::numActiveAllocations).sum();
  }

  /**
   * Open file descriptors of this process now (files, sockets, pipes), counted in
   * {@code /proc/self/fd}.
   *
   * @throws IOException if {@code /proc/self/fd} cannot be listed (not Linux)
   */
  public static long openFiles() throws IOException {
    try (var s = Files.list(Path.of("/proc/self/fd"))) {
      return s.count();
    }
  }
}

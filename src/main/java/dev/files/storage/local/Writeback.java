package dev.files.storage.local;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

/**
 * Starts the disk writing a file's bytes while the rest of it is still arriving, so that the
 * {@code fdatasync} that ends a durable write waits for the last few MiB instead of the whole file.
 *
 * <p>Every {@value #STEP_BYTES} bytes written, the range written since the last step is handed to
 * Linux's {@code sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE)}: it queues the dirty
 * pages of that range for writing and returns without waiting for the disk. It is a hint only: it
 * makes nothing durable (no metadata, no disk cache flush), so the write still forces the file and
 * its directory before it succeeds, and a failed hint is ignored. The call goes through JNA to the C
 * library, on a second descriptor of the file opened read-only here (writeback is per file, not per
 * descriptor; a {@code FileChannel}'s own descriptor cannot be reached on Java 17 without
 * {@code --add-opens}). The descriptor is opened at the first step, so a file smaller than a step
 * costs nothing. Where the call is missing (not Linux, no JNA) nothing is started and the final force
 * writes the whole file, as before.
 *
 * <p>Not thread-safe: one write's storage queue calls it, in order.
 */
final class Writeback implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Writeback.class);

  /**
   * Bytes between two writeback starts. Measured writing 512 MiB in 1 MiB writes with a final
   * force (docs/architecture.md, "Object stores"): that force took 420–430 ms without writeback
   * and 1–46 ms with a start every 8, 16 or 32 MiB (4 MiB: 44 and once 330 ms, on a loaded machine).
   * A step of 8 MiB left the chunks of chunked uploads (8 MiB each, the usual size) with no start
   * before their end: 4 writers of 8 MiB files, each file written in 1 MiB writes 6 ms apart, then
   * forced, linked and its directory forced, 4 files at a time, 100 files per way, alternated, load
   * average 2–7: that end took 39.8 ms (median) with a start every 8 MiB, 37.8 with 4 MiB, 32.9 with
   * 2 MiB and 32.9 with 1 MiB. 2 MiB: one system call per 2 write batches of the store.
   */
  static final long STEP_BYTES = 2L * 1024 * 1024;

  private static final int O_RDONLY = 0;
  private static final int O_CLOEXEC = 0x80000; // 02000000 on x86-64 and AArch64
  private static final int SYNC_FILE_RANGE_WRITE = 2;

  private static final boolean AVAILABLE = load();

  private static boolean load() {
    if (!Platform.isLinux()) {
      return false;
    }
    try {
      Native.register(Writeback.class, NativeLibrary.getInstance(Platform.C_LIBRARY_NAME));
      return true;
    } catch (Throwable e) { // UnsatisfiedLinkError, NoClassDefFoundError: no native access here
      LOG.info("sync_file_range unavailable ({}): a write's bytes go to disk at its final force only", e.toString());
      return false;
    }
  }

  private static native int open(String path, int flags);

  private static native int sync_file_range(int fd, long offset, long nbytes, int flags);

  private static native int close(int fd);

  /** Whether writeback can be started on this machine (Linux with JNA). */
  static boolean available() {
    return AVAILABLE;
  }

  private final Path file;
  /** The read-only descriptor once opened; -1 before, or for good when it could not be opened. */
  private int fd = -1;
  private boolean failed = !AVAILABLE;
  /** Bytes from 0 up to here have had their writeback started. */
  private long started;
  private int calls;

  /** @param file the file being written; opened at the first step */
  Writeback(Path file) {
    this.file = file;
  }

  /**
   * Tells how many bytes of the file are written so far (its size); starts the writeback of the
   * bytes written since the last start once they reach {@value #STEP_BYTES}. Never fails; returns
   * at once unless the device's queue is full.
   */
  void written(long size) {
    if (failed || size - started < STEP_BYTES) {
      return;
    }
    if (fd < 0) {
      fd = open(file.toString(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        failed = true;
        return;
      }
    }
    if (sync_file_range(fd, started, size - started, SYNC_FILE_RANGE_WRITE) != 0) {
      failed = true; // a file system that refuses it: the final force does it all
      return;
    }
    calls++;
    started = size;
  }

  /** How many ranges had their writeback started (for tests). */
  int started() {
    return calls;
  }

  /** Closes the descriptor, if one was opened; never fails. */
  @Override
  public void close() {
    if (fd >= 0) {
      close(fd);
      fd = -1;
    }
  }
}

package dev.files.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Forcing what a local directory holds to disk: the one way the service makes names durable (the
 * local store's objects and the directories it creates, the store marker). Blocking: call from a
 * storage, sync or worker thread, never an event loop.
 */
public final class Fsync {

  private Fsync() {
  }

  /**
   * Forces the entries of directory {@code dir} (names created, renamed or removed in it) to disk:
   * an {@code fsync} of the directory. A file system that cannot sync a directory (some refuse to open
   * one, or to force it) is ignored, as is a directory that does not exist: the caller's bytes are
   * forced on their own, and nothing better can be done.
   *
   * @param dir the directory whose entries must survive a power loss
   */
  public static void directory(Path dir) {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException ignored) {
      // some file systems cannot sync a directory
    }
  }
}

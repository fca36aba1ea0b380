package dev.files.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * The local store's side of the store identity: the file {@value #FILE} in the store's directory,
 * holding the store's UUID (one line). Names starting with a dot are not objects: listings skip them.
 * Blocking: call from a worker thread.
 */
public final class StoreMarker {

  /** The marker's file name in the store's root directory. */
  public static final String FILE = ".store-id";

  private StoreMarker() {
  }

  /**
   * The identity recorded in the store at {@code root}, or null when there is none.
   *
   * @throws IllegalStateException when the marker exists but does not hold a UUID
   */
  public static UUID read(Path root) throws IOException {
    String text;
    try {
      text = Files.readString(root.resolve(FILE), StandardCharsets.UTF_8).strip();
    } catch (NoSuchFileException e) {
      return null;
    }
    try {
      return UUID.fromString(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(root.resolve(FILE) + " does not hold a store identity (a UUID): '"
          + (text.length() > 40 ? text.substring(0, 40) + "…" : text) + "'");
    }
  }

  /**
   * Writes {@code id} as the store's identity: a temporary file, forced to disk, renamed over the
   * marker, then the directory forced ({@link Fsync#directory}) so that the new name survives a crash.
   *
   * @throws IOException when the directory cannot be created or the marker cannot be written
   */
  public static void write(Path root, UUID id) throws IOException {
    Files.createDirectories(root);
    Path tmp = root.resolve(FILE + "." + UUID.randomUUID() + ".tmp");
    try {
      try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        c.write(java.nio.ByteBuffer.wrap((id + "\n").getBytes(StandardCharsets.UTF_8)));
        c.force(true);
      }
      Files.move(tmp, root.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
    Fsync.directory(root); // the rename itself
  }
}

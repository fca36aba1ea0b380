package dev.files.support;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Directory trees that a running node changes while a test reads them (its storage directory, a
 * bucket's directory). {@link Files#walk} fails with {@link NoSuchFileException} when an entry it
 * listed is removed before it reaches it (a temporary file deleted, an emptied directory removed):
 * this walk skips such entries instead.
 */
public final class Tree {

  private Tree() {
  }

  /**
   * {@code root} and every entry under it that still exists when the walk reaches it, as
   * {@link Files#walk} gives them (directories before their entries), read at once.
   *
   * @throws NoSuchFileException when {@code root} itself does not exist, as {@link Files#walk}
   * @throws IOException         when a directory cannot be read for another reason
   */
  public static Stream<Path> walk(Path root) throws IOException {
    if (!Files.exists(root)) {
      throw new NoSuchFileException(root.toString());
    }
    List<Path> all = new ArrayList<>();
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
        all.add(dir);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        all.add(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
        if (e instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE; // removed since its directory was listed
        }
        throw e;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        if (e != null && !(e instanceof NoSuchFileException)) {
          throw e;
        }
        return FileVisitResult.CONTINUE;
      }
    });
    return all.stream();
  }
}

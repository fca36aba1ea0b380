package dev.files.support;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** A walk of a tree that another thread changes, as a node changes its storage directory. */
class TreeTest {

  @Test
  void aWalkSkipsWhatIsRemovedWhileItRuns(@TempDir Path root) throws Exception {
    Path kept = Files.createDirectories(root.resolve("ab/kept"));
    Files.write(kept.resolve("object"), new byte[] {1});
    AtomicBoolean stop = new AtomicBoolean();
    Thread churn = new Thread(() -> { // temporary files and directories made and removed, as writes and deletes do
      try {
        for (int i = 0; !stop.get(); i++) {
          Path dir = Files.createDirectories(root.resolve("ab/f" + (i % 8)));
          Path tmp = Files.write(dir.resolve(".x" + i + ".tmp"), new byte[] {2});
          Files.delete(tmp);
          Files.delete(dir);
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    churn.start();
    try {
      for (int i = 0; i < 3000; i++) {
        try (Stream<Path> s = Tree.walk(root)) {
          List<Path> files = s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith(".")).toList();
          assertThat(files).containsExactly(kept.resolve("object"));
        }
      }
    } finally {
      stop.set(true);
      churn.join();
    }
    try (Stream<Path> s = Tree.walk(root)) {
      assertThat(s.toList()).containsExactly(root, root.resolve("ab"), kept, kept.resolve("object"));
    }
  }
}

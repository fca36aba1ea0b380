package dev.files.support;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * Ports handed to test nodes, reserved across every test JVM of the machine. A port that is free when
 * probed can be taken by another process before the node binds it; two suites run side by side
 * (two checkouts, or a build beside a test run) probe the same ranges. Each port given out is
 * therefore also locked, with an exclusive lock on the file {@code <tmpdir>/files-test-ports-<user>/<port>},
 * held until this JVM exits (the kernel drops the lock with the process): another JVM never gets it,
 * and neither does this one a second time.
 */
public final class PortReservations {

  /** One directory per user: another user's lock files could not be opened for writing. */
  private static final Path DIR = Path.of(System.getProperty("java.io.tmpdir"),
      "files-test-ports-" + System.getProperty("user.name"));
  /**
   * The locks held, by port, so that they live as long as the JVM (under this class's lock). A port
   * held is never opened again: closing any channel of a locked file drops the JVM's lock on it (POSIX
   * record locks belong to the process, not to the channel).
   */
  private static final Map<Integer, FileLock> HELD = new HashMap<>();

  private PortReservations() {
  }

  /**
   * Reserves {@code port} when no test JVM holds it and it can be bound on 127.0.0.1 now.
   *
   * @return true when the port is this JVM's from now on; false when it is taken (then nothing is held)
   * @throws IOException when the lock directory cannot be made
   */
  public static synchronized boolean reserve(int port) throws IOException {
    if (HELD.containsKey(port)) { // this JVM gave it out already
      return false;
    }
    Files.createDirectories(DIR);
    FileChannel channel = FileChannel.open(DIR.resolve(Integer.toString(port)),
        StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock = channel.tryLock();
    if (lock == null) {
      channel.close();
      return false;
    }
    if (!bindable(port)) {
      lock.release();
      channel.close();
      return false;
    }
    HELD.put(port, lock);
    return true;
  }

  /** Whether a socket can be bound to {@code port} on 127.0.0.1 now (it is closed again at once). */
  static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress("127.0.0.1", port));
      return true;
    } catch (IOException taken) {
      return false;
    }
  }
}

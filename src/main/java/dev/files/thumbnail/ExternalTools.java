package dev.files.thumbnail;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The optional external converters: {@code ffmpeg} (first video frame) and {@code soffice}
 * (LibreOffice: office document to PDF). Each is used only when found on the PATH at the time of
 * the call.
 *
 * <p>ffmpeg gets the plaintext through its standard input and answers on its standard output:
 * nothing is written to disk. soffice can only convert files, so that path writes a temporary
 * plaintext copy of the document (and soffice writes the PDF beside it) into a private temporary
 * directory (0700, file 0600) that is deleted, whatever happens, before the call returns. This is
 * the one exception to the service's "no plaintext on disk" rule, and it exists only where soffice
 * is installed.
 */
final class ExternalTools {

  /** How long one tool run may take before it is killed. */
  static final Duration TIMEOUT = Duration.ofSeconds(60);
  /** The most bytes accepted from a tool (one PNG frame, one PDF). */
  static final int MAX_OUTPUT_BYTES = 256 * 1024 * 1024;
  private static final int STDERR_HEAD = 2000;
  private static final Pattern EXTENSION = Pattern.compile("\\.[A-Za-z0-9]{1,8}$");

  private ExternalTools() {
  }

  /** The executable named {@code name} in a directory of the current PATH, if any. */
  static Optional<Path> find(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, name);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /**
   * The first video frame as PNG bytes: {@code ffmpeg -i pipe:0 -f image2pipe -vcodec png
   * -frames:v 1 pipe:1}. Containers that need seeking (an MP4 whose index is at the end) cannot be
   * read from a pipe and give an error.
   *
   * @param in the video; read on a helper thread until ffmpeg has its frame, closed at the end
   * @throws Refusal "error" when ffmpeg finds no frame, fails or times out
   */
  static byte[] firstVideoFrame(Path ffmpeg, InputStream in) throws IOException, Refusal {
    List<String> command = List.of(ffmpeg.toString(), "-hide_banner", "-nostats",
        "-loglevel", "error", "-i", "pipe:0", "-an", "-sn", "-dn",
        "-f", "image2pipe", "-vcodec", "png", "-frames:v", "1", "pipe:1");
    byte[] png = run("ffmpeg", command, null, in);
    if (png.length == 0) {
      throw Refusal.error("ffmpeg found no video frame");
    }
    return png;
  }

  /**
   * The document converted to PDF by {@code soffice --headless --convert-to pdf}, through a private
   * temporary directory that is always deleted.
   *
   * @param source opens the document; copied whole to the temporary file
   * @param filename the original name, for its extension only (LibreOffice uses it as a hint)
   * @param maxBytes the most bytes copied: a longer stream is refused
   * @throws Refusal "error" when soffice fails, times out or makes no PDF; "none" over maxBytes
   */
  static byte[] officeToPdf(Path soffice, Supplier<InputStream> source, String filename,
      long maxBytes)
      throws IOException, Refusal {
    Path dir = Files.createTempDirectory("thumb-office-",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    try {
      String extension = "";
      if (filename != null && EXTENSION.matcher(filename).find()) {
        extension = filename.substring(filename.lastIndexOf('.'));
      }
      Path document = Files.createFile(dir.resolve("document" + extension),
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try (InputStream in = source.get(); OutputStream out = Files.newOutputStream(document)) {
        if (copy(in, out, maxBytes) > maxBytes) {
          throw Refusal.none("document is over the " + maxBytes + "-byte limit");
        }
      }
      Path outDir = Files.createDirectory(dir.resolve("out"));
      List<String> command = List.of(soffice.toString(),
          "-env:UserInstallation=" + dir.resolve("profile").toUri(),
          "--headless", "--invisible", "--norestore", "--nolockcheck", "--nodefault",
          "--convert-to", "pdf", "--outdir", outDir.toString(), document.toString());
      run("soffice", command, dir, null);
      Path pdf = outDir.resolve("document.pdf");
      if (!Files.isRegularFile(pdf)) {
        throw Refusal.error("soffice made no PDF of this document");
      }
      if (Files.size(pdf) > MAX_OUTPUT_BYTES) {
        throw Refusal.none("soffice made a PDF over " + MAX_OUTPUT_BYTES + " bytes");
      }
      return Files.readAllBytes(pdf);
    } finally {
      deleteTree(dir);
    }
  }

  /** Copies until end of input or until more than {@code max} bytes; returns the count copied. */
  private static long copy(InputStream in, OutputStream out, long max) throws IOException {
    byte[] buffer = new byte[64 * 1024];
    long total = 0;
    while (total <= max) {
      int n = in.read(buffer, 0, (int) Math.min(buffer.length, max + 1 - total));
      if (n < 0) {
        break;
      }
      out.write(buffer, 0, n);
      total += n;
    }
    return total;
  }

  /**
   * Runs a tool to completion: feeds {@code stdin} (if any) on a helper thread, keeps the first
   * bytes of its standard error for the reason, returns its standard output.
   */
  private static byte[] run(String name, List<String> command, Path dir, InputStream stdin)
      throws IOException, Refusal {
    ProcessBuilder builder = new ProcessBuilder(command);
    if (dir != null) {
      builder.directory(dir.toFile());
    }
    Process process;
    try {
      process = builder.start();
    } catch (IOException | RuntimeException e) {
      if (stdin != null) {
        stdin.close();
      }
      throw e;
    }
    Thread feeder = daemon("thumb-" + name + "-stdin", () -> {
      try (OutputStream toTool = process.getOutputStream()) {
        if (stdin != null) {
          try (stdin) {
            stdin.transferTo(toTool);
          }
        }
      } catch (IOException e) {
        // the tool stopped reading (ffmpeg does once it has its frame), or the source failed:
        // either way the tool's exit status and output decide
      }
    });
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    Thread errors = daemon("thumb-" + name + "-stderr", () -> keepHead(process.getErrorStream(),
        stderr));
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    AtomicReference<Boolean> tooLong = new AtomicReference<>(false);
    Thread output = daemon("thumb-" + name + "-stdout", () -> {
      try (InputStream fromTool = process.getInputStream()) {
        if (copy(fromTool, stdout, MAX_OUTPUT_BYTES) > MAX_OUTPUT_BYTES) {
          tooLong.set(true);
          kill(process);
        }
      } catch (IOException e) {
        // closed because the tool was killed
      }
    });
    try {
      if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        kill(process);
        throw Refusal.error(name + " took more than " + TIMEOUT.toSeconds() + " s; stopped");
      }
      output.join(TIMEOUT.toMillis());
      errors.join(1000);
      feeder.join(1000);
    } catch (InterruptedException e) {
      kill(process);
      Thread.currentThread().interrupt();
      throw Refusal.error(name + " interrupted");
    } finally {
      if (process.isAlive()) {
        kill(process);
      }
    }
    if (tooLong.get()) {
      throw Refusal.none(name + " output over " + MAX_OUTPUT_BYTES + " bytes");
    }
    int exit = process.exitValue();
    if (exit != 0) {
      String message;
      synchronized (stderr) {
        message = stderr.toString(StandardCharsets.UTF_8).strip();
      }
      throw Refusal.error(name + " failed (exit " + exit + ")"
          + (message.isEmpty() ? "" : ": " + message));
    }
    return stdout.toByteArray();
  }

  /** Keeps the first {@link #STDERR_HEAD} bytes (the first error is the telling one). */
  private static void keepHead(InputStream in, ByteArrayOutputStream head) {
    byte[] buffer = new byte[4096];
    try (in) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        synchronized (head) {
          head.write(buffer, 0, Math.max(0, Math.min(n, STDERR_HEAD - head.size())));
        }
      }
    } catch (IOException e) {
      // the process ended
    }
  }

  /** Kills the tool and what it started (soffice runs soffice.bin as a child). */
  private static void kill(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  private static Thread daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          p.toFile().deleteOnExit();
        }
      });
    } catch (IOException e) {
      dir.toFile().deleteOnExit();
    }
  }
}

package dev.files.thumbnail;

import java.io.ByteArrayInputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Before/after figures of one hostile file through the {@link Thumbnailer}, in a JVM of its own:
 * {@code java -Xmx1g -cp target/test-classes:target/classes:<dependencies> dev.files.thumbnail.BombFigures CASE}
 * with CASE one of scans, nested, operators, pdfimage, ztxt, tiff, bmp (and photo, an ordinary 12 MP
 * JPEG, for reference). Prints the outcome, the
 * wall time, the heap peak (sum of the heap pools' peaks) and the process's peak RSS (VmHWM).
 * A measurement, not a test.
 */
public final class BombFigures {

  private BombFigures() {
  }

  public static void main(String[] args) throws Exception {
    String which = args[0];
    byte[] bytes = switch (which) {
      case "scans" -> TestImages.progressiveScanBomb(4096, 4096, 50_000);
      case "nested" -> TestPdfs.nestedForms(30);
      case "operators" -> TestPdfs.manyOperators(3_000_000);
      case "pdfimage" -> TestPdfs.bigFlateImage(20_000);
      case "ztxt" -> TestImages.pngWithZtxt(1_500_000_000L);
      case "tiff" -> TestImages.greyTiff(100_000_000, 1);
      case "bmp" -> TestImages.rle8Bmp(100_000_000, 1);
      case "photo" -> TestImages.write(TestImages.halves(4000, 3000, java.awt.image.BufferedImage.TYPE_INT_RGB,
          java.awt.Color.RED, java.awt.Color.BLUE), "jpeg");
      default -> throw new IllegalArgumentException(which);
    };
    long limit = args.length > 1 ? Long.parseLong(args[1]) : 600_000;
    List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
        .filter(p -> p.getType() == MemoryType.HEAP).toList();
    System.gc();
    long base = heap.stream().mapToLong(p -> p.getUsage().getUsed()).sum();
    heap.forEach(MemoryPoolMXBean::resetPeakUsage);
    Thumbnailer thumbnailer = new Thumbnailer();
    long t0 = System.nanoTime();
    Thread worker = new Thread(() -> {
      Thumbnailer.Result r = thumbnailer.make(() -> new ByteArrayInputStream(bytes), bytes.length, null, null);
      System.out.println("result: " + r.status() + " (" + r.reason() + ")");
    });
    worker.setDaemon(true);
    worker.start();
    worker.join(limit);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    long peak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
    String hwm = Files.readAllLines(Path.of("/proc/self/status")).stream()
        .filter(l -> l.startsWith("VmHWM")).findFirst().orElse("VmHWM ?").replaceAll("\\s+", " ");
    System.out.printf(Locale.ROOT, "%s: %d bytes; %s after %d ms; heap peak %.0f MiB above %.0f MiB; %s%n",
        which, bytes.length, worker.isAlive() ? "STILL RUNNING" : "ended", ms, (peak - base) / 1048576.0,
        base / 1048576.0, hwm);
    System.exit(0);
  }
}

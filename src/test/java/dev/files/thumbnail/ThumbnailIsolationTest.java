package dev.files.thumbnail;

import dev.files.support.Logs;
import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.files.support.Api;
import dev.files.support.Db;
import dev.files.support.NodeTest;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import java.lang.management.ManagementFactory;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Hostile files through a real node: each costs its own thumbnail job a bounded time and memory and
 * ends as {@code "none"} or {@code "error"}, while another file's thumbnail is still made within
 * seconds; the deadline ({@code thumbnails.timeout_ms}) really ends a job and frees its thread.
 */
class ThumbnailIsolationTest extends NodeTest {

  @Override
  protected Map<String, ?> settings() {
    return Map.of("thumbnails.sync_wait_ms", 30_000);
  }

  private UUID upload(Api a, String name, String type, byte[] content, boolean sync) throws Exception {
    HttpResponse<String> r = a.post(a.files(company) + (sync ? "?thumbnail_sync=1" : ""), token,
        new Api.Multipart().filename(name).partType(type), content);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return UUID.fromString(Api.resource(r).getString("id"));
  }

  private String status(TestNode n, UUID file) throws Exception {
    return Db.strings(n.dbName, "SELECT thumbnails_status FROM files WHERE id = '" + file + "'").get(0);
  }

  /**
   * A JPEG repeating a scan 50,000 times and a PDF of forms nested 30 deep take both thumbnail
   * slots of the node (thumbnails.concurrency 2); an ordinary photo uploaded right after them still
   * gets its thumbnail within 10 s. Before the budgets, both bombs held their slots for minutes.
   */
  @Test
  void twoBombsInFlightAndAnOrdinaryImageGetsItsThumbnailWithinTenSeconds() throws Exception {
    UUID scans = upload(api, "scans.jpg", "image/jpeg", TestImages.progressiveScanBomb(4096, 4096, 50_000), false);
    UUID forms = upload(api, "forms.pdf", "application/pdf", TestPdfs.nestedForms(30), false);
    long t0 = System.nanoTime();
    HttpResponse<String> r = api.post(api.files(company) + "?thumbnail_sync=1", token,
        new Api.Multipart().filename("photo.png").partType("image/png"), Samples.image("png", 1200, 900));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    System.out.printf(Locale.ROOT, "two bombs in flight: the ordinary image's thumbnail was done in %d ms%n", ms);
    assertThat(Api.resource(r).getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done");
    assertThat(ms).as("ms from upload to the thumbnail of the ordinary image").isLessThan(10_000);
    eventually(Duration.ofSeconds(30), () -> {
      assertThat(status(node, scans)).isEqualTo("none");
      assertThat(status(node, forms)).isEqualTo("none");
    });
  }

  /**
   * A 1 x 1 PNG whose zTXt text inflates to 1.5 GB, a 100,000,000 x 1 TIFF and a BMP RLE8 of the
   * same size (each under 2 MB) cost the node's heap far less than 200 MiB: measured as the bytes
   * allocated by all of the JVM's threads (this test's included) while each is uploaded and its
   * thumbnail decided, an upper bound of the heap's growth.
   */
  @Test
  void memoryBombsCostTheNodeLittleHeap() throws Exception {
    Map<String, byte[]> bombs = new LinkedHashMap<>();
    bombs.put("text.png", TestImages.pngWithZtxt(1_500_000_000L));
    bombs.put("thin.tif", TestImages.greyTiff(100_000_000, 1));
    bombs.put("thin.bmp", TestImages.rle8Bmp(100_000_000, 1));
    for (Map.Entry<String, byte[]> bomb : bombs.entrySet()) {
      System.gc();
      long before = allocatedByAllThreads();
      long t0 = System.nanoTime();
      UUID file = upload(api, bomb.getKey(), null, bomb.getValue(), true);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      long allocated = allocatedByAllThreads() - before;
      String status = status(node, file);
      System.out.printf(Locale.ROOT, "%s (%d bytes): %s after %d ms; %.1f MiB allocated in the JVM meanwhile%n",
          bomb.getKey(), bomb.getValue().length, status, ms, allocated / 1048576.0);
      assertThat(status).as(bomb.getKey()).isIn("done", "none");
      assertThat(allocated).as(bomb.getKey() + ": bytes allocated while it was handled").isLessThan(200L << 20);
    }
  }

  private static long allocatedByAllThreads() {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    return Arrays.stream(threads.getThreadAllocatedBytes(threads.getAllThreadIds())).filter(b -> b > 0).sum();
  }

  /**
   * With thumbnails.timeout_ms at 0.1 s, a PDF just under the operator budget, each operator a
   * whole-page fill (far more than 0.1 s of rendering on any machine), ends at the deadline: status error, the reason in the log, its thread stopped (the
   * operator hook) and back in the pool, nothing abandoned.
   */
  @Test
  void theDeadlineEndsAJobAndFreesItsThread() throws Exception {
    ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(ThumbnailVerticle.class);
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    log.addAppender(events);
    try (TestNode quick = TestNode.start(Map.of("thumbnails.timeout_ms", 100, "thumbnails.sync_wait_ms", 30_000))) {
      Api a = new Api(quick);
      long t0 = System.nanoTime();
      UUID slow = upload(a, "slow.pdf", "application/pdf", TestPdfs.manyOperators(PdfPages.MAX_OPERATORS - 10, true), true);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertThat(status(quick, slow)).isEqualTo("error");
      List<String> lines = Logs.snapshot(events).stream().map(ILoggingEvent::getFormattedMessage).toList();
      assertThat(lines).contains("file " + slow + ": no thumbnail (error): stopped at the deadline of 100 ms"
          + " (thumbnails.timeout_ms)");
      assertThat(ms).as("ms until the slow PDF's thumbnail was decided").isLessThan(100 + ThumbnailVerticle.GRACE_MS + 5000);
      eventually(Duration.ofSeconds(10), () -> assertThat(busyThumbnailThreads()).as("thumbnail threads still working").isZero());
      String metrics = a.get("http://127.0.0.1:" + quick.port + "/metrics", null).body();
      assertThat(metrics).contains("files_thumbnail_abandoned_threads 0.0");
      assertThat(metrics).contains("files_thumbnail_abandons_total 0.0");
      // the next file is made as usual; on a loaded machine a small PNG can itself pass the 100 ms
      // deadline, so up to 20 are tried, each ending done or stopped at the deadline, until one is done
      String made = null;
      for (int i = 0; i < 20 && !"done".equals(made); i++) {
        UUID next = upload(a, "next-" + i + ".png", "image/png", Samples.image("png", 300, 200), true);
        made = status(quick, next);
        if (!"done".equals(made)) {
          UUID late = next;
          assertThat(Logs.snapshot(events).stream().map(ILoggingEvent::getFormattedMessage))
              .contains("file " + late + ": no thumbnail (error): stopped at the deadline of 100 ms (thumbnails.timeout_ms)");
        }
      }
      assertThat(made).as("the thumbnail of a small PNG after the slow PDF").isEqualTo("done");
    } finally {
      log.detachAppender(events);
    }
  }

  /** Threads of the thumbnail workers that are running (not parked waiting for a job). */
  private static long busyThumbnailThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("files-thumbnail-") && t.getState() == Thread.State.RUNNABLE)
        .count();
  }
}

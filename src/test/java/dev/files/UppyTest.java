package dev.files;

import com.sun.net.httpserver.HttpServer;
import dev.files.support.Api;
import dev.files.support.Browser;
import dev.files.support.Db;
import dev.files.support.Samples;
import dev.files.support.TestNode;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chromium.ChromiumNetworkConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static dev.files.support.Eventually.eventually;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Uppy (the {@code uppy} 6.0.1 browser bundle from npm, {@code src/test/js}, installed by
 * {@code scripts/test} with {@code npm ci}; its {@code @uppy/tus} plugin runs tus-js-client unmodified)
 * in Debian's headless Chromium driven by Selenium, against one node's tus endpoint
 * ({@code POST {prefix}/companies/C/uploads}, docs/api.md "Resumable uploads (tus)").
 *
 * <p>The page is served by a second HTTP server of the test on another port, listed in
 * {@code http.cors.origins}, as a web application on its own origin would be: Uppy's Dashboard with the
 * Tus plugin (256 KiB PATCHes, the JWT in {@code Authorization}). A 1800 × 1200 JPEG photo is chosen
 * through the Dashboard's file input and sent with its upload button; the page then asks the files API
 * for the file until its thumbnail is made and shows it. The test checks the file through the API:
 * complete, its bytes' SHA-256, one chunk per PATCH, and its 600 × 400 thumbnail. A second upload is
 * paused with the Dashboard's button half-way and resumed: HEAD, then only the rest. Skipped when
 * Chromium, chromedriver or the installed bundle are missing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UppyTest {

  private static final Path UPPY_DIST = Path.of("src/test/js/node_modules/uppy/dist");
  private static final int CHUNK = 256 * 1024;

  private TestNode node;
  private Api api;
  private HttpServer pages;
  private int pagesPort;
  private Browser browser;
  private ChromeDriver driver;
  private Path work;
  private final UUID company = UUID.randomUUID();
  private final UUID user = UUID.randomUUID();
  private final String token = TestNode.userToken(user, company);

  /**
   * Why the tests are skipped, or null. Checked by each test rather than in {@code @BeforeAll}: a test
   * skipped by its own assumption is reported as skipped with this reason (scripts/test lists it), a
   * class skipped in {@code @BeforeAll} only shows as zero tests run.
   */
  private String skipped;

  @BeforeAll
  void start() throws Exception {
    skipped = Browser.missing();
    if (skipped != null) {
      return;
    }
    if (!Files.isRegularFile(UPPY_DIST.resolve("uppy.min.js")) || !Files.isRegularFile(UPPY_DIST.resolve("uppy.min.css"))) {
      skipped = "Uppy is not installed in src/test/js/node_modules (scripts/test runs npm ci in src/test/js)";
      return;
    }
    pagesPort = TestNode.freePort();
    node = TestNode.start(Map.of("http.cors.origins", "http://127.0.0.1:" + pagesPort));
    api = new Api(node);
    pages = Browser.serve(pagesPort, path -> {
      if (path.equals("/uppy.html")) {
        return Browser.Page.of("text/html; charset=utf-8", PAGE.getBytes(StandardCharsets.UTF_8));
      } else if (path.equals("/uppy/uppy.min.js") || path.equals("/uppy/uppy.min.css")) {
        try {
          return Browser.Page.of(path.endsWith(".js") ? "text/javascript" : "text/css",
              Files.readAllBytes(UPPY_DIST.resolve(path.substring("/uppy/".length()))));
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      } else if (path.equals("/favicon.ico")) {
        return Browser.Page.empty(); // no icon, and no 404 in the page's console
      }
      return null;
    });
    browser = Browser.start("files-uppy", false);
    driver = browser.driver();
    work = browser.work();
  }

  @BeforeEach
  void installed() {
    assumeTrue(skipped == null, skipped);
  }

  @AfterAll
  void stop() throws Exception {
    if (browser != null) {
      browser.close();
    }
    if (pages != null) {
      pages.stop(0);
    }
    if (node != null) {
      node.close();
    }
  }

  /** The page's console, for failure messages. */
  private String console() {
    return browser.console();
  }

  /** What the page reported in {@code #result} (JSON), {@code {}} before its first report. */
  private JsonObject result() {
    String text = String.valueOf(((JavascriptExecutor) driver).executeScript("return document.getElementById('result').textContent"));
    return new JsonObject(text.isBlank() ? "{}" : text);
  }

  private WebDriverWait waitUpTo(int seconds) {
    return browser.waitUpTo(seconds);
  }

  /**
   * Loads the page afresh (a new query each time: an address that differs from the current one only
   * in its fragment would not reload it) and waits for Uppy's Dashboard.
   */
  private void openPage() {
    driver.get("http://127.0.0.1:" + pagesPort + "/uppy.html?page=" + UUID.randomUUID() + "#token=" + token
        + "&company=" + company + "&api=" + URLEncoder.encode(node.api(), StandardCharsets.UTF_8));
    waitUpTo(60).withMessage(() -> "Uppy's Dashboard did not show" + console())
        .until(d -> !d.findElements(By.cssSelector("input.uppy-Dashboard-input")).isEmpty());
  }

  @Test
  void uppyUploadsAPhotoByTusAndItsThumbnailShows() throws Exception {
    byte[] photo = photo(1800, 1200, new Random(21));
    Path file = Files.write(work.resolve("holiday.jpg"), photo);
    assertThat(photo.length).as("the photo spans several 256 KiB PATCHes").isGreaterThan(2 * CHUNK);

    openPage();
    // the Dashboard's own file input (not its folder input), as a user's "browse files" fills it
    driver.findElement(By.cssSelector("input.uppy-Dashboard-input:not([webkitdirectory])")).sendKeys(file.toString());
    waitUpTo(60).withMessage(() -> "no upload button" + console())
        .until(d -> d.findElement(By.cssSelector("button.uppy-StatusBar-actionBtn--upload")).isDisplayed());
    driver.findElement(By.cssSelector("button.uppy-StatusBar-actionBtn--upload")).click();

    waitUpTo(180).withMessage(() -> "Uppy did not finish: " + result() + console())
        .until(d -> result().containsKey("complete"));
    JsonObject page = result();
    assertThat(page.getString("error")).as(page.encode()).isNull();
    assertThat(page.getInteger("successful")).isEqualTo(1);
    assertThat(page.getInteger("failed")).isZero();
    assertThat(page.getLong("bytesUploaded")).isEqualTo(photo.length);

    // the upload URL is the Location the node answered, resolved against the endpoint: its last segment is the file id
    String url = page.getString("uploadURL");
    String uploads = node.api() + "/companies/" + company + "/uploads/";
    assertThat(url).startsWith(uploads);
    UUID id = UUID.fromString(url.substring(uploads.length()));
    // a creation (201 with the Location, through CORS), then one PATCH per 256 KiB, each answered 204
    List<JsonObject> answered = list(page, "answered");
    assertThat(answered.get(0).getString("method")).isEqualTo("POST");
    assertThat(answered.get(0).getInteger("status")).isEqualTo(201);
    assertThat(answered.get(0).getString("location")).isEqualTo(URI.create(url).getPath());
    List<JsonObject> patches = answered.stream().filter(j -> "PATCH".equals(j.getString("method"))).toList();
    assertThat(patches).extracting(j -> j.getString("offset"))
        .containsExactly("0", Integer.toString(CHUNK), Integer.toString(2 * CHUNK));
    assertThat(patches).extracting(j -> j.getInteger("status")).containsOnly(204);
    assertThat(patches.get(2).getString("answeredOffset")).isEqualTo(Integer.toString(photo.length));

    JsonObject resource = Api.resource(api.get(api.file(company, id), token));
    assertThat(resource.getString("upload_status")).isEqualTo("complete");
    assertThat(resource.getString("owner_id")).isEqualTo(user.toString());
    assertThat(resource.getJsonObject("metadata").getString("name")).isEqualTo("holiday.jpg");
    assertThat(resource.getJsonObject("metadata").getString("mime")).isEqualTo("image/jpeg");
    assertThat(resource.getJsonObject("upload_data").getLong("size")).isEqualTo(photo.length);
    HttpResponse<byte[]> down = api.download(company, id, token);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(photo));
    // each 256 KiB PATCH of the Tus plugin was stored and committed as one chunk
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM chunks WHERE file_id = '" + id + "'"))
        .isEqualTo((photo.length + CHUNK - 1) / CHUNK);

    // the thumbnail: made in the background, fitting in 600 × 400 (a 3:2 photo fills it exactly)
    eventually(Duration.ofSeconds(90), () -> assertThat(Api.resource(api.get(api.file(company, id), token))
        .getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done"));
    JsonObject done = Api.resource(api.get(api.file(company, id), token));
    JsonObject thumb = done.getJsonArray("thumbnails").getJsonObject(0);
    assertThat(thumb.getString("type")).isEqualTo("image/jpeg");
    assertThat(thumb.getInteger("width")).isEqualTo(600);
    assertThat(thumb.getInteger("height")).isEqualTo(400);
    HttpResponse<byte[]> image = Api.CLIENT.send(HttpRequest.newBuilder(URI.create(api.file(company, id) + "/thumbnails/0"))
        .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(image.statusCode()).isEqualTo(200);
    assertThat(image.headers().firstValue("Content-Type")).hasValue("image/jpeg");
    assertThat(image.body()).hasSize(thumb.getInteger("size"));
    BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(image.body()));
    assertThat(decoded.getWidth()).isEqualTo(600);
    assertThat(decoded.getHeight()).isEqualTo(400);

    // and the page shows it: the <img> it pointed at thumbnails/0 decoded at that size
    waitUpTo(120).withMessage(() -> "the page did not show the thumbnail: " + result() + console())
        .until(d -> result().containsKey("thumbnailWidth") || result().containsKey("thumbnailError"));
    page = result();
    assertThat(page.getString("thumbnailError")).as(page.encode()).isNull();
    assertThat(page.getString("thumbnailsStatus")).isEqualTo("done");
    assertThat(page.getInteger("thumbnailWidth")).isEqualTo(600);
    assertThat(page.getInteger("thumbnailHeight")).isEqualTo(400);

    Path shot = Path.of("target", "uppy-page.png");
    Files.createDirectories(shot.getParent());
    Files.write(shot, driver.getScreenshotAs(OutputType.BYTES));
  }

  /**
   * Uppy's pause and resume (the Dashboard's pause button: tus-js-client's {@code abort()}, then
   * {@code start()} with the upload's URL): the resumed upload asks HEAD for the offset and sends only
   * the rest, to the same file; the file completes byte-exact. The network is slowed down (512 KiB/s up)
   * so that the pause catches the 3 MiB upload half-way.
   */
  @Test
  void pausedAndResumedInUppyTheUploadSendsOnlyTheRest() throws Exception {
    byte[] content = Samples.random(new Random(2121), 3 * 1024 * 1024 + 777);
    Path file = Files.write(work.resolve("recording.bin"), content);
    openPage();
    ChromiumNetworkConditions slow = new ChromiumNetworkConditions();
    slow.setLatency(Duration.ofMillis(50));
    slow.setUploadThroughput(512 * 1024);
    slow.setDownloadThroughput(8 * 1024 * 1024);
    driver.setNetworkConditions(slow);
    try {
      driver.findElement(By.cssSelector("input.uppy-Dashboard-input:not([webkitdirectory])")).sendKeys(file.toString());
      waitUpTo(60).until(d -> d.findElement(By.cssSelector("button.uppy-StatusBar-actionBtn--upload")).isDisplayed());
      driver.findElement(By.cssSelector("button.uppy-StatusBar-actionBtn--upload")).click();
      waitUpTo(120).withMessage(() -> "the upload did not get going: " + result() + console())
          .until(d -> result().getLong("bytesUploaded", 0L) >= 1024 * 1024);
      driver.findElement(By.cssSelector("button[data-cy='togglePauseResume']")).click();
    } finally {
      driver.deleteNetworkConditions();
    }
    assertThat(((JavascriptExecutor) driver).executeScript("return window.uppy.getFiles()[0].isPaused")).isEqualTo(true);
    JsonObject paused = result();
    assertThat(paused.containsKey("complete")).as(paused.encode()).isFalse();
    int sentBeforeResume = paused.getJsonArray("sent").size();
    String location = list(paused, "answered").get(0).getString("location");
    UUID id = UUID.fromString(location.substring(location.lastIndexOf('/') + 1));

    // paused: a pending file holding part of the bytes (the cut PATCH keeps what arrived)
    JsonObject pending = Api.resource(api.get(api.file(company, id), token));
    assertThat(pending.getString("upload_status")).isEqualTo("pending");
    long storedAtPause = pending.getJsonObject("upload_data").getLong("size");
    assertThat(storedAtPause).isBetween((long) CHUNK, (long) content.length - 1);
    assertThat(api.download(company, id, token).statusCode()).isEqualTo(409);

    driver.findElement(By.cssSelector("button[data-cy='togglePauseResume']")).click(); // resume
    waitUpTo(180).withMessage(() -> "Uppy did not finish: " + result() + console())
        .until(d -> result().containsKey("complete"));
    JsonObject page = result();
    assertThat(page.getString("error")).as(page.encode()).isNull();
    assertThat(page.getInteger("successful")).isEqualTo(1);
    assertThat(page.getString("uploadURL")).isEqualTo(node.api() + "/companies/" + company + "/uploads/" + id);

    // after the resume: HEAD first, then PATCHes from the offset HEAD answered, never from 0
    List<JsonObject> resumed = list(page, "sent").subList(sentBeforeResume, page.getJsonArray("sent").size());
    assertThat(resumed.get(0).getString("method")).isEqualTo("HEAD");
    assertThat(resumed).noneMatch(j -> "POST".equals(j.getString("method")));
    JsonObject head = list(page, "answered").stream().filter(j -> "HEAD".equals(j.getString("method"))).findFirst().orElseThrow();
    assertThat(head.getInteger("status")).isEqualTo(200);
    long headOffset = Long.parseLong(head.getString("answeredOffset"));
    assertThat(headOffset).isGreaterThanOrEqualTo(storedAtPause);
    List<String> resumedPatches = resumed.stream().filter(j -> "PATCH".equals(j.getString("method")))
        .map(j -> j.getString("offset")).toList();
    assertThat(resumedPatches).isNotEmpty().doesNotContain("0");
    assertThat(resumedPatches.get(0)).isEqualTo(Long.toString(headOffset));

    api.assertComplete(company, id, token, "recording.bin", content);
    assertThat(Db.count(node.dbName, "SELECT count(*) FROM files WHERE company_id = '" + company
        + "' AND 'recording.bin' IN (name, upload_name)")).as("one file: the resume made no second upload").isEqualTo(1);
  }

  private static List<JsonObject> list(JsonObject page, String key) {
    return page.getJsonArray(key).stream().map(o -> (JsonObject) o).toList();
  }

  /** A JPEG "photo": a gradient with seeded noise (so that it does not compress to a few KiB). */
  private static byte[] photo(int width, int height, Random random) throws IOException {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setPaint(new GradientPaint(0, 0, Color.ORANGE, width, height, Color.BLUE));
    g.fillRect(0, 0, width, height);
    g.dispose();
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int rgb = img.getRGB(x, y);
        int r = clamp(((rgb >> 16) & 0xff) + random.nextInt(97) - 48);
        int gr = clamp(((rgb >> 8) & 0xff) + random.nextInt(97) - 48);
        int b = clamp((rgb & 0xff) + random.nextInt(97) - 48);
        img.setRGB(x, y, (r << 16) | (gr << 8) | b);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "jpg", out);
    return out.toByteArray();
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }

  /**
   * The application page: Uppy's Dashboard and its Tus plugin pointed at the node (from the address's
   * fragment: {@code api}, {@code company}, {@code token}); writes what it saw as JSON into #result:
   * {@code sent} (each request of tus-js-client: {@code method}, {@code offset}), {@code answered}
   * (each answer: {@code method}, {@code offset}, {@code status}, {@code answeredOffset},
   * {@code location}), {@code uploadURL}, {@code bytesUploaded}, {@code successful}, {@code failed},
   * {@code complete}, {@code error}, then {@code thumbnailsStatus}, {@code thumbnailWidth}/{@code thumbnailHeight} of
   * the service's thumbnail shown in #thumbnail, or {@code thumbnailError}.
   */
  private static final String PAGE = """
      <!doctype html><meta charset="utf-8"><title>Uppy with tus</title>
      <link rel="stylesheet" href="/uppy/uppy.min.css">
      <div id="dashboard"></div>
      <img id="thumbnail" alt="thumbnail from the files service">
      <pre id="result"></pre>
      <script src="/uppy/uppy.min.js"></script>
      <script>
      (() => {
        const p = new URLSearchParams(location.hash.slice(1));
        const api = p.get('api'), token = p.get('token'), company = p.get('company');
        const U = window.Uppy;
        const out = {sent: [], answered: []};
        const show = () => { document.getElementById('result').textContent = JSON.stringify(out); };
        const uppy = new U.Uppy({restrictions: {maxNumberOfFiles: 1}})
          .use(U.Dashboard, {inline: true, target: '#dashboard', height: 420, proudlyDisplayPoweredByUppy: false})
          .use(U.Tus, {
            endpoint: api + '/companies/' + company + '/uploads',
            headers: {Authorization: 'Bearer ' + token},
            chunkSize: 256 * 1024,
            retryDelays: [0, 1000, 3000],
            // what tus-js-client sends, and what it was answered
            onBeforeRequest: req => {
              out.sent.push({method: req.getMethod(), offset: req.getHeader('Upload-Offset') ?? null});
              show();
            },
            onAfterResponse: (req, res) => {
              out.answered.push({method: req.getMethod(), offset: req.getHeader('Upload-Offset') ?? null,
                status: res.getStatus(), answeredOffset: res.getHeader('Upload-Offset') ?? null,
                location: res.getHeader('Location') ?? null});
              show();
            },
          });
        window.uppy = uppy;
        uppy.on('upload-progress', (file, progress) => { out.bytesUploaded = progress.bytesUploaded; show(); });
        uppy.on('upload-error', (file, error) => { out.error = String(error); show(); });
        uppy.on('upload-success', (file, response) => {
          out.uploadURL = response.uploadURL;
          show();
          thumbnail(response.uploadURL.split('/').pop());
        });
        uppy.on('complete', result => {
          out.successful = result.successful.length;
          out.failed = result.failed.length;
          out.complete = true;
          show();
        });
        // the service makes the thumbnail after the upload: ask for the file until it says done
        async function thumbnail(id) {
          const file = api + '/companies/' + company + '/files/' + id;
          try {
            const deadline = Date.now() + 120000;
            let status = 'waiting';
            while (status === 'waiting' && Date.now() < deadline) {
              const r = await fetch(file, {headers: {Authorization: 'Bearer ' + token}});
              status = (await r.json()).resource.metadata.thumbnails_status;
              if (status === 'waiting') await new Promise(res => setTimeout(res, 250));
            }
            out.thumbnailsStatus = status;
            if (status !== 'done') { out.thumbnailError = 'thumbnails_status ' + status; show(); return; }
            const img = document.getElementById('thumbnail');
            img.onload = () => { out.thumbnailWidth = img.naturalWidth; out.thumbnailHeight = img.naturalHeight; show(); };
            img.onerror = () => { out.thumbnailError = 'the thumbnail did not load'; show(); };
            img.src = file + '/thumbnails/0?token=' + encodeURIComponent(token);
          } catch (e) {
            out.thumbnailError = String(e);
            show();
          }
        }
      })();
      </script>
      """;
}

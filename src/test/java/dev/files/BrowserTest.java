package dev.files;

import com.sun.net.httpserver.HttpServer;
import dev.files.support.Api;
import dev.files.support.Browser;
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
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chromium.ChromiumNetworkConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The upload page at {@code /} in a real browser: headless Chromium (Debian's {@code chromium} and
 * {@code chromium-driver}, which {@code scripts/test} installs when it can) driven by Selenium. Skipped
 * when they are not installed.
 *
 * <ul>
 *   <li>On the node's own origin: three files (a PNG and a 20 MiB file chosen with the file input, a
 *       JPEG dropped on the drop zone) in 1 MiB chunks; the big one is paused (the network slowed down
 *       so that it is caught half-way), found half stored on the service, resumed (the page asks which
 *       chunks are stored and sends only the others) and completed; the thumbnails show; the 20 MiB
 *       file is downloaded through the page's link and its SHA-256 compared; a screenshot of the page
 *       goes to {@code target/upload-page.png}.</li>
 *   <li>From another origin (a second HTTP server of the test, on another port, listed in
 *       {@code http.cors.origins}): a page that uploads and downloads with {@code fetch} and reads the
 *       exposed headers and a 401's JSON; the upload page itself pointed at the node's API; and the same
 *       page from an origin that is not listed, which shows in words why it cannot reach the service.</li>
 * </ul>
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BrowserTest {

  private static final int MiB = 1 << 20;

  private TestNode node;
  private HttpServer other;
  private int otherPort;
  private Browser browser;
  private ChromeDriver driver;
  private Path work;
  private Path downloads;
  private final UUID company = UUID.randomUUID();
  private final String token = TestNode.userToken(UUID.randomUUID(), company);

  /**
   * Why the tests are skipped, or null: checked by each test (a class skipped in {@code @BeforeAll}
   * shows as zero tests run, and scripts/test could not name the reason).
   */
  private String skipped;

  @BeforeEach
  void installed() {
    assumeTrue(skipped == null, skipped);
  }

  @BeforeAll
  void start() throws Exception {
    skipped = Browser.missing();
    if (skipped != null) {
      return;
    }
    otherPort = TestNode.freePort();
    node = TestNode.start(Map.of("http.cors.origins", "http://127.0.0.1:" + otherPort,
        "page.api_origins", "http://127.0.0.1:" + otherPort));
    other = Browser.serve(otherPort, path -> {
      if (path.equals("/fetch.html")) {
        return Browser.Page.of("text/html; charset=utf-8", FETCH_PAGE.getBytes(StandardCharsets.UTF_8));
      } else if (path.startsWith("/upload/")) { // the node's upload page, served by another origin
        String name = path.equals("/upload/") ? "index.html" : path.substring("/upload/".length());
        byte[] body;
        try (InputStream in = BrowserTest.class.getClassLoader().getResourceAsStream("webroot/" + name)) {
          body = in == null ? null : in.readAllBytes();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
        if (body == null) {
          return null;
        }
        if (name.equals("index.html")) { // served elsewhere, the page lists the node's origin itself
          body = new String(body, StandardCharsets.UTF_8).replace("<meta name=\"files-api-origins\" content=\"\">",
              "<meta name=\"files-api-origins\" content=\"http://127.0.0.1:" + node.port + "\">").getBytes(StandardCharsets.UTF_8);
        }
        return Browser.Page.of(name.endsWith(".js") ? "text/javascript" : name.endsWith(".css") ? "text/css" : "text/html; charset=utf-8", body);
      }
      return null;
    });
    browser = Browser.start("files-browser", true);
    driver = browser.driver();
    work = browser.work();
    downloads = browser.downloads();
  }

  @AfterAll
  void stop() throws Exception {
    if (browser != null) {
      browser.close();
    }
    if (other != null) {
      other.stop(0);
    }
    if (node != null) {
      node.close();
    }
  }

  private String nodeOrigin() {
    return "http://127.0.0.1:" + node.port;
  }

  private String fragment(String api) {
    return "#token=" + token + "&company=" + company + (api == null ? "" : "&api=" + URLEncoder.encode(api, StandardCharsets.UTF_8));
  }

  private WebElement row(String name) {
    return driver.findElement(By.cssSelector("li.upload[data-name='" + name + "']"));
  }

  private String state(String name) {
    return row(name).getDomAttribute("data-state");
  }

  private double progress(String name) {
    return Double.parseDouble(String.valueOf(((JavascriptExecutor) driver).executeScript(
        "return document.querySelector(\"li.upload[data-name='\" + arguments[0] + \"'] progress\").value", name)));
  }

  private WebDriverWait waitUpTo(int seconds) {
    return browser.waitUpTo(seconds);
  }

  /** The page's console, for failure messages. */
  private String console() {
    return browser.console();
  }

  private void waitComplete(String name, int seconds) {
    waitUpTo(seconds).withMessage(() -> name + " did not complete: " + row(name).getText() + console())
        .until(d -> "complete".equals(state(name)) || "error".equals(state(name)));
    assertThat(state(name)).as(row(name).getText()).isEqualTo("complete");
  }

  /** The chunk numbers the service has stored, by the testChunks probe. */
  private int storedChunks(UUID file, int total) throws Exception {
    Api api = new Api(node);
    int stored = 0;
    for (int n = 1; n <= total; n++) {
      HttpResponse<String> r = api.get(api.file(company, file) + "?chunk_number=" + n, token);
      assertThat(r.statusCode()).isIn(200, 204);
      stored += r.statusCode() == 200 ? 1 : 0;
    }
    return stored;
  }

  @Test
  void uploadsThreeFilesPausesAndResumesTheBigOneShowsThumbnailsAndDownloads() throws Exception {
    byte[] png = Samples.image("png", 640, 400);
    byte[] jpeg = Samples.image("jpg", 480, 320);
    byte[] big = Samples.random(new Random(20), 20 * MiB);
    Path pngFile = Files.write(work.resolve("photo.png"), png);
    Path bigFile = Files.write(work.resolve("big.bin"), big);

    driver.get(nodeOrigin() + "/" + fragment(null));
    assertThat(driver.getCurrentUrl()).doesNotContain("token"); // the page takes the token out of the address bar
    assertThat(driver.findElement(By.id("api")).getDomProperty("value")).isEqualTo(node.api());
    driver.findElement(By.id("parallel")).clear();
    driver.findElement(By.id("parallel")).sendKeys("2");

    // a slow network, so that the 20 MiB upload can be caught half-way
    ChromiumNetworkConditions slow = new ChromiumNetworkConditions();
    slow.setLatency(Duration.ofMillis(150));
    slow.setUploadThroughput(1024 * 1024);
    slow.setDownloadThroughput(8 * 1024 * 1024);
    driver.setNetworkConditions(slow);

    driver.findElement(By.id("pick")).sendKeys(pngFile + "\n" + bigFile);
    // a JPEG dropped on the drop zone
    ((JavascriptExecutor) driver).executeScript("""
        const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'dropped.jpg', {type: 'image/jpeg'}));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        """, Base64.getEncoder().encodeToString(jpeg));

    waitUpTo(120).withMessage("the 20 MiB upload did not start").until(d -> progress("big.bin") >= 0.15);
    row("big.bin").findElement(By.cssSelector("button.toggle")).click();
    assertThat(state("big.bin")).isEqualTo("paused");
    // what the page says while paused: the chunks it knows stored, and those it cut off that may still land
    Matcher pausedText = Pattern.compile("paused · (\\d+) of 20 chunks stored(; (\\d+) being sent (was|were) stopped"
        + " \\(the service may still store (it|them): resume checks\\))?").matcher(row("big.bin").findElement(By.cssSelector(".status")).getText());
    assertThat(pausedText.matches()).as(row("big.bin").getText()).isTrue();
    int storedAtPause = Integer.parseInt(pausedText.group(1));
    driver.deleteNetworkConditions();
    UUID bigId = UUID.fromString(row("big.bin").getDomAttribute("data-file-id"));
    Thread.sleep(1500); // nothing moves while paused
    double paused = progress("big.bin");
    Thread.sleep(1500);
    assertThat(progress("big.bin")).isEqualTo(paused);
    JsonObject pending = Api.resource(new Api(node).get(new Api(node).file(company, bigId), token));
    assertThat(pending.getString("upload_status")).isEqualTo("pending");
    assertThat(pending.getJsonObject("upload_data").getInteger("chunks")).isEqualTo(20);
    int storedBeforeResume = storedChunks(bigId, 20);
    assertThat(storedBeforeResume).isBetween(1, 19);

    row("big.bin").findElement(By.cssSelector("button.toggle")).click(); // resume
    waitComplete("big.bin", 180);
    assertThat(row("big.bin").getDomAttribute("data-resumed-with")).isEqualTo(Integer.toString(storedBeforeResume));
    assertThat(row("big.bin").getText()).contains("resumed (" + storedBeforeResume + " of 20 chunks were stored"
        + (storedBeforeResume > storedAtPause ? ", " + (storedBeforeResume - storedAtPause) + " of them landed after the pause;" : ";"));
    waitComplete("photo.png", 120);
    waitComplete("dropped.jpg", 120);

    // thumbnails: decoded images in the two image rows, none for the random bytes
    for (String name : new String[]{"photo.png", "dropped.jpg"}) {
      waitUpTo(30).withMessage("no thumbnail for " + name).until(d -> ((Number) ((JavascriptExecutor) d).executeScript(
          "const i = document.querySelector(\"li.upload[data-name='\" + arguments[0] + \"'] .thumb img\");"
              + " return i && i.complete ? i.naturalWidth : 0", name)).intValue() > 0);
    }
    assertThat(row("big.bin").findElements(By.cssSelector(".thumb img"))).isEmpty();
    assertThat(row("photo.png").getText()).contains("image/png", "download");
    assertThat(row("big.bin").getText()).contains("20 MiB", "application/octet-stream");

    Path shot = Path.of("target", "upload-page.png");
    Files.createDirectories(shot.getParent());
    Files.write(shot, driver.getScreenshotAs(OutputType.BYTES));

    // the service has the bytes, and the page's link downloads them
    HttpResponse<byte[]> stored = new Api(node).download(company, bigId, token);
    assertThat(Api.sha256(stored.body())).isEqualTo(Api.sha256(big));
    row("big.bin").findElement(By.cssSelector("a.download")).click();
    Path downloaded = downloads.resolve("big.bin");
    waitUpTo(120).withMessage("no download in " + downloads).until(d -> {
      try (var files = Files.list(downloads)) {
        return Files.exists(downloaded) && files.noneMatch(p -> p.toString().endsWith(".crdownload"))
            && sizeOf(downloaded) == big.length;
      } catch (IOException e) {
        return false;
      }
    });
    assertThat(Api.sha256(Files.readAllBytes(downloaded))).isEqualTo(Api.sha256(big));
  }

  private static long sizeOf(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      return -1;
    }
  }

  /** The page names its icon, which the node serves: the browser does not ask for a /favicon.ico that is not there. */
  @Test
  void thePageNamesAnIconTheNodeServes() throws Exception {
    driver.manage().logs().get("browser"); // what earlier tests left in the console
    driver.get(nodeOrigin() + "/");
    waitUpTo(30).until(d -> "complete".equals(((JavascriptExecutor) d).executeScript("return document.readyState")));
    Object answer = ((JavascriptExecutor) driver).executeAsyncScript("""
        const done = arguments[arguments.length - 1];
        const link = document.querySelector("link[rel~='icon']");
        if (!link) { done('no icon link'); return; }
        fetch(link.href).then(r => r.text().then(t => done(r.status + ' ' + r.headers.get('content-type') + ' ' + t.startsWith('<svg'))))
          .catch(e => done('failed: ' + e));
        """);
    assertThat(answer).isEqualTo("200 image/svg+xml true");
    assertThat(driver.manage().logs().get("browser").getAll()).as("the page's console")
        .noneMatch(e -> e.getMessage().startsWith(nodeOrigin() + "/favicon") || e.getMessage().contains("404"));
  }

  @Test
  void aPageOnAnotherOriginUploadsAndDownloadsWithFetchThroughCors() throws Exception {
    driver.get("http://127.0.0.1:" + otherPort + "/fetch.html" + fragment(node.api()));
    waitUpTo(60).withMessage("the fetch page did not finish").until(d -> !d.findElement(By.id("result")).getText().isEmpty());
    JsonObject result = new JsonObject(driver.findElement(By.id("result")).getText());
    assertThat(result.getString("failure")).isNull();
    assertThat(result.getInteger("uploadStatus")).isEqualTo(200);
    assertThat(result.getString("uploadState")).isEqualTo("complete");
    assertThat(result.getInteger("downloadStatus")).isEqualTo(200);
    // the bytes the page generated: i % 251 for i in 0..99999
    byte[] expected = new byte[100_000];
    for (int i = 0; i < expected.length; i++) {
      expected[i] = (byte) (i % 251);
    }
    assertThat(result.getString("downloadSha256")).isEqualTo(Api.sha256(expected));
    assertThat(result.getString("contentDisposition")).startsWith("attachment; filename=\"cors fetch.bin\"");
    assertThat(result.getString("etag")).startsWith("\"");
    assertThat(result.getString("contentLength")).isEqualTo("100000");
    assertThat(result.getString("rangeContentRange")).isEqualTo("bytes 0-9/100000");
    // an error is readable too: its status and JSON, not a network failure
    assertThat(result.getInteger("errorStatus")).isEqualTo(401);
    assertThat(result.getString("errorMessage")).isEqualTo("missing bearer token");
  }

  @Test
  void theUploadPageWorksFromAnotherOriginThatCorsAllowsAndSaysWhyWhereItDoesNot() throws Exception {
    byte[] png = Samples.image("png", 300, 200);
    Path file = Files.write(work.resolve("cross.png"), png);
    driver.get("http://127.0.0.1:" + otherPort + "/upload/" + fragment(node.api()));
    assertThat(driver.findElement(By.id("api")).getDomProperty("value")).isEqualTo(node.api());
    driver.findElement(By.id("pick")).sendKeys(file.toString());
    waitComplete("cross.png", 120);
    waitUpTo(30).withMessage("no thumbnail from another origin").until(d -> ((Number) ((JavascriptExecutor) d).executeScript(
        "const i = document.querySelector(\"li.upload[data-name='cross.png'] .thumb img\"); return i && i.complete ? i.naturalWidth : 0"))
        .intValue() > 0);
    UUID id = UUID.fromString(row("cross.png").getDomAttribute("data-file-id"));
    assertThat(new Api(node).download(company, id, token).body()).isEqualTo(png);

    // localhost is another origin than 127.0.0.1, and it is not listed
    driver.get("http://localhost:" + otherPort + "/upload/" + fragment(node.api()));
    driver.findElement(By.id("pick")).sendKeys(file.toString());
    waitUpTo(60).until(d -> "error".equals(state("cross.png")));
    assertThat(row("cross.png").findElement(By.cssSelector(".error")).getText())
        .contains("could not be reached", "http://localhost:" + otherPort, "http.cors.origins");
  }

  /** The node's page takes {@code #api=} only on the origins of {@code page.api_origins}, and its CSP says the same. */
  @Test
  void thePageTakesAnApiFromALinkOnlyOnListedOrigins() throws Exception {
    String own = node.api();
    String crafted = "http://localhost:" + otherPort + "/internal/services/files/v1";
    driver.get(nodeOrigin() + "/" + fragment(crafted));
    waitUpTo(30).until(d -> "complete".equals(((JavascriptExecutor) d).executeScript("return document.readyState")));
    assertThat(driver.findElement(By.id("api")).getDomProperty("value")).isEqualTo(own);
    assertThat(driver.findElement(By.id("message")).getText()).contains(crafted, "page.api_origins", own);
    assertThat(driver.findElement(By.id("token")).getDomProperty("value")).isEqualTo(token);

    String listed = "http://127.0.0.1:" + otherPort + "/internal/services/files/v1";
    driver.get(nodeOrigin() + "/index.html" + fragment(listed));
    waitUpTo(30).until(d -> "complete".equals(((JavascriptExecutor) d).executeScript("return document.readyState")));
    assertThat(driver.findElement(By.id("api")).getDomProperty("value")).isEqualTo(listed);

    java.net.http.HttpResponse<String> page = Api.CLIENT.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(nodeOrigin() + "/"))
        .GET().build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    String csp = page.headers().firstValue("Content-Security-Policy").orElseThrow();
    assertThat(csp).contains("connect-src 'self' http://127.0.0.1:" + otherPort + ";")
        .contains("img-src 'self' blob: data: http://127.0.0.1:" + otherPort + ";")
        .doesNotContain("http: ").doesNotContain("https:");
    assertThat(page.body()).contains("<meta name=\"files-api-origins\" content=\"http://127.0.0.1:" + otherPort + "\">");
  }

  /** A page of another origin that calls the API with fetch, and writes what it saw as JSON into #result. */
  private static final String FETCH_PAGE = """
      <!doctype html><meta charset="utf-8"><title>fetch through CORS</title>
      <pre id="result"></pre>
      <script>
      (async () => {
        const p = new URLSearchParams(location.hash.slice(1));
        const api = p.get('api'), token = p.get('token'), company = p.get('company');
        const auth = {Authorization: 'Bearer ' + token};
        const out = {};
        try {
          const bytes = new Uint8Array(100000);
          for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
          const form = new FormData();
          form.append('file', new Blob([bytes], {type: 'application/octet-stream'}), 'cors fetch.bin');
          const up = await fetch(api + '/companies/' + company + '/files', {method: 'POST', headers: auth, body: form});
          out.uploadStatus = up.status;
          const resource = (await up.json()).resource;
          out.uploadState = resource.upload_status;
          const url = api + '/companies/' + company + '/files/' + resource.id + '/download';
          const down = await fetch(url, {headers: auth});
          out.downloadStatus = down.status;
          out.contentDisposition = down.headers.get('Content-Disposition');
          out.etag = down.headers.get('ETag');
          out.contentLength = down.headers.get('Content-Length');
          const digest = await crypto.subtle.digest('SHA-256', await down.arrayBuffer());
          out.downloadSha256 = Array.from(new Uint8Array(digest)).map(b => b.toString(16).padStart(2, '0')).join('');
          const range = await fetch(url, {headers: {...auth, Range: 'bytes=0-9'}});
          out.rangeContentRange = range.headers.get('Content-Range');
          const error = await fetch(api + '/companies/' + company + '/files', {method: 'POST'});
          out.errorStatus = error.status;
          out.errorMessage = (await error.json()).message;
        } catch (e) {
          out.failure = String(e);
        }
        document.getElementById('result').textContent = JSON.stringify(out);
      })();
      </script>
      """;
}

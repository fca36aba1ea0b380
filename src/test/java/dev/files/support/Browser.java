package dev.files.support;

import com.sun.net.httpserver.HttpServer;
import org.openqa.selenium.NoSuchElementException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Debian's headless Chromium ({@code chromium} and {@code chromium-driver}, which {@code scripts/test}
 * installs as root) driven by Selenium, for the tests of pages: a fresh profile in a temporary working
 * directory ({@link #work()}, deleted by {@link #close()}), the browser's console kept (read by
 * {@link #console()}), scripts allowed 60 s, and the driver's path given so that Selenium Manager never
 * downloads a driver or a browser. Also the small HTTP server that serves a test's pages on an origin of
 * their own ({@link #serve}).
 */
public final class Browser implements AutoCloseable {

  public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

  private final ChromeDriver driver;
  private final Path work;
  private final Path downloads;

  private Browser(ChromeDriver driver, Path work, Path downloads) {
    this.driver = driver;
    this.work = work;
    this.downloads = downloads;
  }

  /**
   * Why a browser cannot run here (a sentence for a skipped test), or null when Chromium and
   * chromedriver are installed.
   */
  public static String missing() {
    if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
      return "Chromium is not installed (apt-get install chromium chromium-driver; scripts/test does it as root)";
    }
    return null;
  }

  /**
   * Starts a headless Chromium (window 1100 × 1000) with its profile in a new temporary directory named
   * after {@code prefix}; when {@code downloads}, what the browser downloads goes without asking to
   * {@link #downloads()}.
   */
  public static Browser start(String prefix, boolean downloads) throws IOException {
    Path work = Files.createTempDirectory(prefix);
    Path into = downloads ? Files.createDirectories(work.resolve("downloads")) : null;
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
        "--window-size=1100,1000", "--user-data-dir=" + Files.createDirectories(work.resolve("profile")));
    if (into != null) {
      Map<String, Object> prefs = new HashMap<>();
      prefs.put("download.default_directory", into.toString());
      prefs.put("download.prompt_for_download", false);
      options.setExperimentalOption("prefs", prefs);
    }
    options.setCapability("goog:loggingPrefs", Map.of("browser", "ALL"));
    // the driver path is given: Selenium Manager never tries to download a driver or a browser
    ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
        .usingAnyFreePort().build();
    ChromeDriver driver = new ChromeDriver(service, options);
    driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(60));
    return new Browser(driver, work, into);
  }

  /** The driver. */
  public ChromeDriver driver() {
    return driver;
  }

  /** The temporary working directory (the profile is in it; tests put the files they upload there). */
  public Path work() {
    return work;
  }

  /** Where downloads go (null unless started with downloads). */
  public Path downloads() {
    return downloads;
  }

  /** A wait of up to {@code seconds}, checking every 100 ms, an element not found yet counting as not yet. */
  public WebDriverWait waitUpTo(int seconds) {
    WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(seconds), Duration.ofMillis(100));
    wait.ignoring(NoSuchElementException.class);
    return wait;
  }

  /** The page's console since it was last read, one {@code "\n  console: LEVEL message"} a line, for failure messages. */
  public String console() {
    StringBuilder b = new StringBuilder();
    driver.manage().logs().get("browser").forEach(e -> b.append("\n  console: ").append(e.getLevel()).append(' ').append(e.getMessage()));
    return b.toString();
  }

  /** Quits the browser and deletes the working directory. */
  @Override
  public void close() throws IOException {
    driver.quit();
    try (var files = Files.walk(work)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  /** A page a test serves: status, {@code Content-Type} and body (none for a 204). */
  public record Page(int status, String type, byte[] body) {

    /** 200 with {@code body} of {@code type}. */
    public static Page of(String type, byte[] body) {
      return new Page(200, type, body);
    }

    /** 204, no body. */
    public static Page empty() {
      return new Page(204, null, null);
    }
  }

  /**
   * Starts an HTTP server on 127.0.0.1:{@code port} answering each request with what {@code pages}
   * gives for its path, 404 when it gives null (or fails reading it: {@link IOException} is wrapped
   * as {@link java.io.UncheckedIOException}). The caller stops it.
   */
  public static HttpServer serve(int port, Function<String, Page> pages) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
    server.createContext("/", exchange -> {
      Page page = pages.apply(exchange.getRequestURI().getPath());
      if (page == null) {
        exchange.sendResponseHeaders(404, -1);
      } else if (page.body() == null) {
        exchange.sendResponseHeaders(page.status(), -1);
      } else {
        exchange.getResponseHeaders().add("Content-Type", page.type());
        exchange.sendResponseHeaders(page.status(), page.body().length);
        exchange.getResponseBody().write(page.body());
      }
      exchange.close();
    });
    server.start();
    return server;
  }
}

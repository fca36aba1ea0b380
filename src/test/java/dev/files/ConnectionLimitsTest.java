package dev.files;

import dev.files.support.Api;
import dev.files.support.Eventually;
import dev.files.support.NodeTest;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a client may hold without sending a request (README, "Configuration"): a whole request head within
 * {@code http.header_timeout_ms}, at most {@code http.max_connections_per_address} connections per address.
 */
class ConnectionLimitsTest extends NodeTest {

  private static final long HEADER_TIMEOUT_MS = 3000;
  private static final int PER_ADDRESS = 100;

  @Override
  protected Map<String, ?> settings() {
    return Map.of("http.header_timeout_ms", HEADER_TIMEOUT_MS, "http.max_connections_per_address", PER_ADDRESS);
  }

  /** Time (ms) until the server closes {@code socket}'s connection (a read sees its end), at most {@code limitMs}. */
  private static long closedAfter(Socket socket, long startedNanos, long limitMs) throws IOException {
    socket.setSoTimeout((int) limitMs);
    InputStream in = socket.getInputStream();
    try {
      while (in.read() >= 0) {
        // whatever the server says before it closes
      }
    } catch (java.net.SocketTimeoutException e) {
      return Long.MAX_VALUE; // still open
    } catch (IOException reset) {
      // closed
    }
    return (System.nanoTime() - startedNanos) / 1_000_000;
  }

  @Test
  void aClientSendingItsHeadAByteAtATimeIsCutAtTheDeadlineWhileOthersAreServed() throws Exception {
    int slow = 60;
    List<Socket> sockets = new ArrayList<>();
    long started = System.nanoTime();
    for (int i = 0; i < slow; i++) {
      Socket s = new Socket("127.0.0.1", node.port);
      sockets.add(s);
    }
    byte[] head = ("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a".repeat(200) + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
    ConcurrentLinkedQueue<Long> cutAfter = new ConcurrentLinkedQueue<>();
    List<Thread> dribblers = new ArrayList<>();
    for (Socket s : sockets) {
      Thread t = new Thread(() -> {
        try {
          for (int i = 0; i < head.length - 2; i++) { // never the end of the head
            s.getOutputStream().write(head[i]);
            s.getOutputStream().flush();
            Thread.sleep(250);
          }
        } catch (IOException | InterruptedException closed) {
          // the server closed the connection
        }
      });
      t.setDaemon(true);
      t.start();
      dribblers.add(t);
    }
    // meanwhile, others are served at once
    for (int i = 0; i < 20; i++) {
      long t0 = System.nanoTime();
      HttpResponse<String> r = Api.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + "/health/live"))
          .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(2000);
      Thread.sleep(50);
    }
    for (Socket s : sockets) {
      cutAfter.add(closedAfter(s, started, HEADER_TIMEOUT_MS * 4));
      s.close();
    }
    long max = cutAfter.stream().mapToLong(Long::longValue).max().orElseThrow();
    long min = cutAfter.stream().mapToLong(Long::longValue).min().orElseThrow();
    System.out.println(slow + " slow-header connections cut after " + min + "-" + max + " ms (deadline " + HEADER_TIMEOUT_MS + " ms)");
    assertThat(min).isGreaterThanOrEqualTo(HEADER_TIMEOUT_MS - 200);
    assertThat(max).isLessThan(HEADER_TIMEOUT_MS + 3000);
    for (Thread t : dribblers) {
      t.join(5000);
    }
    HttpResponse<String> metrics = Api.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + "/metrics"))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(metrics.body()).containsPattern("files_connections_refused_total\\{reason=\"header_timeout\"\\} [1-9]");
  }

  @Test
  void aKeptAliveConnectionServesRequestsThenClosesWhenIdle() throws Exception {
    try (Socket s = new Socket("127.0.0.1", node.port)) {
      s.setSoTimeout(10_000);
      InputStream in = s.getInputStream();
      for (int i = 0; i < 3; i++) {
        if (i > 0) {
          Thread.sleep(HEADER_TIMEOUT_MS / 3); // within the deadline: the connection stays
        }
        s.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        String status = readLine(in);
        assertThat(status).startsWith("HTTP/1.1 200");
        int length = 0;
        for (String line; !(line = readLine(in)).isEmpty(); ) {
          if (line.toLowerCase().startsWith("content-length:")) {
            length = Integer.parseInt(line.substring(15).strip());
          }
        }
        assertThat(in.readNBytes(length)).hasSize(length);
      }
      long idle = System.nanoTime();
      long cut = closedAfter(s, idle, HEADER_TIMEOUT_MS * 4);
      assertThat(cut).isBetween(HEADER_TIMEOUT_MS - 200, HEADER_TIMEOUT_MS + 3000);
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
      if (c != '\r') {
        b.append((char) c);
      }
    }
    return b.toString();
  }

  @Test
  void oneAddressOpensAtMostTheCapOfConnections() throws Exception {
    List<Socket> held = new ArrayList<>();
    try {
      // each held connection has sent a whole request head (an upload whose body never comes), so the
      // header deadline does not close it; the body's idle timeout (60 s) is far away
      int refusedAt = -1;
      for (int i = 0; i < PER_ADDRESS + 10 && refusedAt < 0; i++) {
        Socket s = new Socket("127.0.0.1", node.port);
        held.add(s);
        s.getOutputStream().write(("POST /internal/services/files/v1/companies/" + company + "/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Authorization: Bearer " + token + "\r\nContent-Type: multipart/form-data; boundary=held"
            + "\r\nContent-Length: 1000000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        if (i >= PER_ADDRESS && closedAfter(s, System.nanoTime(), 300) < 300) {
          refusedAt = i + 1;
        }
      }
      System.out.println("connection refused as number " + refusedAt + " (cap " + PER_ADDRESS + ")");
      // the one over the cap is closed at once (a few more are allowed for held ones the server closed meanwhile)
      assertThat(refusedAt).isBetween(PER_ADDRESS + 1, PER_ADDRESS + 10);
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
    // the count goes down as they close: a new client is served
    Eventually.eventually(Duration.ofSeconds(60), () -> assertThat(Api.CLIENT.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + node.port + "/health/live")).timeout(Duration.ofSeconds(2)).GET().build(),
        HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200));
    HttpResponse<String> metrics = Api.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port + "/metrics"))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(metrics.body()).containsPattern("files_connections_refused_total\\{reason=\"per_address\"\\} [1-9]");
  }
}

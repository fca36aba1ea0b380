package dev.files.support;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * A TCP proxy on a loopback port in front of an HTTP/1.1 server, that reads the requests going
 * through (request line and {@code Content-Length}) so that it can break the ones a test picks:
 * cut a request half-way through its body, or cut the response after some bytes. The connection is
 * then reset, as a crashed server or a broken network would. A fault stays armed until
 * {@link #clear()}: a client that retries meets it again.
 */
public final class FaultProxy implements AutoCloseable {

  /** A request seen by the proxy: its method and target ({@code /bucket/key?query}). */
  public record Request(String method, String target) {
  }

  private final ServerSocket server;
  private final int targetPort;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final AtomicInteger faults = new AtomicInteger();
  private final AtomicLong responseBytes = new AtomicLong();
  private volatile Predicate<Request> cutRequest = r -> false;
  private volatile Predicate<Request> cutResponse = r -> false;
  private volatile long cutResponseAfter;
  private volatile Predicate<Request> hold = r -> false;
  private volatile java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(0);
  private volatile boolean closed;

  private FaultProxy(ServerSocket server, int targetPort) {
    this.server = server;
    this.targetPort = targetPort;
  }

  /** Starts a proxy to {@code 127.0.0.1:targetPort}. */
  public static FaultProxy start(int targetPort) throws IOException {
    FaultProxy proxy = new FaultProxy(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), targetPort);
    Thread t = new Thread(proxy::accept, "fault-proxy");
    t.setDaemon(true);
    t.start();
    return proxy;
  }

  public int port() {
    return server.getLocalPort();
  }

  /** From now on, the requests matching {@code which} are cut half-way through their body. */
  public void cutRequests(Predicate<Request> which) {
    cutRequest = which;
  }

  /** From now on, the responses to requests matching {@code which} are cut after {@code bytes} bytes. */
  public void cutResponses(Predicate<Request> which, long bytes) {
    cutResponseAfter = bytes;
    cutResponse = which;
  }

  /**
   * From now on, the bodies of requests matching {@code which} are held back (their heads go
   * through) until {@link #clear()}: a server that stops reading.
   */
  public void holdRequests(Predicate<Request> which) {
    held = new java.util.concurrent.CountDownLatch(1);
    hold = which;
  }

  /** Disarms the faults and lets held requests go on. */
  public void clear() {
    cutRequest = r -> false;
    cutResponse = r -> false;
    hold = r -> false;
    held.countDown();
  }

  /** How many requests or responses were cut so far. */
  public int faults() {
    return faults.get();
  }

  /** Response bytes forwarded to clients so far (all connections). */
  public long responseBytes() {
    return responseBytes.get();
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        sockets.add(client);
        sockets.add(upstream);
        Connection c = new Connection(client, upstream);
        Thread up = new Thread(c::requests, "fault-proxy-up");
        Thread down = new Thread(c::responses, "fault-proxy-down");
        up.setDaemon(true);
        down.setDaemon(true);
        up.start();
        down.start();
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  private final class Connection {
    private final Socket client;
    private final Socket upstream;
    private volatile long cutAfter = -1; // response bytes still allowed, or -1 for no limit

    Connection(Socket client, Socket upstream) {
      this.client = client;
      this.upstream = upstream;
    }

    /** Client to server: request by request while they have a Content-Length; raw otherwise. */
    void requests() {
      try {
        InputStream in = new BufferedInputStream(client.getInputStream());
        OutputStream out = upstream.getOutputStream();
        while (true) {
          byte[] head = readHead(in);
          if (head == null) {
            break;
          }
          String text = new String(head, StandardCharsets.ISO_8859_1);
          String[] first = text.substring(0, text.indexOf("\r\n")).split(" ");
          Request request = new Request(first[0], first.length > 1 ? first[1] : "");
          long length = contentLength(text);
          if (length < 0 && !text.toLowerCase(java.util.Locale.ROOT).contains("\r\ntransfer-encoding:")) {
            length = 0; // HTTP/1.1: a request with neither header has no body (and the next request follows)
          }
          boolean cut = cutRequest.test(request);
          if (cutResponse.test(request)) {
            cutAfter = cutResponseAfter;
            faults.incrementAndGet();
          }
          if (cut && length == 0) { // no body to cut half-way: cut before the server sees the request,
            faults.incrementAndGet(); // or its answer could reach the client before the reset
            reset();
            return;
          }
          out.write(head);
          out.flush();
          if (hold.test(request)) {
            java.util.concurrent.CountDownLatch latch = held;
            try {
              latch.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          if (length < 0) { // chunked: forwarded as it comes, no more parsing
            in.transferTo(out);
            break;
          }
          long toSend = cut ? length / 2 : length;
          copy(in, out, toSend);
          out.flush();
          if (cut) {
            faults.incrementAndGet();
            reset();
            return;
          }
        }
      } catch (IOException e) {
        // a side closed
      }
      reset();
    }

    /** Server to client, cut after the allowed bytes of an armed response. */
    void responses() {
      try {
        InputStream in = upstream.getInputStream();
        OutputStream out = client.getOutputStream();
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) >= 0) {
          long allowed = cutAfter;
          if (allowed >= 0 && n >= allowed) {
            out.write(buf, 0, (int) allowed);
            out.flush();
            responseBytes.addAndGet(allowed);
            reset();
            return;
          }
          if (allowed >= 0) {
            cutAfter = allowed - n;
          }
          out.write(buf, 0, n);
          responseBytes.addAndGet(n);
        }
      } catch (IOException e) {
        // a side closed
      }
      reset();
    }

    private void reset() {
      for (Socket s : new Socket[] {client, upstream}) {
        try {
          s.setSoLinger(true, 0); // RST, not a clean end
          s.close();
        } catch (IOException ignored) {
          // already closed
        }
        sockets.remove(s);
      }
    }
  }

  private static byte[] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int b;
    int last4 = 0;
    while ((b = in.read()) >= 0) {
      head.write(b);
      last4 = (last4 << 8) | b;
      if (last4 == 0x0D0A0D0A) { // the blank line after the headers
        return head.toByteArray();
      }
    }
    return null;
  }

  private static long contentLength(String head) {
    boolean chunked = false;
    long length = 0;
    for (String line : head.split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).trim();
      if (name.equals("content-length")) {
        length = Long.parseLong(value);
      } else if (name.equals("transfer-encoding") && value.toLowerCase(Locale.ROOT).contains("chunked")) {
        chunked = true;
      }
    }
    return chunked ? -1 : length;
  }

  private static void copy(InputStream in, OutputStream out, long length) throws IOException {
    byte[] buf = new byte[64 * 1024];
    long left = length;
    while (left > 0) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, left));
      if (n < 0) {
        throw new IOException("client closed mid-body");
      }
      out.write(buf, 0, n);
      left -= n;
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
  }
}

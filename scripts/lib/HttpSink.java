import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * An HTTP/1.1 sink for scripts/bench: reads each request's body (Content-Length) with 1 MiB reads,
 * drops it and answers 204, on keep-alive connections, one thread per connection. Measures what
 * a client such as curl can send on this machine when the server does nothing with the bytes.
 * Usage: java scripts/lib/HttpSink.java PORT (listens on 127.0.0.1 only; exits after an hour).
 */
public final class HttpSink {
  public static void main(String[] args) throws IOException {
    ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0])));
    Thread stop = new Thread(() -> {
      try {
        Thread.sleep(3_600_000);
      } catch (InterruptedException ignored) {
        // exit anyway
      }
      System.exit(0);
    });
    stop.setDaemon(true);
    stop.start();
    for (;;) {
      SocketChannel c = server.accept();
      Thread t = new Thread(() -> serve(c));
      t.setDaemon(true);
      t.start();
    }
  }

  private static void serve(SocketChannel c) {
    ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
    byte[] reply = "HTTP/1.1 204 No Content\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    try (c) {
      for (;;) {
        buf.clear();
        StringBuilder head = new StringBuilder();
        int end;
        while ((end = head.indexOf("\r\n\r\n")) < 0) { // headers (and maybe the start of the body)
          if (c.read(buf) < 0) {
            return;
          }
          buf.flip();
          while (buf.hasRemaining()) {
            head.append((char) (buf.get() & 0xFF));
          }
          buf.clear();
        }
        long length = 0;
        for (String line : head.substring(0, end).split("\r\n")) {
          if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
            length = Long.parseLong(line.substring(15).strip());
          }
          if (line.toLowerCase(Locale.ROOT).startsWith("expect:") && line.toLowerCase(Locale.ROOT).contains("100-continue")) {
            c.write(ByteBuffer.wrap("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
          }
        }
        long left = length - (head.length() - end - 4);
        while (left > 0) {
          buf.clear();
          int n = c.read(buf);
          if (n < 0) {
            return;
          }
          left -= n;
        }
        ByteBuffer r = ByteBuffer.wrap(reply);
        while (r.hasRemaining()) {
          c.write(r);
        }
      }
    } catch (IOException | RuntimeException e) {
      // the client went away
    }
  }
}

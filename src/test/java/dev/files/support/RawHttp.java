package dev.files.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * HTTP/1.1 over a plain socket, for what java.net.http cannot do: stop sending in the middle of a
 * body, or read the server's early answer while the body is still being sent.
 */
public final class RawHttp implements AutoCloseable {

  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;

  public RawHttp(int port) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(30_000);
    out = socket.getOutputStream();
    in = socket.getInputStream();
  }

  /** Sends the request line and headers ({@code "Name: value"} each), then the blank line. */
  public void head(String requestLine, String... headers) throws IOException {
    StringBuilder b = new StringBuilder(requestLine).append("\r\nHost: 127.0.0.1\r\n");
    for (String h : headers) {
      b.append(h).append("\r\n");
    }
    out.write(b.append("\r\n").toString().getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** Sends bytes; false when the server has closed the connection. */
  public boolean send(byte[] data) {
    try {
      out.write(data);
      out.flush();
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Sends one chunk of a chunked body; false when the server has closed the connection. */
  public boolean sendChunk(byte[] data) {
    byte[] size = (Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
    return send(size) && send(data) && send("\r\n".getBytes(StandardCharsets.US_ASCII));
  }

  /** Reads what the server answered until it closes the connection (or 30 s pass); the raw text. */
  public String readResponse() throws IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    try {
      for (int n; (n = in.read(buf)) > 0; ) {
        got.write(buf, 0, n);
        String s = got.toString(StandardCharsets.UTF_8);
        int end = s.indexOf("\r\n\r\n");
        if (end > 0) {
          int len = contentLength(s.substring(0, end));
          if (len >= 0 && got.size() >= end + 4 + len) {
            break;
          }
        }
      }
    } catch (IOException e) {
      // connection reset after the answer: keep what was read
    }
    return got.toString(StandardCharsets.UTF_8);
  }

  private static int contentLength(String head) {
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase().startsWith("content-length:")) {
        return Integer.parseInt(line.substring(15).strip());
      }
    }
    return -1;
  }

  /** Drops the connection without finishing the request. */
  @Override
  public void close() throws IOException {
    socket.close();
  }
}

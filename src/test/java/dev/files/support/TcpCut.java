package dev.files.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A plain TCP relay on 127.0.0.1 to {@code 127.0.0.1:targetPort} that a test can cut: {@link #cut()}
 * resets every open connection and refuses new ones (closes them at once) until {@link #restore()}.
 * Used to take one node's PostgreSQL away while the other nodes keep theirs.
 */
public final class TcpCut implements AutoCloseable {

  private final ServerSocket server;
  private final int targetPort;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile boolean cut;

  private TcpCut(ServerSocket server, int targetPort) {
    this.server = server;
    this.targetPort = targetPort;
  }

  /** Starts relaying from a free port to {@code 127.0.0.1:targetPort}. */
  public static TcpCut start(int targetPort) throws IOException {
    ServerSocket s = new ServerSocket();
    s.bind(new InetSocketAddress("127.0.0.1", TestNode.freePort()));
    TcpCut proxy = new TcpCut(s, targetPort);
    Thread t = new Thread(proxy::accept, "tcp-cut-" + s.getLocalPort());
    t.setDaemon(true);
    t.start();
    return proxy;
  }

  /** The port clients connect to. */
  public int port() {
    return server.getLocalPort();
  }

  /** Resets every open connection; new ones are closed at once until {@link #restore()}. */
  public void cut() {
    cut = true;
    for (Socket s : open) {
      close(s, true);
    }
  }

  /** Accepts and relays connections again. */
  public void restore() {
    cut = false;
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        if (cut) {
          close(client, true);
          continue;
        }
        Socket upstream = new Socket("127.0.0.1", targetPort);
        open.add(client);
        open.add(upstream);
        pipe(client, upstream);
        pipe(upstream, client);
      } catch (IOException e) {
        // closed, or the target refused: the client's connection is dropped
      }
    }
  }

  private void pipe(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16384];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          out.write(buf, 0, n);
          out.flush();
        }
      } catch (IOException ignored) {
        // one side closed
      } finally {
        close(from, false);
        close(to, false);
      }
    }, "tcp-cut-pipe");
    t.setDaemon(true);
    t.start();
  }

  private void close(Socket s, boolean reset) {
    open.remove(s);
    try {
      if (reset) {
        s.setSoLinger(true, 0); // RST: the peer sees the connection reset at once
      }
      s.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    cut();
  }
}

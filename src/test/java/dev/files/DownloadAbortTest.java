package dev.files;

import dev.files.support.Api;
import dev.files.support.NodeTest;
import dev.files.support.Samples;
import dev.files.storage.PooledBuffers;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.UUID;

import static dev.files.support.Eventually.eventually;
import static dev.files.support.ProcessResources.openFiles;
import static dev.files.support.ProcessResources.takenDirectBuffers;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Downloads hand the socket pooled direct buffers ({@link PooledBuffers}): a client that goes
 * away in the middle of a download (after reading a little, or after reading nothing while the
 * node's writes wait for it) leaves no buffer taken from the pool and no file open, and the next
 * download is whole.
 */
class DownloadAbortTest extends NodeTest {

  private static final int SIZE = 8 * 1024 * 1024 + 4321;

  @Test
  void aClientThatGoesAwayLeavesNoBufferNorFileBehind() throws Exception {
    byte[] content = Samples.random(new Random(3), SIZE);
    HttpResponse<String> up = api.upload(company, token, "big.bin", "application/octet-stream", content);
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    UUID id = UUID.fromString(Api.resource(up).getString("id"));
    HttpResponse<byte[]> whole = api.download(company, id, token);
    assertThat(whole.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(whole.body())).isEqualTo(Api.sha256(content));
    long taken = takenDirectBuffers();
    long files = openFiles();

    URI uri = URI.create(api.file(company, id) + "/download");
    for (int readFirst : new int[] {0, 200_000, 3_000_000}) {
      try (Socket s = new Socket("127.0.0.1", node.port)) {
        s.setReceiveBufferSize(16 * 1024);
        s.setSoTimeout(30_000);
        OutputStream out = s.getOutputStream();
        out.write(("GET " + uri.getRawPath() + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token
            + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[8192];
        int got = 0;
        while (got < readFirst) {
          int n = in.read(buf);
          assertThat(n).as("the answer ended after %d bytes", got).isPositive();
          got += n;
        }
        if (readFirst == 0) {
          assertThat(in.read(buf)).as("the answer starts").isPositive();
        }
      } // closed in the middle of the body
      eventually(Duration.ofSeconds(60), () -> {
        assertThat(takenDirectBuffers()).as("pooled buffers still taken after a client went away")
            .isEqualTo(taken);
        assertThat(openFiles()).as("files open after a client went away").isLessThanOrEqualTo(files);
      });
    }
    HttpResponse<byte[]> again = api.download(company, id, token);
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(again.body())).isEqualTo(Api.sha256(content));
  }
}

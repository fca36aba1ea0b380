package dev.files;

import dev.files.support.Api;
import dev.files.support.NodeTest;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Downloads racing a delete of the same file: each ends with the whole file, a 404 JSON error, or a
 * cut connection; never a hang, never a short body taken for the whole.
 */
class DownloadRaceTest extends NodeTest {

  final ExecutorService pool = Executors.newFixedThreadPool(6);

  @AfterAll
  void stop() throws Exception {
    pool.shutdownNow();
  }

  @Test
  void downloadsRacingADelete() throws Exception {
    byte[] content = new byte[3_000_000];
    new Random(3).nextBytes(content);
    int whole = 0;
    int notFound = 0;
    int cut = 0;
    for (int round = 0; round < 15; round++) {
      UUID id = UUID.fromString(Api.resource(api.upload(company, token, "r.bin", null, content)).getString("id"));
      List<Future<String>> downloads = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        downloads.add(pool.submit(() -> {
          try {
            HttpResponse<byte[]> r = Api.CLIENT.send(api.request(api.file(company, id) + "/download", token)
                .timeout(Duration.ofSeconds(20)).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
            if (r.statusCode() == 200) {
              assertThat(r.body()).isEqualTo(content);
              return "whole";
            }
            assertThat(r.statusCode()).isEqualTo(404);
            assertThat(new JsonObject(new String(r.body(), StandardCharsets.UTF_8)).getInteger("statusCode")).isEqualTo(404);
            return "404";
          } catch (IOException e) { // reset after bytes were sent, or a timeout (a hang: fails below)
            assertThat(e).isNotInstanceOf(java.net.http.HttpTimeoutException.class);
            return "cut";
          }
        }));
      }
      assertThat(api.delete(company, id, token).statusCode()).isEqualTo(200);
      for (Future<String> d : downloads) {
        switch (d.get(30, TimeUnit.SECONDS)) {
          case "whole" -> whole++;
          case "404" -> notFound++;
          default -> cut++;
        }
      }
    }
    System.out.printf("downloads racing a delete: %d whole, %d 404, %d cut%n", whole, notFound, cut);
    assertThat(whole + notFound + cut).isEqualTo(60);
  }
}

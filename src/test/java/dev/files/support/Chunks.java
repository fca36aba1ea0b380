package dev.files.support;

import io.vertx.core.json.JsonObject;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** Chunked uploads as Resumable.js does them: initialise, then one multipart request per chunk. */
public final class Chunks {

  private final Api api;
  private final UUID company;
  private final String token;

  public Chunks(Api api, UUID company, String token) {
    this.api = api;
    this.company = company;
    this.token = token;
  }

  /** POST /files without a body; returns the pending resource. */
  public JsonObject init(String query) throws Exception {
    HttpResponse<String> r = Api.CLIENT.send(api.request(api.files(company) + (query.isEmpty() ? "" : "?" + query), token)
        .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new AssertionError("init: " + r.statusCode() + " " + r.body());
    }
    return Api.resource(r);
  }

  /**
   * Asserts that {@code file} is complete: its resource says so with {@code content}'s size and
   * {@code chunks} chunks, its download is 200 with {@code content}'s SHA-256, and database {@code db}
   * holds {@code chunks} chunk rows of it.
   */
  public void assertComplete(UUID file, byte[] content, int chunks, String db) throws Exception {
    JsonObject r = Api.resource(api.get(api.file(company, file), token));
    assertThat(r.getString("upload_status")).isEqualTo("complete");
    assertThat(r.getJsonObject("upload_data")).isEqualTo(new JsonObject().put("size", content.length).put("chunks", chunks));
    HttpResponse<byte[]> down = api.download(company, file, token);
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(Api.sha256(down.body())).isEqualTo(Api.sha256(content));
    assertThat(Db.count(db, "SELECT count(*) FROM chunks WHERE file_id = '" + file + "'")).isEqualTo(chunks);
  }

  /** Sends chunk {@code number} (1-based) with the given extra query; returns the response. */
  public HttpResponse<String> send(UUID file, String query, byte[] bytes) throws Exception {
    return api.post(api.file(company, file) + "?" + query, token, new Api.Multipart().filename("blob"), bytes);
  }

  /** The query of chunk {@code number} of {@code total}, of a {@code size}-byte file. */
  public static String query(int number, int total, long size) {
    return "chunk_number=" + number + "&total_chunks=" + total + "&total_size=" + size;
  }

  /** Resumable.js's split: {@code floor(size / chunkSize)} chunks (at least 1), the remainder in the last. */
  public static List<long[]> split(long size, long chunkSize) {
    int count = (int) Math.max(1, size / chunkSize);
    List<long[]> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long start = i * chunkSize;
      long end = i == count - 1 ? size : start + chunkSize;
      out.add(new long[]{start, end});
    }
    return out;
  }

  public static byte[] slice(byte[] data, long[] range) {
    return java.util.Arrays.copyOfRange(data, (int) range[0], (int) range[1]);
  }
}

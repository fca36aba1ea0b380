package dev.files.support;

import io.vertx.core.json.JsonObject;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;

/** A small HTTP client for the API, on java.net.http (no part of the service is used). */
public final class Api {

  /** Checks every exchange against docs/openapi.yaml ({@link ValidatingHttpClient}). */
  public static final HttpClient CLIENT = new ValidatingHttpClient(HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10))
      .build());

  private final String base;

  public Api(TestNode node) {
    this.base = node.api();
  }

  public Api(String base) {
    this.base = base;
  }

  /** {@code <api>/companies/<company>/files}. */
  public String files(UUID company) {
    return base + "/companies/" + company + "/files";
  }

  public String file(UUID company, UUID file) {
    return files(company) + "/" + file;
  }

  /** A multipart/form-data body: text fields first, then one file part. */
  public static final class Multipart {
    public final String boundary = "----files-test-" + UUID.randomUUID();
    private final Map<String, String> fields = new LinkedHashMap<>();
    private String fieldName = "file";
    private String filenameHeader = "data.bin"; // the raw filename parameter, already escaped as a browser would
    private String partType = "application/octet-stream";

    public Multipart field(String name, String value) {
      fields.put(name, value);
      return this;
    }

    public Multipart partName(String name) {
      this.fieldName = name;
      return this;
    }

    /** The file name as a browser sends it: UTF-8, with {@code "} CR LF escaped as %22 %0D %0A. */
    public Multipart filename(String name) {
      this.filenameHeader = name.replace("\"", "%22").replace("\r", "%0D").replace("\n", "%0A");
      return this;
    }

    public Multipart partType(String type) {
      this.partType = type;
      return this;
    }

    byte[] head() {
      StringBuilder b = new StringBuilder();
      fields.forEach((k, v) -> b.append("--").append(boundary).append("\r\n")
          .append("Content-Disposition: form-data; name=\"").append(k).append("\"\r\n\r\n").append(v).append("\r\n"));
      b.append("--").append(boundary).append("\r\n")
          .append("Content-Disposition: form-data; name=\"").append(fieldName).append("\"; filename=\"")
          .append(filenameHeader).append("\"\r\n");
      if (partType != null) {
        b.append("Content-Type: ").append(partType).append("\r\n");
      }
      b.append("\r\n");
      return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    byte[] tail() {
      return ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** The whole body around {@code content} of {@code length} bytes, with a known Content-Length. */
    public BodyPublisher body(Supplier<InputStream> content, long length) {
      byte[] head = head();
      byte[] tail = tail();
      BodyPublisher all = BodyPublishers.concat(BodyPublishers.ofByteArray(head),
          length == 0 ? BodyPublishers.noBody() : BodyPublishers.fromPublisher(BodyPublishers.ofInputStream(content), length),
          BodyPublishers.ofByteArray(tail));
      return BodyPublishers.fromPublisher(all, head.length + length + tail.length);
    }

    public BodyPublisher body(byte[] content) {
      return body(() -> new java.io.ByteArrayInputStream(content), content.length);
    }

    public String contentType() {
      return "multipart/form-data; boundary=" + boundary;
    }
  }

  public HttpRequest.Builder request(String url, String token) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(5));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return b;
  }

  /** POSTs a multipart body to {@code url}. */
  public HttpResponse<String> post(String url, String token, Multipart form, byte[] content) throws IOException, InterruptedException {
    return CLIENT.send(request(url, token).header("Content-Type", form.contentType())
        .POST(form.body(content)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Classic upload of {@code content} named {@code name}; returns the response. */
  public HttpResponse<String> upload(UUID company, String token, String name, String type, byte[] content)
      throws IOException, InterruptedException {
    return post(files(company), token, new Multipart().filename(name).partType(type), content);
  }

  public HttpResponse<String> get(String url, String token) throws IOException, InterruptedException {
    return CLIENT.send(request(url, token).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  public HttpResponse<byte[]> download(UUID company, UUID file, String token, String... headers)
      throws IOException, InterruptedException {
    HttpRequest.Builder b = request(file(company, file) + "/download", token).GET();
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  public HttpResponse<String> delete(UUID company, UUID file, String token) throws IOException, InterruptedException {
    return CLIENT.send(request(file(company, file), token).DELETE().build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Asserts that {@code file} is complete, named {@code name}, of {@code content}'s size, and that its
   * download is 200 with {@code content}'s SHA-256.
   */
  public void assertComplete(UUID company, UUID file, String token, String name, byte[] content) throws Exception {
    JsonObject r = resource(get(file(company, file), token));
    org.assertj.core.api.Assertions.assertThat(r.getString("upload_status")).isEqualTo("complete");
    org.assertj.core.api.Assertions.assertThat(r.getJsonObject("metadata").getString("name")).isEqualTo(name);
    org.assertj.core.api.Assertions.assertThat(r.getJsonObject("upload_data").getLong("size")).isEqualTo(content.length);
    HttpResponse<byte[]> down = download(company, file, token);
    org.assertj.core.api.Assertions.assertThat(down.statusCode()).isEqualTo(200);
    org.assertj.core.api.Assertions.assertThat(sha256(down.body())).isEqualTo(sha256(content));
  }

  /** The {@code resource} object of a JSON reply. */
  public static JsonObject resource(HttpResponse<String> r) {
    return new JsonObject(r.body()).getJsonObject("resource");
  }

  public static String query(String name, String value) {
    return name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  public static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  public static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    in.transferTo(out);
    return out.toByteArray();
  }
}

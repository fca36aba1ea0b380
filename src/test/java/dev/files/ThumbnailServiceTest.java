package dev.files;

import dev.files.support.Api;
import dev.files.support.Eventually;
import dev.files.support.NodeTest;
import dev.files.support.Chunks;
import dev.files.support.TestNode;
import dev.files.support.Tree;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * Thumbnails through the service: made once an upload completes (classic or chunked), awaited by
 * thumbnail_sync, served decrypted by the thumbnail route, stored encrypted, "none" for other files.
 */
class ThumbnailServiceTest extends NodeTest {

  static byte[] image(String format, int w, int h, boolean transparent) throws Exception {
    BufferedImage img = new BufferedImage(w, h, transparent ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setColor(Color.RED);
    g.fillOval(w / 4, h / 4, w / 2, h / 2);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, format, out);
    return out.toByteArray();
  }

  /**
   * A real wallpaper (a few MB of WebP) takes seconds to decode on a busy 2-core machine: the wait of
   * thumbnail_sync is long enough that "done" is what is checked, never the machine's speed.
   */
  @Override
  protected Map<String, ?> settings() {
    return Map.of("thumbnails.sync_wait_ms", 60_000);
  }

  private JsonObject syncUpload(String name, String type, byte[] content) throws Exception {
    HttpResponse<String> r = api.post(api.files(company) + "?thumbnail_sync=1", token,
        new Api.Multipart().filename(name).partType(type), content);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return Api.resource(r);
  }

  /** The thumbnail route's answer, checked: its type as stated, an image of the stated size. */
  private BufferedImage fetch(JsonObject resource) throws Exception {
    JsonObject t = resource.getJsonArray("thumbnails").getJsonObject(0);
    HttpResponse<byte[]> r = Api.CLIENT.send(api.request("http://127.0.0.1:" + node.port + t.getString("url"), token).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue(t.getString("type"));
    assertThat((long) r.body().length).isEqualTo(t.getLong("size"));
    BufferedImage img = ImageIO.read(new ByteArrayInputStream(r.body()));
    assertThat(img.getWidth()).isEqualTo(t.getInteger("width"));
    assertThat(img.getHeight()).isEqualTo(t.getInteger("height"));
    return img;
  }

  @Test
  void opaqueImageGetsAJpegThatFitsAndTheSyncReplyEqualsALaterGet() throws Exception {
    JsonObject r = syncUpload("photo.jpg", "image/jpeg", image("jpg", 2000, 1500, false));
    JsonObject meta = r.getJsonObject("metadata");
    assertThat(meta.getString("thumbnails_status")).isEqualTo("done");
    assertThat(meta.getInteger("width")).isEqualTo(533);
    assertThat(meta.getInteger("height")).isEqualTo(400);
    assertThat(meta.getString("thumbnail")).endsWith("/files/" + r.getString("id") + "/thumbnails/0");
    JsonArray thumbs = r.getJsonArray("thumbnails");
    assertThat(thumbs).hasSize(1);
    assertThat(thumbs.getJsonObject(0).getString("type")).isEqualTo("image/jpeg");
    assertThat(Api.resource(api.get(api.file(company, UUID.fromString(r.getString("id"))), token))).isEqualTo(r);
    fetch(r);
  }

  @Test
  void transparentPngGetsAPngWithATransparentBackground() throws Exception {
    JsonObject r = syncUpload("logo.png", "image/png", image("png", 800, 800, true));
    assertThat(r.getJsonArray("thumbnails").getJsonObject(0).getString("type")).isEqualTo("image/png");
    BufferedImage img = fetch(r);
    assertThat(img.getWidth()).isEqualTo(400);
    assertThat(img.getRGB(0, 0) >>> 24).as("corner alpha").isZero();
    assertThat(new Color(img.getRGB(200, 200), true).getRed()).isGreaterThan(200);
  }

  @Test
  void pngDeclaredAsOctetStreamGetsItsThumbnail() throws Exception {
    JsonObject r = syncUpload("blob", "application/octet-stream", image("png", 300, 200, false));
    assertThat(r.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done");
    assertThat(r.getJsonObject("metadata").getInteger("width")).isEqualTo(300); // never enlarged
  }

  @Test
  void aNonImageAnswersAtOnceWithNone() throws Exception {
    long t0 = System.nanoTime();
    JsonObject r = syncUpload("notes.txt", "text/plain", "hello".getBytes(StandardCharsets.UTF_8));
    assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(2000);
    assertThat(r.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("none");
    assertThat(r.getJsonArray("thumbnails")).isEmpty();
    HttpResponse<String> missing = api.get(api.file(company, UUID.fromString(r.getString("id"))) + "/thumbnails/0", token);
    assertThat(missing.statusCode()).isEqualTo(404);
  }

  @Test
  void textNamedJpgIsAnErrorNotA5xx() throws Exception {
    JsonObject r = syncUpload("x.jpg", "image/jpeg", "this is not a picture".getBytes(StandardCharsets.UTF_8));
    assertThat(r.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("error");
    assertThat(r.getString("upload_status")).isEqualTo("complete");
  }

  @Test
  void multiChunkImageUpload() throws Exception {
    byte[] content = image("png", 1600, 1200, false);
    Chunks chunks = new Chunks(api, company, token);
    List<long[]> parts = Chunks.split(content.length, content.length / 3);
    UUID f = UUID.fromString(chunks.init("filename=big.png&type=image/png&total_chunks=" + parts.size()
        + "&total_size=" + content.length).getString("id"));
    HttpResponse<String> last = null;
    for (int i = 0; i < parts.size(); i++) {
      last = chunks.send(f, "chunk_number=" + (i + 1) + "&thumbnail_sync=1", Chunks.slice(content, parts.get(i)));
      assertThat(last.statusCode()).isEqualTo(200);
    }
    JsonObject r = Api.resource(last);
    assertThat(r.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done");
    assertThat(fetch(r).getWidth()).isEqualTo(533);
  }

  /**
   * A pending image says "waiting" from its initialisation on ("none" means it gets no thumbnail,
   * docs/api.md), through its chunks, to its thumbnail; a pending text file says "none".
   */
  @Test
  void aPendingImageIsWaitingFromTheStart() throws Exception {
    byte[] content = image("png", 800, 600, false);
    Chunks chunks = new Chunks(api, company, token);
    List<long[]> parts = Chunks.split(content.length, content.length / 2);
    JsonObject init = chunks.init("filename=pending.png&type=image/png&total_chunks=" + parts.size()
        + "&total_size=" + content.length);
    assertThat(init.getString("upload_status")).isEqualTo("pending");
    assertThat(init.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("waiting");
    UUID f = UUID.fromString(init.getString("id"));
    HttpResponse<String> first = chunks.send(f, "chunk_number=1", Chunks.slice(content, parts.get(0)));
    assertThat(Api.resource(first).getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("waiting");
    assertThat(Api.resource(api.get(api.file(company, f), token)).getJsonObject("metadata").getString("thumbnails_status"))
        .isEqualTo("waiting");
    HttpResponse<String> last = chunks.send(f, "chunk_number=2&thumbnail_sync=1", Chunks.slice(content, parts.get(1)));
    assertThat(Api.resource(last).getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("done");

    JsonObject text = chunks.init("filename=notes.txt&type=text/plain&total_chunks=2&total_size=10");
    assertThat(text.getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("none");
  }

  @Test
  void thumbnailsAreEncryptedAtRestAndGoWithTheFile() throws Exception {
    JsonObject r = syncUpload("e.png", "image/png", image("png", 500, 500, false));
    UUID id = UUID.fromString(r.getString("id"));
    List<Path> thumbs;
    try (Stream<Path> s = Tree.walk(node.storage)) {
      thumbs = s.filter(p -> p.toString().contains(id.toString()) && p.toString().endsWith(".thumb")).toList();
    }
    assertThat(thumbs).hasSize(1);
    byte[] stored = Files.readAllBytes(thumbs.get(0));
    assertThat(new String(stored, 1, 3, StandardCharsets.ISO_8859_1)).isNotEqualTo("PNG");
    assertThat(api.delete(company, id, token).statusCode()).isEqualTo(200);
    Eventually.eventually(java.time.Duration.ofSeconds(60), () -> assertThat(Files.exists(thumbs.get(0))).isFalse());
  }

  @Test
  void realPhotosFromADebianPackage() throws Exception {
    Path dir = Path.of("/usr/share/backgrounds/gnome");
    assumeThat(Files.isDirectory(dir)).as("gnome-backgrounds installed (scripts/test installs it)").isTrue();
    List<Path> photos;
    try (Stream<Path> s = Files.list(dir)) {
      photos = s.filter(p -> p.toString().matches(".*\\.(jpg|jpeg|png|webp)$")).sorted().limit(4).toList();
    }
    assumeThat(photos).isNotEmpty();
    for (Path p : photos) {
      JsonObject r = syncUpload(p.getFileName().toString(), null, Files.readAllBytes(p));
      assertThat(r.getJsonObject("metadata").getString("thumbnails_status")).as(p.toString()).isEqualTo("done");
      BufferedImage t = fetch(r);
      assertThat(t.getWidth()).isLessThanOrEqualTo(600);
      assertThat(t.getHeight()).isLessThanOrEqualTo(400);
      assertThat(Math.max(t.getWidth() / 6, t.getHeight() / 4)).isGreaterThanOrEqualTo(99); // fits the box tightly
    }
  }

  @Test
  void aWorkerThatNeverAnswersMakesTheReplyComeAtTheWaitWithWaiting() throws Exception {
    try (TestNode lonely = TestNode.start(Map.of("thumbnails.workers", 0, "thumbnails.sync_wait_ms", 1500))) {
      Api a = new Api(lonely);
      long t0 = System.nanoTime();
      HttpResponse<String> r = a.post(a.files(company) + "?thumbnail_sync=1", token,
          new Api.Multipart().filename("w.png").partType("image/png"), image("png", 100, 100, false));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(Api.resource(r).getJsonObject("metadata").getString("thumbnails_status")).isEqualTo("waiting");
      assertThat(ms).isBetween(1400L, 5000L);
    }
  }
}

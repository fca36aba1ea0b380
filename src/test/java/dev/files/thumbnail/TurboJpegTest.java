package dev.files.thumbnail;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * JPEG decoding at reduced DCT scale through libjpeg-turbo (when libturbojpeg is installed, as
 * on the project's machines) and the EXIF orientation parser that goes with it. The rest of the
 * JPEG behaviour (orientations, CMYK, truncated and corrupt files, pixel limits) is covered by
 * {@link ThumbnailerTest}, through whichever decoder is available.
 */
class TurboJpegTest {

  private static final Color RED = new Color(230, 20, 20);
  private static final Color GREEN = new Color(20, 200, 40);
  private static final Color BLUE = new Color(20, 40, 220);
  private static final Color YELLOW = new Color(240, 230, 20);

  @Test
  void libraryIsBoundWhenInstalled() {
    boolean installed = Files.exists(Path.of("/usr/lib/x86_64-linux-gnu/libturbojpeg.so.0"));
    assumeThat(installed).as("libturbojpeg0 installed").isTrue();
    assertThat(TurboJpeg.available()).isTrue();
  }

  @Test
  void scaleIsTheSmallestThatCoversTheTarget() {
    assertThat(TurboJpeg.scale(4000, 3000, 533, 400)).isEqualTo(2); // 1000x750
    assertThat(TurboJpeg.scale(4000, 3000, 600, 450)).isEqualTo(2);
    assertThat(TurboJpeg.scale(4000, 3000, 1001, 750)).isEqualTo(3); // 1500x1125
    assertThat(TurboJpeg.scale(800, 600, 800, 600)).isEqualTo(8);
    assertThat(TurboJpeg.scaled(4001, 1)).isEqualTo(501); // rounded up, as libjpeg-turbo does
  }

  @Test
  void twelveMegapixelPhotoShrinksOnLoad() throws IOException {
    assumeThat(TurboJpeg.available()).isTrue();
    byte[] jpeg = TestImages.write(TestImages.quadrants(4000, 3000, RED, GREEN, BLUE, YELLOW), "jpeg");
    TurboJpeg.Header header = TurboJpeg.header(jpeg, jpeg.length);
    assertThat(header).isEqualTo(new TurboJpeg.Header(4000, 3000, true));
    BufferedImage quarter = TurboJpeg.decode(jpeg, jpeg.length, header, 2);
    assertThat(quarter.getWidth()).isEqualTo(1000);
    assertThat(quarter.getHeight()).isEqualTo(750);
    assertClose(quarter.getRGB(250, 180), RED);
    assertClose(quarter.getRGB(750, 180), GREEN);
    assertClose(quarter.getRGB(250, 560), BLUE);
    assertClose(quarter.getRGB(750, 560), YELLOW);
    // through the thumbnailer: the array of the source is used as it is
    Thumbnailer.Result r = new Thumbnailer().make(() -> new Images.Source(jpeg, jpeg.length), jpeg.length,
        "image/jpeg", "photo.jpg");
    assertThat(r.status()).as(r.reason()).isEqualTo("done");
    assertThat(r.thumbnail().width()).isEqualTo(533);
    assertThat(r.thumbnail().height()).isEqualTo(400);
    BufferedImage thumb = javax.imageio.ImageIO.read(new ByteArrayInputStream(r.thumbnail().bytes()));
    assertClose(thumb.getRGB(130, 100), RED);
    assertClose(thumb.getRGB(400, 300), YELLOW);
  }

  @Test
  void cmykJpegIsLeftToImageIo() throws IOException {
    assumeThat(TurboJpeg.available()).isTrue();
    byte[] cmyk = TestImages.adobeCmykJpeg(64, 48, false, new int[] {0, 255, 255, 0});
    TurboJpeg.Header header = TurboJpeg.header(cmyk, cmyk.length);
    assertThat(header == null || !header.decodable()).isTrue();
  }

  @Test
  void truncatedJpegIsNotDecodedHere() throws IOException {
    assumeThat(TurboJpeg.available()).isTrue();
    byte[] jpeg = TestImages.write(TestImages.quadrants(800, 600, RED, GREEN, BLUE, YELLOW), "jpeg");
    byte[] cut = Arrays.copyOf(jpeg, jpeg.length / 2);
    TurboJpeg.Header header = TurboJpeg.header(cut, cut.length);
    assertThat(header).isNotNull();
    assertThat(TurboJpeg.decode(cut, cut.length, header, 8)).as("warning: premature end").isNull();
  }

  @Test
  void exifOrientationIsReadFromTheBytes() throws IOException {
    byte[] jpeg = TestImages.write(TestImages.quadrants(64, 48, RED, GREEN, BLUE, YELLOW), "jpeg");
    assertThat(Exif.orientation(jpeg, jpeg.length)).isEqualTo(1);
    for (int o = 1; o <= 8; o++) {
      byte[] oriented = TestImages.withExifOrientation(jpeg, o);
      assertThat(Exif.orientation(oriented, oriented.length)).isEqualTo(o);
    }
    // any cut or damage gives an answer in 1..8, never an exception
    byte[] six = TestImages.withExifOrientation(jpeg, 6);
    Random random = new Random(3);
    for (int i = 0; i < 2000; i++) {
      byte[] damaged = Arrays.copyOf(six, 2 + random.nextInt(120));
      for (int k = 0; k < 3; k++) {
        damaged[random.nextInt(damaged.length)] = (byte) random.nextInt(256);
      }
      assertThat(Exif.orientation(damaged, damaged.length)).isBetween(1, 8);
    }
  }

  private static void assertClose(int rgb, Color expected) {
    Color c = new Color(rgb);
    assertThat(Math.abs(c.getRed() - expected.getRed()) + Math.abs(c.getGreen() - expected.getGreen())
        + Math.abs(c.getBlue() - expected.getBlue())).as("%s vs %s", c, expected).isLessThan(40);
  }
}

package dev.files.thumbnail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The thumbnail's last steps: the area-average downscale ({@link Images#resize}) and the JPEG
 * encoder of libjpeg-turbo ({@link TurboJpeg#encode}, when installed).
 */
class ResizeAndEncodeTest {

  @Test
  void aFlatColourStaysExactlyThatColour() {
    BufferedImage flat = new BufferedImage(1000, 750, BufferedImage.TYPE_INT_RGB);
    Arrays.fill(pixels(flat), 0x3C82D2);
    BufferedImage out = Images.resize(flat, 533, 400);
    assertThat(out.getWidth()).isEqualTo(533);
    assertThat(out.getHeight()).isEqualTo(400);
    for (int p : pixels(out)) {
      assertThat(p & 0xFFFFFF).isEqualTo(0x3C82D2);
    }
  }

  /** A one-pixel checkerboard shrunk by 1.875 averages to grey everywhere: a sampling filter would alias. */
  @Test
  void aFineCheckerboardBecomesGreyWithoutAliasing() {
    BufferedImage board = new BufferedImage(1000, 750, BufferedImage.TYPE_INT_RGB);
    int[] px = pixels(board);
    for (int y = 0; y < 750; y++) {
      for (int x = 0; x < 1000; x++) {
        px[y * 1000 + x] = ((x + y) & 1) == 0 ? 0xFFFFFF : 0;
      }
    }
    BufferedImage out = Images.resize(board, 533, 400);
    int min = 255;
    int max = 0;
    for (int p : pixels(out)) {
      int grey = p & 0xFF;
      assertThat((p >> 16) & 0xFF).isEqualTo(grey);
      min = Math.min(min, grey);
      max = Math.max(max, grey);
    }
    assertThat(min).isGreaterThanOrEqualTo(90);
    assertThat(max).isLessThanOrEqualTo(165);
  }

  @Test
  void leftAndRightHalvesKeepTheirColoursAndTheEdgeIsBetween() {
    BufferedImage halves = new BufferedImage(1000, 750, BufferedImage.TYPE_INT_RGB);
    int[] px = pixels(halves);
    for (int i = 0; i < px.length; i++) {
      px[i] = i % 1000 < 500 ? 0xE61414 : 0x1414DC;
    }
    BufferedImage out = Images.resize(halves, 533, 400);
    assertThat(out.getRGB(100, 200) & 0xFFFFFF).isEqualTo(0xE61414);
    assertThat(out.getRGB(400, 200) & 0xFFFFFF).isEqualTo(0x1414DC);
    int edge = out.getRGB(266, 200); // covers source x 498.7..500.6: mostly red, part blue
    assertThat((edge >> 16) & 0xFF).isBetween(0x14 + 1, 0xE6 - 1);
  }

  @Test
  void libjpegTurboEncodesAJpegThatImageIoReadsBack() throws IOException {
    assumeThat(TurboJpeg.available()).as("libturbojpeg0 installed").isTrue();
    BufferedImage img = new BufferedImage(533, 400, BufferedImage.TYPE_INT_RGB);
    int[] px = pixels(img);
    for (int i = 0; i < px.length; i++) {
      px[i] = i % 533 < 266 ? 0xE61414 : 0x14C828;
    }
    byte[] jpeg = TurboJpeg.encode(px, 533, 400, 85);
    assertThat(jpeg).isNotNull();
    assertThat(jpeg.length).isBetween(500, 60_000);
    assertThat(jpeg[0] & 0xFF).isEqualTo(0xFF);
    assertThat(jpeg[1] & 0xFF).isEqualTo(0xD8);
    BufferedImage back = ImageIO.read(new ByteArrayInputStream(jpeg));
    assertThat(back.getWidth()).isEqualTo(533);
    assertThat(back.getHeight()).isEqualTo(400);
    assertClose(new Color(back.getRGB(100, 200)), new Color(0xE61414));
    assertClose(new Color(back.getRGB(450, 200)), new Color(0x14C828));
  }

  private static int[] pixels(BufferedImage img) {
    return ((DataBufferInt) img.getRaster().getDataBuffer()).getData();
  }

  private static void assertClose(Color c, Color expected) {
    assertThat(Math.abs(c.getRed() - expected.getRed()) + Math.abs(c.getGreen() - expected.getGreen())
        + Math.abs(c.getBlue() - expected.getBlue())).as(c + " vs " + expected).isLessThan(40);
  }
}

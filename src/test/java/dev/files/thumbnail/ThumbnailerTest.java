package dev.files.thumbnail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The thumbnailer on files made by the test itself: every image format, EXIF orientations,
 * CMYK/YCCK JPEGs, transparency, decompression bombs, corrupt files, PDFs, and the external tools
 * when they are installed. Ends with a single-threaded throughput measurement.
 */
class ThumbnailerTest {

  private static final Color RED = new Color(230, 20, 20);
  private static final Color GREEN = new Color(20, 200, 40);
  private static final Color BLUE = new Color(20, 40, 220);
  private static final Color YELLOW = new Color(240, 230, 20);

  private final Thumbnailer thumbnailer = new Thumbnailer();

  // ---------------------------------------------------------------- formats

  @Test
  void jpeg() throws IOException {
    byte[] jpeg = TestImages.write(
        TestImages.halves(1200, 800, BufferedImage.TYPE_INT_RGB, RED, BLUE), "jpeg");
    BufferedImage out = done(make(jpeg, "image/jpeg", "a.jpg"), Thumbnail.JPEG, 600, 400);
    assertColor(out, 150, 200, RED);
    assertColor(out, 450, 200, BLUE);
  }

  @Test
  void progressiveJpeg() throws IOException {
    byte[] jpeg = TestImages.progressiveJpeg(
        TestImages.halves(1200, 800, BufferedImage.TYPE_INT_RGB, RED, BLUE));
    BufferedImage out = done(make(jpeg, "image/jpeg", "p.jpg"), Thumbnail.JPEG, 600, 400);
    assertColor(out, 150, 200, RED);
    assertColor(out, 450, 200, BLUE);
  }

  @Test
  void pngRgb() throws IOException {
    byte[] png = TestImages.write(
        TestImages.halves(900, 900, BufferedImage.TYPE_INT_RGB, GREEN, YELLOW), "png");
    BufferedImage out = done(make(png, "image/png", "a.png"), Thumbnail.JPEG, 400, 400);
    assertColor(out, 100, 200, GREEN);
    assertColor(out, 300, 200, YELLOW);
  }

  @Test
  void png16Bit() throws IOException {
    byte[] png = TestImages.write(TestImages.rgb16(1000, 500, RED, GREEN), "png");
    assertThat(png[24]).as("IHDR bit depth").isEqualTo((byte) 16);
    BufferedImage out = done(make(png, "image/png", "deep.png"), Thumbnail.JPEG, 600, 300);
    assertColor(out, 100, 150, RED);
    assertColor(out, 500, 150, GREEN);
  }

  @Test
  void palettePngOpaqueGivesJpeg() throws IOException {
    byte[] png = TestImages.write(TestImages.palette(800, 400, BLUE, YELLOW, false), "png");
    assertThat(png[25]).as("IHDR colour type: palette").isEqualTo((byte) 3);
    BufferedImage out = done(make(png, "image/png", "pal.png"), Thumbnail.JPEG, 600, 300);
    assertColor(out, 100, 150, BLUE);
    assertColor(out, 500, 150, YELLOW);
  }

  @Test
  void palettePngWithTransparentIndexGivesPng() throws IOException {
    byte[] png = TestImages.write(TestImages.palette(800, 400, BLUE, YELLOW, true), "png");
    BufferedImage out = done(make(png, "image/png", "pal.png"), Thumbnail.PNG, 600, 300);
    assertColor(out, 100, 150, BLUE);
    assertThat(alpha(out, 500, 150)).isZero();
  }

  @Test
  void rgbaPngTransparentBackgroundStaysTransparent() throws IOException {
    // a red disc on a fully transparent background whose colour samples are black (0,0,0,0)
    BufferedImage img = new BufferedImage(1000, 1000, BufferedImage.TYPE_INT_ARGB);
    for (int y = 0; y < 1000; y++) {
      for (int x = 0; x < 1000; x++) {
        double d = Math.hypot(x - 500, y - 500);
        img.setRGB(x, y, d < 300 ? RED.getRGB() : 0x00000000);
      }
    }
    byte[] png = TestImages.write(img, "png");
    BufferedImage out = done(make(png, "image/png", "disc.png"), Thumbnail.PNG, 400, 400);
    assertThat(out.getColorModel().hasAlpha()).isTrue();
    assertThat(alpha(out, 5, 5)).as("background alpha").isZero();
    assertColor(out, 200, 200, RED);
    assertThat(alpha(out, 200, 200)).isEqualTo(255);
    // the disc's edge is not darkened by the black of the transparent pixels
    int edge = out.getRGB(200 + 119, 200); // just inside the edge (radius 120 px)
    if ((edge >>> 24) > 128) {
      assertThat((edge >> 16) & 0xFF).as("red at the anti-aliased edge").isGreaterThan(180);
    }
  }

  @Test
  void rgbaPngThatIsFullyOpaqueGivesJpeg() throws IOException {
    byte[] png = TestImages.write(
        TestImages.halves(600, 400, BufferedImage.TYPE_INT_ARGB, RED, GREEN), "png");
    done(make(png, "image/png", "opaque-rgba.png"), Thumbnail.JPEG, 600, 400);
  }

  @Test
  void gifFirstFrame() throws IOException {
    byte[] gif = TestImages.animatedGif(300, 200, RED, BLUE, GREEN);
    BufferedImage out = done(make(gif, "image/gif", "anim.gif"), Thumbnail.JPEG, 300, 200);
    assertColor(out, 150, 100, RED);
  }

  @Test
  void bmp() throws IOException {
    byte[] bmp = TestImages.write(
        TestImages.halves(1200, 600, BufferedImage.TYPE_3BYTE_BGR, GREEN, BLUE), "bmp");
    BufferedImage out = done(make(bmp, "image/bmp", "a.bmp"), Thumbnail.JPEG, 600, 300);
    assertColor(out, 100, 150, GREEN);
    assertColor(out, 500, 150, BLUE);
  }

  @Test
  void tiff() throws IOException {
    byte[] tiff = TestImages.write(
        TestImages.halves(800, 1200, BufferedImage.TYPE_INT_RGB, YELLOW, RED), "tiff");
    BufferedImage out = done(make(tiff, "image/tiff", "a.tif"), Thumbnail.JPEG, 267, 400);
    assertColor(out, 60, 200, YELLOW);
    assertColor(out, 200, 200, RED);
  }

  @Test
  void webpOpaqueAndTransparent() throws IOException {
    int w = 700;
    int h = 350;
    int[] opaque = new int[w * h];
    int[] transparent = new int[w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        opaque[y * w + x] = x < w / 2 ? 0xFFFF0000 : 0xFF0000FF;
        transparent[y * w + x] = x < w / 2 ? 0xFFFF0000 : 0x00000000;
      }
    }
    BufferedImage out = done(make(TestImages.losslessWebp(w, h, opaque), "image/webp", "a.webp"),
        Thumbnail.JPEG, 600, 300);
    assertColor(out, 100, 150, Color.RED);
    assertColor(out, 500, 150, Color.BLUE);
    out = done(make(TestImages.losslessWebp(w, h, transparent), "image/webp", "t.webp"),
        Thumbnail.PNG, 600, 300);
    assertColor(out, 100, 150, Color.RED);
    assertThat(alpha(out, 500, 150)).isZero();
  }

  // ---------------------------------------------------------------- sizes

  @Test
  void smallImageIsNeverEnlarged() throws IOException {
    byte[] png = TestImages.write(
        TestImages.halves(100, 50, BufferedImage.TYPE_INT_RGB, RED, BLUE), "png");
    BufferedImage out = done(make(png, "image/png", "small.png"), Thumbnail.JPEG, 100, 50);
    assertColor(out, 20, 25, RED);
    assertColor(out, 80, 25, BLUE);
  }

  @ParameterizedTest
  @ValueSource(strings = {"3000x1000:600x200", "1000x3000:133x400", "601x401:600x400",
      "1500x400:600x160", "5000x10:600x1", "10x5000:1x400", "600x400:600x400"})
  void aspectRatioIsKept(String spec) throws IOException {
    String[] parts = spec.split("[:x]");
    int w = Integer.parseInt(parts[0]);
    int h = Integer.parseInt(parts[1]);
    byte[] png = TestImages.write(
        TestImages.halves(w, h, BufferedImage.TYPE_INT_RGB, GREEN, GREEN), "png");
    done(make(png, null, null), Thumbnail.JPEG,
        Integer.parseInt(parts[2]), Integer.parseInt(parts[3]));
  }

  @Test
  void customBox() throws IOException {
    Thumbnailer small = new Thumbnailer(128, 128, Thumbnailer.DEFAULT_MAX_PIXELS, false);
    byte[] jpeg = TestImages.write(
        TestImages.halves(1000, 500, BufferedImage.TYPE_INT_RGB, RED, BLUE), "jpeg");
    Thumbnailer.Result r = small.make(supplier(jpeg), jpeg.length, "image/jpeg", "x.jpg");
    done(r, Thumbnail.JPEG, 128, 64);
  }

  // ---------------------------------------------------------------- EXIF orientation

  /**
   * Each EXIF orientation: the stored image has four coloured quadrants; the thumbnail must show
   * the pixel that the EXIF definition puts there (displayed (x, y) → stored pixel), and have the
   * displayed width and height.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
  void exifOrientation(int orientation) throws IOException {
    int w = 160; // quadrants 80 x 48: whole 16 x 16 JPEG blocks, so colours stay clean
    int h = 96;
    BufferedImage stored = TestImages.quadrants(w, h, RED, GREEN, BLUE, YELLOW);
    byte[] jpeg = TestImages.withExifOrientation(TestImages.write(stored, "jpeg"), orientation);
    boolean swap = orientation >= 5;
    int shownW = swap ? h : w;
    int shownH = swap ? w : h;
    BufferedImage out = done(make(jpeg, "image/jpeg", "o" + orientation + ".jpg"),
        Thumbnail.JPEG, shownW, shownH);
    int[][] probes = {{shownW / 4, shownH / 4}, {3 * shownW / 4, shownH / 4},
        {shownW / 4, 3 * shownH / 4}, {3 * shownW / 4, 3 * shownH / 4}};
    for (int[] p : probes) {
      int[] s = storedPixelShownAt(orientation, p[0], p[1], w, h);
      assertColor(out, p[0], p[1], new Color(stored.getRGB(s[0], s[1])));
    }
  }

  /** EXIF 2.32, tag 0x0112: which stored pixel is displayed at (x, y). */
  private static int[] storedPixelShownAt(int o, int x, int y, int w, int h) {
    return switch (o) {
      case 1 -> new int[] {x, y};
      case 2 -> new int[] {w - 1 - x, y};          // 0th row top, 0th column right
      case 3 -> new int[] {w - 1 - x, h - 1 - y};  // 0th row bottom, 0th column right
      case 4 -> new int[] {x, h - 1 - y};          // 0th row bottom, 0th column left
      case 5 -> new int[] {y, x};                  // 0th row left, 0th column top
      case 6 -> new int[] {y, h - 1 - x};          // 0th row right, 0th column top
      case 7 -> new int[] {w - 1 - y, h - 1 - x};  // 0th row right, 0th column bottom
      case 8 -> new int[] {w - 1 - y, x};          // 0th row left, 0th column bottom
      default -> throw new IllegalArgumentException();
    };
  }

  // ---------------------------------------------------------------- CMYK / YCCK

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void adobeCmykAndYcckJpegsAreNotInverted(boolean ycck) throws IOException {
    int[] cyan = {255, 0, 0, 0};
    int[] yellow = {0, 0, 255, 0};
    int[] black = {0, 0, 0, 255};
    byte[] jpeg = TestImages.adobeCmykJpeg(192, 64, ycck, cyan, yellow, black);
    BufferedImage out = done(make(jpeg, "image/jpeg", ycck ? "ycck.jpg" : "cmyk.jpg"),
        Thumbnail.JPEG, 192, 64);
    int c = out.getRGB(32, 32);
    assertThat(channels(c)).as("cyan band (inverted would be red)")
        .satisfies(rgb -> {
          assertThat(rgb[0]).isLessThan(100);
          assertThat(rgb[1]).isGreaterThan(130);
          assertThat(rgb[2]).isGreaterThan(180);
        });
    int y = out.getRGB(96, 32);
    assertThat(channels(y)).as("yellow band (inverted would be blue)")
        .satisfies(rgb -> {
          assertThat(rgb[0]).isGreaterThan(200);
          assertThat(rgb[1]).isGreaterThan(180);
          assertThat(rgb[2]).isLessThan(100);
        });
    int k = out.getRGB(160, 32);
    assertThat(channels(k)).as("black band (inverted would be white)")
        .satisfies(rgb -> assertThat(rgb[0] + rgb[1] + rgb[2]).isLessThan(200));
  }

  // ---------------------------------------------------------------- limits

  @Test
  void pixelBombIsNotDecoded() throws IOException {
    byte[] png = TestImages.pngHeaderOnly(20_000, 20_000);
    assertThat(png.length).isLessThan(200);
    long before = allocatedBytes();
    Thumbnailer.Result r = make(png, "image/png", "bomb.png");
    long allocated = allocatedBytes() - before;
    assertThat(r.status()).isEqualTo("none");
    assertThat(r.kind()).isEqualTo(Kind.IMAGE);
    assertThat(r.thumbnail()).isNull();
    assertThat(r.reason()).contains("20000x20000").contains("400000000").contains("not decoded");
    // a raster would be 1.2 GB; the header pass allocates next to nothing
    assertThat(allocated).as("bytes allocated").isLessThan(32L << 20);
  }

  @Test
  void pixelLimitIsConfigurable() throws IOException {
    Thumbnailer strict = new Thumbnailer(600, 400, 4_999, false);
    byte[] png = TestImages.write(
        TestImages.halves(100, 50, BufferedImage.TYPE_INT_RGB, RED, BLUE), "png");
    assertThat(strict.make(supplier(png), png.length, "image/png", "a.png").status())
        .isEqualTo("none");
    Thumbnailer enough = new Thumbnailer(600, 400, 5_000, false);
    assertThat(enough.make(supplier(png), png.length, "image/png", "a.png").status())
        .isEqualTo("done");
  }

  @Test
  void sourceSizeLimit() throws IOException {
    Thumbnailer strict = new Thumbnailer(600, 400, 1_000_000, 1_000, false);
    byte[] jpeg = TestImages.write(
        TestImages.halves(300, 300, BufferedImage.TYPE_INT_RGB, RED, BLUE), "jpeg");
    assertThat(jpeg.length).isGreaterThan(1_000);
    Thumbnailer.Result r = strict.make(supplier(jpeg), jpeg.length, "image/jpeg", "a.jpg");
    assertThat(r.status()).isEqualTo("none");
    assertThat(r.reason()).contains("over the limit");
  }

  /**
   * A 12,000 x 9,000 JPEG (108 MP: 324 MB as an RGB raster), with the pixel limit raised above the
   * default 100 MP, is decoded with subsampling (step 11): the thread allocates a small fraction
   * of a full raster.
   */
  @Test
  void hugeJpegIsDecodedSubsampled() throws IOException {
    int w = 12_000;
    int h = 9_000;
    assertThat(Images.subsampling(w, h, 533, 400)).containsExactly(11, 11);
    byte[] jpeg = TestImages.write(stripes(w, h), "jpeg");
    // 108 MP is over the default limit of 100 MP: refused from the header
    assertThat(make(jpeg, "image/jpeg", "huge.jpg").status()).isEqualTo("none");
    Thumbnailer roomy = new Thumbnailer(600, 400, 120_000_000L, false);
    long before = allocatedBytes();
    Thumbnailer.Result r = roomy.make(supplier(jpeg), jpeg.length, "image/jpeg", "huge.jpg");
    long allocated = allocatedBytes() - before;
    BufferedImage out = done(r, Thumbnail.JPEG, 533, 400);
    assertColor(out, 10, 10, new Color(stripeColor(0)));
    System.out.printf(Locale.ROOT, "12000x9000 JPEG (%d KB): %.1f MB allocated by the thumbnailing "
        + "thread (a full RGB raster would be %d MB)%n", jpeg.length / 1024,
        allocated / 1e6, 3L * w * h / 1_000_000);
    assertThat(allocated).as("bytes allocated").isLessThan(100L << 20);
  }

  /**
   * A w x h RGB image whose rows all read one row of storage (a data buffer that wraps around), so
   * the test holds 36 KB instead of 324 MB; vertical stripes.
   */
  private static BufferedImage stripes(int w, int h) {
    byte[] row = new byte[w * 3];
    for (int x = 0; x < w; x++) {
      int c = stripeColor(x);
      row[3 * x] = (byte) (c >> 16);
      row[3 * x + 1] = (byte) (c >> 8);
      row[3 * x + 2] = (byte) c;
    }
    java.awt.image.DataBuffer repeating =
        new java.awt.image.DataBuffer(java.awt.image.DataBuffer.TYPE_BYTE, w * 3 * h) {
          @Override
          public int getElem(int bank, int i) {
            return row[i % row.length] & 0xFF;
          }

          @Override
          public void setElem(int bank, int i, int val) {
            throw new UnsupportedOperationException();
          }
        };
    var sm = new java.awt.image.PixelInterleavedSampleModel(java.awt.image.DataBuffer.TYPE_BYTE,
        w, h, 3, 3 * w, new int[] {0, 1, 2});
    var raster = java.awt.image.Raster.createWritableRaster(sm, repeating, null);
    var cm = new java.awt.image.ComponentColorModel(
        java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_sRGB), false, false,
        java.awt.Transparency.OPAQUE, java.awt.image.DataBuffer.TYPE_BYTE);
    return new BufferedImage(cm, raster, false, null);
  }

  private static int stripeColor(int x) {
    return (x / 1000) % 2 == 0 ? 0x3050C0 : 0xE0A030;
  }

  // ---------------------------------------------------------------- budgets (hostile files)

  /**
   * A progressive JPEG repeating one scan 50,000 times (2 MB): libjpeg-turbo refuses more than 500
   * scans and ImageIO then went through all of them (over 120 s here). Refused from its markers.
   */
  @Test
  void jpegWithFiftyThousandScansIsRefusedBeforeDecoding() {
    byte[] jpeg = TestImages.progressiveScanBomb(4096, 4096, 50_000);
    long t0 = System.nanoTime();
    Thumbnailer.Result r = make(jpeg, "image/jpeg", "scans.jpg");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.status()).as(r.reason()).isEqualTo("none");
    assertThat(r.reason()).contains("more than " + Images.MAX_JPEG_SCANS + " scans");
    assertThat(ms).as("ms to refuse (over 120 s before)").isLessThan(10_000);
  }

  /** The same construction with a few scans is a valid JPEG (all mid-grey): the generator is not the refusal. */
  @Test
  void jpegWithAFewRepeatedScansIsDecoded() throws IOException {
    byte[] jpeg = TestImages.progressiveScanBomb(1024, 512, 20);
    BufferedImage out = done(make(jpeg, "image/jpeg", "grey.jpg"), Thumbnail.JPEG, 600, 300);
    assertColor(out, 300, 150, new Color(128, 128, 128));
  }

  /** Forms 30 deep, each drawing the next twice (2^30 squares from 6 KB): PDFBox never finished. */
  @Test
  void pdfFormsNestedThirtyDeepAreRefused() throws IOException {
    byte[] pdf = TestPdfs.nestedForms(30);
    assertThat(pdf.length).isLessThan(20_000);
    long t0 = System.nanoTime();
    Thumbnailer.Result r = make(pdf, "application/pdf", "forms.pdf");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.status()).as(r.reason()).isEqualTo("none");
    assertThat(r.reason()).contains("nest more than " + PdfPages.MAX_FORM_NESTING);
    assertThat(ms).as("ms to refuse (never ended before)").isLessThan(10_000);
    // nesting within the limit renders
    done(make(TestPdfs.nestedForms(6), "application/pdf", "six.pdf"), Thumbnail.JPEG, 309, 400);
  }

  /** 3 M operators on one page (38 KB compressed): 47 s of rendering before; the operator budget ends it. */
  @Test
  void pdfWithThreeMillionOperatorsIsRefused() throws IOException {
    byte[] pdf = TestPdfs.manyOperators(3_000_000);
    long t0 = System.nanoTime();
    Thumbnailer.Result r = make(pdf, "application/pdf", "ops.pdf");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.printf(Locale.ROOT, "PDF of 3,000,000 operators: %s after %d ms (%s)%n", r.status(), ms, r.reason());
    assertThat(r.status()).as(r.reason()).isEqualTo("none");
    assertThat(r.reason()).contains("more than " + PdfPages.MAX_OPERATORS + " operators");
  }

  /** A 20000 x 20000 Flate image in a PDF would be inflated whole (400 MB) before subsampling. */
  @Test
  void pdfImageOverTheMemoryBudgetIsNotDecoded() throws IOException {
    byte[] pdf = TestPdfs.bigFlateImage(20_000);
    long before = allocatedBytes();
    Thumbnailer.Result r = make(pdf, "application/pdf", "image.pdf");
    long allocated = allocatedBytes() - before;
    assertThat(r.status()).as(r.reason()).isEqualTo("none");
    assertThat(r.reason()).contains("20000x20000 image in the PDF").contains("thumbnails.max_job_bytes");
    assertThat(allocated).as("bytes allocated").isLessThan(64L << 20);
    // a 2000 x 2000 one is drawn
    done(make(TestPdfs.bigFlateImage(2000), "application/pdf", "small-image.pdf"), Thumbnail.JPEG, 309, 400);
  }

  /** A 1 x 1 PNG whose zTXt chunk inflates to 512 MiB: only the pixels are read, the text never. */
  @Test
  void pngTextChunksAreNotInflated() throws IOException {
    byte[] png = TestImages.pngWithZtxt(512L << 20);
    assertThat(png.length).isLessThan(1_000_000);
    long before = allocatedBytes();
    Thumbnailer.Result r = make(png, "image/png", "text.png");
    long allocated = allocatedBytes() - before;
    BufferedImage out = done(r, Thumbnail.JPEG, 1, 1);
    assertColor(out, 0, 0, new Color(200, 20, 20));
    assertThat(allocated).as("bytes allocated").isLessThan(32L << 20);
  }

  /**
   * 100,000,000 x 1 (a TIFF of 100 KB, a BMP RLE8 of 800 KB): 100 MP is within the pixel limit,
   * but a decoder holds a whole row of it; the estimate from the header is over the memory budget.
   */
  @Test
  void extremeAspectRatiosAreRefusedFromTheHeader() {
    for (byte[] bomb : List.of(TestImages.greyTiff(100_000_000, 1), TestImages.rle8Bmp(100_000_000, 1))) {
      assertThat(bomb.length).isLessThan(1_000_000);
      long before = allocatedBytes();
      Thumbnailer.Result r = make(bomb, null, null);
      long allocated = allocatedBytes() - before;
      assertThat(r.status()).as(r.reason()).isEqualTo("none");
      assertThat(r.reason()).contains("100000000x1").contains("over the budget");
      assertThat(allocated).as("bytes allocated").isLessThan(64L << 20);
    }
  }

  /** A long, thin image within the budget is subsampled along its long axis only. */
  @Test
  void longThinImagesAreSubsampledAlongTheirLongAxis() throws IOException {
    assertThat(Images.subsampling(100_000_000, 1, 600, 1)).containsExactly(83_333, 1);
    byte[] tiff = TestImages.greyTiff(4_000_000, 1);
    long before = allocatedBytes();
    BufferedImage out = done(make(tiff, "image/tiff", "thin.tif"), Thumbnail.JPEG, 600, 1);
    long allocated = allocatedBytes() - before;
    assertColor(out, 300, 0, Color.BLACK);
    assertThat(allocated).as("bytes allocated (a row is 4 MB)").isLessThan(64L << 20);
  }

  /** EXIF orientation of a PNG comes from its eXIf chunk (no other metadata is read). */
  @Test
  void pngExifOrientation() throws IOException {
    byte[] jpegWithExif = TestImages.withExifOrientation(new byte[] {(byte) 0xFF, (byte) 0xD8}, 6);
    byte[] tiff = Arrays.copyOfRange(jpegWithExif, 2 + 4 + 6, jpegWithExif.length);
    byte[] png = TestImages.write(TestImages.halves(200, 100, BufferedImage.TYPE_INT_RGB, RED, BLUE), "png");
    byte[] rotated = TestImages.withPngChunk(png, "eXIf", tiff);
    BufferedImage out = done(make(rotated, "image/png", "turned.png"), Thumbnail.JPEG, 100, 200);
    assertColor(out, 50, 50, RED);   // 90° clockwise: the left half is on top
    assertColor(out, 50, 150, BLUE);
  }

  /** The deadline ends a PDF job at its next operator: status error, with the reason. */
  @Test
  void theDeadlineEndsAJob() throws IOException {
    byte[] pdf = TestPdfs.manyOperators(PdfPages.MAX_OPERATORS - 10);
    long t0 = System.nanoTime();
    Thumbnailer.Result r = thumbnailer.make(supplier(pdf), pdf.length, "application/pdf", "slow.pdf",
        new Budget(300, Budget.DEFAULT_MAX_JOB_BYTES));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.status()).as(r.reason()).isEqualTo("error");
    assertThat(r.reason()).contains("deadline of 300 ms");
    assertThat(ms).as("ms until the job ended").isLessThan(3000);
  }

  // ---------------------------------------------------------------- broken and misdeclared

  @Test
  void truncatedJpegIsAnError() throws IOException {
    byte[] jpeg = TestImages.write(noise(1200, 800, 7), "jpeg");
    Thumbnailer.Result r = make(Arrays.copyOf(jpeg, jpeg.length / 2), "image/jpeg", "cut.jpg");
    assertThat(r.status()).isEqualTo("error");
    assertThat(r.kind()).isEqualTo(Kind.IMAGE);
    assertThat(r.thumbnail()).isNull();
    assertThat(r.reason()).isNotBlank();
  }

  @Test
  void truncatedPngIsAnError() throws IOException {
    byte[] png = TestImages.write(noise(800, 600, 3), "png");
    Thumbnailer.Result r = make(Arrays.copyOf(png, png.length / 3), "image/png", "cut.png");
    assertThat(r.status()).isEqualTo("error");
  }

  @Test
  void corruptBytesAfterJpegMagicAreAnError() {
    byte[] junk = new byte[5000];
    new java.util.Random(1).nextBytes(junk);
    junk[0] = (byte) 0xFF;
    junk[1] = (byte) 0xD8;
    junk[2] = (byte) 0xFF;
    junk[3] = (byte) 0xE0;
    Thumbnailer.Result r = make(junk, "image/jpeg", "junk.jpg");
    assertThat(r.status()).isEqualTo("error");
    assertThat(r.thumbnail()).isNull();
  }

  @Test
  void textNamedJpgIsAnError() {
    byte[] text = "just some words, not a picture\n".repeat(20).getBytes(StandardCharsets.UTF_8);
    Thumbnailer.Result r = make(text, "image/jpeg", "x.jpg");
    assertThat(r.status()).isEqualTo("error");
    assertThat(r.kind()).isEqualTo(Kind.NONE);
    assertThat(r.reason()).contains("not");
    // the name alone claims it too
    assertThat(make(text, null, "x.jpg").status()).isEqualTo("error");
    assertThat(make(text, "application/octet-stream", "x.jpg").status()).isEqualTo("error");
  }

  @Test
  void plainTextGetsNone() {
    byte[] text = "hello\n".getBytes(StandardCharsets.UTF_8);
    Thumbnailer.Result r = make(text, "text/plain", "notes.txt");
    assertThat(r.status()).isEqualTo("none");
    assertThat(r.kind()).isEqualTo(Kind.NONE);
    assertThat(make(new byte[0], null, null).status()).isEqualTo("none");
  }

  @Test
  void pngDeclaredAsOctetStreamGetsItsThumbnail() throws IOException {
    byte[] png = TestImages.write(
        TestImages.halves(1200, 800, BufferedImage.TYPE_INT_RGB, RED, BLUE), "png");
    Thumbnailer.Result r = make(png, "application/octet-stream", "upload.bin");
    done(r, Thumbnail.JPEG, 600, 400);
    assertThat(r.kind()).isEqualTo(Kind.IMAGE);
    // and whatever it is declared as, or without any hint
    done(make(png, "text/plain", "x.txt"), Thumbnail.JPEG, 600, 400);
    done(make(png, null, null), Thumbnail.JPEG, 600, 400);
  }

  @Test
  void aFailingSourceIsAnErrorNotAnException() {
    Thumbnailer.Result r = thumbnailer.make(() -> {
      throw new UncheckedIOException(new IOException("storage down"));
    }, 10, "image/png", "a.png");
    assertThat(r.status()).isEqualTo("error");
    assertThat(r.reason()).contains("storage down");
  }

  @Test
  void largeFileIsReadTwiceAtMostSmallFileOnce() throws IOException {
    byte[] big = TestImages.write(noise(600, 400, 11), "png");
    assertThat(big.length).isGreaterThan(Kind.HEAD_BYTES);
    AtomicInteger opened = new AtomicInteger();
    thumbnailer.make(() -> {
      opened.incrementAndGet();
      return new ByteArrayInputStream(big);
    }, big.length, "image/png", "a.png");
    assertThat(opened).hasValue(2);
    byte[] small = TestImages.write(
        TestImages.halves(60, 40, BufferedImage.TYPE_INT_RGB, RED, BLUE), "png");
    opened.set(0);
    thumbnailer.make(() -> {
      opened.incrementAndGet();
      return new ByteArrayInputStream(small);
    }, small.length, "image/png", "a.png");
    assertThat(opened).hasValue(1);
  }

  // ---------------------------------------------------------------- PDF

  @Test
  void pdfFirstPageIsRendered() throws IOException {
    byte[] pdf = pdf(RED, BLUE);
    Thumbnailer.Result r = make(pdf, "application/pdf", "doc.pdf");
    assertThat(r.kind()).isEqualTo(Kind.PDF);
    // US Letter, 612 x 792 pt, fitted into 600 x 400 (PDFBox rounds down)
    BufferedImage out = done(r, Thumbnail.JPEG, 309, 400);
    assertColor(out, 60, 200, RED);        // left half of page 1 is red
    assertColor(out, 250, 300, Color.WHITE);
    // also without a declared type
    done(make(pdf, null, "scan"), Thumbnail.JPEG, 309, 400);
  }

  @Test
  void rotatedPdfPageIsShownTurned() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (PDDocument doc = new PDDocument()) {
      PDPage page = new PDPage(PDRectangle.LETTER);
      page.setRotation(90);
      doc.addPage(page);
      try (PDPageContentStream content = new PDPageContentStream(doc, page)) {
        content.setNonStrokingColor(RED);
        content.addRect(0, 0, 612, 396); // bottom half of the unrotated page
        content.fill();
      }
      doc.save(bytes);
    }
    // 792 x 612 pt once turned: 518 x 400; the page's bottom half becomes the left half
    BufferedImage out = done(make(bytes.toByteArray(), "application/pdf", "turned.pdf"),
        Thumbnail.JPEG, 518, 400);
    assertColor(out, 100, 200, RED);
    assertColor(out, 420, 200, Color.WHITE);
  }

  @Test
  void smallPdfPageIsNotEnlarged() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (PDDocument doc = new PDDocument()) {
      doc.addPage(new PDPage(new PDRectangle(200, 100)));
      doc.save(bytes);
    }
    done(make(bytes.toByteArray(), "application/pdf", "tiny.pdf"), Thumbnail.JPEG, 200, 100);
  }

  @Test
  void brokenPdfIsAnError() throws IOException {
    byte[] pdf = pdf(RED, BLUE);
    Thumbnailer.Result r = make(Arrays.copyOf(pdf, 40), "application/pdf", "cut.pdf");
    assertThat(r.status()).isEqualTo("error");
    assertThat(r.kind()).isEqualTo(Kind.PDF);
  }

  /** A two-page US Letter PDF: page 1 has its left half filled with {@code first}. */
  private static byte[] pdf(Color first, Color second) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (PDDocument doc = new PDDocument()) {
      Color[] colors = {first, second};
      for (Color c : colors) {
        PDPage page = new PDPage(PDRectangle.LETTER);
        doc.addPage(page);
        try (PDPageContentStream content = new PDPageContentStream(doc, page)) {
          content.setNonStrokingColor(c);
          content.addRect(0, 0, 306, 792);
          content.fill();
          content.beginText();
          content.setFont(new PDType1Font(Standard14Fonts.FontName.HELVETICA), 24);
          content.setNonStrokingColor(Color.BLACK);
          content.newLineAtOffset(320, 700);
          content.showText("Page");
          content.endText();
        }
      }
      doc.save(bytes);
    }
    return bytes.toByteArray();
  }

  // ---------------------------------------------------------------- video and office

  @Test
  void videoAndOfficeGetNoneWhenToolsAreDisabled() throws IOException {
    Thumbnailer noTools = new Thumbnailer(600, 400, Thumbnailer.DEFAULT_MAX_PIXELS, false);
    byte[] mkv = {0x1A, 0x45, (byte) 0xDF, (byte) 0xA3, 0, 0, 0, 0};
    Thumbnailer.Result video = noTools.make(supplier(mkv), mkv.length, "video/webm", "v.webm");
    assertThat(video.kind()).isEqualTo(Kind.VIDEO);
    assertThat(video.status()).isEqualTo("none");
    byte[] rtf = "{\\rtf1\\ansi Hello}".getBytes(StandardCharsets.US_ASCII);
    Thumbnailer.Result office = noTools.make(supplier(rtf), rtf.length, null, "a.rtf");
    assertThat(office.kind()).isEqualTo(Kind.OFFICE);
    assertThat(office.status()).isEqualTo("none");
  }

  @Test
  void videoWithoutFfmpegGetsNone() throws IOException {
    assumeFalse(ExternalTools.find("ffmpeg").isPresent(), "ffmpeg is installed");
    byte[] mp4 = {0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0, 2, 0,
        'i', 's', 'o', 'm', 'm', 'p', '4', '1'};
    Thumbnailer.Result r = make(mp4, "video/mp4", "v.mp4");
    assertThat(r.kind()).isEqualTo(Kind.VIDEO);
    assertThat(r.status()).isEqualTo("none");
    assertThat(r.reason()).contains("ffmpeg");
  }

  @Test
  void officeWithoutSofficeGetsNone() throws IOException {
    assumeFalse(ExternalTools.find("soffice").isPresent(), "soffice is installed");
    Thumbnailer.Result r = make(odt("Hello"), null, "a.odt");
    assertThat(r.kind()).isEqualTo(Kind.OFFICE);
    assertThat(r.status()).isEqualTo("none");
    assertThat(r.reason()).contains("soffice");
  }

  @Test
  void videoFirstFrameWithFfmpeg(@TempDir Path dir) throws Exception {
    assumeTrue(ExternalTools.find("ffmpeg").isPresent(), "ffmpeg is not installed");
    for (String container : List.of("mkv", "mp4")) {
      Path video = dir.resolve("v." + container);
      List<String> cmd = new ArrayList<>(List.of("ffmpeg", "-nostdin", "-loglevel", "error",
          "-f", "lavfi", "-i", "color=c=red:s=320x240:d=1:r=5", "-c:v", "mpeg4", "-q:v", "2"));
      if (container.equals("mp4")) {
        cmd.addAll(List.of("-movflags", "+faststart")); // index first: readable from a pipe
      }
      cmd.add(video.toString());
      Process p = new ProcessBuilder(cmd).inheritIO().start();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isZero();
      byte[] bytes = Files.readAllBytes(video);
      Thumbnailer.Result r = make(bytes, null, "v." + container);
      assertThat(r.kind()).isEqualTo(Kind.VIDEO);
      BufferedImage out = done(r, Thumbnail.JPEG, 320, 240);
      assertColor(out, 160, 120, Color.RED);
    }
    // not a video after all: an error, not an exception
    byte[] fake = Arrays.copyOf(new byte[] {0x1A, 0x45, (byte) 0xDF, (byte) 0xA3}, 3000);
    Thumbnailer.Result r = make(fake, null, "broken.mkv");
    assertThat(r.kind()).isEqualTo(Kind.VIDEO);
    assertThat(r.status()).isEqualTo("error");
  }

  @Test
  void officeFirstPageWithSoffice() throws Exception {
    assumeTrue(ExternalTools.find("soffice").isPresent(), "soffice is not installed");
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    List<Path> before = officeTempDirs(tmp);
    Thumbnailer.Result r = make(odt("Hello from the test"), null, "letter.odt");
    assertThat(r.kind()).isEqualTo(Kind.OFFICE);
    assertThat(r.status()).as(r.reason()).isEqualTo("done");
    Thumbnail t = r.thumbnail();
    assertThat(t.height()).isEqualTo(400);
    assertThat(t.width()).isBetween(250, 320); // A4 or Letter portrait
    decode(t);
    // RTF, recognised by its bytes
    byte[] rtf = "{\\rtf1\\ansi Hello}".getBytes(StandardCharsets.US_ASCII);
    Thumbnailer.Result rtfResult = make(rtf, null, null);
    assertThat(rtfResult.kind()).isEqualTo(Kind.OFFICE);
    assertThat(rtfResult.status()).as(rtfResult.reason()).isEqualTo("done");
    // the private temporary directories are gone
    assertThat(officeTempDirs(tmp)).isEqualTo(before);
  }

  private static List<Path> officeTempDirs(Path tmp) throws IOException {
    try (var s = Files.list(tmp)) {
      return s.filter(p -> p.getFileName().toString().startsWith("thumb-office-")).sorted()
          .toList();
    }
  }

  /** A minimal OpenDocument text: "mimetype" stored first, then content and manifest. */
  static byte[] odt(String text) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      byte[] mimetype = "application/vnd.oasis.opendocument.text".getBytes(StandardCharsets.US_ASCII);
      ZipEntry entry = new ZipEntry("mimetype");
      entry.setMethod(ZipEntry.STORED);
      entry.setSize(mimetype.length);
      CRC32 crc = new CRC32();
      crc.update(mimetype);
      entry.setCrc(crc.getValue());
      zip.putNextEntry(entry);
      zip.write(mimetype);
      zip.closeEntry();
      zip.putNextEntry(new ZipEntry("content.xml"));
      zip.write(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
          + "<office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\""
          + " xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" office:version=\"1.2\">"
          + "<office:body><office:text><text:p>" + text + "</text:p></office:text></office:body>"
          + "</office:document-content>").getBytes(StandardCharsets.UTF_8));
      zip.closeEntry();
      zip.putNextEntry(new ZipEntry("META-INF/manifest.xml"));
      zip.write(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
          + "<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\""
          + " manifest:version=\"1.2\">"
          + "<manifest:file-entry manifest:full-path=\"/\" manifest:version=\"1.2\""
          + " manifest:media-type=\"application/vnd.oasis.opendocument.text\"/>"
          + "<manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>"
          + "</manifest:manifest>").getBytes(StandardCharsets.UTF_8));
      zip.closeEntry();
    }
    return bytes.toByteArray();
  }

  // ---------------------------------------------------------------- kind detection

  @Test
  void kindComesFromTheBytes() throws IOException {
    byte[] png = TestImages.write(
        TestImages.halves(10, 10, BufferedImage.TYPE_INT_RGB, RED, RED), "png");
    assertThat(Kind.detect(png, "text/plain", "a.txt")).isEqualTo(Kind.IMAGE);
    assertThat(Kind.detect("%PDF-1.7\n".getBytes(StandardCharsets.US_ASCII), null, null))
        .isEqualTo(Kind.PDF);
    assertThat(Kind.detect("plain words".getBytes(StandardCharsets.US_ASCII), "image/png",
        "a.png")).isEqualTo(Kind.NONE);
    byte[] m4a = {0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'M', '4', 'A', ' ', 0, 0, 0, 0};
    assertThat(Kind.detect(m4a, "video/mp4", "a.mp4")).as("audio-only MP4").isEqualTo(Kind.NONE);
    byte[] mov = {0, 0, 0, 0x14, 'f', 't', 'y', 'p', 'q', 't', ' ', ' ', 0, 0, 0, 0};
    assertThat(Kind.detect(mov, null, null)).isEqualTo(Kind.VIDEO);
    assertThat(Kind.detect(odt("x"), null, null)).isEqualTo(Kind.OFFICE);
    // a ZIP is a .docx only if the name or the type says so
    byte[] zip = zipWith("word/document.xml");
    assertThat(Kind.detect(zip, null, null)).isEqualTo(Kind.NONE);
    assertThat(Kind.detect(zip, null, "report.docx")).isEqualTo(Kind.OFFICE);
    assertThat(Kind.detect(zip, "application/vnd.openxmlformats-officedocument"
        + ".wordprocessingml.document", null)).isEqualTo(Kind.OFFICE);
    assertThat(Kind.detect(zip, null, "photos.zip")).isEqualTo(Kind.NONE);
    byte[] ole2 = Arrays.copyOf(new byte[] {(byte) 0xD0, (byte) 0xCF, 0x11, (byte) 0xE0,
        (byte) 0xA1, (byte) 0xB1, 0x1A, (byte) 0xE1}, 512);
    assertThat(Kind.detect(ole2, null, "old.xls")).isEqualTo(Kind.OFFICE);
    assertThat(Kind.detect(ole2, null, null)).isEqualTo(Kind.NONE);
    assertThat(Kind.claimed("IMAGE/JPEG; q=1", null)).isEqualTo(Kind.IMAGE);
    assertThat(Kind.claimed("application/octet-stream", "a.PDF")).isEqualTo(Kind.PDF);
    assertThat(Kind.claimed("not a type", "noext")).isEqualTo(Kind.NONE);
  }

  private static byte[] zipWith(String name) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      zip.putNextEntry(new ZipEntry(name));
      zip.write("<x/>".getBytes(StandardCharsets.US_ASCII));
      zip.closeEntry();
    }
    return bytes.toByteArray();
  }

  // ---------------------------------------------------------------- throughput

  /**
   * Throughput on 20 JPEGs of 4000 x 3000 (12 MP, quality 0.9, smooth gradients plus noise, ~4 MB
   * each), read from files, one thread, 3 runs; prints the median thumbnails per second and the
   * heap peak. Uses
   * /tmp/bench-data/images (shared/bench/thumbs.sh) when it holds 4000 x 3000 JPEGs. A measurement,
   * not a test: tagged "bench", left out of scripts/test; run it with
   * {@code mvn test -Dtest=ThumbnailerTest -Dgroups=bench -Dtests.excluded=none}.
   */
  @Test
  @org.junit.jupiter.api.Tag("bench")
  void throughputOn12MegapixelJpegs(@TempDir Path dir) throws IOException {
    List<Path> files = benchImages(dir);
    // warm up the JIT and the plugins
    for (int i = 0; i < 2; i++) {
      assertThat(makeFromFile(files.get(i)).status()).isEqualTo("done");
    }
    List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
        .filter(p -> p.getType() == MemoryType.HEAP).toList();
    long inBytes = 0;
    for (Path f : files) {
      inBytes += Files.size(f);
    }
    System.gc();
    heap.forEach(MemoryPoolMXBean::resetPeakUsage);
    long allocatedBefore = allocatedBytes();
    int runs = 3;
    double[] rates = new double[runs];
    long outBytes = 0;
    for (int run = 0; run < runs; run++) {
      long start = System.nanoTime();
      for (Path f : files) {
        Thumbnailer.Result r = makeFromFile(f);
        assertThat(r.status()).as(r.reason()).isEqualTo("done");
        outBytes += r.thumbnail().size();
      }
      rates[run] = files.size() / ((System.nanoTime() - start) / 1e9);
    }
    long allocated = (allocatedBytes() - allocatedBefore) / runs;
    long peak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
    double[] sorted = rates.clone();
    Arrays.sort(sorted);
    System.out.printf(Locale.ROOT,
        "THUMBNAIL BENCH: %d JPEGs 4000x3000 (%.1f MB avg) -> 600x400 box, one thread: "
            + "median %.2f thumbnails/s (%.0f ms each; runs %s); heap peak %.0f MB "
            + "(sum of heap pool peaks incl. garbage, -Xmx%d MB); %.1f MB allocated per "
            + "thumbnail; thumbnails %.0f KB avg%n",
        files.size(), inBytes / 1e6 / files.size(), sorted[runs / 2], 1000 / sorted[runs / 2],
        Arrays.toString(Arrays.stream(rates).map(x -> Math.round(x * 100) / 100.0).toArray()),
        peak / 1e6, Runtime.getRuntime().maxMemory() >> 20, allocated / 1e6 / files.size(),
        outBytes / 1024.0 / files.size() / runs);
  }

  private Thumbnailer.Result makeFromFile(Path f) throws IOException {
    return thumbnailer.make(() -> {
      try {
        return Files.newInputStream(f);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, Files.size(f), "image/jpeg", f.getFileName().toString());
  }

  private static List<Path> benchImages(Path dir) throws IOException {
    Path shared = Path.of("/tmp/bench-data/images");
    if (Files.isDirectory(shared)) {
      try (var s = Files.list(shared)) {
        List<Path> jpegs = s.filter(p -> p.toString().endsWith(".jpg")).sorted().toList();
        if (jpegs.size() >= 18 && isSize(jpegs.get(0), 4000, 3000)) {
          List<Path> twenty = new ArrayList<>(jpegs);
          while (twenty.size() < 20) {
            twenty.add(jpegs.get(twenty.size() % jpegs.size()));
          }
          return twenty.subList(0, 20);
        }
      }
    }
    List<Path> files = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      Path f = dir.resolve(String.format(Locale.ROOT, "img-%02d.jpg", i));
      ImageWriterQ90.write(benchImage(4000, 3000, i), f);
      files.add(f);
    }
    return files;
  }

  private static boolean isSize(Path f, int w, int h) throws IOException {
    try (ImageInputStream in = new MemoryCacheImageInputStream(Files.newInputStream(f))) {
      ImageReader r = ImageIO.getImageReaders(in).next();
      r.setInput(in);
      return r.getWidth(0) == w && r.getHeight(0) == h;
    }
  }

  /** Smooth colour gradients with a seed-dependent phase, plus pixel noise (like a photo). */
  private static BufferedImage benchImage(int w, int h, int seed) {
    int[] red = new int[w];
    int[] green = new int[h];
    int[] blue = new int[w + h];
    for (int x = 0; x < w; x++) {
      red[x] = 128 + (int) (90 * Math.sin((x + seed * 97) / 350.0));
    }
    for (int y = 0; y < h; y++) {
      green[y] = 128 + (int) (90 * Math.sin((y + seed * 53) / 270.0));
    }
    for (int i = 0; i < w + h; i++) {
      blue[i] = 128 + (int) (90 * Math.sin(i / 500.0 + seed));
    }
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    int[] row = new int[w];
    long state = 0x9E3779B97F4A7C15L * (seed + 1);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        state ^= state << 13;
        state ^= state >>> 7;
        state ^= state << 17;
        int noise = (int) (state & 31) - 16;
        row[x] = (clamp(red[x] + noise) << 16) | (clamp(green[y] + noise) << 8)
            | clamp(blue[x + y] + noise);
      }
      img.setRGB(0, y, w, 1, row, 0, w);
    }
    return img;
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }

  /** Writes JPEG quality 0.9 (4:2:0, the JDK default sampling). */
  private static final class ImageWriterQ90 {
    static void write(BufferedImage img, Path f) throws IOException {
      var writer = ImageIO.getImageWritersByFormatName("jpeg").next();
      var param = writer.getDefaultWriteParam();
      param.setCompressionMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
      param.setCompressionQuality(0.9f);
      writer.dispose();
      Files.write(f, TestImages.write(img, "jpeg", param));
    }
  }

  // ---------------------------------------------------------------- helpers

  private Thumbnailer.Result make(byte[] bytes, String mime, String name) {
    return thumbnailer.make(supplier(bytes), bytes.length, mime, name);
  }

  private static java.util.function.Supplier<InputStream> supplier(byte[] bytes) {
    return () -> new ByteArrayInputStream(bytes);
  }

  /**
   * Asserts a done result of the given type and size, and that its bytes decode, as that format,
   * to an image of exactly the stated width and height; returns the decoded image.
   */
  private static BufferedImage done(Thumbnailer.Result r, String type, int width, int height)
      throws IOException {
    assertThat(r.status()).as("status (reason: %s)", r.reason()).isEqualTo("done");
    Thumbnail t = r.thumbnail();
    assertThat(t).isNotNull();
    assertThat(t.type()).isEqualTo(type);
    assertThat(t.width()).as("width").isEqualTo(width);
    assertThat(t.height()).as("height").isEqualTo(height);
    return decode(t);
  }

  private static BufferedImage decode(Thumbnail t) throws IOException {
    try (ImageInputStream in = new MemoryCacheImageInputStream(
        new ByteArrayInputStream(t.bytes()))) {
      ImageReader reader = ImageIO.getImageReaders(in).next();
      String format = reader.getFormatName().toLowerCase(Locale.ROOT);
      assertThat(format).isEqualTo(t.type().equals(Thumbnail.PNG) ? "png" : "jpeg");
      reader.setInput(in);
      BufferedImage img = reader.read(0);
      assertThat(img.getWidth()).isEqualTo(t.width());
      assertThat(img.getHeight()).isEqualTo(t.height());
      reader.dispose();
      return img;
    }
  }

  private static void assertColor(BufferedImage img, int x, int y, Color expected) {
    int[] got = channels(img.getRGB(x, y));
    int[] want = {expected.getRed(), expected.getGreen(), expected.getBlue()};
    for (int i = 0; i < 3; i++) {
      assertThat(Math.abs(got[i] - want[i]))
          .as("pixel (%d,%d) is %s, expected about %s", x, y, Arrays.toString(got),
              Arrays.toString(want))
          .isLessThanOrEqualTo(40);
    }
  }

  private static int[] channels(int argb) {
    return new int[] {(argb >> 16) & 0xFF, (argb >> 8) & 0xFF, argb & 0xFF};
  }

  private static int alpha(BufferedImage img, int x, int y) {
    return img.getRGB(x, y) >>> 24;
  }

  private static BufferedImage noise(int w, int h, long seed) {
    java.util.Random random = new java.util.Random(seed);
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img.setRGB(x, y, random.nextInt(0x1000000));
      }
    }
    return img;
  }

  /** Bytes allocated on the heap by this thread so far (HotSpot's per-thread counter). */
  private static long allocatedBytes() {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    return threads.getThreadAllocatedBytes(Thread.currentThread().getId());
  }
}

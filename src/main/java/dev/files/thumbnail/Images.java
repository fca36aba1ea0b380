package dev.files.thumbnail;

import java.awt.AlphaComposite;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.awt.image.SinglePixelPackedSampleModel;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Raster images to thumbnails with ImageIO (JDK readers for PNG, GIF, BMP; TwelveMonkeys for JPEG,
 * TIFF, WebP): the pixel count is checked from the header before any decoding, large images are
 * decoded with source subsampling (JPEGs by {@link TurboJpeg} at a DCT scale, when installed),
 * brought to the thumbnail's size by area averaging ({@link #resize}), EXIF orientation is
 * applied, and the result is encoded as JPEG (opaque; libjpeg-turbo when installed, else ImageIO)
 * or PNG (with transparent pixels).
 *
 * <p>Streams are cached in memory only ({@link MemoryCacheImageInputStream}), never in ImageIO's
 * temporary files: no plaintext reaches the disk.
 */
final class Images {

  /** JPEG quality of opaque thumbnails, 0..1 (libjpeg's quality 85 of 100: both encoders use it). */
  static final float JPEG_QUALITY = 0.85f;

  private final int maxWidth;
  private final int maxHeight;
  private final long maxPixels;

  Images(int maxWidth, int maxHeight, long maxPixels) {
    this.maxWidth = maxWidth;
    this.maxHeight = maxHeight;
    this.maxPixels = maxPixels;
  }

  /**
   * Decodes an encoded image and makes its thumbnail, within {@code budget}: its pixel count, the
   * scans of a JPEG ({@link #MAX_JPEG_SCANS}) and an estimate of the memory the decoder will take
   * are checked from the header before anything is decoded; orientation comes from EXIF alone
   * ({@link Exif}); no other metadata is read (a PNG reaches the decoder without its text and
   * profile chunks, {@link PngChunks}).
   *
   * @param data the encoded image is {@code data[0, length)}; not modified
   * @throws Refusal "none" above a limit (nothing decoded), "error" for bytes no reader takes,
   *     truncated or corrupt data
   * @throws Budget.Stopped when the deadline passed (or the job was stopped) during the decode
   * @throws IOException when the reader fails (corrupt data)
   */
  Thumbnail fromBytes(byte[] data, int length, Budget budget) throws IOException, Refusal, Budget.Stopped {
    int orientation = Exif.of(data, length);
    InputStream in;
    if (length >= 3 && (data[0] & 0xFF) == 0xFF && (data[1] & 0xFF) == 0xD8 && (data[2] & 0xFF) == 0xFF) {
      JpegStructure jpeg = JpegStructure.read(data, length, MAX_JPEG_SCANS);
      checkJpeg(jpeg, budget);
      if (TurboJpeg.available()) {
        Thumbnail t = fromJpeg(data, length, orientation, budget);
        if (t != null) {
          return t;
        }
      }
      in = new ByteArrayInputStream(data, 0, length); // ImageIO decides, as for any image
    } else if (length >= 8 && (data[0] & 0xFF) == 0x89 && data[1] == 'P' && data[2] == 'N' && data[3] == 'G') {
      in = PngChunks.essential(data, length);
    } else {
      in = new ByteArrayInputStream(data, 0, length);
    }
    try (ImageInputStream iis = new MemoryCacheImageInputStream(in)) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(iis);
      if (!readers.hasNext()) {
        throw Refusal.error("no image decoder recognises these bytes");
      }
      ImageReader reader = readers.next();
      try {
        return fromReader(reader, iis, orientation, budget);
      } finally {
        reader.dispose();
      }
    }
  }

  /**
   * The most scans a JPEG may have. Encoders write 10 or so (libjpeg's progressive script: 10 for
   * colour, 6 for grey); a decoder goes over every block of the image once per scan, so a file that
   * repeats a scan 50,000 times costs minutes. libjpeg-turbo refuses more than 500 and leaves such
   * a file to ImageIO, which has no limit: it is refused here, before either decodes it.
   */
  static final int MAX_JPEG_SCANS = 100;

  /** A JPEG's scan count and, for progressive files, its coefficient buffer against the budget. */
  private void checkJpeg(JpegStructure jpeg, Budget budget) throws Refusal {
    if (jpeg.scans() > MAX_JPEG_SCANS) {
      throw Refusal.none("JPEG has more than " + MAX_JPEG_SCANS + " scans (a pass over the whole image each);"
          + " not decoded");
    }
    long pixels = (long) jpeg.width() * jpeg.height();
    if (pixels > maxPixels) {
      throw Refusal.none("image is " + jpeg.width() + "x" + jpeg.height() + " = " + pixels
          + " pixels, over the limit of " + maxPixels + "; not decoded");
    }
    if (jpeg.buffersCoefficients()) {
      budget.reserve(jpeg.coefficientBytes(), "the DCT coefficients of this " + jpeg.width() + "x"
          + jpeg.height() + " progressive JPEG");
    }
  }

  /**
   * The encoded bytes of a file held in memory, as a stream whose array {@link Images} can use
   * without a copy.
   */
  static final class Source extends ByteArrayInputStream {
    /** Reads {@code bytes[0, length)}. */
    Source(byte[] bytes, int length) {
      super(bytes, 0, length);
    }

    boolean atStart() {
      return pos == 0;
    }

    byte[] array() {
      return buf;
    }

    int length() {
      return count;
    }
  }

  /**
   * The thumbnail of a JPEG decoded by libjpeg-turbo at the smallest DCT scale that still covers
   * the target; null when libjpeg-turbo does not take it cleanly (then ImageIO decodes it).
   * libjpeg-turbo cannot be interrupted; its work is bounded by the checks made before (pixels,
   * scans, coefficient memory) and by the scale.
   */
  private Thumbnail fromJpeg(byte[] jpeg, int length, int orientation, Budget budget)
      throws IOException, Refusal, Budget.Stopped {
    TurboJpeg.Header header = TurboJpeg.header(jpeg, length);
    if (header == null || !header.decodable() || header.width() <= 0 || header.height() <= 0) {
      return null;
    }
    long pixels = (long) header.width() * header.height();
    if (pixels > maxPixels) {
      throw Refusal.none("image is " + header.width() + "x" + header.height() + " = " + pixels
          + " pixels, over the limit of " + maxPixels + "; not decoded");
    }
    boolean swap = orientation >= 5;
    int[] shown = fit(swap ? header.height() : header.width(), swap ? header.width() : header.height(),
        maxWidth, maxHeight);
    int targetWidth = swap ? shown[1] : shown[0];
    int targetHeight = swap ? shown[0] : shown[1];
    int n = TurboJpeg.scale(header.width(), header.height(), targetWidth, targetHeight);
    budget.reserve(3L * 4 * TurboJpeg.scaled(header.width(), n) * TurboJpeg.scaled(header.height(), n),
        "a " + header.width() + "x" + header.height() + " JPEG decoded at " + n + "/8");
    budget.check();
    BufferedImage decoded = TurboJpeg.decode(jpeg, length, header, n);
    budget.check();
    return decoded == null ? null : finish(decoded, orientation, targetWidth, targetHeight);
  }

  /**
   * Makes the thumbnail of an image already in memory (a rendered PDF page): fitted, never
   * enlarged, no orientation change.
   */
  Thumbnail fromImage(BufferedImage image) throws IOException {
    int[] fit = fit(image.getWidth(), image.getHeight(), maxWidth, maxHeight);
    return finish(image, 1, fit[0], fit[1]);
  }

  private Thumbnail fromReader(ImageReader reader, ImageInputStream iis, int orientation, Budget budget)
      throws IOException, Refusal, Budget.Stopped {
    reader.setInput(iis, true, true); // no metadata: orientation came from EXIF, nothing else is used
    List<String> warnings = new ArrayList<>();
    reader.addIIOReadWarningListener((r, warning) -> warnings.add(warning));
    // Header only: every reader here answers these without decoding pixels.
    int width = reader.getWidth(0);
    int height = reader.getHeight(0);
    if (width <= 0 || height <= 0) {
      throw Refusal.error("image declares no pixels: " + width + "x" + height);
    }
    long pixels = (long) width * height;
    if (pixels > maxPixels) {
      throw Refusal.none("image is " + width + "x" + height + " = " + pixels
          + " pixels, over the limit of " + maxPixels + "; not decoded");
    }
    boolean swap = orientation >= 5;
    int[] shown = fit(swap ? height : width, swap ? width : height, maxWidth, maxHeight);
    int targetWidth = swap ? shown[1] : shown[0]; // in stored (unrotated) orientation
    int targetHeight = swap ? shown[0] : shown[1];
    ImageReadParam param = reader.getDefaultReadParam();
    int[] step = subsampling(width, height, targetWidth, targetHeight);
    if (step[0] > 1 || step[1] > 1) {
      param.setSourceSubsampling(step[0], step[1], 0, 0);
    }
    budget.reserve(decoderBytes(reader, width, height)
            + 3L * 4 * ((width + step[0] - 1) / step[0]) * ((height + step[1] - 1) / step[1]),
        "a " + width + "x" + height + " " + reader.getFormatName().toUpperCase(Locale.ROOT) + " image");
    budget.check();
    BufferedImage decoded;
    try (Budget.Registration abort = budget.onStop(reader::abort)) {
      decoded = reader.read(0, param);
    }
    budget.check(); // an aborted reader returns what it has: never a thumbnail
    for (String w : warnings) {
      // libjpeg reports missing data as a warning and fills the rest with grey
      if (w != null && w.toLowerCase(Locale.ROOT).contains("premature end")) {
        throw Refusal.error("truncated or corrupt image data (" + w + ")");
      }
    }
    return finish(decoded, orientation, targetWidth, targetHeight);
  }

  /**
   * What a reader holds besides the destination raster, estimated from the header, bytes: a WebP
   * (TwelveMonkeys decodes a lossless frame whole, 4 bytes a pixel, before subsampling) its whole
   * frame; a tiled image one tile; the others decode row by row and hold a row or two at full
   * width. 8 bytes a pixel (16-bit RGBA) is the most any of them uses.
   */
  private static long decoderBytes(ImageReader reader, int width, int height) throws IOException {
    if (reader.getFormatName().equalsIgnoreCase("webp")) {
      return 4L * width * height;
    }
    if (reader.isImageTiled(0)) {
      return 8L * reader.getTileWidth(0) * reader.getTileHeight(0);
    }
    return 2 * 8L * width;
  }

  /**
   * The largest size within {@code boxWidth} x {@code boxHeight} with the aspect ratio of
   * {@code width} x {@code height}, never larger than the image itself; each side at least 1.
   *
   * @return {width, height} in pixels
   */
  static int[] fit(int width, int height, int boxWidth, int boxHeight) {
    if (width <= boxWidth && height <= boxHeight) {
      return new int[] {width, height};
    }
    double scale = Math.min((double) boxWidth / width, (double) boxHeight / height);
    int w = (int) Math.max(1, Math.min(boxWidth, Math.round(width * scale)));
    int h = (int) Math.max(1, Math.min(boxHeight, Math.round(height * scale)));
    return new int[] {w, h};
  }

  /**
   * The source subsampling steps {x, y} (1 = every pixel) for decoding a {@code width} x
   * {@code height} image that will be shrunk to {@code targetWidth} x {@code targetHeight}: along
   * each axis the largest step that still leaves at least twice the target size, so that the final
   * downscale can smooth. Each axis has its own step, so an image of extreme aspect ratio (100,000,000
   * x 1) is subsampled along its long axis.
   */
  static int[] subsampling(int width, int height, int targetWidth, int targetHeight) {
    return new int[] {Math.max(1, width / (2 * targetWidth)), Math.max(1, height / (2 * targetHeight))};
  }

  /** Scales to the target (stored orientation), orients, picks the format, encodes. */
  private static Thumbnail finish(BufferedImage image, int orientation, int width, int height)
      throws IOException {
    boolean alpha = image.getColorModel().hasAlpha();
    BufferedImage scaled = resize(normalize(image, alpha), width, height);
    if (!alpha && orientation == 1) { // the common case: already the final RGB image
      return new Thumbnail(jpeg(scaled), Thumbnail.JPEG, width, height);
    }
    int[] argb = scaled.getRGB(0, 0, width, height, null, 0, width); // non-premultiplied
    boolean swap = orientation >= 5;
    int shownWidth = swap ? height : width;
    int shownHeight = swap ? width : height;
    int[] shown = orient(argb, width, height, orientation);
    boolean transparent = alpha && hasTransparentPixel(shown);
    BufferedImage out = new BufferedImage(shownWidth, shownHeight,
        transparent ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
    out.setRGB(0, 0, shownWidth, shownHeight, shown, 0, shownWidth);
    byte[] bytes = transparent ? encode(out, "png", null) : jpeg(out);
    return new Thumbnail(bytes, transparent ? Thumbnail.PNG : Thumbnail.JPEG,
        shownWidth, shownHeight);
  }

  /**
   * The image as 8-bit sRGB ints: premultiplied ARGB when it has alpha (so that scaling does not
   * bleed the colour of transparent pixels), else RGB. 16-bit, grey, palette and other colour
   * models are converted here by Java2D.
   */
  private static BufferedImage normalize(BufferedImage image, boolean alpha) {
    int type = alpha ? BufferedImage.TYPE_INT_ARGB_PRE : BufferedImage.TYPE_INT_RGB;
    if (image.getType() == type) {
      return image;
    }
    BufferedImage out = new BufferedImage(image.getWidth(), image.getHeight(), type);
    Graphics2D g = out.createGraphics();
    try {
      g.setComposite(AlphaComposite.Src);
      g.drawImage(image, 0, 0, null);
    } finally {
      g.dispose();
    }
    return out;
  }

  /**
   * Scales an image of packed ints ({@code TYPE_INT_RGB} or {@code TYPE_INT_ARGB_PRE}) to
   * {@code width} x {@code height} by area averaging: each output pixel is the mean of the source
   * area it covers, a partly covered source pixel weighted by the part covered (a box filter over
   * the exact footprint, in two separable passes). It does not alias at any reduction ratio, and it
   * costs one pass over the source, which the DCT-scaled decode has already made small.
   */
  static BufferedImage resize(BufferedImage image, int width, int height) {
    int sw = image.getWidth();
    int sh = image.getHeight();
    if (sw == width && sh == height) {
      return image;
    }
    // rows first: sh rows of sw pixels to sh rows of width pixels; then width columns of sh pixels
    int[] rows = scale(ints(image), sh, sw, 1, taps(sw, width), new int[width * sh], width, 1);
    BufferedImage out = new BufferedImage(width, height, image.getType());
    int[] dst = ((DataBufferInt) out.getRaster().getDataBuffer()).getData();
    columns(rows, width, taps(sh, height), dst);
    return out;
  }

  /** Fixed-point weights: the weights of one output pixel add up to this. */
  private static final int ONE = 1 << 14;

  /**
   * The source pixels under each of {@code dst} output pixels along one axis of {@code src}
   * pixels: {@code first[i]} and the weights {@code weights[i]} of pixels first[i], first[i] + 1,
   * ..., each the covered part of that pixel, adding up to {@link #ONE}.
   */
  private record Taps(int[] first, int[][] weights) {
  }

  private static Taps taps(int src, int dst) {
    double step = (double) src / dst;
    int[] first = new int[dst];
    int[][] weights = new int[dst][];
    for (int i = 0; i < dst; i++) {
      double a = i * step;
      double b = Math.min(src, (i + 1) * step);
      int f = Math.min(src - 1, (int) a);
      int l = Math.max(f, Math.min(src - 1, (int) Math.ceil(b) - 1));
      int[] w = new int[l - f + 1];
      int sum = 0;
      int largest = 0;
      for (int k = f; k <= l; k++) {
        double cover = Math.min(b, k + 1) - Math.max(a, k);
        w[k - f] = (int) Math.round(Math.max(0, cover) / (b - a) * ONE);
        sum += w[k - f];
        largest = w[k - f] > w[largest] ? k - f : largest;
      }
      w[largest] += ONE - sum; // rounding: exactly ONE, so a flat area stays exactly its colour
      first[i] = f;
      weights[i] = w;
    }
    return new Taps(first, weights);
  }

  /**
   * The horizontal pass of {@link #resize}: {@code lines} lines of pixels, pixel k of line j at
   * {@code j * lineStep + k * pixelStep} in {@code px}, each shrunk (or stretched) to
   * {@code taps.first().length} pixels, stored at {@code j * outLineStep + i * outPixelStep}.
   */
  private static int[] scale(int[] px, int lines, int lineStep, int pixelStep, Taps taps, int[] result,
      int outLineStep, int outPixelStep) {
    int out = taps.first().length;
    int half = ONE / 2;
    for (int line = 0; line < lines; line++) {
      for (int i = 0; i < out; i++) {
        int[] w = taps.weights()[i];
        int p = line * lineStep + taps.first()[i] * pixelStep;
        int a = 0;
        int r = 0;
        int g = 0;
        int b = 0;
        for (int k = 0; k < w.length; k++, p += pixelStep) {
          int c = px[p];
          int wk = w[k];
          a += (c >>> 24) * wk;
          r += ((c >> 16) & 0xFF) * wk;
          g += ((c >> 8) & 0xFF) * wk;
          b += (c & 0xFF) * wk;
        }
        result[line * outLineStep + i * outPixelStep] = ((a + half) >> 14) << 24 | ((r + half) >> 14) << 16
            | ((g + half) >> 14) << 8 | ((b + half) >> 14);
      }
    }
    return result;
  }

  /**
   * The vertical pass of {@link #resize}: rows of {@code width} pixels shrunk (or stretched) to
   * {@code taps.first().length} rows in {@code result}. Row after row, each source row added
   * whole into accumulators, so the source is read in order (a column at a time would miss the
   * cache on every pixel).
   */
  private static void columns(int[] px, int width, Taps taps, int[] result) {
    int[] a = new int[width];
    int[] r = new int[width];
    int[] g = new int[width];
    int[] b = new int[width];
    int half = ONE / 2;
    for (int i = 0; i < taps.first().length; i++) {
      Arrays.fill(a, 0);
      Arrays.fill(r, 0);
      Arrays.fill(g, 0);
      Arrays.fill(b, 0);
      int[] w = taps.weights()[i];
      for (int k = 0; k < w.length; k++) {
        int wk = w[k];
        int row = (taps.first()[i] + k) * width;
        for (int x = 0; x < width; x++) {
          int c = px[row + x];
          a[x] += (c >>> 24) * wk;
          r[x] += ((c >> 16) & 0xFF) * wk;
          g[x] += ((c >> 8) & 0xFF) * wk;
          b[x] += (c & 0xFF) * wk;
        }
      }
      int out = i * width;
      for (int x = 0; x < width; x++) {
        result[out + x] = ((a[x] + half) >> 14) << 24 | ((r[x] + half) >> 14) << 16
            | ((g[x] + half) >> 14) << 8 | ((b[x] + half) >> 14);
      }
    }
  }

  /** The packed pixels of an int image, row after row: its own array when it is laid out so. */
  private static int[] ints(BufferedImage image) {
    int w = image.getWidth();
    int h = image.getHeight();
    if (image.getRaster().getDataBuffer() instanceof DataBufferInt data
        && image.getSampleModel() instanceof SinglePixelPackedSampleModel sm
        && sm.getScanlineStride() == w && data.getOffset() == 0 && data.getData().length == w * h
        && image.getRaster().getSampleModelTranslateX() == 0 && image.getRaster().getSampleModelTranslateY() == 0) {
      return data.getData();
    }
    return (int[]) image.getRaster().getDataElements(0, 0, w, h, null);
  }

  /** An opaque RGB image as a JPEG of quality {@link #JPEG_QUALITY}: libjpeg-turbo, else ImageIO. */
  private static byte[] jpeg(BufferedImage rgb) throws IOException {
    if (TurboJpeg.available() && rgb.getType() == BufferedImage.TYPE_INT_RGB) {
      byte[] bytes = TurboJpeg.encode(ints(rgb), rgb.getWidth(), rgb.getHeight(), Math.round(JPEG_QUALITY * 100));
      if (bytes != null) {
        return bytes;
      }
    }
    return encode(rgb, "jpeg", JPEG_QUALITY);
  }

  /**
   * Applies EXIF orientation {@code o} (1..8) to {@code width} x {@code height} pixels (row-major
   * ARGB); orientations 5..8 swap width and height.
   */
  static int[] orient(int[] px, int width, int height, int o) {
    if (o < 2 || o > 8) {
      return px;
    }
    int[] out = new int[px.length];
    int shownWidth = o >= 5 ? height : width;
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int dx;
        int dy;
        switch (o) {
          case 2 -> { dx = width - 1 - x; dy = y; }              // mirror left-right
          case 3 -> { dx = width - 1 - x; dy = height - 1 - y; } // 180°
          case 4 -> { dx = x; dy = height - 1 - y; }             // mirror top-bottom
          case 5 -> { dx = y; dy = x; }                          // transpose
          case 6 -> { dx = height - 1 - y; dy = x; }             // 90° clockwise
          case 7 -> { dx = height - 1 - y; dy = width - 1 - x; } // transverse
          default -> { dx = y; dy = width - 1 - x; }             // 8: 90° counter-clockwise
        }
        out[dy * shownWidth + dx] = px[y * width + x];
      }
    }
    return out;
  }

  private static boolean hasTransparentPixel(int[] argb) {
    for (int p : argb) {
      if ((p >>> 24) != 0xFF) {
        return true;
      }
    }
    return false;
  }

  /** Encodes through an in-memory stream (ImageIO's default may cache in a temporary file). */
  private static byte[] encode(BufferedImage image, String format, Float quality)
      throws IOException {
    ImageWriter writer = ImageIO.getImageWritersByFormatName(format).next();
    try {
      ImageWriteParam param = writer.getDefaultWriteParam();
      if (quality != null) {
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(quality);
      }
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 * 1024);
      try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
        writer.setOutput(out);
        writer.write(null, new IIOImage(image, null, null), param);
      }
      return bytes.toByteArray();
    } finally {
      writer.dispose();
    }
  }
}

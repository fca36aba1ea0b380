package dev.files.thumbnail;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.awt.color.ColorSpace;
import java.awt.Transparency;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.TreeSet;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.w3c.dom.NodeList;

/**
 * Test images made here, byte by byte or with the ImageIO writers on the classpath (JDK and
 * TwelveMonkeys): nothing is read from disk or from tools outside the JVM.
 */
final class TestImages {

  private TestImages() {
  }

  /** An RGB image split in four quadrants: top-left, top-right, bottom-left, bottom-right. */
  static BufferedImage quadrants(int w, int h, Color tl, Color tr, Color bl, Color br) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        Color c = y < h / 2 ? (x < w / 2 ? tl : tr) : (x < w / 2 ? bl : br);
        img.setRGB(x, y, c.getRGB());
      }
    }
    return img;
  }

  /** An image of one colour left of the middle, another right of it. */
  static BufferedImage halves(int w, int h, int type, Color left, Color right) {
    BufferedImage img = new BufferedImage(w, h, type);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img.setRGB(x, y, (x < w / 2 ? left : right).getRGB());
      }
    }
    return img;
  }

  /** Encodes with the first ImageIO writer of {@code format}, in memory. */
  static byte[] write(BufferedImage img, String format) throws IOException {
    return write(img, format, null);
  }

  /** Encodes; {@code param} may set e.g. progressive JPEG. */
  static byte[] write(BufferedImage img, String format, ImageWriteParam param)
      throws IOException {
    ImageWriter writer = ImageIO.getImageWritersByFormatName(format).next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      writer.write(null, new IIOImage(img, null, null),
          param == null ? writer.getDefaultWriteParam() : param);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  /** A progressive JPEG. */
  static byte[] progressiveJpeg(BufferedImage img) throws IOException {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    ImageWriteParam param = writer.getDefaultWriteParam();
    param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
    writer.dispose();
    return write(img, "jpeg", param);
  }

  /** A 16-bit-per-sample RGB image (PNG writes it as bit depth 16). */
  static BufferedImage rgb16(int w, int h, Color left, Color right) {
    ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB),
        new int[] {16, 16, 16}, false, false, Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
    WritableRaster raster = cm.createCompatibleWritableRaster(w, h);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        Color c = x < w / 2 ? left : right;
        raster.setPixel(x, y, new int[] {c.getRed() * 257, c.getGreen() * 257, c.getBlue() * 257});
      }
    }
    return new BufferedImage(cm, raster, false, null);
  }

  /**
   * A palette image (8-bit indices): left half index 0, right half index 1; index 1 is fully
   * transparent when {@code transparentRight}.
   */
  static BufferedImage palette(int w, int h, Color left, Color right, boolean transparentRight) {
    byte[] r = {(byte) left.getRed(), (byte) right.getRed()};
    byte[] g = {(byte) left.getGreen(), (byte) right.getGreen()};
    byte[] b = {(byte) left.getBlue(), (byte) right.getBlue()};
    IndexColorModel cm = transparentRight
        ? new IndexColorModel(8, 2, r, g, b, 1)
        : new IndexColorModel(8, 2, r, g, b);
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, cm);
    WritableRaster raster = img.getRaster();
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        raster.setSample(x, y, 0, x < w / 2 ? 0 : 1);
      }
    }
    return img;
  }

  /** An animated GIF whose frames are filled with the given colours, in order. */
  static byte[] animatedGif(int w, int h, Color... frames) throws IOException {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      writer.prepareWriteSequence(null);
      for (Color c : frames) {
        writer.writeToSequence(new IIOImage(halves(w, h, BufferedImage.TYPE_INT_RGB, c, c), null,
            null), null);
      }
      writer.endWriteSequence();
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  /**
   * A JPEG with an EXIF APP1 segment holding only the Orientation tag (big-endian TIFF header,
   * one IFD entry), inserted right after SOI.
   */
  static byte[] withExifOrientation(byte[] jpeg, int orientation) {
    byte[] tiff = {
        'M', 'M', 0, 42, 0, 0, 0, 8,      // header, IFD0 at offset 8
        0, 1,                             // one entry
        0x01, 0x12, 0, 3, 0, 0, 0, 1,     // tag 0x0112 Orientation, SHORT, count 1
        0, (byte) orientation, 0, 0,      // value, left-justified
        0, 0, 0, 0};                      // no next IFD
    int length = 2 + 6 + tiff.length;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(jpeg, 0, 2);
    out.write(0xFF);
    out.write(0xE1);
    out.write(length >> 8);
    out.write(length & 0xFF);
    out.writeBytes("Exif\0\0".getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(tiff);
    out.write(jpeg, 2, jpeg.length - 2);
    return out.toByteArray();
  }

  /**
   * A four-component JPEG with an Adobe APP14 marker, as Photoshop writes them: samples stored
   * inverted (255 - ink). {@code ycck}: the first three components hold YCbCr of the inverted CMY
   * and the marker says transform 2 (YCCK); else the components are C, M, Y, K (transform 0).
   * Each {@code inks[i]} is {c, m, y, k} in 0..255 ink amounts for a vertical band of the image.
   */
  static byte[] adobeCmykJpeg(int w, int h, boolean ycck, int[]... inks) throws IOException {
    WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int[] ink = inks[x * inks.length / w];
        int[] stored;
        if (ycck) {
          // libjpeg's YCCK: R,G,B = the CMY ink amounts (= 255 - stored CMY), as YCbCr; K inverted
          double r = ink[0];
          double g = ink[1];
          double b = ink[2];
          stored = new int[] {
              clamp(0.299 * r + 0.587 * g + 0.114 * b),
              clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b),
              clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b),
              255 - ink[3]};
        } else {
          stored = new int[] {255 - ink[0], 255 - ink[1], 255 - ink[2], 255 - ink[3]};
        }
        raster.setPixel(x, y, stored);
      }
    }
    // The JDK writer writes a raster's 4 components as they are with an Adobe marker saying
    // transform 0; for YCCK only the marker's transform byte is changed afterwards.
    ImageWriter writer = null;
    for (var it = ImageIO.getImageWritersByFormatName("jpeg"); it.hasNext(); ) {
      ImageWriter candidate = it.next();
      if (candidate.getClass().getName().startsWith("com.sun.")) {
        writer = candidate;
      }
    }
    ImageWriteParam param = writer.getDefaultWriteParam();
    param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
    param.setCompressionQuality(0.95f);
    IIOMetadata metadata = writer.getDefaultImageMetadata(
        ImageTypeSpecifier.createFromBufferedImageType(BufferedImage.TYPE_3BYTE_BGR), param);
    String format = "javax_imageio_jpeg_image_1.0";
    IIOMetadataNode root = (IIOMetadataNode) metadata.getAsTree(format);
    IIOMetadataNode variety = (IIOMetadataNode) root.getElementsByTagName("JPEGvariety").item(0);
    while (variety.hasChildNodes()) {
      variety.removeChild(variety.getFirstChild()); // no JFIF: JFIF means YCbCr or grey
    }
    IIOMetadataNode adobe = new IIOMetadataNode("app14Adobe");
    adobe.setAttribute("transform", "0");
    root.getElementsByTagName("markerSequence").item(0).appendChild(adobe);
    IIOMetadataNode sof = (IIOMetadataNode) root.getElementsByTagName("sof").item(0);
    sof.appendChild(sof.getElementsByTagName("componentSpec").item(0).cloneNode(false));
    sof.setAttribute("numFrameComponents", "4");
    NodeList components = sof.getElementsByTagName("componentSpec");
    IIOMetadataNode sos = (IIOMetadataNode) root.getElementsByTagName("sos").item(0);
    sos.appendChild(sos.getElementsByTagName("scanComponentSpec").item(0).cloneNode(false));
    sos.setAttribute("numScanComponents", "4");
    NodeList scans = sos.getElementsByTagName("scanComponentSpec");
    for (int i = 0; i < 4; i++) {
      String table = i == 0 || i == 3 ? "0" : "1";
      IIOMetadataNode c = (IIOMetadataNode) components.item(i);
      c.setAttribute("componentId", Integer.toString(i + 1));
      c.setAttribute("HsamplingFactor", "1");
      c.setAttribute("VsamplingFactor", "1");
      c.setAttribute("QtableSelector", table);
      IIOMetadataNode s = (IIOMetadataNode) scans.item(i);
      s.setAttribute("componentSelector", Integer.toString(i + 1));
      s.setAttribute("dcHuffTable", table);
      s.setAttribute("acHuffTable", table);
    }
    metadata.setFromTree(format, root);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      writer.write(null, new IIOImage(raster, null, metadata), param);
    } finally {
      writer.dispose();
    }
    byte[] jpeg = bytes.toByteArray();
    int app14 = find(jpeg, new byte[] {(byte) 0xFF, (byte) 0xEE});
    if (app14 < 0 || jpeg[app14 + 15] != 0) {
      throw new IllegalStateException("no Adobe marker with transform 0 written");
    }
    if (ycck) {
      jpeg[app14 + 15] = 2; // FF EE, length(2), "Adobe", version(2), flags0(2), flags1(2), transform
    }
    return jpeg;
  }

  private static int clamp(double v) {
    return (int) Math.max(0, Math.min(255, Math.round(v)));
  }

  private static int find(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /**
   * A PNG that declares {@code width} x {@code height} RGB pixels in its IHDR but carries a tiny
   * IDAT (a few compressed bytes): valid up to its header, and never decodable in full.
   */
  static byte[] pngHeaderOnly(int width, int height) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
    ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
    DataOutputStream d = new DataOutputStream(ihdr);
    d.writeInt(width);
    d.writeInt(height);
    d.writeByte(8);  // bit depth
    d.writeByte(2);  // colour type RGB
    d.writeByte(0);  // compression
    d.writeByte(0);  // filter
    d.writeByte(0);  // no interlace
    chunk(out, "IHDR", ihdr.toByteArray());
    Deflater deflater = new Deflater();
    deflater.setInput(new byte[64]);
    deflater.finish();
    byte[] buffer = new byte[256];
    int n = deflater.deflate(buffer);
    deflater.end();
    chunk(out, "IDAT", java.util.Arrays.copyOf(buffer, n));
    chunk(out, "IEND", new byte[0]);
    return out.toByteArray();
  }

  private static void chunk(ByteArrayOutputStream out, String type, byte[] data)
      throws IOException {
    DataOutputStream d = new DataOutputStream(out);
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    d.writeInt(data.length);
    d.write(t);
    d.write(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    d.writeInt((int) crc.getValue());
  }

  // ---------------------------------------------------------------- hostile files

  /**
   * A grey progressive JPEG of {@code width} x {@code height} whose first scan codes every DC
   * coefficient as 0 and whose {@code acScans} further scans each code every AC band (1..63) of
   * every block as one EOB run: a few bytes per scan, a pass over every block per scan for the
   * decoder. Valid as JPEG: repeating a first AC scan is what the standard's successive
   * approximation allows libjpeg to read without a warning. Written byte by byte.
   */
  static byte[] progressiveScanBomb(int width, int height, int acScans) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0xFF);
    out.write(0xD8);
    segment(out, 0xDB, concat(new byte[] {0}, filled(64, 1)));              // DQT 0, all 1
    segment(out, 0xC2, new byte[] {8, (byte) (height >> 8), (byte) height, (byte) (width >> 8),
        (byte) width, 1, 1, 0x11, 0});                                          // SOF2, grey, 1x1
    byte[] dcCounts = new byte[16];
    dcCounts[0] = 1;                                                            // one code "0": category 0
    segment(out, 0xC4, concat(new byte[] {0x00}, dcCounts, new byte[] {0}));
    byte[] acCounts = new byte[16];
    acCounts[3] = 15;                                                           // EOB0..EOB14, 4 bits each
    byte[] eobs = new byte[15];
    for (int n = 0; n < 15; n++) {
      eobs[n] = (byte) (n << 4);
    }
    segment(out, 0xC4, concat(new byte[] {0x10}, acCounts, eobs));
    int blocks = ((width + 7) / 8) * ((height + 7) / 8);
    segment(out, 0xDA, new byte[] {1, 1, 0x00, 0, 0, 0});                     // DC first scan
    BitWriter dc = new BitWriter();
    for (int b = 0; b < blocks; b++) {
      dc.put(0, 1);
    }
    out.writeBytes(dc.finish());
    BitWriter ac = new BitWriter();
    for (int rest = blocks; rest > 0; ) {
      int n = 31 - Integer.numberOfLeadingZeros(Math.min(rest, 32767));
      int run = Math.min(rest, (1 << (n + 1)) - 1);
      ac.put(n, 4);
      ac.put(run - (1 << n), n);
      rest -= run;
    }
    byte[] acData = ac.finish();
    ByteArrayOutputStream scan = new ByteArrayOutputStream();
    segment(scan, 0xDA, new byte[] {1, 1, 0x00, 1, 63, 0});                   // AC first scan, bands 1..63
    scan.writeBytes(acData);
    byte[] one = scan.toByteArray();
    for (int i = 0; i < acScans; i++) {
      out.writeBytes(one);
    }
    out.write(0xFF);
    out.write(0xD9);
    return out.toByteArray();
  }

  private static void segment(ByteArrayOutputStream out, int marker, byte[] body) {
    out.write(0xFF);
    out.write(marker);
    out.write((body.length + 2) >> 8);
    out.write(body.length + 2);
    out.writeBytes(body);
  }

  private static byte[] filled(int n, int value) {
    byte[] b = new byte[n];
    java.util.Arrays.fill(b, (byte) value);
    return b;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** JPEG entropy-coded bits: most significant first, 0xFF stuffed with 0x00, padded with 1s. */
  private static final class BitWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private int current;
    private int used;

    void put(int value, int count) {
      for (int i = count - 1; i >= 0; i--) {
        current = current << 1 | ((value >>> i) & 1);
        if (++used == 8) {
          emit();
        }
      }
    }

    private void emit() {
      out.write(current);
      if (current == 0xFF) {
        out.write(0);
      }
      current = 0;
      used = 0;
    }

    byte[] finish() {
      while (used != 0) {
        put(1, 1);
      }
      return out.toByteArray();
    }
  }

  /** {@code png} with a chunk of {@code type} inserted right after IHDR. */
  static byte[] withPngChunk(byte[] png, String type, byte[] data) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(png, 0, 33); // signature (8) and IHDR (25)
    chunk(out, type, data);
    out.write(png, 33, png.length - 33);
    return out.toByteArray();
  }

  /**
   * A 1 x 1 RGB PNG carrying a zTXt chunk (before IDAT) whose text inflates to {@code inflated}
   * bytes of 'a': about a thousandth of that on disk.
   */
  static byte[] pngWithZtxt(long inflated) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
    chunk(out, "IHDR", new byte[] {0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0});
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    text.writeBytes("Comment".getBytes(StandardCharsets.US_ASCII));
    text.write(0);
    text.write(0); // compression method: deflate
    text.writeBytes(deflate(inflated, (byte) 'a'));
    chunk(out, "zTXt", text.toByteArray());
    chunk(out, "IDAT", deflateBytes(new byte[] {0, (byte) 200, 20, 20}));
    chunk(out, "IEND", new byte[0]);
    return out.toByteArray();
  }

  /** zlib data of {@code n} bytes of {@code value}, compressed as they are produced (nothing of size n is held). */
  static byte[] deflate(long n, byte value) {
    Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] block = filled(1 << 20, value);
    byte[] buffer = new byte[1 << 16];
    for (long left = n; left > 0; ) {
      int len = (int) Math.min(block.length, left);
      deflater.setInput(block, 0, len);
      left -= len;
      while (!deflater.needsInput()) {
        out.write(buffer, 0, deflater.deflate(buffer));
      }
    }
    deflater.finish();
    while (!deflater.finished()) {
      out.write(buffer, 0, deflater.deflate(buffer));
    }
    deflater.end();
    return out.toByteArray();
  }

  private static byte[] deflateBytes(byte[] data) {
    Deflater deflater = new Deflater();
    deflater.setInput(data);
    deflater.finish();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[4096];
    while (!deflater.finished()) {
      out.write(buffer, 0, deflater.deflate(buffer));
    }
    deflater.end();
    return out.toByteArray();
  }

  /**
   * An 8-bit grey TIFF of {@code width} x {@code height} in one Deflate-compressed strip of zeros:
   * a 100,000,000 x 1 image is about 100 KB.
   */
  static byte[] greyTiff(int width, int height) {
    byte[] data = deflate((long) width * height, (byte) 0);
    int entries = 10;
    int ifdSize = 2 + entries * 12 + 4;
    int dataAt = 8 + ifdSize;
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(dataAt + data.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8);
    b.putShort((short) entries);
    tiffEntry(b, 256, 4, width);          // ImageWidth, LONG
    tiffEntry(b, 257, 4, height);         // ImageLength
    tiffEntry(b, 258, 3, 8);              // BitsPerSample
    tiffEntry(b, 259, 3, 8);              // Compression: Deflate
    tiffEntry(b, 262, 3, 1);              // Photometric: BlackIsZero
    tiffEntry(b, 273, 4, dataAt);         // StripOffsets
    tiffEntry(b, 277, 3, 1);              // SamplesPerPixel
    tiffEntry(b, 278, 4, height);         // RowsPerStrip
    tiffEntry(b, 279, 4, data.length);    // StripByteCounts
    tiffEntry(b, 284, 3, 1);              // PlanarConfiguration: chunky
    b.putInt(0);
    b.put(data);
    return b.array();
  }

  private static void tiffEntry(java.nio.ByteBuffer b, int tag, int type, int value) {
    b.putShort((short) tag).putShort((short) type).putInt(1);
    if (type == 3) {
      b.putShort((short) value).putShort((short) 0);
    } else {
      b.putInt(value);
    }
  }

  /**
   * An 8-bit palette BMP of {@code width} x {@code height} compressed with RLE8: runs of 255 pixels
   * of palette entry 1, two bytes each (a 100,000,000 x 1 image is under 1 MB).
   */
  static byte[] rle8Bmp(int width, int height) {
    ByteArrayOutputStream rle = new ByteArrayOutputStream();
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x += 255) {
        rle.write(Math.min(255, width - x));
        rle.write(1);
      }
      rle.write(0);
      rle.write(y == height - 1 ? 1 : 0); // end of line, end of bitmap
    }
    byte[] pixels = rle.toByteArray();
    int palette = 256 * 4;
    int offset = 14 + 40 + palette;
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(offset + pixels.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.put((byte) 'B').put((byte) 'M').putInt(offset + pixels.length).putInt(0).putInt(offset);
    b.putInt(40).putInt(width).putInt(height).putShort((short) 1).putShort((short) 8)
        .putInt(1 /* BI_RLE8 */).putInt(pixels.length).putInt(2835).putInt(2835).putInt(256).putInt(0);
    for (int i = 0; i < 256; i++) {
      b.put((byte) i).put((byte) (255 - i)).put((byte) 40).put((byte) 0);
    }
    b.put(pixels);
    return b.array();
  }

  /**
   * A lossless WebP (VP8L) of the given ARGB pixels, written here because no WebP writer ships
   * with ImageIO or TwelveMonkeys. Deliberately minimal: no transforms, no colour cache, one
   * prefix-code group of "simple" codes, so each of A, R, G, B may take at most two values over
   * the whole image (one bit per channel per pixel, zero bits when a channel is constant).
   */
  static byte[] losslessWebp(int width, int height, int[] argb) {
    int[] shifts = {8, 16, 0, 24}; // code order: green, red, blue, alpha
    int[][] symbols = new int[4][];
    boolean alpha = false;
    for (int c = 0; c < 4; c++) {
      TreeSet<Integer> values = new TreeSet<>();
      for (int p : argb) {
        values.add((p >>> shifts[c]) & 0xFF);
      }
      if (values.size() > 2) {
        throw new IllegalArgumentException("at most two values per channel");
      }
      symbols[c] = values.stream().mapToInt(Integer::intValue).toArray();
      if (c == 3 && (values.size() > 1 || values.first() != 255)) {
        alpha = true;
      }
    }
    Bits bits = new Bits();
    bits.put(0x2F, 8);          // VP8L signature
    bits.put(width - 1, 14);
    bits.put(height - 1, 14);
    bits.put(alpha ? 1 : 0, 1);
    bits.put(0, 3);             // version
    bits.put(0, 1);             // no transform
    bits.put(0, 1);             // no colour cache
    bits.put(0, 1);             // no meta prefix codes: one group for the whole image
    for (int c = 0; c < 4; c++) {
      simpleCode(bits, symbols[c]);
    }
    simpleCode(bits, new int[] {0}); // distance code, unused
    for (int p : argb) {
      for (int c = 0; c < 4; c++) {
        if (symbols[c].length == 2) {
          // canonical code: the smaller symbol is 0, the larger 1
          bits.put(((p >>> shifts[c]) & 0xFF) == symbols[c][0] ? 0 : 1, 1);
        }
      }
    }
    byte[] data = bits.finish();
    int pad = data.length & 1;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes("RIFF".getBytes(StandardCharsets.US_ASCII));
    le32(out, 4 + 8 + data.length + pad);
    out.writeBytes("WEBPVP8L".getBytes(StandardCharsets.US_ASCII));
    le32(out, data.length);
    out.writeBytes(data);
    if (pad == 1) {
      out.write(0);
    }
    return out.toByteArray();
  }

  private static void simpleCode(Bits bits, int[] symbols) {
    bits.put(1, 1);                       // simple code
    bits.put(symbols.length - 1, 1);      // one or two symbols
    bits.put(1, 1);                       // first symbol in 8 bits
    bits.put(symbols[0], 8);
    if (symbols.length == 2) {
      bits.put(symbols[1], 8);
    }
  }

  private static void le32(ByteArrayOutputStream out, int v) {
    out.write(v);
    out.write(v >>> 8);
    out.write(v >>> 16);
    out.write(v >>> 24);
  }

  /** VP8L bit writer: values least significant bit first, bytes filled from their low bit. */
  private static final class Bits {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private int current;
    private int used;

    void put(int value, int count) {
      for (int i = 0; i < count; i++) {
        current |= ((value >>> i) & 1) << used;
        if (++used == 8) {
          out.write(current);
          current = 0;
          used = 0;
        }
      }
    }

    byte[] finish() {
      if (used > 0) {
        out.write(current);
      }
      return out.toByteArray();
    }
  }
}

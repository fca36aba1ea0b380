package dev.files.support;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Test files made by the tests: images by ImageIO, a PDF written by hand, patterned bytes. */
public final class Samples {

  private Samples() {
  }

  /** {@code size} random bytes from {@code random} (a seeded Random: the same run gives the same bytes). */
  public static byte[] random(java.util.Random random, int size) {
    byte[] b = new byte[size];
    random.nextBytes(b);
    return b;
  }

  /** A PNG or JPEG ({@code format} "png" / "jpg") of the given size with a gradient. */
  public static byte[] image(String format, int width, int height) throws IOException {
    BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setPaint(new GradientPaint(0, 0, Color.ORANGE, width, height, Color.BLUE));
    g.fillRect(0, 0, width, height);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, format, out);
    return out.toByteArray();
  }

  /** A valid one-page PDF with a line of text (objects and xref offsets computed here). */
  public static byte[] pdf(String text) {
    List<String> objects = new ArrayList<>();
    objects.add("<< /Type /Catalog /Pages 2 0 R >>");
    objects.add("<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    objects.add("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        + "/Resources << /Font << /F1 5 0 R >> >> >>");
    String stream = "BT /F1 18 Tf 20 100 Td (" + text + ") Tj ET";
    objects.add("<< /Length " + stream.length() + " >>\nstream\n" + stream + "\nendstream");
    objects.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    StringBuilder b = new StringBuilder("%PDF-1.4\n");
    List<Integer> offsets = new ArrayList<>();
    for (int i = 0; i < objects.size(); i++) {
      offsets.add(b.length());
      b.append(i + 1).append(" 0 obj\n").append(objects.get(i)).append("\nendobj\n");
    }
    int xref = b.length();
    b.append("xref\n0 ").append(objects.size() + 1).append("\n0000000000 65535 f \n");
    for (int off : offsets) {
      b.append(String.format("%010d 00000 n \n", off));
    }
    b.append("trailer\n<< /Size ").append(objects.size() + 1).append(" /Root 1 0 R >>\nstartxref\n")
        .append(xref).append("\n%%EOF\n");
    return b.toString().getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * {@code length} bytes of a deterministic pattern (xorshift), generated while read: large files
   * without holding them in memory. The same seed gives the same bytes.
   */
  public static InputStream pattern(long length, long seed) {
    return new InputStream() {
      private long remaining = length;
      private long state = seed == 0 ? 0x9E3779B97F4A7C15L : seed;
      private long word;
      private int left;

      private int nextByte() {
        if (left == 0) {
          state ^= state << 13;
          state ^= state >>> 7;
          state ^= state << 17;
          word = state;
          left = 8;
        }
        int b = (int) (word & 0xFF);
        word >>>= 8;
        left--;
        return b;
      }

      @Override
      public int read() {
        if (remaining <= 0) {
          return -1;
        }
        remaining--;
        return nextByte();
      }

      @Override
      public int read(byte[] buf, int off, int len) {
        if (remaining <= 0) {
          return -1;
        }
        int n = (int) Math.min(len, remaining);
        for (int i = 0; i < n; i++) {
          buf[off + i] = (byte) nextByte();
        }
        remaining -= n;
        return n;
      }
    };
  }
}

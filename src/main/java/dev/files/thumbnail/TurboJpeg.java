package dev.files.thumbnail;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.NativeLongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JPEG decoding at reduced scale, and JPEG encoding, with libjpeg-turbo's TurboJPEG API ({@code libturbojpeg.so.0},
 * Debian package {@code libturbojpeg0}), called through JNA. The scaling happens inside the
 * inverse DCT (scale factors n/8), so a 4000x3000 photo decoded at 1/4 costs about a sixteenth of
 * the full decode and needs a sixteenth of the memory: what vips does ("shrink on load").
 * Thumbnails are encoded here too ({@link #encode}), several times faster than ImageIO's writer.
 *
 * <p>Optional: when the library is not installed, {@link #available()} is false and {@link Images}
 * decodes with ImageIO. This class only decodes clean YCbCr, RGB or grey JPEGs; everything else
 * (CMYK/YCCK, any warning such as truncated data) answers null, and ImageIO takes the image, with
 * its own handling of those cases.
 */
final class TurboJpeg {

  private static final Logger LOG = LoggerFactory.getLogger(TurboJpeg.class);

  private static final int TJPF_BGRX = 3; // little-endian ints: 0x..RRGGBB, i.e. TYPE_INT_RGB
  private static final int TJCS_CMYK = 3;
  private static final int TJCS_YCCK = 4;
  private static final int TJFLAG_STOPONWARNING = 8192;
  private static final int TJFLAG_LIMITSCANS = 32768; // refuse progressive files with absurd scan counts
  private static final int TJSAMP_420 = 2;

  private static final boolean AVAILABLE = load();

  private TurboJpeg() {
  }

  private static boolean load() {
    if (Boolean.getBoolean("files.thumbnails.no_turbojpeg")) {
      return false;
    }
    try {
      NativeLibrary lib;
      try {
        lib = NativeLibrary.getInstance("turbojpeg");
      } catch (UnsatisfiedLinkError e) { // Debian's runtime package has only the versioned name
        lib = NativeLibrary.getInstance("libturbojpeg.so.0");
      }
      Native.register(TurboJpeg.class, lib);
      return true;
    } catch (Throwable e) { // UnsatisfiedLinkError, no JNA support for this platform, ...
      LOG.info("libturbojpeg not available ({}): JPEG thumbnails are decoded by ImageIO at full scale; "
          + "install libturbojpeg0 for faster thumbnails", e.getMessage());
      return false;
    }
  }

  /** True when libturbojpeg was found and bound. */
  static boolean available() {
    return AVAILABLE;
  }

  private static native Pointer tjInitDecompress();

  private static native int tjDecompressHeader3(Pointer handle, byte[] jpeg, NativeLong size, int[] width,
      int[] height, int[] subsampling, int[] colorspace);

  private static native int tjDecompress2(Pointer handle, byte[] jpeg, NativeLong size, int[] dst, int width,
      int pitch, int height, int pixelFormat, int flags);

  private static native int tjDestroy(Pointer handle);

  private static native Pointer tjInitCompress();

  private static native int tjCompress2(Pointer handle, int[] src, int width, int pitch, int height,
      int pixelFormat, PointerByReference jpeg, NativeLongByReference size, int subsampling, int quality,
      int flags);

  private static native void tjFree(Pointer buffer);

  /** A JPEG's header: width and height in pixels and whether this class can decode it. */
  record Header(int width, int height, boolean decodable) {
  }

  /** The header of {@code jpeg[0, length)}, or null when it is not a JPEG libjpeg-turbo reads. */
  static Header header(byte[] jpeg, int length) {
    Pointer h = tjInitDecompress();
    if (h == null) {
      return null;
    }
    try {
      int[] w = new int[1];
      int[] ht = new int[1];
      int[] sub = new int[1];
      int[] cs = new int[1];
      if (tjDecompressHeader3(h, jpeg, new NativeLong(length), w, ht, sub, cs) != 0) {
        return null;
      }
      return new Header(w[0], ht[0], cs[0] != TJCS_CMYK && cs[0] != TJCS_YCCK);
    } finally {
      tjDestroy(h);
    }
  }

  /**
   * The scale n/8 (n = 1..8) that leaves the smallest image still at least
   * {@code minWidth} x {@code minHeight}.
   *
   * @return n, the numerator over 8
   */
  static int scale(int width, int height, int minWidth, int minHeight) {
    for (int n = 1; n < 8; n++) {
      if (scaled(width, n) >= minWidth && scaled(height, n) >= minHeight) {
        return n;
      }
    }
    return 8;
  }

  /** libjpeg-turbo's scaled size: ceil(size * n / 8). */
  static int scaled(int size, int n) {
    return (int) (((long) size * n + 7) / 8);
  }

  /**
   * Decodes {@code jpeg[0, length)} at scale n/8 into an RGB image, or null when libjpeg-turbo
   * reports any error or warning (the caller then decodes with ImageIO).
   */
  static BufferedImage decode(byte[] jpeg, int length, Header header, int n) {
    int w = scaled(header.width(), n);
    int h = scaled(header.height(), n);
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    int[] pixels = ((DataBufferInt) image.getRaster().getDataBuffer()).getData();
    Pointer handle = tjInitDecompress();
    if (handle == null) {
      return null;
    }
    try {
      int rc = tjDecompress2(handle, jpeg, new NativeLong(length), pixels, w, w * 4, h, TJPF_BGRX,
          TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS);
      return rc == 0 ? image : null;
    } finally {
      tjDestroy(handle);
    }
  }

  /**
   * Encodes {@code width} x {@code height} pixels, row-major ints {@code 0x..RRGGBB} (the top byte
   * is ignored, as in {@link BufferedImage#TYPE_INT_RGB}), as a baseline JPEG with 4:2:0 chroma.
   *
   * @param quality the libjpeg quality, 1..100
   * @return the JPEG's bytes, or null when libjpeg-turbo fails (the caller then encodes with ImageIO)
   */
  static byte[] encode(int[] rgb, int width, int height, int quality) {
    Pointer handle = tjInitCompress();
    if (handle == null) {
      return null;
    }
    PointerByReference out = new PointerByReference(); // libjpeg-turbo allocates; freed below
    NativeLongByReference size = new NativeLongByReference();
    try {
      int rc = tjCompress2(handle, rgb, width, width * 4, height, TJPF_BGRX, out, size, TJSAMP_420, quality, 0);
      Pointer jpeg = out.getValue();
      try {
        return rc == 0 && jpeg != null ? jpeg.getByteArray(0, (int) size.getValue().longValue()) : null;
      } finally {
        if (jpeg != null) {
          tjFree(jpeg);
        }
      }
    } finally {
      tjDestroy(handle);
    }
  }
}

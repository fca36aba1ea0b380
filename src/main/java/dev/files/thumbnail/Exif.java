package dev.files.thumbnail;

/**
 * The EXIF Orientation tag (0x0112 in IFD0) of an image, read from the bytes without a decoder and
 * without reading any other metadata: in a JPEG's APP1 "Exif" segment, a TIFF's own IFD0, a PNG's
 * {@code eXIf} chunk, a WebP's {@code EXIF} chunk (the places EXIF 2.32, PNG 1.5 and the WebP
 * container define). Every offset is checked against the data: damaged or absent EXIF is
 * orientation 1. Nothing is inflated or copied: text chunks, XMP and ICC profiles are never read.
 */
final class Exif {

  private Exif() {
  }

  /**
   * The orientation 1..8 of the image {@code data[0, length)} (JPEG, TIFF, PNG or WebP, told by
   * its magic number); 1 for other formats, and when absent, out of range or unreadable.
   */
  static int of(byte[] data, int length) {
    if (length >= 3 && (data[0] & 0xFF) == 0xFF && (data[1] & 0xFF) == 0xD8 && (data[2] & 0xFF) == 0xFF) {
      return orientation(data, length);
    }
    if (length >= 4 && (data[0] == 'I' && data[1] == 'I' && data[2] == 42 && data[3] == 0
        || data[0] == 'M' && data[1] == 'M' && data[2] == 0 && data[3] == 42)) {
      return tiff(data, 0, length);
    }
    if (length >= 8 && (data[0] & 0xFF) == 0x89 && data[1] == 'P' && data[2] == 'N' && data[3] == 'G') {
      return png(data, length);
    }
    if (length >= 12 && data[0] == 'R' && data[1] == 'I' && data[2] == 'F' && data[3] == 'F'
        && data[8] == 'W' && data[9] == 'E' && data[10] == 'B' && data[11] == 'P') {
      return webp(data, length);
    }
    return 1;
  }

  /** The orientation in a PNG's {@code eXIf} chunk (a TIFF structure), going from chunk to chunk by length. */
  private static int png(byte[] b, int length) {
    long i = 8;
    while (i + 8 <= length) {
      long size = u32(b, (int) i, true);
      int at = (int) i + 8;
      if (b[at - 4] == 'e' && b[at - 3] == 'X' && b[at - 2] == 'I' && b[at - 1] == 'f') {
        return tiff(b, at, (int) Math.min(length, at + size));
      }
      if (b[at - 4] == 'I' && b[at - 3] == 'E' && b[at - 2] == 'N' && b[at - 1] == 'D') {
        return 1;
      }
      i = at + size + 4; // data and CRC
    }
    return 1;
  }

  /** The orientation in a WebP's {@code EXIF} chunk (RIFF, little-endian sizes, padded to even). */
  private static int webp(byte[] b, int length) {
    long i = 12;
    while (i + 8 <= length) {
      long size = u32(b, (int) i + 4, false);
      int at = (int) i + 8;
      if (b[at - 8] == 'E' && b[at - 7] == 'X' && b[at - 6] == 'I' && b[at - 5] == 'F') {
        int end = (int) Math.min(length, at + size);
        boolean prefixed = at + 6 <= end && b[at] == 'E' && b[at + 1] == 'x' && b[at + 2] == 'i' && b[at + 3] == 'f';
        return tiff(b, prefixed ? at + 6 : at, end); // some writers keep JPEG's "Exif\0\0"
      }
      i = at + size + (size & 1);
    }
    return 1;
  }

  /** The orientation 1..8 of {@code jpeg[0, length)}; 1 when absent, out of range or unreadable. */
  static int orientation(byte[] jpeg, int length) {
    int i = 2; // after SOI
    while (i + 4 <= length) {
      if ((jpeg[i] & 0xFF) != 0xFF) {
        return 1;
      }
      int marker = jpeg[i + 1] & 0xFF;
      if (marker == 0xFF) { // fill byte
        i++;
        continue;
      }
      if (marker == 0xDA || marker == 0xD9) { // image data starts: no EXIF before it
        return 1;
      }
      int segment = u16(jpeg, i + 2, true);
      if (segment < 2) {
        return 1;
      }
      int end = Math.min(length, i + 2 + segment);
      if (marker == 0xE1 && i + 10 <= end && jpeg[i + 4] == 'E' && jpeg[i + 5] == 'x' && jpeg[i + 6] == 'i'
          && jpeg[i + 7] == 'f' && jpeg[i + 8] == 0 && jpeg[i + 9] == 0) {
        return tiff(jpeg, i + 10, end);
      }
      i += 2 + segment;
    }
    return 1;
  }

  /** IFD0's orientation in the TIFF structure at {@code jpeg[start, end)}. */
  private static int tiff(byte[] b, int start, int end) {
    if (start + 8 > end) {
      return 1;
    }
    boolean big;
    if (b[start] == 'M' && b[start + 1] == 'M') {
      big = true;
    } else if (b[start] == 'I' && b[start + 1] == 'I') {
      big = false;
    } else {
      return 1;
    }
    if (u16(b, start + 2, big) != 42) {
      return 1;
    }
    long ifd = u32(b, start + 4, big);
    if (ifd < 8 || start + ifd + 2 > end) {
      return 1;
    }
    int at = (int) (start + ifd);
    int entries = u16(b, at, big);
    for (int k = 0; k < entries; k++) {
      int e = at + 2 + 12 * k;
      if (e + 12 > end) {
        return 1;
      }
      if (u16(b, e, big) == 0x0112) {
        int type = u16(b, e + 2, big);
        int value = type == 3 ? u16(b, e + 8, big) : -1; // SHORT
        return value >= 1 && value <= 8 ? value : 1;
      }
    }
    return 1;
  }

  private static int u16(byte[] b, int at, boolean big) {
    int x = b[at] & 0xFF;
    int y = b[at + 1] & 0xFF;
    return big ? x << 8 | y : y << 8 | x;
  }

  private static long u32(byte[] b, int at, boolean big) {
    long hi = u16(b, at, big);
    long lo = u16(b, at + 2, big);
    return big ? hi << 16 | lo : lo << 16 | hi;
  }
}

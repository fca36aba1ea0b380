package dev.files.thumbnail;

/**
 * The EXIF Orientation tag (0x0112 in IFD0 of the APP1 "Exif" segment) of a JPEG, read from the
 * bytes without a decoder. Every offset is checked against the data: damaged or absent EXIF is
 * orientation 1 (as ImageIO's path treats it).
 */
final class Exif {

  private Exif() {
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

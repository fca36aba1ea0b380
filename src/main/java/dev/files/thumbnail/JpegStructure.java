package dev.files.thumbnail;

/**
 * The frame and the scans of a JPEG, read from its markers without decoding (ITU-T T.81, annex B):
 * one pass over the bytes, skipping segments by their length and entropy-coded data up to the next
 * marker. What a decoder will cost is known from this before it starts: how many scans it must
 * go through (a progressive JPEG may repeat scans, each a pass over every block), and whether it
 * must keep every DCT coefficient of the image in memory (progressive and multi-scan files do).
 *
 * @param width the frame's width in pixels (0 when no frame header was found)
 * @param height the frame's height in pixels
 * @param coefficientBytes the bytes of the whole-image coefficient buffer (2 bytes per
 *     coefficient, 64 per block, for every block of every component at its sampling factors)
 * @param progressive a progressive frame (SOF2, SOF6, SOF10, SOF14)
 * @param scans the scans counted (start-of-scan markers), up to {@code maxScans + 1}
 */
record JpegStructure(int width, int height, long coefficientBytes, boolean progressive, int scans) {

  /**
   * Reads the structure of {@code jpeg[0, length)}, counting scans up to {@code maxScans + 1}
   * (then it stops: the file is over the budget either way).
   */
  static JpegStructure read(byte[] jpeg, int length, int maxScans) {
    int width = 0;
    int height = 0;
    long coefficients = 0;
    boolean progressive = false;
    int scans = 0;
    int i = 2; // after SOI
    while (i + 4 <= length && scans <= maxScans) {
      if ((jpeg[i] & 0xFF) != 0xFF) {
        i++; // not a marker: entropy-coded data or garbage; look on
        continue;
      }
      int marker = jpeg[i + 1] & 0xFF;
      if (marker == 0xFF || marker == 0x00 || marker >= 0xD0 && marker <= 0xD7 || marker == 0x01) {
        i++; // fill byte, stuffed zero, restart marker, TEM: no segment
        continue;
      }
      if (marker == 0xD9) {
        break; // EOI
      }
      int segment = (jpeg[i + 2] & 0xFF) << 8 | jpeg[i + 3] & 0xFF;
      if (segment < 2) {
        break;
      }
      boolean sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof && width == 0 && i + 10 <= length) {
        height = (jpeg[i + 5] & 0xFF) << 8 | jpeg[i + 6] & 0xFF;
        width = (jpeg[i + 7] & 0xFF) << 8 | jpeg[i + 8] & 0xFF;
        int components = jpeg[i + 9] & 0xFF;
        progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE;
        coefficients = coefficientBytes(jpeg, i + 10, Math.min(length, i + 2 + segment), components, width, height);
      }
      i += 2 + segment;
      if (marker == 0xDA) {
        scans++;
        // entropy-coded data: up to the next marker that is not a stuffed zero or a restart marker
        while (i + 1 < length && !((jpeg[i] & 0xFF) == 0xFF && (jpeg[i + 1] & 0xFF) != 0
            && ((jpeg[i + 1] & 0xFF) < 0xD0 || (jpeg[i + 1] & 0xFF) > 0xD7))) {
          i++;
        }
      }
    }
    return new JpegStructure(width, height, coefficients, progressive, scans);
  }

  /** Whether a decoder keeps every coefficient of the image: progressive, or several scans. */
  boolean buffersCoefficients() {
    return progressive || scans > 1;
  }

  private static long coefficientBytes(byte[] b, int at, int end, int components, int width, int height) {
    int[] h = new int[components];
    int[] v = new int[components];
    int hMax = 1;
    int vMax = 1;
    for (int c = 0; c < components; c++) {
      int p = at + 3 * c + 1;
      if (p >= end) {
        return 0;
      }
      h[c] = Math.max(1, (b[p] & 0xFF) >> 4);
      v[c] = Math.max(1, b[p] & 0x0F);
      hMax = Math.max(hMax, h[c]);
      vMax = Math.max(vMax, v[c]);
    }
    long bytes = 0;
    for (int c = 0; c < components; c++) {
      long blocksWide = ((long) width * h[c] / hMax + 7) / 8;
      long blocksHigh = ((long) height * v[c] / vMax + 7) / 8;
      bytes += blocksWide * blocksHigh * 64 * 2;
    }
    return bytes;
  }
}

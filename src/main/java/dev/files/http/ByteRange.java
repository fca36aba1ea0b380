package dev.files.http;

/**
 * A single byte range of a {@code Range} header (RFC 7233 §2.1, §4.4).
 *
 * @param start first byte, inclusive
 * @param end   last byte, inclusive
 */
public record ByteRange(long start, long end) {

  /** The result for a range that cannot be satisfied (→ 416 with {@code Content-Range: bytes *}{@code /size}). */
  public static final ByteRange UNSATISFIABLE = new ByteRange(-1, -1);

  /** Bytes in the range. */
  public long length() {
    return end - start + 1;
  }

  /**
   * Parses a {@code Range} header against a representation of {@code size} bytes.
   *
   * @return null when the whole representation is to be sent (no header, another unit, a malformed
   *     value, or several ranges, which RFC 7233 allows a server to ignore); {@link #UNSATISFIABLE}
   *     when no byte of the range exists; else the range, its end clamped to the last byte
   */
  public static ByteRange parse(String header, long size) {
    if (header == null) {
      return null;
    }
    String h = header.strip();
    if (h.length() < 6 || !h.regionMatches(true, 0, "bytes=", 0, 6)) {
      return null;
    }
    String spec = h.substring(6).strip();
    if (spec.contains(",")) {
      return null;
    }
    int dash = spec.indexOf('-');
    if (dash < 0) {
      return null;
    }
    String first = spec.substring(0, dash).strip();
    String last = spec.substring(dash + 1).strip();
    if (first.isEmpty()) { // suffix: the last n bytes
      long n = number(last);
      if (n < 0) {
        return null;
      }
      if (n == 0 || size == 0) {
        return UNSATISFIABLE;
      }
      return new ByteRange(Math.max(0, size - n), size - 1);
    }
    long start = number(first);
    long end = last.isEmpty() ? Long.MAX_VALUE : number(last);
    if (start < 0 || end < 0 || end < start) {
      return null;
    }
    if (start >= size) {
      return UNSATISFIABLE;
    }
    return new ByteRange(start, Math.min(end, size - 1));
  }

  /** A non-negative decimal; Long.MAX_VALUE when too large; -1 when not digits. */
  private static long number(String s) {
    if (s.isEmpty()) {
      return -1;
    }
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return -1;
      }
    }
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return Long.MAX_VALUE;
    }
  }
}

package dev.files.model;

/**
 * File-name rules of docs/api.md ("The file resource"): only the last path segment is kept
 * ({@code C:\a\b.jpg} → {@code b.jpg}, {@code ../../x} → {@code x}), control characters (and unpaired
 * UTF-16 surrogates, which are no character and have no UTF-8 form) are removed,
 * the result is at most 255 characters (Unicode code points) with the extension kept, and an empty
 * result (or {@code .} / {@code ..}) becomes {@code unnamed}.
 */
public final class FileNames {

  /** Longest stored name, in code points. */
  public static final int MAX_LENGTH = 255;
  /** Name given when nothing usable is left. */
  public static final String UNNAMED = "unnamed";
  /** Longest suffix, in code points, kept as an extension when a name is shortened. */
  private static final int MAX_EXTENSION = 32;

  private FileNames() {
  }

  /** Returns the stored form of a client-given name; {@code null} gives {@link #UNNAMED}. */
  public static String sanitize(String raw) {
    if (raw == null) {
      return UNNAMED;
    }
    StringBuilder kept = new StringBuilder(raw.length());
    raw.codePoints()
        .filter(cp -> !Character.isISOControl(cp) && !(cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE))
        .forEach(kept::appendCodePoint);
    String s = kept.toString();
    int slash = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
    s = s.substring(slash + 1).strip();
    if (s.isEmpty() || s.equals(".") || s.equals("..")) {
      return UNNAMED;
    }
    return truncate(s);
  }

  private static String truncate(String s) {
    int length = s.codePointCount(0, s.length());
    if (length <= MAX_LENGTH) {
      return s;
    }
    int dot = s.lastIndexOf('.');
    String ext = "";
    if (dot > 0) {
      String candidate = s.substring(dot);
      if (candidate.codePointCount(0, candidate.length()) <= MAX_EXTENSION) {
        ext = candidate;
      }
    }
    int keep = MAX_LENGTH - ext.codePointCount(0, ext.length());
    String base = s.substring(0, s.offsetByCodePoints(0, keep));
    return base + ext;
  }
}

package dev.files.storage;

import java.util.regex.Pattern;

/**
 * The keys an {@link ObjectStore} accepts: segments of ASCII letters, digits, {@code . _ -}
 * separated by single {@code /}; no segment starts with a dot (so no {@code ..}, and a store may
 * use dot-names of its own for writes in progress); at most {@value #MAX_LENGTH} characters. The
 * same key is then a safe relative path in a directory and a plain S3 object key.
 */
public final class ObjectKeys {

  /** The longest key, characters (S3 allows 1024 bytes). */
  public static final int MAX_LENGTH = 512;

  /** A valid key (checked by the equivalent loop {@link #valid}). */
  static final Pattern KEY = Pattern.compile("[0-9A-Za-z_-][0-9A-Za-z._-]*(/[0-9A-Za-z_-][0-9A-Za-z._-]*)*");
  /** A listing prefix: a key, possibly ending with "/" or with a partial segment; "" for all. */
  private static final Pattern PREFIX = Pattern.compile("([0-9A-Za-z_-][0-9A-Za-z._-]*/)*([0-9A-Za-z_-][0-9A-Za-z._-]*)?");

  private ObjectKeys() {
  }

  /**
   * Returns {@code key} when it is valid.
   *
   * @throws IllegalArgumentException otherwise (a programming error: keys come from the service)
   */
  public static String check(String key) {
    if (key == null || key.length() > MAX_LENGTH || !valid(key)) {
      throw new IllegalArgumentException("invalid object key");
    }
    return key;
  }

  /**
   * Whether {@code key} matches {@link #KEY}, by a loop: every object written, read or deleted is
   * checked, and the regex cost about 1% of the CPU of a small upload.
   */
  static boolean valid(String key) {
    boolean segmentStart = true;
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (c == '/') {
        if (segmentStart) {
          return false; // a leading "/", or "//"
        }
        segmentStart = true;
      } else if (c == '.' ? segmentStart : !keyChar(c)) {
        return false; // a segment starting with a dot, or a character outside the set
      } else {
        segmentStart = false;
      }
    }
    return !segmentStart; // not empty, no trailing "/"
  }

  private static boolean keyChar(char c) {
    return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c == '-' || c == '.';
  }

  /**
   * Returns {@code prefix} when it is a valid listing prefix: {@code ""}, or a key or the start of
   * one, possibly ending with {@code /}.
   *
   * @throws IllegalArgumentException otherwise
   */
  public static String checkPrefix(String prefix) {
    if (prefix == null || prefix.length() > MAX_LENGTH || !PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException("invalid object key prefix");
    }
    return prefix;
  }
}

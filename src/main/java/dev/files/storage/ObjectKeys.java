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

  private static final Pattern KEY = Pattern.compile("[0-9A-Za-z_-][0-9A-Za-z._-]*(/[0-9A-Za-z_-][0-9A-Za-z._-]*)*");
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
    if (key == null || key.length() > MAX_LENGTH || !KEY.matcher(key).matches()) {
      throw new IllegalArgumentException("invalid object key");
    }
    return key;
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

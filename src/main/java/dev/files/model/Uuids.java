package dev.files.model;

import java.util.UUID;

/**
 * The one reader of UUIDs that arrive from outside (path segments, query and body fields, token claims,
 * event-bus messages): only the canonical form of RFC 9562 section 4 is accepted, 36 characters, hex
 * digits (lower or upper case) in groups of 8-4-4-4-12 separated by hyphens. {@link UUID#fromString}
 * is lenient ({@code 1-1-1-1-1} and {@code +caf79e4-...} parse to other ids), so it is never used on
 * input: two spellings of one id would let a token name a company it does not spell out.
 */
public final class Uuids {

  /** Length of the canonical form, in characters. */
  public static final int LENGTH = 36;

  private Uuids() {
  }

  /** Whether {@code raw} is a UUID in its canonical form. */
  public static boolean canonical(String raw) {
    if (raw == null || raw.length() != LENGTH) {
      return false;
    }
    for (int i = 0; i < LENGTH; i++) {
      char c = raw.charAt(i);
      boolean hyphen = i == 8 || i == 13 || i == 18 || i == 23;
      if (hyphen ? c != '-' : Character.digit(c, 16) < 0 || c > 'f') {
        return false;
      }
    }
    return true;
  }

  /** The UUID {@code raw} spells canonically, or null when it is absent or not canonical. */
  public static UUID parse(String raw) {
    return canonical(raw) ? UUID.fromString(raw) : null;
  }

  /** The UUID {@code raw} spells canonically, or null when it is not a string or not canonical. */
  public static UUID parse(Object raw) {
    return raw instanceof String s ? parse(s) : null;
  }
}

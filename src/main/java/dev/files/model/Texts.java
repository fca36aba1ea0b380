package dev.files.model;

/**
 * Text that may be stored as it is: PostgreSQL refuses NUL in {@code text} and {@code jsonb}, and
 * cannot encode an unpaired UTF-16 surrogate as UTF-8; control characters have no place in a role,
 * a type or a name shown to people. Inputs failing {@link #storable} are refused with 400 where they
 * enter (HTTP, event bus) or, where docs/api.md says so, cleaned first (names: {@link FileNames};
 * types: {@link ContentTypes#usable}).
 */
public final class Texts {

  private Texts() {
  }

  /**
   * Whether {@code s} has no control character (C0, DEL, C1: {@link Character#isISOControl}, NUL
   * included) and no unpaired surrogate. Null is storable (as SQL NULL).
   */
  public static boolean storable(String s) {
    if (s == null) {
      return true;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isISOControl(c)) {
        return false;
      }
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
          return false;
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  /**
   * The first line of an error's message (the message of its first cause that has one, else its
   * type's simple name), stripped and cut at 300 characters; no stack trace. For start failures
   * and other one-line reports.
   */
  public static String oneLine(Throwable err) {
    Throwable t = err;
    String m = t.getMessage();
    while ((m == null || m.isBlank()) && t.getCause() != null) {
      t = t.getCause();
      m = t.getMessage();
    }
    if (m == null || m.isBlank()) {
      return t.getClass().getSimpleName();
    }
    String line = m.strip().lines().findFirst().orElse(m).strip();
    return line.length() > 300 ? line.substring(0, 300) + "..." : line;
  }
}

package dev.files.http;

import java.nio.charset.StandardCharsets;

/**
 * The {@code Content-Disposition} header of downloads (RFC 6266 with RFC 5987/8187 encoding):
 * {@code attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded UTF-8>}.
 */
public final class ContentDisposition {

  private static final String ATTR_CHAR_PUNCT = "!#$&+-.^_`|~";

  private ContentDisposition() {
  }

  /** The header value for downloading a file called {@code name}. */
  public static String attachment(String name) {
    return "attachment; filename=\"" + asciiFallback(name) + "\"; filename*=UTF-8''" + encode(name);
  }

  /**
   * The name with every character that is not printable ASCII, and {@code " \ / %}, replaced by
   * {@code _} (one per character), for clients that ignore {@code filename*}.
   */
  static String asciiFallback(String name) {
    StringBuilder b = new StringBuilder(name.length());
    name.codePoints().forEach(cp -> {
      boolean plain = cp >= 0x20 && cp < 0x7F && cp != '"' && cp != '\\' && cp != '/' && cp != '%';
      b.append(plain ? (char) cp : '_');
    });
    return b.toString();
  }

  /** RFC 5987 {@code value-chars}: UTF-8 bytes, all but attr-char percent-encoded (upper-case hex). */
  static String encode(String name) {
    StringBuilder b = new StringBuilder();
    for (byte x : name.getBytes(StandardCharsets.UTF_8)) {
      int c = x & 0xFF;
      boolean attrChar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || ATTR_CHAR_PUNCT.indexOf(c) >= 0;
      if (attrChar) {
        b.append((char) c);
      } else {
        b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
      }
    }
    return b.toString();
  }
}

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
   * The name for clients that ignore {@code filename*} (docs/api.md, "GET and HEAD …/download"): ASCII
   * letters, digits, space and {@code . _ - ( )} are kept, every other character (one per code
   * point) becomes {@code _}, so nothing in it can end the quoted string or read as another parameter
   * ({@code ; = * ' " \ %} are all replaced).
   */
  static String asciiFallback(String name) {
    StringBuilder b = new StringBuilder(name.length());
    name.codePoints().forEach(cp -> {
      boolean plain = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9')
          || cp == ' ' || cp == '.' || cp == '_' || cp == '-' || cp == '(' || cp == ')';
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

package dev.files.http;

import java.io.ByteArrayOutputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Parameters of a header value such as {@code form-data; name="file"; filename="a b.txt"}
 * (RFC 7578 §4.2, RFC 6266 §4.1). Values are taken as sent: quoted strings lose their quotes, and a
 * backslash escapes only {@code "} and {@code \} (so Windows paths such as {@code C:\a\b.jpg} stay
 * whole); nothing else is changed.
 */
final class HeaderParams {

  private HeaderParams() {
  }

  /** The {@code name=value} pairs after the first {@code ;}, in order. */
  static List<String[]> parse(String value) {
    List<String[]> out = new ArrayList<>();
    int i = value.indexOf(';');
    if (i < 0) {
      return out;
    }
    int n = value.length();
    i++;
    while (i < n) {
      while (i < n && (value.charAt(i) == ' ' || value.charAt(i) == '\t' || value.charAt(i) == ';')) {
        i++;
      }
      int eq = value.indexOf('=', i);
      if (eq < 0) {
        break;
      }
      String name = value.substring(i, eq).strip();
      i = eq + 1;
      while (i < n && value.charAt(i) == ' ') {
        i++;
      }
      StringBuilder v = new StringBuilder();
      if (i < n && value.charAt(i) == '"') {
        i++;
        while (i < n && value.charAt(i) != '"') {
          char c = value.charAt(i);
          if (c == '\\' && i + 1 < n && (value.charAt(i + 1) == '"' || value.charAt(i + 1) == '\\')) {
            c = value.charAt(++i);
          }
          v.append(c);
          i++;
        }
        i++; // closing quote
        while (i < n && value.charAt(i) != ';') {
          i++;
        }
      } else {
        int semi = value.indexOf(';', i);
        int end = semi < 0 ? n : semi;
        v.append(value, i, end);
        i = end;
      }
      out.add(new String[]{name, v.toString()});
    }
    return out;
  }

  /**
   * Decodes an RFC 5987 ext-value ({@code UTF-8'lang'percent-encoded}); null when malformed or of
   * an unsupported charset.
   */
  static String decodeExtValue(String ext) {
    int q1 = ext.indexOf('\'');
    int q2 = q1 < 0 ? -1 : ext.indexOf('\'', q1 + 1);
    if (q2 < 0) {
      return null;
    }
    Charset charset;
    String cs = ext.substring(0, q1).strip();
    if (cs.equalsIgnoreCase("UTF-8")) {
      charset = StandardCharsets.UTF_8;
    } else if (cs.equalsIgnoreCase("ISO-8859-1")) {
      charset = StandardCharsets.ISO_8859_1;
    } else {
      return null;
    }
    String encoded = ext.substring(q2 + 1);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (int i = 0; i < encoded.length(); i++) {
      char c = encoded.charAt(i);
      if (c == '%' && i + 2 < encoded.length()) {
        int hi = Character.digit(encoded.charAt(i + 1), 16);
        int lo = Character.digit(encoded.charAt(i + 2), 16);
        if (hi < 0 || lo < 0) {
          return null;
        }
        bytes.write(hi * 16 + lo);
        i += 2;
      } else if (c == '%') {
        return null;
      } else {
        bytes.write(c);
      }
    }
    return bytes.toString(charset);
  }
}

package dev.files.model;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Content types (MIME): validation of client-declared types and sniffing from a file's first bytes
 * (magic numbers) for files declared without a usable type (docs/api.md, "Compatibility").
 */
public final class ContentTypes {

  /** The type of bytes of unknown kind. */
  public static final String OCTET_STREAM = "application/octet-stream";
  /** How many leading bytes {@link #sniff(byte[], int)} looks at. */
  public static final int SNIFF_BYTES = 64;

  /** Longest declared type kept, in characters (longer ones count as no type). */
  public static final int MAX_LENGTH = 255;

  // RFC 9110 section 5.6.2: token = 1*tchar
  private static final String TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
  // RFC 9110 section 5.6.4: quoted-string, restricted to visible ASCII and SP (no HTAB, no obs-text)
  private static final String QUOTED = "\"(?:[ !#-\\[\\]-~]|\\\\[ -~])*\"";
  // RFC 9110 section 8.3.1: type "/" subtype *( OWS ";" OWS [ token "=" ( token / quoted-string ) ] ), OWS as SP only
  private static final Pattern MEDIA_TYPE = Pattern.compile(
      TOKEN + "/" + TOKEN + "(?: *; *(?:" + TOKEN + "=(?:" + TOKEN + "|" + QUOTED + "))?)*");

  private ContentTypes() {
  }

  /**
   * Whether {@code type} is a media type by the grammar of RFC 9110 (section 8.3.1: {@code type "/" subtype},
   * parameters {@code token=token} or {@code token="quoted string"}) made of visible ASCII and spaces only,
   * at most {@value #MAX_LENGTH} characters: a value that may be sent as a {@code Content-Type} header as it
   * is. Control characters (NUL, CR, LF, HTAB, DEL, ...) and non-ASCII characters never pass.
   */
  public static boolean headerSafe(String type) {
    return type != null && type.length() <= MAX_LENGTH && MEDIA_TYPE.matcher(type).matches();
  }

  /**
   * Returns the declared type, lower-cased type/subtype with parameters kept, or null when it is not
   * usable: absent, not {@link #headerSafe} once surrounding white space is removed (a control character
   * anywhere, a malformed parameter, over {@value #MAX_LENGTH} characters), or {@code application/octet-stream}
   * (which says nothing). The one rule of every entry: HTTP part {@code Content-Type}, the {@code type}
   * parameter (query or field, classic and chunked), and {@code files.api create}'s {@code mime}
   * (docs/api.md, "Types": an unusable type counts as no type, and the type is sniffed).
   */
  public static String usable(String declared) {
    if (declared == null) {
      return null;
    }
    String t = declared.strip();
    if (!headerSafe(t)) {
      return null;
    }
    int semi = t.indexOf(';');
    String base = (semi < 0 ? t : t.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    if (base.equals(OCTET_STREAM)) {
      return null;
    }
    return semi < 0 ? base : base + t.substring(semi);
  }

  private static final java.util.Set<String> OFFICE_EXTENSIONS = java.util.Set.of(
      "doc", "docx", "odt", "ott", "rtf", "xls", "xlsx", "ods", "ppt", "pptx", "odp", "odg", "csv");

  /**
   * Whether a file of this type and name may get a thumbnail (images, PDF, video, office
   * documents): worth asking the thumbnail worker. Everything else gets {@code thumbnails_status:
   * "none"} at once.
   */
  public static boolean thumbnailCandidate(String mime, String name) {
    String m = mime == null ? "" : mime.toLowerCase(Locale.ROOT);
    if (m.startsWith("image/") || m.startsWith("video/") || m.equals("application/pdf")
        || m.startsWith("application/vnd.openxmlformats") || m.startsWith("application/vnd.oasis.opendocument")
        || m.equals("application/msword") || m.startsWith("application/vnd.ms-")) {
      return true;
    }
    int dot = name == null ? -1 : name.lastIndexOf('.');
    return dot >= 0 && OFFICE_EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
  }

  /**
   * The type recognised from the first {@code length} bytes of {@code head}, or
   * {@link #OCTET_STREAM} when none is recognised.
   */
  public static String sniff(byte[] head, int length) {
    if (starts(head, length, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) return "image/png";
    if (starts(head, length, 0xFF, 0xD8, 0xFF)) return "image/jpeg";
    if (ascii(head, length, 0, "GIF87a") || ascii(head, length, 0, "GIF89a")) return "image/gif";
    if (ascii(head, length, 0, "RIFF") && ascii(head, length, 8, "WEBP")) return "image/webp";
    if (ascii(head, length, 0, "BM") && length >= 14) return "image/bmp";
    if (starts(head, length, 'I', 'I', 0x2A, 0x00) || starts(head, length, 'M', 'M', 0x00, 0x2A)) return "image/tiff";
    if (ascii(head, length, 0, "%PDF-")) return "application/pdf";
    if (ascii(head, length, 4, "ftyp")) return ascii(head, length, 8, "qt  ") ? "video/quicktime" : "video/mp4";
    if (starts(head, length, 0x1A, 0x45, 0xDF, 0xA3)) return "video/webm";
    if (starts(head, length, 'P', 'K', 0x03, 0x04)) return "application/zip";
    if (starts(head, length, 0x1F, 0x8B)) return "application/gzip";
    return OCTET_STREAM;
  }

  private static boolean starts(byte[] head, int length, int... magic) {
    if (length < magic.length) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if ((head[i] & 0xFF) != magic[i]) {
        return false;
      }
    }
    return true;
  }

  private static boolean ascii(byte[] head, int length, int offset, String magic) {
    byte[] m = magic.getBytes(StandardCharsets.US_ASCII);
    if (length < offset + m.length) {
      return false;
    }
    for (int i = 0; i < m.length; i++) {
      if (head[offset + i] != m[i]) {
        return false;
      }
    }
    return true;
  }
}

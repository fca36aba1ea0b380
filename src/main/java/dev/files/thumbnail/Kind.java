package dev.files.thumbnail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Set;
import org.apache.tika.metadata.Metadata;
import org.apache.tika.metadata.TikaCoreProperties;
import org.apache.tika.mime.MediaType;
import org.apache.tika.mime.MediaTypeRegistry;
import org.apache.tika.mime.MimeTypes;

/**
 * What kind of thumbnail a file can get, decided from its bytes (magic numbers, through Apache
 * Tika's MIME database), not from the type a client declared.
 *
 * <p>The declared type and the file name are used only to tell apart files that share one
 * container format: a ZIP that is a {@code .docx} or an {@code .odt}, an OLE2 compound file that
 * is a {@code .doc}, {@code .xls} or {@code .ppt}. They never turn bytes of another kind (text,
 * unknown binary) into an image.
 */
public enum Kind {
  /** A raster image ImageIO reads here: JPEG, PNG, GIF, BMP, TIFF, WebP. */
  IMAGE,
  /** A PDF document; its first page is rendered. */
  PDF,
  /** A video container (MP4/QuickTime, Matroska/WebM, AVI, MPEG…); needs {@code ffmpeg}. */
  VIDEO,
  /** A word-processing, spreadsheet or presentation document; needs {@code soffice}. */
  OFFICE,
  /** Anything else: no thumbnail. */
  NONE;

  /**
   * How many leading bytes {@link #detect} needs to see (64 KiB, the furthest offset of a magic
   * number in Tika's database); fewer is fine for shorter files.
   */
  public static final int HEAD_BYTES = 64 * 1024;

  private static final MimeTypes TYPES = MimeTypes.getDefaultMimeTypes();
  private static final MediaTypeRegistry REGISTRY = TYPES.getMediaTypeRegistry();

  private static final Set<MediaType> IMAGES = Set.of(
      MediaType.image("jpeg"), MediaType.image("png"), MediaType.image("gif"),
      MediaType.image("bmp"), MediaType.image("tiff"), MediaType.image("webp"));
  private static final MediaType PDF_TYPE = MediaType.application("pdf");
  private static final MediaType MATROSKA = MediaType.application("x-matroska");
  private static final Set<MediaType> OFFICE_TYPES = Set.of(
      MediaType.application("msword"), MediaType.application("vnd.ms-excel"),
      MediaType.application("vnd.ms-powerpoint"), MediaType.application("x-tika-ooxml"),
      MediaType.application("rtf"),
      MediaType.application("vnd.oasis.opendocument.text"),
      MediaType.application("vnd.oasis.opendocument.spreadsheet"),
      MediaType.application("vnd.oasis.opendocument.presentation"),
      MediaType.application("vnd.oasis.opendocument.graphics"),
      MediaType.application("vnd.oasis.opendocument.text-template"),
      MediaType.application("vnd.oasis.opendocument.spreadsheet-template"),
      MediaType.application("vnd.oasis.opendocument.presentation-template"),
      MediaType.application("vnd.oasis.opendocument.graphics-template"));
  /** Container formats whose bytes alone do not say which document they hold. */
  private static final Set<MediaType> CONTAINERS = Set.of(
      MediaType.application("zip"), MediaType.application("x-tika-msoffice"),
      MediaType.application("x-tika-ooxml"));

  /**
   * The kind of a file from its first bytes.
   *
   * @param head the file's first bytes: up to {@link #HEAD_BYTES}, the whole file if shorter; may be
   *     empty, never null
   * @param declaredMime the type the client declared ({@code type/subtype}, parameters allowed),
   *     or null; only consulted for container formats (ZIP, OLE2)
   * @param filename the file's name, or null; only consulted for container formats
   * @return the kind; {@link #NONE} when the bytes are of no kind that gets a thumbnail
   */
  public static Kind detect(byte[] head, String declaredMime, String filename) {
    if (head.length >= 3 && (head[0] & 0xFF) == 0xFF && (head[1] & 0xFF) == 0xD8 && (head[2] & 0xFF) == 0xFF) {
      return IMAGE; // JPEG's magic, as in Tika's database: the most common upload skips the full sniff
    }
    MediaType type = sniff(head, null, null);
    if (CONTAINERS.contains(type) && (declaredMime != null || filename != null)) {
      type = sniff(head, declaredMime, filename);
    }
    return of(type);
  }

  /**
   * The kind that a declared type, else a file name's extension, claims, ignoring the bytes. Used to
   * tell "not a thumbnail kind" (status none) from "claims to be an image but is not" (error).
   *
   * @param declaredMime the declared type or null ({@code application/octet-stream} claims nothing)
   * @param filename the file name or null
   * @return the claimed kind, {@link #NONE} when neither claims one
   */
  public static Kind claimed(String declaredMime, String filename) {
    MediaType declared = declaredMime == null ? null : MediaType.parse(declaredMime);
    if (declared != null && !declared.getBaseType().equals(MediaType.OCTET_STREAM)) {
      Kind k = of(REGISTRY.normalize(declared.getBaseType()));
      if (k != NONE) {
        return k;
      }
    }
    if (filename != null && !filename.isEmpty()) {
      return of(TYPES.getMimeType(filename).getType());
    }
    return NONE;
  }

  private static MediaType sniff(byte[] head, String declaredMime, String filename) {
    Metadata hints = new Metadata();
    if (filename != null) {
      hints.set(TikaCoreProperties.RESOURCE_NAME_KEY, filename);
    }
    if (declaredMime != null) {
      hints.set(Metadata.CONTENT_TYPE, declaredMime);
    }
    try {
      return TYPES.detect(new ByteArrayInputStream(head), hints);
    } catch (IOException | RuntimeException e) {
      return MediaType.OCTET_STREAM; // reading a byte array does not fail; a bad hint might
    }
  }

  private static Kind of(MediaType type) {
    if (isOneOf(type, IMAGES)) {
      return IMAGE;
    }
    if (type.equals(PDF_TYPE) || REGISTRY.isSpecializationOf(type, PDF_TYPE)) {
      return PDF;
    }
    if (type.getType().equals("video") || type.equals(MATROSKA)) {
      return VIDEO;
    }
    if (isOneOf(type, OFFICE_TYPES)) {
      return OFFICE;
    }
    return NONE;
  }

  private static boolean isOneOf(MediaType type, Set<MediaType> bases) {
    for (MediaType t = type; t != null; t = REGISTRY.getSupertype(t)) {
      if (bases.contains(t)) {
        return true;
      }
    }
    return false;
  }
}

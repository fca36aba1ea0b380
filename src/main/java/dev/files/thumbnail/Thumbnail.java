package dev.files.thumbnail;

/**
 * A finished thumbnail: encoded image bytes, their content type and the pixel size they decode to
 * (as displayed: EXIF orientation already applied).
 *
 * @param bytes the encoded image (the array is not copied: do not modify it)
 * @param type {@code "image/jpeg"} for opaque images, {@code "image/png"} for images with
 *     transparent pixels
 * @param width width in pixels, at least 1
 * @param height height in pixels, at least 1
 */
public record Thumbnail(byte[] bytes, String type, int width, int height) {

  /** The content type of opaque thumbnails. */
  public static final String JPEG = "image/jpeg";
  /** The content type of thumbnails with transparent pixels. */
  public static final String PNG = "image/png";

  /** The size of {@link #bytes()} in bytes. */
  public int size() {
    return bytes.length;
  }
}

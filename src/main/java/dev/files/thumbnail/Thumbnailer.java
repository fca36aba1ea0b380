package dev.files.thumbnail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Turns a file's plaintext bytes into one thumbnail that fits in {@code maxWidth} x
 * {@code maxHeight} pixels (never enlarged, aspect ratio kept, EXIF orientation applied): JPEG for
 * opaque images, PNG for images with transparent pixels.
 *
 * <ul>
 *   <li>{@link Kind#IMAGE} (JPEG incl. CMYK/YCCK and progressive, PNG incl. 16-bit, palette and
 *       alpha, GIF first frame, BMP, TIFF, WebP): decoded by ImageIO with the TwelveMonkeys
 *       plugins. The pixel count is read from the header first; above {@code maxPixels} nothing is
 *       decoded (status none). Large images are decoded with source subsampling, so the raster in
 *       memory is about 2-4 times the thumbnail, not the image.
 *   <li>{@link Kind#PDF}: page 1 rendered by Apache PDFBox.
 *   <li>{@link Kind#VIDEO}: first frame from {@code ffmpeg} over pipes, when it is on the PATH.
 *   <li>{@link Kind#OFFICE}: converted to PDF by {@code soffice} when it is on the PATH (this
 *       writes a temporary plaintext copy, 0600, deleted in all cases), then as a PDF.
 *   <li>anything else: no thumbnail.
 * </ul>
 *
 * <p>Memory: images and PDFs are held in memory compressed (up to {@code maxSourceBytes}) while
 * they are decoded, plus the subsampled raster; nothing is cached on disk. Instances are immutable
 * and safe to share between threads.
 */
public final class Thumbnailer {

  /** Default thumbnail box width in pixels. */
  public static final int DEFAULT_MAX_WIDTH = 600;
  /** Default thumbnail box height in pixels. */
  public static final int DEFAULT_MAX_HEIGHT = 400;
  /** Default limit on an image's width x height (100 megapixels). */
  public static final long DEFAULT_MAX_PIXELS = 100_000_000L;
  /** Default limit on the size of an image, PDF or office file to thumbnail (256 MiB). */
  public static final long DEFAULT_MAX_SOURCE_BYTES = 256L * 1024 * 1024;

  private final int maxWidth;
  private final int maxHeight;
  private final long maxPixels;
  private final long maxSourceBytes;
  private final boolean useExternalTools;
  private final Images images;

  /** A thumbnailer with the defaults: 600 x 400, 100 MP, 256 MiB, external tools when installed. */
  public Thumbnailer() {
    this(DEFAULT_MAX_WIDTH, DEFAULT_MAX_HEIGHT, DEFAULT_MAX_PIXELS, true);
  }

  /**
   * A thumbnailer with {@link #DEFAULT_MAX_SOURCE_BYTES}.
   *
   * @see #Thumbnailer(int, int, long, long, boolean)
   */
  public Thumbnailer(int maxWidth, int maxHeight, long maxPixels, boolean useExternalTools) {
    this(maxWidth, maxHeight, maxPixels, DEFAULT_MAX_SOURCE_BYTES, useExternalTools);
  }

  /**
   * A thumbnailer.
   *
   * @param maxWidth the thumbnail box width in pixels, at least 1
   * @param maxHeight the thumbnail box height in pixels, at least 1
   * @param maxPixels images with more pixels (width x height, from the header) are not decoded
   * @param maxSourceBytes images, PDFs and office documents larger than this many bytes get no
   *     thumbnail: they are held in memory while decoded (videos are streamed and not limited)
   * @param useExternalTools false: never run ffmpeg or soffice, videos and office documents get no
   *     thumbnail; true: run them when they are on the PATH at the time of the call
   * @throws IllegalArgumentException for a box or a limit below 1
   */
  public Thumbnailer(int maxWidth, int maxHeight, long maxPixels, long maxSourceBytes,
      boolean useExternalTools) {
    if (maxWidth < 1 || maxHeight < 1 || maxPixels < 1 || maxSourceBytes < 1) {
      throw new IllegalArgumentException("thumbnail box and limits must be at least 1");
    }
    this.maxWidth = maxWidth;
    this.maxHeight = maxHeight;
    this.maxPixels = maxPixels;
    this.maxSourceBytes = maxSourceBytes;
    this.useExternalTools = useExternalTools;
    this.images = new Images(maxWidth, maxHeight, maxPixels);
  }

  /**
   * Makes the thumbnail of one file. Blocking (decoding, rendering, external processes): call it
   * on a worker thread, never on an event loop. Never throws for anything in the file's bytes:
   * every failure is a {@link Result} with status {@code "error"}.
   *
   * @param source opens a fresh stream of the file's plaintext from its first byte, each call; it
   *     is called at most twice (a look at the first {@value Kind#HEAD_BYTES} bytes, then the
   *     decode; once for files shorter than that). Each stream is closed here
   * @param size the file's size in bytes, or -1 if unknown (then the source-size limit is not
   *     checked before reading)
   * @param declaredMime the client's declared content type, or null; only a hint (see
   *     {@link Kind#detect})
   * @param filename the file's name, or null; only a hint
   * @return the outcome: {@code "done"} with the thumbnail, {@code "none"} (no thumbnail for this
   *     kind of file, a limit, or a missing tool) or {@code "error"} (the bytes cannot be read as
   *     the kind they are, or claim to be), each with a reason for the logs
   */
  public Result make(Supplier<InputStream> source, long size, String declaredMime,
      String filename) {
    return make(source, size, declaredMime, filename, Budget.unlimitedTime());
  }

  /**
   * Makes the thumbnail of one file within {@code budget}: as {@link #make(Supplier, long, String,
   * String)}, and once the budget's deadline passes (or it is stopped) the work ends at its next
   * check with status {@code "error"} and the budget's reason; an estimate over its memory budget
   * is status {@code "none"} before anything is decoded.
   */
  public Result make(Supplier<InputStream> source, long size, String declaredMime,
      String filename, Budget budget) {
    Kind kind = Kind.NONE;
    try {
      byte[] head;
      try (InputStream in = source.get()) {
        head = in.readNBytes(Kind.HEAD_BYTES);
      }
      Supplier<InputStream> body = head.length < Kind.HEAD_BYTES
          ? () -> new ByteArrayInputStream(head) // the whole file is in hand: no second read
          : source;
      kind = Kind.detect(head, declaredMime, filename);
      Thumbnail thumbnail = switch (kind) {
        case IMAGE -> image(body, size, budget);
        case PDF -> pdf(body, size, budget);
        case VIDEO -> video(body, budget);
        case OFFICE -> office(body, size, filename, budget);
        case NONE -> throw nothing(head, declaredMime, filename);
      };
      return new Result(Result.DONE, kind, thumbnail,
          kind + " " + thumbnail.width() + "x" + thumbnail.height() + " " + thumbnail.type());
    } catch (Refusal r) {
      return new Result(r.status, kind, null, r.getMessage());
    } catch (Budget.Stopped s) {
      return new Result(Result.ERROR, kind, null, s.getMessage());
    } catch (Exception | OutOfMemoryError | StackOverflowError e) {
      if (budget.over()) { // a decoder stopped half-way fails in its own way: the deadline is the cause
        return new Result(Result.ERROR, kind, null, budget.reason());
      }
      // corrupt data makes decoders throw anything from IOException to IndexOutOfBounds; a hostile
      // file may exhaust memory or recursion in one decode: all are this file's error
      String what = kind == Kind.NONE ? "file" : kind.name().toLowerCase(Locale.ROOT);
      return new Result(Result.ERROR, kind, null, "cannot read this " + what + ": "
          + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()));
    }
  }

  private Thumbnail image(Supplier<InputStream> source, long size, Budget budget)
      throws IOException, Refusal, Budget.Stopped {
    checkSize(size, "image");
    try (InputStream in = source.get()) {
      if (in instanceof Images.Source s && s.atStart()) {
        return images.fromBytes(s.array(), s.length(), budget); // the file in memory: no copy
      }
      byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxSourceBytes + 1));
      checkSize(bytes.length, "image");
      return images.fromBytes(bytes, bytes.length, budget);
    }
  }

  private Thumbnail pdf(Supplier<InputStream> source, long size, Budget budget)
      throws IOException, Refusal, Budget.Stopped {
    checkSize(size, "PDF");
    byte[] pdf;
    try (InputStream in = source.get()) {
      pdf = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxSourceBytes + 1));
    }
    checkSize(pdf.length, "PDF");
    return fromPdf(pdf, budget);
  }

  private Thumbnail fromPdf(byte[] pdf, Budget budget) throws IOException, Refusal, Budget.Stopped {
    return images.fromImage(PdfPages.renderFirstPage(pdf, maxWidth, maxHeight, budget));
  }

  private Thumbnail video(Supplier<InputStream> source, Budget budget)
      throws IOException, Refusal, Budget.Stopped {
    Path ffmpeg = tool("ffmpeg", "video");
    byte[] frame;
    // a stop interrupts this thread: ExternalTools then kills the tool
    Thread self = Thread.currentThread();
    try (Budget.Registration r = budget.onStop(self::interrupt)) {
      frame = ExternalTools.firstVideoFrame(ffmpeg, source.get());
    }
    budget.check();
    return images.fromBytes(frame, frame.length, budget);
  }

  private Thumbnail office(Supplier<InputStream> source, long size, String filename, Budget budget)
      throws IOException, Refusal, Budget.Stopped {
    Path soffice = tool("soffice", "office document");
    checkSize(size, "office document");
    byte[] pdf;
    Thread self = Thread.currentThread();
    try (Budget.Registration r = budget.onStop(self::interrupt)) {
      pdf = ExternalTools.officeToPdf(soffice, source, filename, maxSourceBytes);
    }
    budget.check();
    return fromPdf(pdf, budget);
  }

  private Path tool(String name, String what) throws Refusal {
    Optional<Path> tool = useExternalTools ? ExternalTools.find(name) : Optional.empty();
    if (tool.isEmpty()) {
      throw Refusal.none(useExternalTools
          ? "no " + name + " on the PATH: no thumbnail for a " + what
          : "external tools disabled: no thumbnail for a " + what);
    }
    return tool.get();
  }

  private void checkSize(long size, String what) throws Refusal {
    if (size > maxSourceBytes) {
      throw Refusal.none(what + " is " + size + " bytes, over the limit of " + maxSourceBytes);
    }
  }

  /** Bytes of no thumbnail kind: "error" if the type or name claims one, else "none". */
  private static Refusal nothing(byte[] head, String declaredMime, String filename) {
    Kind claimed = Kind.claimed(declaredMime, filename);
    if (claimed == Kind.IMAGE || claimed == Kind.PDF) {
      return Refusal.error("type " + declaredMime + " / name " + filename + " claim "
          + claimed.name().toLowerCase(Locale.ROOT) + ", but the content is not ("
          + head.length + " bytes looked at)");
    }
    return Refusal.none("no thumbnail for this kind of file");
  }

  /**
   * The outcome of {@link #make}.
   *
   * @param status {@link #DONE}, {@link #NONE} or {@link #ERROR}: the values of the API's
   *     {@code metadata.thumbnails_status}
   * @param kind the kind detected from the bytes ({@link Kind#NONE} if reading them failed)
   * @param thumbnail the thumbnail when status is done, else null
   * @param reason a short human-readable explanation for logs (never shown to clients as-is)
   */
  public record Result(String status, Kind kind, Thumbnail thumbnail, String reason) {
    /** A thumbnail was made. */
    public static final String DONE = "done";
    /** No thumbnail by policy: a kind without thumbnails, a limit, a missing tool. */
    public static final String NONE = "none";
    /** The content could not be read as the kind it is or claims to be. */
    public static final String ERROR = "error";

    /** True when status is done (and {@link #thumbnail()} is not null). */
    public boolean done() {
      return DONE.equals(status);
    }
  }
}

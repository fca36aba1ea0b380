package dev.files.http;

import dev.files.error.ServiceException;
import dev.files.model.ContentTypes;
import dev.files.model.FileNames;
import io.vertx.core.MultiMap;

import java.util.List;

/**
 * The parameters of an upload request (docs/api.md, "Parameters" and "Compatibility with
 * Resumable.js, Flow.js and the existing web client"): read from the query string, the snake_case name first, then the Resumable.js and
 * Flow.js names; when the query has none of a parameter's names, from the multipart text fields
 * with the same names. Values that are present but malformed fail with a 400 {@link ServiceException}.
 *
 * @param chunkNumber   1-based chunk number, or null (the body is the whole file)
 * @param totalChunks   declared chunk count (≥ 1), or null
 * @param totalSize     declared file size in bytes (≥ 0), or null
 * @param filename      sanitised file name, or null when not given
 * @param type          usable content type, or null when not given or not usable
 * @param thumbnailSync whether the reply waits for thumbnails ({@code 1} or {@code true})
 */
public record UploadParams(Integer chunkNumber, Integer totalChunks, Long totalSize, String filename,
                           String type, boolean thumbnailSync) {

  private static final List<String> CHUNK_NUMBER = List.of("chunk_number", "resumableChunkNumber", "flowChunkNumber");
  private static final List<String> TOTAL_CHUNKS = List.of("total_chunks", "resumableTotalChunks", "flowTotalChunks");
  private static final List<String> TOTAL_SIZE = List.of("total_size", "total_Size", "resumableTotalSize", "flowTotalSize");
  private static final List<String> FILENAME = List.of("filename", "resumableFilename", "flowFilename");
  private static final List<String> TYPE = List.of("type", "resumableType");
  private static final List<String> THUMBNAIL_SYNC = List.of("thumbnail_sync");

  /**
   * Reads the parameters.
   *
   * @param query  the query parameters
   * @param fields the multipart text fields (empty when there are none)
   */
  public static UploadParams read(MultiMap query, MultiMap fields) {
    Long chunk = number(CHUNK_NUMBER, query, fields, 1, Integer.MAX_VALUE);
    Long chunks = number(TOTAL_CHUNKS, query, fields, 1, Integer.MAX_VALUE);
    Long size = number(TOTAL_SIZE, query, fields, 0, Long.MAX_VALUE);
    String name = value(FILENAME, query, fields);
    String type = value(TYPE, query, fields);
    String sync = value(THUMBNAIL_SYNC, query, fields);
    return new UploadParams(
        chunk == null ? null : chunk.intValue(),
        chunks == null ? null : chunks.intValue(),
        size,
        name == null ? null : FileNames.sanitize(name),
        ContentTypes.usable(type),
        sync != null && (sync.equals("1") || sync.equalsIgnoreCase("true")));
  }

  /** The parameters of the query string alone, read once per request before its body. */
  public static UploadParams read(MultiMap query) {
    return read(query, MultiMap.caseInsensitiveMultiMap());
  }

  /**
   * These parameters (read from {@code query} by {@link #read(MultiMap)}) completed with the multipart
   * text fields: only the parameters that {@code query} does not give are read from {@code fields},
   * so the result is {@code read(query, fields)} without reading the query again.
   */
  public UploadParams withFields(MultiMap query, MultiMap fields) {
    if (fields.isEmpty()) {
      return this;
    }
    MultiMap none = MultiMap.caseInsensitiveMultiMap();
    Long chunk = given(CHUNK_NUMBER, query) ? null : number(CHUNK_NUMBER, none, fields, 1, Integer.MAX_VALUE);
    Long chunks = given(TOTAL_CHUNKS, query) ? null : number(TOTAL_CHUNKS, none, fields, 1, Integer.MAX_VALUE);
    Long size = given(TOTAL_SIZE, query) ? totalSize : number(TOTAL_SIZE, none, fields, 0, Long.MAX_VALUE);
    String name = value(FILENAME, none, fields);
    String sync = value(THUMBNAIL_SYNC, none, fields);
    return new UploadParams(
        given(CHUNK_NUMBER, query) ? chunkNumber : chunk == null ? null : Integer.valueOf(chunk.intValue()),
        given(TOTAL_CHUNKS, query) ? totalChunks : chunks == null ? null : Integer.valueOf(chunks.intValue()),
        size,
        given(FILENAME, query) ? filename : name == null ? null : FileNames.sanitize(name),
        given(TYPE, query) ? type : ContentTypes.usable(value(TYPE, none, fields)),
        given(THUMBNAIL_SYNC, query) ? thumbnailSync : sync != null && (sync.equals("1") || sync.equalsIgnoreCase("true")));
  }

  private static boolean given(List<String> names, MultiMap query) {
    return value(names, query, MultiMap.caseInsensitiveMultiMap()) != null;
  }

  private static String value(List<String> names, MultiMap query, MultiMap fields) {
    for (MultiMap source : new MultiMap[]{query, fields}) {
      for (String n : names) {
        String v = source.get(n);
        if (v != null && !v.isEmpty()) {
          return v;
        }
      }
    }
    return null;
  }

  private static Long number(List<String> names, MultiMap query, MultiMap fields, long min, long max) {
    String raw = value(names, query, fields);
    if (raw == null) {
      return null;
    }
    String v = raw.strip();
    String name = names.get(0);
    if (!v.matches("-?[0-9]{1,19}")) {
      throw ServiceException.badRequest(name + " must be a whole number, got '" + raw + "'");
    }
    long n;
    try {
      n = Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw ServiceException.badRequest(name + " is too large: " + raw);
    }
    if (n < min || n > max) {
      throw ServiceException.badRequest(name + " must be between " + min + " and " + max + ", got " + n);
    }
    return n;
  }

  /**
   * Undoes the three escapes browsers apply to multipart file names (HTML standard: {@code %22},
   * {@code %0D}, {@code %0A}); nothing else is decoded ({@code 50%25.txt} stays as it is).
   */
  public static String multipartFilename(String raw) {
    if (raw == null) {
      return null;
    }
    return raw.replace("%22", "\"").replace("%0D", "\r").replace("%0A", "\n")
        .replace("%0d", "\r").replace("%0a", "\n");
  }
}

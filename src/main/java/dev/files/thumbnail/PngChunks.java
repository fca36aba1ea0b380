package dev.files.thumbnail;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A PNG as a decoder needs it: the signature and the chunks that define the pixels ({@code IHDR},
 * {@code PLTE}, {@code tRNS}, {@code IDAT}, {@code IEND}), every other chunk left out. A reader
 * that parses metadata would otherwise inflate every compressed text ({@code zTXt}, {@code iTXt})
 * and ICC profile ({@code iCCP}) whole, whatever its size, before the first pixel (RFC 2083 puts no
 * bound on them). The chunks kept are slices of the same array: nothing is copied.
 */
final class PngChunks {

  private PngChunks() {
  }

  /**
   * The essential chunks of {@code png[0, length)} as one stream; the bytes as they are when the
   * chunk list cannot be followed (the decoder then reports the damage).
   */
  static InputStream essential(byte[] png, int length) {
    List<InputStream> parts = new ArrayList<>();
    int start = 0; // a run of kept bytes: from start to i
    int i = 8;
    while (i + 8 <= length) {
      long size = (png[i] & 0xFFL) << 24 | (png[i + 1] & 0xFF) << 16 | (png[i + 2] & 0xFF) << 8 | png[i + 3] & 0xFF;
      long end = i + 12L + size; // length, type, data, CRC
      if (size > Integer.MAX_VALUE || end > length) {
        return new ByteArrayInputStream(png, 0, length);
      }
      String type = new String(png, i + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
      boolean keep = switch (type) {
        case "IHDR", "PLTE", "tRNS", "IDAT", "IEND" -> true;
        default -> false;
      };
      if (!keep) {
        if (i > start) {
          parts.add(new ByteArrayInputStream(png, start, i - start));
        }
        start = (int) end;
      }
      i = (int) end;
      if (type.equals("IEND")) {
        break;
      }
    }
    if (i > start) {
      parts.add(new ByteArrayInputStream(png, start, i - start));
    }
    return parts.size() == 1 ? parts.get(0) : new SequenceInputStream(Collections.enumeration(parts));
  }
}

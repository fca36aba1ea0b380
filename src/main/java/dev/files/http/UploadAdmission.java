package dev.files.http;

import dev.files.auth.Caller;
import dev.files.model.ChunkRecord;
import dev.files.model.FileRecord;

import java.util.List;

/**
 * What an upload request may send, decided from its request line, its headers and the file's row
 * before any byte of its body is read (API.md, "Decide before reading"). It refuses only what the
 * file's upload session would refuse anyway once the bytes are stored; the session still decides
 * (the file may change meanwhile). No I/O: the caller reads the row, and the chunks that
 * {@link #generationToRead} names.
 *
 * <p>Refusals ({@link ApiError}): 403 for a user writing into another owner's pending file or
 * overwriting a complete one (a user may re-send a chunk of a complete file only when it is the
 * stored one: same number, and a body that can hold exactly its size); 400 for a {@code chunk_number}
 * beyond {@code total_chunks}, totals that contradict the recorded ones, or a body whose file part
 * must hold more bytes than {@code total_size} still allows (the part holds at least Content-Length
 * minus {@link MultipartParser#MAX_FORM_BYTES}).
 */
final class UploadAdmission {

  /** No limit beyond the configured ones. */
  static final long NO_LIMIT = Long.MAX_VALUE;

  private UploadAdmission() {
  }

  /**
   * The generation whose chunks {@link #allowance} needs, or null when it needs none.
   *
   * @param f the file, or null for a new one
   */
  static Integer generationToRead(FileRecord f, Caller caller, UploadParams query) {
    if (f == null) {
      return null;
    }
    boolean fresh = f.uploadGeneration() == null;
    if (f.complete() && fresh) {
      return privileged(caller) ? null : f.generation(); // a user may only re-send a stored chunk
    }
    if (fresh || query.chunkNumber() == null) {
      return null;
    }
    return f.totalSize() != null || query.totalSize() != null ? f.uploadGeneration() : null;
  }

  /**
   * Decides the request. Without {@code chunk_number} in the query the request may still be a chunk
   * (its number in a multipart field, read later), so only what holds for a whole file and for any
   * chunk alike is decided then.
   *
   * @param f             the file (already known to be in the caller's company), or null for a new one
   * @param caller        who asks
   * @param query         the upload parameters of the query string (multipart fields come later)
   * @param contentLength the request's Content-Length, or -1 when unknown (chunked)
   * @param chunks        the chunks of the generation {@link #generationToRead} named (empty when none)
   * @return the most bytes the file part may hold as far as {@code total_size} is concerned (beyond:
   *     400), or {@link #NO_LIMIT}
   * @throws ApiError 403 or 400 as described above
   */
  static long allowance(FileRecord f, Caller caller, UploadParams query, long contentLength, List<ChunkRecord> chunks) {
    Integer number = query.chunkNumber();
    long leastPart = contentLength < 0 ? 0 : Math.max(0, contentLength - MultipartParser.MAX_FORM_BYTES);
    boolean fresh = f == null || f.uploadGeneration() == null;
    if (f != null && !privileged(caller)) {
      if (f.complete()) {
        if (!fresh) {
          throw overwrite(f);
        }
        // only the re-sending of a stored chunk (same number, same size) is not an overwrite
        boolean canBeTheSame = false;
        for (ChunkRecord live : chunks) {
          canBeTheSame |= (number == null || number == live.chunkNumber())
              && (query.totalChunks() == null || query.totalChunks() == f.chunks())
              && (contentLength < 0 || (contentLength >= live.size() && leastPart <= live.size()));
        }
        if (!canBeTheSame) {
          throw overwrite(f);
        }
        return NO_LIMIT;
      }
      if (!"user".equals(f.ownerType()) || !f.ownerId().equals(caller.subject())) {
        throw new ApiError(403, "file " + f.id() + " is being uploaded by another owner");
      }
    }
    if (f != null && f.complete() && fresh) {
      return NO_LIMIT; // an application re-sending a stored chunk changes nothing, whatever its totals
    }
    Integer recordedChunks = fresh ? null : f.totalChunks();
    Long recordedSize = fresh ? null : f.totalSize();
    if (number == null) {
      // a whole file must hold exactly the recorded total_size, a chunk at most that
      return recordedSize == null ? NO_LIMIT : check(recordedSize, leastPart, "the file part");
    }
    Integer totalChunks = agree("total_chunks", recordedChunks, query.totalChunks());
    Long totalSize = agree("total_size", recordedSize, query.totalSize());
    if (totalChunks != null && number > totalChunks) {
      throw ApiError.badRequest("chunk_number " + number + " is outside 1.." + totalChunks);
    }
    if (totalSize == null) {
      return NO_LIMIT;
    }
    long others = 0;
    for (ChunkRecord c : chunks) {
      // as UploadRules counts: not the copy this chunk replaces, nor chunks above a total now known
      if (c.chunkNumber() != number && (totalChunks == null || c.chunkNumber() <= totalChunks)) {
        others += c.size();
      }
    }
    return check(Math.max(0, totalSize - others), leastPart, "chunk " + number);
  }

  private static long check(long allowed, long leastPart, String what) {
    if (leastPart > allowed) {
      throw ApiError.badRequest(what + " would hold at least " + leastPart + " bytes, more than the "
          + allowed + " bytes total_size still allows");
    }
    return allowed;
  }

  private static boolean privileged(Caller caller) {
    return caller.application() || caller.serverRequest();
  }

  private static ApiError overwrite(FileRecord f) {
    return new ApiError(403, "file " + f.id() + " is complete; only an application may overwrite it");
  }

  private static ChunkRecord chunk(List<ChunkRecord> chunks, int number) {
    for (ChunkRecord c : chunks) {
      if (c.chunkNumber() == number) {
        return c;
      }
    }
    return null;
  }

  private static <T> T agree(String param, T recorded, T given) {
    if (recorded != null && given != null && !recorded.equals(given)) {
      throw ApiError.badRequest(param + " " + given + " contradicts the recorded " + recorded);
    }
    return recorded != null ? recorded : given;
  }
}

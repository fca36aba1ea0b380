package dev.files.upload;

import dev.files.crypto.DataKeys;
import io.vertx.core.json.JsonObject;

import java.util.UUID;

/**
 * A request to an upload session: record a chunk whose bytes are already stored (docs/api.md,
 * "POST /companies/C/files/F — a chunk, or a whole file"). Built by {@link Uploads#commit} (and read
 * back from a session message, {@link #fromJson}), in three parts and an id: the upload it belongs to,
 * what the request declares, and the bytes it stored.
 *
 * <p>On the event bus it is one flat JSON object ({@link #toJson}); nodes of two versions exchange it
 * during a rolling restart, so its field names and types stay as they are.
 *
 * @param upload   the file, its company, who uploads, and whether this commit may create it
 * @param declared what the request says about the chunk and its file, beside its bytes
 * @param stored   the bytes: their chunk number, object, size, hash and encryption
 * @param commitId made once per commit by {@link Uploads#commit}, for the request that stored the bytes:
 *                 every delivery of this commit (the event-bus question is retried on timeout) carries
 *                 it, and a commit whose id is already recorded changes nothing; null only in messages
 *                 from older nodes
 */
public record ChunkCommit(Upload upload, Declared declared, Stored stored, UUID commitId) {

  /**
   * The upload a chunk belongs to.
   *
   * @param fileId    file id
   * @param companyId company of the request URL
   * @param requester who uploads
   * @param create    the file may be created by this commit (a classic upload to a new id)
   */
  public record Upload(UUID fileId, UUID companyId, Requester requester, boolean create) {
  }

  /**
   * What the request declares about its chunk, beside its bytes.
   *
   * @param whole       the chunk is the whole file: it resets the upload in progress to 1 chunk of its size
   * @param totalChunks declared chunk count, or null when the request gives none
   * @param totalSize   declared file size in bytes, or null when the request gives none
   * @param name        sanitised file name given by the request, or null
   * @param mime        usable content type given by the request, or null
   * @param offset      for an append at a byte offset (tus PATCH, docs/api.md "Resumable uploads (tus)"):
   *                    the number of bytes of the upload in progress the chunk follows; the commit is
   *                    refused (409) unless exactly that many bytes are stored, in chunks
   *                    1..{@code chunkNumber - 1}. Null for the numbered dialects (any order)
   */
  public record Declared(boolean whole, Integer totalChunks, Long totalSize, String name, String mime, Long offset) {
  }

  /**
   * The stored bytes of a chunk: an object written before the commit, encrypted for
   * ({@code generation}, {@code chunkNumber}) (the associated data of its encryption).
   *
   * @param chunkNumber 1-based chunk number
   * @param generation  the generation the bytes were encrypted for
   * @param storageKey  chunk store key of the object (unique per attempt)
   * @param size        stored bytes (plaintext)
   * @param sha256      SHA-256 of the bytes, lower-case hex
   * @param sniffedMime type sniffed from the chunk's first bytes (used for chunk 1 when none is declared), or null
   * @param dataKey     for a commit that creates the file: its new data key, wrapped; else null
   */
  public record Stored(int chunkNumber, int generation, String storageKey, long size, String sha256,
                       String sniffedMime, DataKeys.Wrapped dataKey) {
  }

  /** The file's id ({@code upload().fileId()}). */
  public UUID fileId() {
    return upload.fileId();
  }

  /** The chunk's 1-based number ({@code stored().chunkNumber()}). */
  public int chunkNumber() {
    return stored.chunkNumber();
  }

  JsonObject toJson() {
    return new JsonObject()
        .put("action", "commit")
        .put("company_id", upload.companyId().toString())
        .put("caller", upload.requester().toJson())
        .put("create", upload.create())
        .put("whole", declared.whole())
        .put("chunk_number", stored.chunkNumber())
        .put("total_chunks", declared.totalChunks())
        .put("total_size", declared.totalSize())
        .put("name", declared.name())
        .put("mime", declared.mime())
        .put("sniffed_mime", stored.sniffedMime())
        .put("storage_key", stored.storageKey())
        .put("size", stored.size())
        .put("sha256", stored.sha256())
        .put("generation", stored.generation())
        .put("data_key_id", stored.dataKey() == null ? null : stored.dataKey().masterKeyId())
        .put("data_key", stored.dataKey() == null ? null : stored.dataKey().bytes())
        .put("commit_id", commitId == null ? null : commitId.toString())
        .put("offset", declared.offset());
  }

  static ChunkCommit fromJson(UUID fileId, JsonObject j) {
    return new ChunkCommit(
        new Upload(fileId, UUID.fromString(j.getString("company_id")), Requester.fromJson(j.getJsonObject("caller")),
            j.getBoolean("create", false)),
        new Declared(j.getBoolean("whole", false), j.getInteger("total_chunks"), j.getLong("total_size"),
            j.getString("name"), j.getString("mime"), j.getLong("offset")),
        new Stored(j.getInteger("chunk_number"), j.getInteger("generation"), j.getString("storage_key"),
            j.getLong("size"), j.getString("sha256"), j.getString("sniffed_mime"),
            j.getString("data_key_id") == null ? null
                : new DataKeys.Wrapped(j.getString("data_key_id"), j.getBinary("data_key"))),
        j.getString("commit_id") == null ? null : UUID.fromString(j.getString("commit_id")));
  }
}

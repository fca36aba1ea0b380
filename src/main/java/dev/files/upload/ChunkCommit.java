package dev.files.upload;

import dev.files.crypto.DataKeys;
import io.vertx.core.json.JsonObject;

import java.util.UUID;

/**
 * A request to an upload session: record a chunk whose bytes are already stored under
 * {@code storageKey} (docs/api.md, "POST /companies/C/files/F — a chunk, or a whole file"). Built by
 * {@link Uploads#commit} (and read back from a session message).
 *
 * @param fileId      file id
 * @param companyId   company of the request URL
 * @param requester   who uploads
 * @param create      the file may be created by this commit (a classic upload to a new id)
 * @param whole       the chunk is the whole file: it resets the upload in progress to 1 chunk of {@code size}
 * @param chunkNumber 1-based chunk number
 * @param totalChunks declared chunk count, or null when the request gives none
 * @param totalSize   declared file size in bytes, or null when the request gives none
 * @param name        sanitised file name given by the request, or null
 * @param mime        usable content type given by the request, or null
 * @param sniffedMime type sniffed from the chunk's first bytes (used for chunk 1 when none is declared)
 * @param storageKey  chunk store key of the bytes (unique per attempt)
 * @param size        stored bytes (plaintext)
 * @param sha256      SHA-256 of the bytes, hex
 * @param generation  the generation the bytes were encrypted for (part of their associated data)
 * @param dataKey     for {@code create}: the new file's data key, wrapped; else null
 * @param commitId    made once per commit by {@link Uploads#commit}, for the request that stored the bytes: every delivery of this commit
 *                    (the event-bus question is retried on timeout) carries it, and a commit whose id
 *                    is already recorded changes nothing; null only in messages from older nodes
 * @param offset      for an append at a byte offset (tus PATCH, docs/api.md "Resumable uploads (tus)"):
 *                    the number of bytes of the upload in progress the chunk follows; the commit is
 *                    refused (409) unless exactly that many bytes are stored, in chunks
 *                    1..{@code chunkNumber - 1}. Null for the numbered dialects (any order)
 */
public record ChunkCommit(UUID fileId, UUID companyId, Requester requester, boolean create, boolean whole,
                          int chunkNumber, Integer totalChunks, Long totalSize, String name, String mime,
                          String sniffedMime, String storageKey, long size, String sha256,
                          int generation, DataKeys.Wrapped dataKey, UUID commitId, Long offset) {

  JsonObject toJson() {
    return new JsonObject()
        .put("action", "commit")
        .put("company_id", companyId.toString())
        .put("caller", requester.toJson())
        .put("create", create)
        .put("whole", whole)
        .put("chunk_number", chunkNumber)
        .put("total_chunks", totalChunks)
        .put("total_size", totalSize)
        .put("name", name)
        .put("mime", mime)
        .put("sniffed_mime", sniffedMime)
        .put("storage_key", storageKey)
        .put("size", size)
        .put("sha256", sha256)
        .put("generation", generation)
        .put("data_key_id", dataKey == null ? null : dataKey.masterKeyId())
        .put("data_key", dataKey == null ? null : dataKey.bytes())
        .put("commit_id", commitId == null ? null : commitId.toString())
        .put("offset", offset);
  }

  static ChunkCommit fromJson(UUID fileId, JsonObject j) {
    return new ChunkCommit(fileId, UUID.fromString(j.getString("company_id")),
        Requester.fromJson(j.getJsonObject("caller")), j.getBoolean("create", false), j.getBoolean("whole", false),
        j.getInteger("chunk_number"), j.getInteger("total_chunks"), j.getLong("total_size"),
        j.getString("name"), j.getString("mime"), j.getString("sniffed_mime"),
        j.getString("storage_key"), j.getLong("size"), j.getString("sha256"), j.getInteger("generation"),
        j.getString("data_key_id") == null ? null : new DataKeys.Wrapped(j.getString("data_key_id"), j.getBinary("data_key")),
        j.getString("commit_id") == null ? null : UUID.fromString(j.getString("commit_id")),
        j.getLong("offset"));
  }
}

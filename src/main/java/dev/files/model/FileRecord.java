package dev.files.model;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.UUID;

/**
 * One stored file: the row of the {@code files} table.
 *
 * <p>A file has a <em>live generation</em> (the content downloads serve; {@code null} until its first
 * upload completes) and at most one <em>upload generation</em> in progress. A first upload and an
 * overwrite both fill the upload generation; completion makes it live in one step.
 *
 * @param id               file id
 * @param companyId        company the file belongs to
 * @param ownerType        {@code "user"} or {@code "application"}
 * @param ownerId          user id or application id of the uploader
 * @param userId           the uploader's token {@code sub} (origin-service compatibility)
 * @param applicationId    the uploader's {@code application_id}, or null
 * @param name             file name as shown and sent in downloads (already sanitised)
 * @param mime             content type, {@code type/subtype}
 * @param generation       live generation, or null when no upload has completed
 * @param size             bytes of the live generation (0 when none)
 * @param chunks           chunk count of the live generation (0 when none)
 * @param uploadGeneration generation being uploaded, or null when no upload is in progress
 * @param totalChunks      declared chunk count of the upload in progress, or null when not yet known
 * @param totalSize        declared byte count of the upload in progress, or null when not yet known
 * @param uploadName       name given for the upload in progress (applied at completion), or null
 * @param uploadMime       type given for the upload in progress (applied at completion), or null
 * @param storedBytes      bytes stored so far for the upload in progress
 * @param thumbnails       thumbnail descriptors as in docs/api.md ({@code [{index,id,type,size,width,height,url}]})
 * @param thumbnailsStatus {@code waiting | done | error | none}
 * @param createdAt        epoch ms
 * @param updatedAt        epoch ms
 * @param dataKeyId        id of the master key that wraps the file's data key
 * @param dataKey          the file's data key, wrapped (never shown: {@code encryption_key} is always "")
 * @param lastGeneration   the highest generation ever handed out for this file (0 before any): a new upload
 *                         takes the next one, so a number is never used twice, not even after an
 *                         abandoned overwrite
 */
public record FileRecord(
    UUID id, UUID companyId, String ownerType, UUID ownerId, UUID userId, UUID applicationId,
    String name, String mime,
    Integer generation, long size, int chunks,
    Integer uploadGeneration, Integer totalChunks, Long totalSize, String uploadName, String uploadMime,
    long storedBytes,
    JsonArray thumbnails, String thumbnailsStatus,
    long createdAt, long updatedAt, String dataKeyId, byte[] dataKey, int lastGeneration) {

  /** A row read without its generation counter: the highest generation it shows stands for it. */
  public FileRecord(
      UUID id, UUID companyId, String ownerType, UUID ownerId, UUID userId, UUID applicationId,
      String name, String mime,
      Integer generation, long size, int chunks,
      Integer uploadGeneration, Integer totalChunks, Long totalSize, String uploadName, String uploadMime,
      long storedBytes,
      JsonArray thumbnails, String thumbnailsStatus,
      long createdAt, long updatedAt, String dataKeyId, byte[] dataKey) {
    this(id, companyId, ownerType, ownerId, userId, applicationId, name, mime, generation, size, chunks,
        uploadGeneration, totalChunks, totalSize, uploadName, uploadMime, storedBytes, thumbnails, thumbnailsStatus,
        createdAt, updatedAt, dataKeyId, dataKey,
        Math.max(generation == null ? 0 : generation, uploadGeneration == null ? 0 : uploadGeneration));
  }

  /**
   * The generation a chunk sent now belongs to (its bytes are encrypted for it): the upload in
   * progress, else a new one, numbered after every generation this file ever had.
   */
  public int nextUploadGeneration() {
    return uploadGeneration != null ? uploadGeneration : lastGeneration + 1;
  }

  /** URL prefix of every route, docs/api.md. */
  public static final String API_PREFIX = "/internal/services/files/v1";

  /** True when a completed generation exists (downloads work). */
  public boolean complete() {
    return generation != null;
  }

  /**
   * The API resource (docs/api.md, "The file resource"): company_id, id, owner_type, owner_id, user_id,
   * application_id, encryption_key (always ""), upload_data {size, chunks}, metadata {name, mime,
   * thumbnail?, width?, height?, thumbnails_status}, thumbnails[], upload_status, created_at, updated_at.
   *
   * <p>While no generation is complete, {@code upload_data.size} is the number of bytes stored so far
   * and {@code upload_data.chunks} the declared chunk count (0 while unknown).
   */
  public JsonObject toResource() {
    JsonObject metadata = new JsonObject()
        .put("name", name)
        .put("mime", mime)
        .put("thumbnails_status", thumbnailsStatus);
    if (thumbnails != null && !thumbnails.isEmpty()) {
      JsonObject first = thumbnails.getJsonObject(0);
      metadata.put("thumbnail", first.getString("url"))
          .put("width", first.getInteger("width"))
          .put("height", first.getInteger("height"));
    }
    JsonObject uploadData = complete()
        ? new JsonObject().put("size", size).put("chunks", chunks)
        : new JsonObject().put("size", storedBytes).put("chunks", totalChunks == null ? 0 : totalChunks);
    return new JsonObject()
        .put("company_id", companyId.toString())
        .put("id", id.toString())
        .put("owner_type", ownerType)
        .put("owner_id", ownerId.toString())
        .put("user_id", userId.toString())
        .put("application_id", applicationId == null ? null : applicationId.toString())
        .put("encryption_key", "")
        .put("upload_data", uploadData)
        .put("metadata", metadata)
        .put("thumbnails", thumbnails == null ? new JsonArray() : thumbnails.copy())
        .put("upload_status", complete() ? "complete" : "pending")
        .put("created_at", createdAt)
        .put("updated_at", updatedAt);
  }

  /** The path of this file's routes: {@code /internal/services/files/v1/companies/C/files/F}. */
  public String path() {
    return API_PREFIX + "/companies/" + companyId + "/files/" + id;
  }
}

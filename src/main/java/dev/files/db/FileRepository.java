package dev.files.db;

import dev.files.model.ChunkRecord;
import dev.files.model.CommittedChunk;
import dev.files.model.FileRecord;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The SQL of files, chunks and company membership (schema in {@code db/migration}). The package
 * {@code dev.files.db} holds all SQL of the service: the other repositories hold that of the owner
 * rows and leases ({@link SessionOwnerRepository}), the file events ({@link EventRepository}), the
 * thumbnail claims ({@link ThumbnailClaimRepository}), the store identity
 * ({@link StoreIdentityRepository}) and the advisory locks ({@link AdvisoryLocks}). Methods taking a {@link SqlConnection} run inside the caller's transaction;
 * the others use the pool. Every method fails with the pg-client's exception when PostgreSQL fails.
 */
public final class FileRepository {

  private static final String COLUMNS = """
      f.id, f.company_id, f.owner_type, f.owner_id, f.user_id, f.application_id, f.name, f.mime,
      f.generation, f.size, f.chunks, f.upload_generation, f.total_chunks, f.total_size,
      f.upload_name, f.upload_mime,
      (SELECT coalesce(sum(c.size), 0)::bigint FROM chunks c
        WHERE c.file_id = f.id AND c.generation = f.upload_generation) AS stored_bytes,
      f.thumbnails, f.thumbnails_status, f.created_at, f.updated_at, f.data_key_id, f.data_key,
      f.last_generation""";

  private final Pool pool;

  public FileRepository(Pool pool) {
    this.pool = pool;
  }

  /** The pool, for transactions ({@code pool().withTransaction(...)}). */
  public Pool pool() {
    return pool;
  }

  /** Succeeds when PostgreSQL answers a trivial query. */
  public Future<Void> ping() {
    return pool.query("SELECT 1").execute().mapEmpty();
  }

  /** The file with this id, or null. */
  public Future<FileRecord> find(UUID id) {
    return find(pool, id);
  }

  /** The file with this id, or null, read through {@code c} (a pool or a transaction). */
  public Future<FileRecord> find(SqlClient c, UUID id) {
    return c.preparedQuery("SELECT " + COLUMNS + " FROM files f WHERE f.id = $1")
        .execute(Tuple.of(id))
        .map(FileRepository::first);
  }

  /**
   * The file with this id and the chunks of its live generation, read in one statement (one
   * snapshot: a concurrent completion or delete is seen entirely or not at all); null when absent.
   */
  public Future<FileWithChunks> findWithChunks(UUID id) {
    return fileWithChunks(id, "f.generation");
  }

  /**
   * The file with this id and the chunks of the generation an upload into it is measured against
   * (the upload in progress, else the live one), read in one statement (one round trip, one
   * snapshot), for the checks before a chunk's body; null when absent.
   */
  public Future<FileWithChunks> findForUpload(UUID id) {
    return fileWithChunks(id, "coalesce(f.upload_generation, f.generation)");
  }

  /**
   * The file with this id and, in chunk number order, its chunks of the generation that the SQL
   * expression {@code generation} (over the file's row {@code f}) names, with their sources; one
   * statement; null when the file is absent.
   */
  private Future<FileWithChunks> fileWithChunks(UUID id, String generation) {
    return pool.preparedQuery("SELECT " + COLUMNS + """
            , (SELECT coalesce(json_agg(json_build_array(c.chunk_number, c.size, c.sha256, c.storage_key,
                                          c.source_file_id, c.source_generation, c.source_chunk_number,
                                          c.source_data_key_id, encode(c.source_data_key, 'base64'))
                                        ORDER BY c.chunk_number), '[]'::json)
                 FROM chunks c WHERE c.file_id = f.id AND c.generation = """ + generation + """
            ) AS chunk_rows
            FROM files f WHERE f.id = $1""")
        .execute(Tuple.of(id))
        .map(rows -> {
          var it = rows.iterator();
          if (!it.hasNext()) {
            return null;
          }
          Row r = it.next();
          List<ChunkRecord> chunks = new ArrayList<>();
          for (Object o : (JsonArray) r.getValue("chunk_rows")) {
            JsonArray a = (JsonArray) o;
            ChunkRecord.Source source = a.getValue(4) == null ? null : new ChunkRecord.Source(
                UUID.fromString(a.getString(4)), a.getInteger(5), a.getInteger(6), a.getString(7),
                java.util.Base64.getMimeDecoder().decode(a.getString(8)));
            chunks.add(new ChunkRecord(a.getInteger(0), a.getLong(1), a.getString(2), a.getString(3), source));
          }
          return new FileWithChunks(map(r), chunks);
        });
  }

  /** A file and the chunks of one of its generations, by chunk number. */
  public record FileWithChunks(FileRecord file, List<ChunkRecord> chunks) {
  }

  /** The file with this id, row-locked until the transaction ends, or null. */
  public Future<FileRecord> lock(SqlConnection c, UUID id) {
    return c.preparedQuery("SELECT " + COLUMNS + " FROM files f WHERE f.id = $1 FOR UPDATE OF f")
        .execute(Tuple.of(id))
        .map(FileRepository::first);
  }

  /**
   * Inserts a file's row as {@code f} holds it, every column (a new file is inserted either bare, with
   * no generation and no upload in progress, or as its whole-file upload leaves it: live at once).
   */
  public Future<Void> insert(SqlConnection c, FileRecord f) {
    return insertAll(c, List.of(f));
  }

  /**
   * Inserts the rows of several new files as {@link #insert} does one, in one statement (the columns
   * sent as arrays, one element per file, and unnested): a group commit of new files
   * ({@code upload.group_commit_max}) sends one such statement for all its files. Fails, inserting
   * none, when any row cannot be inserted (an id already there).
   */
  public Future<Void> insertAll(SqlConnection c, List<FileRecord> fs) {
    int n = fs.size();
    UUID[] id = new UUID[n], company = new UUID[n], owner = new UUID[n], user = new UUID[n], app = new UUID[n];
    String[] ownerType = new String[n], name = new String[n], mime = new String[n], uploadName = new String[n],
        uploadMime = new String[n], thumbnails = new String[n], thumbnailsStatus = new String[n], keyId = new String[n];
    Integer[] generation = new Integer[n], chunks = new Integer[n], uploadGeneration = new Integer[n],
        totalChunks = new Integer[n], lastGeneration = new Integer[n];
    Long[] size = new Long[n], totalSize = new Long[n], created = new Long[n], updated = new Long[n];
    Buffer[] key = new Buffer[n];
    for (int i = 0; i < n; i++) {
      FileRecord f = fs.get(i);
      id[i] = f.id();
      company[i] = f.companyId();
      ownerType[i] = f.ownerType();
      owner[i] = f.ownerId();
      user[i] = f.userId();
      app[i] = f.applicationId();
      name[i] = f.name();
      mime[i] = f.mime();
      generation[i] = f.generation();
      size[i] = f.size();
      chunks[i] = f.chunks();
      uploadGeneration[i] = f.uploadGeneration();
      totalChunks[i] = f.totalChunks();
      totalSize[i] = f.totalSize();
      uploadName[i] = f.uploadName();
      uploadMime[i] = f.uploadMime();
      thumbnails[i] = f.thumbnails() == null ? "[]" : f.thumbnails().encode(); // text here, jsonb in the row
      thumbnailsStatus[i] = f.thumbnailsStatus();
      created[i] = f.createdAt();
      updated[i] = f.updatedAt();
      keyId[i] = f.dataKeyId();
      key[i] = f.dataKey() == null ? null : Buffer.buffer(f.dataKey());
      lastGeneration[i] = f.lastGeneration();
    }
    return c.preparedQuery("""
            INSERT INTO files (id, company_id, owner_type, owner_id, user_id, application_id, name, mime,
                               generation, size, chunks, upload_generation, total_chunks, total_size,
                               upload_name, upload_mime, thumbnails, thumbnails_status, created_at, updated_at,
                               data_key_id, data_key, last_generation)
            SELECT id, company_id, owner_type, owner_id, user_id, application_id, name, mime,
                   generation, size, chunks, upload_generation, total_chunks, total_size,
                   upload_name, upload_mime, thumbnails::jsonb, thumbnails_status, created_at, updated_at,
                   data_key_id, data_key, last_generation
            FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::text[],
                        $9::integer[], $10::bigint[], $11::integer[], $12::integer[], $13::integer[], $14::bigint[],
                        $15::text[], $16::text[], $17::text[], $18::text[], $19::bigint[], $20::bigint[],
                        $21::text[], $22::bytea[], $23::integer[])
                 AS t(id, company_id, owner_type, owner_id, user_id, application_id, name, mime,
                      generation, size, chunks, upload_generation, total_chunks, total_size,
                      upload_name, upload_mime, thumbnails, thumbnails_status, created_at, updated_at,
                      data_key_id, data_key, last_generation)""")
        .execute(Tuple.from(new Object[]{id, company, ownerType, owner, user, app, name, mime, generation, size, chunks,
            uploadGeneration, totalChunks, totalSize, uploadName, uploadMime, thumbnails, thumbnailsStatus, created,
            updated, keyId, key, lastGeneration}))
        .mapEmpty();
  }

  /**
   * Records the upload in progress: its generation, declared totals (null = unknown), and the name
   * and type to apply at completion. When no generation is live, name and mime are shown at once too.
   * The file's generation counter ({@code last_generation}) is raised to {@code uploadGeneration}.
   */
  public Future<Void> recordUpload(SqlConnection c, UUID id, int uploadGeneration, Integer totalChunks,
                                   Long totalSize, String name, String mime, long now) {
    return c.preparedQuery("""
            UPDATE files SET upload_generation = $2, last_generation = greatest(last_generation, $2),
                   total_chunks = $3, total_size = $4,
                   upload_name = $5, upload_mime = $6,
                   name = CASE WHEN generation IS NULL THEN $5 ELSE name END,
                   mime = CASE WHEN generation IS NULL THEN $6 ELSE mime END,
                   updated_at = $7
             WHERE id = $1""")
        .execute(Tuple.from(new Object[]{id, uploadGeneration, totalChunks, totalSize, name, mime, now}))
        .mapEmpty();
  }

  /** The chunks of one generation of a file, by chunk number (with their source when moved there). */
  public Future<List<ChunkRecord>> chunks(SqlClient c, UUID fileId, int generation) {
    return c.preparedQuery("""
            SELECT chunk_number, size, sha256, storage_key, source_file_id, source_generation, source_chunk_number,
                   source_data_key_id, source_data_key FROM chunks
             WHERE file_id = $1 AND generation = $2 ORDER BY chunk_number""")
        .execute(Tuple.of(fileId, generation))
        .map(rows -> {
          List<ChunkRecord> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            ChunkRecord.Source source = r.getUUID(4) == null ? null : new ChunkRecord.Source(r.getUUID(4),
                r.getInteger(5), r.getInteger(6), r.getString(7), r.getBuffer(8).getBytes());
            out.add(new ChunkRecord(r.getInteger(0), r.getLong(1), r.getString(2), r.getString(3), source));
          }
          return out;
        });
  }

  // ---- tus concatenation ---------------------------------------------------------------------

  /**
   * The tus concatenation role of an upload: {@code kind} {@code "partial"} or {@code "final"};
   * {@code parts}, of a final upload, the ids of the partial uploads it was made of, in order (else empty).
   */
  public record Concat(String kind, List<UUID> parts) {
    public boolean partial() {
      return "partial".equals(kind);
    }

    public boolean isFinal() {
      return "final".equals(kind);
    }
  }

  /** The concatenation role of a file, or null when it has none (an ordinary upload). */
  public Future<Concat> concat(SqlClient c, UUID fileId) {
    return c.preparedQuery("SELECT kind, parts FROM upload_concat WHERE file_id = $1")
        .execute(Tuple.of(fileId))
        .map(rows -> {
          var it = rows.iterator();
          if (!it.hasNext()) {
            return null;
          }
          Row r = it.next();
          UUID[] parts = r.getArrayOfUUIDs(1);
          return new Concat(r.getString(0), parts == null ? List.of() : List.of(parts));
        });
  }

  /** Of {@code ids}, those that are partial uploads (not yet consumed). */
  public Future<java.util.Set<UUID>> partials(SqlClient c, List<UUID> ids) {
    return c.preparedQuery("SELECT file_id FROM upload_concat WHERE file_id = ANY($1) AND kind = 'partial'")
        .execute(Tuple.of(ids.toArray(new UUID[0])))
        .map(rows -> {
          java.util.Set<UUID> out = new java.util.HashSet<>();
          for (Row r : rows) {
            out.add(r.getUUID(0));
          }
          return out;
        });
  }

  /** Records the concatenation role of a file whose row exists: {@code parts} null for a partial upload. */
  public Future<Void> recordConcat(SqlClient c, UUID fileId, List<UUID> parts) {
    return c.preparedQuery("INSERT INTO upload_concat (file_id, kind, parts) VALUES ($1, $2, $3)")
        .execute(Tuple.of(fileId, parts == null ? "partial" : "final", parts == null ? null : parts.toArray(new UUID[0])))
        .mapEmpty();
  }

  /** The files with these ids that exist, row-locked until the transaction ends (locked in id order). */
  public Future<List<FileRecord>> lockAll(SqlConnection c, List<UUID> ids) {
    return c.preparedQuery("SELECT " + COLUMNS + " FROM files f WHERE f.id = ANY($1) ORDER BY f.id FOR UPDATE OF f")
        .execute(Tuple.of(ids.toArray(new UUID[0])))
        .map(rows -> {
          List<FileRecord> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(map(r));
          }
          return out;
        });
  }

  /**
   * Moves the chunk rows of the uploads in progress of {@code parts} (files whose rows the transaction
   * holds locked) to generation 1 of file {@code target} (whose row exists), numbered 1… in the order
   * of {@code parts} then of their chunk numbers: no object is copied, each row keeps its storage key
   * and commit id, and records its source (file id, generation, chunk number, wrapped data key and its
   * master key id; a row moved before keeps its first source). Answers the number of rows moved.
   */
  public Future<Integer> moveChunks(SqlConnection c, UUID target, List<UUID> parts) {
    return c.preparedQuery("""
            UPDATE chunks c SET file_id = $1, generation = 1, chunk_number = m.n,
                   source_file_id = coalesce(c.source_file_id, c.file_id),
                   source_generation = coalesce(c.source_generation, c.generation),
                   source_chunk_number = coalesce(c.source_chunk_number, c.chunk_number),
                   source_data_key = coalesce(c.source_data_key, m.data_key),
                   source_data_key_id = coalesce(c.source_data_key_id, m.data_key_id)
              FROM (SELECT x.file_id, x.generation, x.chunk_number, p.data_key, p.data_key_id,
                           row_number() OVER (ORDER BY array_position($2::uuid[], x.file_id), x.chunk_number) AS n
                      FROM chunks x JOIN files p ON p.id = x.file_id AND x.generation = p.upload_generation
                     WHERE x.file_id = ANY($2)) m
             WHERE c.file_id = m.file_id AND c.generation = m.generation AND c.chunk_number = m.chunk_number""")
        .execute(Tuple.of(target, (Object) parts.toArray(new UUID[0])))
        .map(RowSet::rowCount);
  }

  /**
   * Removes consumed partial uploads: chunk and thumbnail rows still theirs (none after
   * {@link #moveChunks}, but whatever is left) go to {@code retired_chunks} until {@code retireUntil}
   * (epoch ms), then their file rows go (with their {@code upload_concat} rows). Retired rows they had
   * stay for the sweep. No object is deleted here.
   */
  public Future<Void> consume(SqlConnection c, List<UUID> parts, long retireUntil) {
    UUID[] ids = parts.toArray(new UUID[0]);
    Future<?> leftovers = c.preparedQuery("""
            WITH a AS (DELETE FROM chunks WHERE file_id = ANY($1) RETURNING storage_key, file_id, commit_id),
                 t AS (DELETE FROM thumbnails WHERE file_id = ANY($1) RETURNING storage_key, file_id)
            INSERT INTO retired_chunks (storage_key, file_id, delete_after, commit_id)
            SELECT storage_key, file_id, $2::bigint, commit_id FROM a
            UNION ALL SELECT storage_key, file_id, $2::bigint, NULL::uuid FROM t""")
        .execute(Tuple.of(ids, retireUntil));
    Future<?> rows = c.preparedQuery("DELETE FROM files WHERE id = ANY($1)").execute(Tuple.of((Object) ids));
    return Future.join(leftovers, rows).mapEmpty();
  }

  /** A moved chunk's source data key wrapped by a master key other than the current one: its file id and key. */
  public record SourceKeyRow(UUID sourceFileId, String keyId, byte[] key) {
  }

  /** Up to {@code limit} distinct source data keys of moved chunks not wrapped by {@code currentId}, after source file {@code after}. */
  public Future<List<SourceKeyRow>> sourceKeysNotWrappedBy(String currentId, UUID after, int limit) {
    return pool.preparedQuery("""
            SELECT DISTINCT ON (source_file_id) source_file_id, source_data_key_id, source_data_key FROM chunks
             WHERE source_file_id IS NOT NULL AND source_data_key_id <> $1 AND source_data_key_id <> 'none'
               AND source_file_id > $2 ORDER BY source_file_id LIMIT $3""")
        .execute(Tuple.of(currentId, after, limit))
        .map(rows -> {
          List<SourceKeyRow> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(new SourceKeyRow(r.getUUID(0), r.getString(1), r.getBuffer(2).getBytes()));
          }
          return out;
        });
  }

  /** Replaces the source data key of the chunks moved from {@code sourceFileId} still wrapped by {@code oldKeyId}. */
  public Future<Integer> replaceSourceDataKey(UUID sourceFileId, String oldKeyId, String keyId, byte[] key) {
    return pool.preparedQuery("""
            UPDATE chunks SET source_data_key_id = $3, source_data_key = $4
             WHERE source_file_id = $1 AND source_data_key_id = $2""")
        .execute(Tuple.of(sourceFileId, oldKeyId, keyId, Buffer.buffer(key)))
        .map(RowSet::rowCount);
  }

  /**
   * The chunk rows of the file's upload in progress, else of its live generation (none when it has
   * neither, or no row), ordered by number: what {@link #committedChunks} reads for the generation
   * the row names, in one statement, so that it can be sent together with the row's lock
   * ({@link #lock}) on the same connection (it then runs once the lock is held).
   */
  public Future<List<CommittedChunk>> currentChunks(SqlClient c, UUID fileId) {
    return c.preparedQuery("""
            SELECT generation, chunk_number, size, sha256, storage_key, commit_id FROM chunks
             WHERE file_id = $1
               AND generation = (SELECT coalesce(upload_generation, generation) FROM files WHERE id = $1)
             ORDER BY chunk_number""")
        .execute(Tuple.of(fileId))
        .map(FileRepository::committedChunks);
  }

  /** Rows of (generation, chunk_number, size, sha256, storage_key, commit_id) as chunks, in their order. */
  private static List<CommittedChunk> committedChunks(RowSet<Row> rows) {
    List<CommittedChunk> out = new ArrayList<>(rows.size());
    for (Row r : rows) {
      out.add(new CommittedChunk(r.getInteger(0), r.getInteger(1), r.getLong(2), r.getString(3), r.getString(4),
          r.getUUID(5)));
    }
    return out;
  }

  /** The chunk rows of one generation of a file with their commit ids, by chunk number. */
  public Future<List<CommittedChunk>> committedChunks(SqlClient c, UUID fileId, int generation) {
    return c.preparedQuery("""
            SELECT generation, chunk_number, size, sha256, storage_key, commit_id FROM chunks
             WHERE file_id = $1 AND generation = $2 ORDER BY chunk_number""")
        .execute(Tuple.of(fileId, generation))
        .map(FileRepository::committedChunks);
  }

  /**
   * True when a commit with this id recorded a chunk of the file that is still in {@code chunks}
   * or, superseded, in {@code retired_chunks}.
   */
  public Future<Boolean> knownCommit(SqlClient c, UUID fileId, UUID commitId) {
    return c.preparedQuery("""
            SELECT EXISTS (SELECT 1 FROM chunks WHERE file_id = $1 AND commit_id = $2)
                OR EXISTS (SELECT 1 FROM retired_chunks WHERE file_id = $1 AND commit_id = $2)""")
        .execute(Tuple.of(fileId, commitId))
        .map(rows -> rows.iterator().next().getBoolean(0));
  }

  /** Records a chunk of a generation (its number must be free: a replaced copy is retired first). */
  public Future<Void> putChunk(SqlConnection c, UUID fileId, CommittedChunk chunk, long now) {
    return putChunks(c, List.of(fileId), List.of(chunk), now);
  }

  /**
   * Records chunks as {@link #putChunk} does one, in one statement (arrays, one element per chunk):
   * {@code chunks.get(i)} is a chunk of the file {@code fileIds.get(i)}. Fails, recording none, when
   * any cannot be recorded.
   */
  public Future<Void> putChunks(SqlConnection c, List<UUID> fileIds, List<CommittedChunk> chunks, long now) {
    int n = chunks.size();
    UUID[] file = new UUID[n], commit = new UUID[n];
    Integer[] generation = new Integer[n], number = new Integer[n];
    Long[] size = new Long[n];
    String[] sha = new String[n], key = new String[n];
    for (int i = 0; i < n; i++) {
      CommittedChunk x = chunks.get(i);
      file[i] = fileIds.get(i);
      generation[i] = x.generation();
      number[i] = x.chunkNumber();
      size[i] = x.size();
      sha[i] = x.sha256();
      key[i] = x.storageKey();
      commit[i] = x.commitId();
    }
    return c.preparedQuery("""
            INSERT INTO chunks (file_id, generation, chunk_number, size, sha256, storage_key, created_at, commit_id)
            SELECT file_id, generation, chunk_number, size, sha256, storage_key, $7, commit_id
            FROM unnest($1::uuid[], $2::integer[], $3::integer[], $4::bigint[], $5::text[], $6::text[], $8::uuid[])
                 AS t(file_id, generation, chunk_number, size, sha256, storage_key, commit_id)""")
        .execute(Tuple.from(new Object[]{file, generation, number, size, sha, key, now, commit}))
        .mapEmpty();
  }

  /**
   * Moves chunk rows of a file, by storage key, from {@code chunks} to {@code retired_chunks}
   * (commit ids kept), their objects to be removed by the sweep after {@code retireUntil} (epoch ms).
   */
  public Future<Void> retire(SqlConnection c, UUID fileId, List<String> storageKeys, long retireUntil) {
    return c.preparedQuery("""
            WITH old AS (DELETE FROM chunks WHERE file_id = $1 AND storage_key = ANY($2)
                         RETURNING storage_key, commit_id)
            INSERT INTO retired_chunks (storage_key, file_id, delete_after, commit_id)
            SELECT storage_key, $1, $3, commit_id FROM old""")
        .execute(Tuple.of(fileId, storageKeys.toArray(new String[0]), retireUntil))
        .mapEmpty();
  }

  /**
   * Lists an object no chunk row points at (a copy identical to the live chunk) straight in
   * {@code retired_chunks}, with its commit id, to be removed after {@code retireUntil} (epoch ms).
   */
  public Future<Void> retireUnrecorded(SqlConnection c, UUID fileId, CommittedChunk copy, long retireUntil) {
    return c.preparedQuery("""
            INSERT INTO retired_chunks (storage_key, file_id, delete_after, commit_id) VALUES ($1, $2, $3, $4)""")
        .execute(Tuple.of(copy.storageKey(), fileId, retireUntil, copy.commitId()))
        .mapEmpty();
  }

  /**
   * Makes the upload generation live: size, chunk count, name and type switch in one statement. The
   * chunks of every other generation leave the {@code chunks} table for {@code retired_chunks},
   * to be removed after {@code retireUntil} (epoch ms): downloads that began before the switch
   * still read them.
   */
  public Future<Void> complete(SqlConnection c, UUID id, int generation, long size, int chunks, long now,
                               long retireUntil, String thumbnailsStatus) {
    // three statements sent together: the connection pipelines them, PostgreSQL runs them in order
    Future<?> live = c.preparedQuery("""
            UPDATE files SET generation = $2, size = $3, chunks = $4,
                   name = coalesce(upload_name, name), mime = coalesce(upload_mime, mime),
                   upload_generation = NULL, total_chunks = NULL, total_size = NULL,
                   upload_name = NULL, upload_mime = NULL, updated_at = $5,
                   thumbnails = '[]'::jsonb, thumbnails_status = $6
             WHERE id = $1""")
        .execute(Tuple.of(id, generation, size, chunks, now, thumbnailsStatus));
    Future<?> oldThumbnails = c.preparedQuery("""
            WITH old AS (DELETE FROM thumbnails WHERE file_id = $1 RETURNING storage_key)
            INSERT INTO retired_chunks (storage_key, file_id, delete_after)
            SELECT storage_key, $1, $2 FROM old""")
        .execute(Tuple.of(id, retireUntil));
    Future<?> oldChunks = c.preparedQuery("""
            WITH old AS (DELETE FROM chunks WHERE file_id = $1 AND generation <> $2
                         RETURNING storage_key, commit_id)
            INSERT INTO retired_chunks (storage_key, file_id, delete_after, commit_id)
            SELECT storage_key, $1, $3, commit_id FROM old""")
        .execute(Tuple.of(id, generation, retireUntil));
    return Future.join(live, oldThumbnails, oldChunks).mapEmpty();
  }

  /**
   * Abandons the upload in progress of a file that has live content: its chunks are removed and
   * the file shows its live generation only. Returns the storage keys of the removed chunks.
   */
  public Future<List<String>> dropUpload(SqlConnection c, UUID id, int uploadGeneration, long now) {
    return c.preparedQuery("""
            UPDATE files SET upload_generation = NULL, total_chunks = NULL, total_size = NULL,
                   upload_name = NULL, upload_mime = NULL, updated_at = $2
             WHERE id = $1""")
        .execute(Tuple.of(id, now))
        .compose(v -> c.preparedQuery("DELETE FROM chunks WHERE file_id = $1 AND generation = $2 RETURNING storage_key")
            .execute(Tuple.of(id, uploadGeneration)))
        .map(FileRepository::keys);
  }

  /** Ids of files whose upload in progress was last touched before {@code before} (epoch ms). */
  public Future<List<UUID>> staleUploads(long before, int limit) {
    return pool.preparedQuery("""
            SELECT id FROM files WHERE upload_generation IS NOT NULL AND updated_at < $1
             ORDER BY updated_at LIMIT $2""")
        .execute(Tuple.of(before, limit))
        .map(rows -> {
          List<UUID> ids = new ArrayList<>(rows.size());
          for (Row r : rows) {
            ids.add(r.getUUID(0));
          }
          return ids;
        });
  }

  /** Storage keys of retired chunks whose grace ended before {@code now}. */
  public Future<List<String>> dueRetired(long now, int limit) {
    return pool.preparedQuery("SELECT storage_key FROM retired_chunks WHERE delete_after < $1 LIMIT $2")
        .execute(Tuple.of(now, limit))
        .map(FileRepository::keys);
  }

  /** Forgets retired chunks whose objects were removed. */
  public Future<Void> forgetRetired(List<String> keys) {
    return pool.preparedQuery("DELETE FROM retired_chunks WHERE storage_key = ANY($1)")
        .execute(Tuple.of(keys.toArray(new String[0])))
        .mapEmpty();
  }

  /** A stored thumbnail: where its object is and what it is. */
  public record ThumbnailRow(int index, String storageKey, String type, long size, int width, int height) {
  }

  /**
   * Records the thumbnails of generation {@code generation} of a file, if that generation is still
   * live and its thumbnails still wait ({@code thumbnails_status = 'waiting'}): the public descriptors
   * and status in {@code files}, the objects in {@code thumbnails}. Returns false (nothing written)
   * when the file is gone, another generation is live, or another worker recorded them first (two
   * workers of a cluster may have been asked for the same file).
   * When it records, {@code also} runs in the same transaction after the writes (the event outbox's row).
   */
  public Future<Boolean> recordThumbnails(UUID id, int generation, String status, JsonArray descriptors,
                                          List<ThumbnailRow> rows,
                                          java.util.function.Function<SqlConnection, Future<Void>> also) {
    return pool.withTransaction(c -> c.preparedQuery("""
            UPDATE files SET thumbnails = $3, thumbnails_status = $4
            WHERE id = $1 AND generation = $2 AND thumbnails_status = 'waiting'""")
        .execute(Tuple.of(id, generation, descriptors, status))
        .compose(updated -> {
          if (updated.rowCount() == 0) {
            return Future.succeededFuture(false);
          }
          List<Tuple> batch = new ArrayList<>();
          for (ThumbnailRow r : rows) {
            batch.add(Tuple.from(new Object[]{id, generation, r.index(), r.storageKey(), r.type(), r.size(), r.width(), r.height()}));
          }
          Future<Void> inserted = batch.isEmpty() ? Future.succeededFuture() : c.preparedQuery("""
                  INSERT INTO thumbnails (file_id, generation, idx, storage_key, type, size, width, height)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""").executeBatch(batch).mapEmpty();
          return inserted.compose(v -> also.apply(c)).map(true);
        }));
  }

  /** Thumbnail {@code index} of the file's live generation, or null. */
  public Future<ThumbnailRow> thumbnail(UUID id, int index) {
    return pool.preparedQuery("""
            SELECT t.idx, t.storage_key, t.type, t.size, t.width, t.height FROM thumbnails t
              JOIN files f ON f.id = t.file_id AND f.generation = t.generation
             WHERE t.file_id = $1 AND t.idx = $2""")
        .execute(Tuple.of(id, index))
        .map(rows -> {
          var it = rows.iterator();
          if (!it.hasNext()) {
            return null;
          }
          Row r = it.next();
          return new ThumbnailRow(r.getInteger(0), r.getString(1), r.getString(2), r.getLong(3), r.getInteger(4), r.getInteger(5));
        });
  }

  /** Files whose thumbnails have been waiting since before {@code before} (epoch ms): id and generation. */
  public Future<List<JsonArray>> waitingThumbnails(long before, int limit) {
    return pool.preparedQuery("""
            SELECT id, generation FROM files WHERE thumbnails_status = 'waiting' AND updated_at < $1
             AND generation IS NOT NULL ORDER BY updated_at LIMIT $2""")
        .execute(Tuple.of(before, limit))
        .map(rows -> {
          List<JsonArray> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(new JsonArray().add(r.getUUID(0).toString()).add(r.getInteger(1)));
          }
          return out;
        });
  }

  /** Of {@code keys}, those that no chunk or retired chunk row refers to. */
  public Future<List<String>> unreferenced(List<String> keys) {
    return pool.preparedQuery("""
            SELECT k FROM unnest($1::text[]) AS k
             WHERE NOT EXISTS (SELECT 1 FROM chunks WHERE storage_key = k)
               AND NOT EXISTS (SELECT 1 FROM retired_chunks WHERE storage_key = k)
               AND NOT EXISTS (SELECT 1 FROM thumbnails WHERE storage_key = k)""")
        .execute(Tuple.of(keys.toArray(new String[0])))
        .map(FileRepository::keys);
  }

  /** Deletes the file row and its chunk rows (retired ones too); returns the storage keys of the chunks. */
  public Future<List<String>> delete(SqlConnection c, UUID id) {
    return c.preparedQuery("""
            WITH a AS (DELETE FROM chunks WHERE file_id = $1 RETURNING storage_key),
                 b AS (DELETE FROM retired_chunks WHERE file_id = $1 RETURNING storage_key),
                 t AS (DELETE FROM thumbnails WHERE file_id = $1 RETURNING storage_key)
            SELECT storage_key FROM a UNION ALL SELECT storage_key FROM b UNION ALL SELECT storage_key FROM t""")
        .execute(Tuple.of(id))
        .map(FileRepository::keys)
        .compose(keys -> c.preparedQuery("DELETE FROM files WHERE id = $1").execute(Tuple.of(id)).map(keys));
  }

  /** A file whose data key is wrapped by another master key than {@code currentId}: id and wrapped key. */
  public record KeyRow(UUID id, String keyId, byte[] key) {
  }

  /** Up to {@code limit} files whose data key is wrapped by a master key other than {@code currentId}. */
  public Future<List<KeyRow>> keysNotWrappedBy(String currentId, UUID after, int limit) {
    return pool.preparedQuery("""
            SELECT id, data_key_id, data_key FROM files
             WHERE data_key_id <> $1 AND data_key_id <> 'none' AND id > $2 ORDER BY id LIMIT $3""")
        .execute(Tuple.of(currentId, after, limit))
        .map(rows -> {
          List<KeyRow> out = new ArrayList<>();
          for (Row r : rows) {
            out.add(new KeyRow(r.getUUID(0), r.getString(1), r.getBuffer(2).getBytes()));
          }
          return out;
        });
  }

  /** Replaces a file's wrapped data key, if it is still the one that was read ({@code oldKeyId}). */
  public Future<Boolean> replaceDataKey(UUID id, String oldKeyId, String keyId, byte[] key) {
    return pool.preparedQuery("UPDATE files SET data_key_id = $3, data_key = $4 WHERE id = $1 AND data_key_id = $2")
        .execute(Tuple.of(id, oldKeyId, keyId, Buffer.buffer(key)))
        .map(rows -> rows.rowCount() == 1);
  }

  /** True when the membership table has (company, user). */
  public Future<Boolean> isMember(UUID companyId, UUID userId) {
    return pool.preparedQuery("SELECT 1 FROM company_members WHERE company_id = $1 AND user_id = $2")
        .execute(Tuple.of(companyId, userId))
        .map(rows -> rows.size() > 0);
  }

  /** Adds (company, user) to the membership table; adding twice is not an error. */
  public Future<Void> addMember(UUID companyId, UUID userId, long now) {
    return pool.preparedQuery("""
            INSERT INTO company_members (company_id, user_id, created_at) VALUES ($1, $2, $3)
            ON CONFLICT DO NOTHING""")
        .execute(Tuple.of(companyId, userId, now))
        .mapEmpty();
  }

  /** Removes (company, user) from the membership table; returns whether a row was removed. */
  public Future<Boolean> removeMember(UUID companyId, UUID userId) {
    return pool.preparedQuery("DELETE FROM company_members WHERE company_id = $1 AND user_id = $2")
        .execute(Tuple.of(companyId, userId))
        .map(rows -> rows.rowCount() > 0);
  }

  /** Adds (company, user) with {@code role}, or sets the role of the row already there. */
  public Future<Void> addMember(UUID companyId, UUID userId, String role, long now) {
    return pool.preparedQuery("""
            INSERT INTO company_members (company_id, user_id, created_at, role) VALUES ($1, $2, $3, $4)
            ON CONFLICT (company_id, user_id) DO UPDATE SET role = excluded.role""")
        .execute(Tuple.of(companyId, userId, now, role))
        .mapEmpty();
  }

  /** The role of (company, user) in the membership table, or null when the pair is not there. */
  public Future<String> memberRole(UUID companyId, UUID userId) {
    return pool.preparedQuery("SELECT role FROM company_members WHERE company_id = $1 AND user_id = $2")
        .execute(Tuple.of(companyId, userId))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getString(0));
  }

  /**
   * Up to {@code limit} files of a company, newest first ({@code created_at}, then {@code id},
   * descending), after the position ({@code beforeCreatedAt}, {@code beforeId}) when it is given.
   */
  public Future<List<FileRecord>> listCompany(UUID companyId, Long beforeCreatedAt, UUID beforeId, int limit) {
    String after = beforeCreatedAt == null ? "" : " AND (f.created_at, f.id) < ($3, $4)";
    Tuple args = beforeCreatedAt == null ? Tuple.of(companyId, limit) : Tuple.of(companyId, limit, beforeCreatedAt, beforeId);
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM files f WHERE f.company_id = $1" + after
            + " ORDER BY f.created_at DESC, f.id DESC LIMIT $2")
        .execute(args)
        .map(rows -> {
          List<FileRecord> out = new ArrayList<>(rows.size());
          for (Row r : rows) {
            out.add(map(r));
          }
          return out;
        });
  }

  private static List<String> keys(RowSet<Row> rows) {
    List<String> keys = new ArrayList<>(rows.rowCount());
    for (Row r : rows) {
      keys.add(r.getString(0));
    }
    return keys;
  }

  private static FileRecord first(RowSet<Row> rows) {
    var it = rows.iterator();
    return it.hasNext() ? map(it.next()) : null;
  }

  private static FileRecord map(Row r) {
    Object thumbs = r.getValue("thumbnails");
    return new FileRecord(
        r.getUUID("id"), r.getUUID("company_id"), r.getString("owner_type"), r.getUUID("owner_id"),
        r.getUUID("user_id"), r.getUUID("application_id"), r.getString("name"), r.getString("mime"),
        r.getInteger("generation"), r.getLong("size"), r.getInteger("chunks"),
        r.getInteger("upload_generation"), r.getInteger("total_chunks"), r.getLong("total_size"),
        r.getString("upload_name"), r.getString("upload_mime"),
        r.getLong("stored_bytes"),
        thumbs instanceof JsonArray a ? a : new JsonArray(),
        r.getString("thumbnails_status"),
        r.getLong("created_at"), r.getLong("updated_at"),
        r.getString("data_key_id"), r.getBuffer("data_key") == null ? null : r.getBuffer("data_key").getBytes(),
        r.getInteger("last_generation"));
  }

  /** The id of one file whose data key is wrapped with the master key {@code keyId}, or null when none is. */
  public Future<UUID> anyWithDataKey(String keyId) {
    return pool.preparedQuery("SELECT id FROM files WHERE data_key_id = $1 AND data_key IS NOT NULL LIMIT 1")
        .execute(Tuple.of(keyId))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getUUID(0));
  }
}

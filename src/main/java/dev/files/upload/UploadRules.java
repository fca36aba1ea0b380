package dev.files.upload;

import dev.files.model.ChunkRecord;
import dev.files.error.Kind;
import dev.files.error.ServiceException;
import dev.files.model.CommittedChunk;
import dev.files.model.ContentTypes;
import dev.files.model.FileRecord;
import dev.files.crypto.DataKeys;
import io.vertx.core.json.JsonArray;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The upload rules (docs/api.md, "POST /companies/C/files/F — a chunk, or a whole file" and "Chunk rules"): what
 * becomes of one chunk commit, decided from the file's state alone ({@link #commit}), and what of it
 * can already be refused from the request line and the file's row before any byte of the body is
 * read ({@link #allowance}; one message per rule, whichever of the two refuses). No I/O, no clock: the
 * {@link UploadSessionVerticle} reads the state in its transaction, asks {@link #commit}, and
 * carries out the {@link Effect}s of an {@link Accepted} decision in that same transaction
 * (objects are removed only after it committed).
 *
 * <p>The rules, in the order they are applied:
 * <ol>
 *   <li>a file that does not exist is created by a classic upload to a new id ({@code create}),
 *       else 404; a file of another company is 404;</li>
 *   <li>a commit whose id is already recorded (a retried delivery) changes nothing and is answered
 *       with the file as it stands;</li>
 *   <li>a commit that waited longer than its maximum age for its session (the smaller of
 *       {@code upload.commit_timeout_ms}, after which its asker no longer waits, and the retire grace,
 *       after which the superseded copy that would recognise it may be gone) is 409;</li>
 *   <li>on a complete file with no upload in progress, a chunk identical to the live one (number,
 *       size, SHA-256, count) changes nothing: its new copy goes straight to the retired list (so a
 *       repeated delivery is still recognised by its commit id) and its object is removed after the
 *       grace; anything else starts an overwrite;</li>
 *   <li>rights (403), the generation the bytes were encrypted for (409), totals that contradict
 *       the recorded ones and chunk numbers outside 1..total_chunks (400);</li>
 *   <li>the copy of the same chunk already stored, and chunks numbered above a total_chunks that
 *       became known with this commit (or every other chunk, for a whole file), are retired: their
 *       rows leave {@code chunks} for {@code retired_chunks} and their objects are removed after
 *       the grace;</li>
 *   <li>stored bytes above total_size are 400; the upload completes exactly when every chunk
 *       1..total_chunks is stored, and then the stored total must equal total_size (else 400 and
 *       this chunk is not kept); completion makes the generation live and retires every other;</li>
 *   <li>an append at a byte offset (a tus PATCH, {@link ChunkCommit.Declared#offset}) is 409 unless the upload
 *       in progress holds exactly that many bytes, in the chunks numbered before it (so of two
 *       appends at one offset, the first committed wins and the other leaves nothing).</li>
 * </ol>
 * A refusal changes nothing. No object is deleted at once: what is no longer wanted is retired.
 * Generation numbers come from the file's counter of the highest generation ever handed out, so
 * none is used twice.
 */
public final class UploadRules {

  private final long retireGraceMs;

  /** @param retireGraceMs how long retired objects stay ({@code upload.retire_grace_ms}); a commit older than this is refused */
  public UploadRules(long retireGraceMs) {
    this.retireGraceMs = retireGraceMs;
  }

  /**
   * What the rules know of one file.
   *
   * @param file          the file row, or null when no file has this id
   * @param chunks        rows of {@code chunks} for the file; the session loads those of the upload in
   *                      progress, or of the live generation when none is in progress (all a decision reads)
   * @param knownCommits  ids of further commits known to have recorded a chunk of the file (in
   *                      {@code chunks} or {@code retired_chunks}); the session loads only the one it is
   *                      asked about
   */
  public record State(FileRecord file, List<CommittedChunk> chunks, Set<UUID> knownCommits) {
    public State {
      chunks = List.copyOf(chunks);
      knownCommits = Set.copyOf(knownCommits);
    }

    /** The chunk rows of one generation. */
    public List<CommittedChunk> chunksOf(int generation) {
      return chunks.stream().filter(c -> c.generation() == generation).toList();
    }

    /** True when a commit with this id recorded a chunk of the file. */
    public boolean knows(UUID commitId) {
      return commitId != null && (knownCommits.contains(commitId)
          || chunks.stream().anyMatch(c -> commitId.equals(c.commitId())));
    }
  }

  /** The outcome of a commit. */
  public sealed interface Decision permits Refused, Accepted {
  }

  /**
   * Refused, with its kind ({@link Kind#BAD_REQUEST}, {@link Kind#FORBIDDEN}, {@link Kind#NOT_FOUND},
   * {@link Kind#CONFLICT}) and a message for the client; nothing changes.
   */
  public record Refused(Kind kind, String message) implements Decision {
    /** The refusal as the exception the session fails its message with (nothing was changed). */
    public ServiceException exception() {
      return new ServiceException(kind, message);
    }
  }

  /**
   * Accepted: the state after it, the changes to make (in order, in one transaction), whether this
   * commit completed the upload (it then switches a generation live), and whether it was a repeated
   * delivery of a commit that had already taken effect (no effects).
   */
  public record Accepted(State next, List<Effect> effects, boolean completed, boolean repeated) implements Decision {
  }

  /** A change an accepted commit makes. */
  public sealed interface Effect permits CreateFile, RecordUpload, Retire, PutChunk, Complete, Discard {
  }

  /** Insert the row of a new file (no generation, no upload in progress). */
  public record CreateFile(FileRecord file) implements Effect {
  }

  /**
   * Record the upload in progress: its generation (the file's generation counter rises to it),
   * totals (null = unknown), and the name and type to apply at completion (shown at once while
   * no generation is live).
   */
  public record RecordUpload(int generation, Integer totalChunks, Long totalSize, String name, String mime)
      implements Effect {
  }

  /** Move these chunk rows to the retired list; their objects are removed after the grace. */
  public record Retire(List<CommittedChunk> chunks) implements Effect {
  }

  /** Record a chunk (its number is free in its generation: a replaced copy was retired first). */
  public record PutChunk(CommittedChunk chunk) implements Effect {
  }

  /**
   * Make {@code generation} live with {@code size} bytes in {@code chunks} chunks; the upload's
   * name and type apply; every other generation's chunks and the thumbnails are retired.
   */
  public record Complete(int generation, long size, int chunks, String thumbnailsStatus) implements Effect {
  }

  /**
   * A copy that is not needed (identical to the live chunk) goes straight to the retired list, with
   * its commit id; its object is removed after the grace.
   */
  public record Discard(CommittedChunk copy) implements Effect {
  }

  /**
   * Decides a chunk commit.
   *
   * @param state   the file as it stands
   * @param c       the commit
   * @param askedAt when the commit was first asked (epoch ms; 0 when unknown)
   * @param now     the time of the decision (epoch ms)
   */
  public Decision commit(State state, ChunkCommit c, long askedAt, long now) {
    ChunkCommit.Upload u = c.upload();
    ChunkCommit.Declared d = c.declared();
    ChunkCommit.Stored bytes = c.stored();
    List<Effect> effects = new ArrayList<>();
    FileRecord f = state.file();
    if (f == null) {
      if (!u.create()) {
        return new Refused(Kind.NOT_FOUND, notFound(c.fileId()));
      }
      if (bytes.dataKey() == null) {
        return new Refused(Kind.BAD_REQUEST, "a new file's first chunk must come with its data key");
      }
      f = newFile(c.fileId(), u.companyId(), u.requester(), d.name(), d.mime(), now, bytes.dataKey());
      effects.add(new CreateFile(f));
      state = new State(f, List.of(), state.knownCommits());
    } else if (!f.companyId().equals(u.companyId())) { // never reveal another company's file
      return new Refused(Kind.NOT_FOUND, notFound(c.fileId()));
    }
    if (state.knows(c.commitId())) {
      return new Accepted(state, List.of(), false, true);
    }
    if (askedAt > 0 && now - askedAt > retireGraceMs) {
      return new Refused(Kind.CONFLICT, "the commit of chunk " + c.chunkNumber() + " waited " + (now - askedAt)
          + " ms for the file's upload session; send the chunk again");
    }
    if (c.chunkNumber() < 1) {
      return new Refused(Kind.BAD_REQUEST, "chunk_number " + c.chunkNumber() + " is not a positive number");
    }
    boolean fresh = f.uploadGeneration() == null; // a new upload starts: nothing recorded applies
    if (fresh && f.complete() && !d.whole()) {
      // A chunk arriving after completion that is the same as the live one (a client retrying a
      // request whose answer it lost) changes nothing; different bytes start an overwrite.
      boolean same = state.chunksOf(f.generation()).stream().anyMatch(x -> x.chunkNumber() == c.chunkNumber()
          && x.size() == bytes.size() && x.sha256().equals(bytes.sha256()))
          && (d.totalChunks() == null || d.totalChunks() == f.chunks());
      if (same) {
        List<Effect> discard = List.of(new Discard(new CommittedChunk(f.generation(), c.chunkNumber(), bytes.size(),
            bytes.sha256(), bytes.storageKey(), c.commitId())));
        return new Accepted(apply(state, discard, now), discard, false, false);
      }
    }
    Refused refused = uploadRights(f, u.requester());
    if (refused != null) {
      return refused;
    }
    int gen = f.nextUploadGeneration();
    if (gen != bytes.generation()) { // the bytes were encrypted for another generation: the upload moved on meanwhile
      return new Refused(Kind.CONFLICT, "file " + c.fileId() + " changed while chunk " + c.chunkNumber()
          + " was sent (generation " + bytes.generation() + ", now " + gen + "); send it again");
    }
    // A whole file is chunk 1 of 1 of its own size, which must agree with what was declared.
    Integer recordedChunks = fresh ? null : f.totalChunks();
    Integer givenChunks = d.whole() ? Integer.valueOf(1) : d.totalChunks();
    if (recordedChunks != null && givenChunks != null && !recordedChunks.equals(givenChunks)) {
      return new Refused(Kind.BAD_REQUEST, contradicts("total_chunks", givenChunks, recordedChunks));
    }
    Long recordedSize = fresh ? null : f.totalSize();
    Long givenSize = d.whole() ? Long.valueOf(bytes.size()) : d.totalSize();
    if (recordedSize != null && givenSize != null && !recordedSize.equals(givenSize)) {
      return new Refused(Kind.BAD_REQUEST, contradicts("total_size", givenSize, recordedSize));
    }
    if (d.offset() != null) { // an append at a byte offset: it must follow exactly what is stored
      List<CommittedChunk> stored = fresh ? List.of() : state.chunksOf(gen);
      long storedBytes = stored.stream().mapToLong(CommittedChunk::size).sum();
      if (storedBytes != d.offset() || stored.size() != c.chunkNumber() - 1
          || stored.stream().anyMatch(x -> x.chunkNumber() >= c.chunkNumber())) {
        return new Refused(Kind.CONFLICT, "Upload-Offset " + d.offset() + " does not match the upload's offset "
            + storedBytes + "; ask HEAD for the offset and send the rest from there");
      }
    }
    Integer totalChunks = recordedChunks != null ? recordedChunks : givenChunks;
    Long totalSize = recordedSize != null ? recordedSize : givenSize;
    if (totalChunks != null && c.chunkNumber() > totalChunks) {
      return new Refused(Kind.BAD_REQUEST, outside(c.chunkNumber(), totalChunks));
    }
    String name = d.name() != null ? d.name() : (!fresh && f.uploadName() != null ? f.uploadName() : f.name());
    String mime = d.mime() != null ? d.mime() : (!fresh && f.uploadMime() != null ? f.uploadMime() : f.mime());
    if (c.chunkNumber() == 1 && d.mime() == null && ContentTypes.OCTET_STREAM.equals(mime)) {
      mime = bytes.sniffedMime() == null ? ContentTypes.OCTET_STREAM : bytes.sniffedMime();
    }

    List<CommittedChunk> retired = new ArrayList<>();
    long others = 0;
    int count = 1;
    for (CommittedChunk x : state.chunksOf(gen)) {
      if (x.chunkNumber() == c.chunkNumber() // the last complete copy of a chunk wins
          || d.whole() // a whole file replaces whatever was sent before
          || (totalChunks != null && x.chunkNumber() > totalChunks)) { // stored while total_chunks was unknown
        retired.add(x);
      } else {
        others += x.size();
        count++;
      }
    }
    long stored = others + bytes.size();
    if (totalSize != null && stored > totalSize) {
      return new Refused(Kind.BAD_REQUEST, "chunk " + c.chunkNumber() + " would bring the stored bytes to " + stored
          + ", beyond total_size " + totalSize);
    }
    // The kept chunks have distinct numbers in 1..total_chunks other than this one's: N of them are all of 1..N.
    boolean complete = totalChunks != null && count == totalChunks;
    if (complete && totalSize != null && stored != totalSize) {
      return new Refused(Kind.BAD_REQUEST, "all " + totalChunks + " chunks are stored but they hold " + stored
          + " bytes, not total_size " + totalSize + "; chunk " + c.chunkNumber() + " is not kept");
    }
    effects.add(new RecordUpload(gen, totalChunks, totalSize, name, mime));
    if (!retired.isEmpty()) {
      effects.add(new Retire(List.copyOf(retired)));
    }
    effects.add(new PutChunk(new CommittedChunk(gen, c.chunkNumber(), bytes.size(), bytes.sha256(), bytes.storageKey(), c.commitId())));
    if (complete) {
      effects.add(new Complete(gen, stored, totalChunks,
          ContentTypes.thumbnailCandidate(mime, name) ? "waiting" : "none"));
    }
    return new Accepted(apply(state, effects, now), List.copyOf(effects), complete, false);
  }

  /**
   * The state after {@code effects}, as the session's SQL leaves it ({@code storedBytes}
   * recomputed from the upload generation's chunks).
   */
  public static State apply(State state, List<Effect> effects, long now) {
    FileRecord f = state.file();
    List<CommittedChunk> chunks = new ArrayList<>(state.chunks());
    Set<UUID> known = new HashSet<>(state.knownCommits());
    for (Effect e : effects) {
      if (e instanceof CreateFile x) {
        f = x.file();
      } else if (e instanceof RecordUpload x) {
        boolean shown = f.generation() == null;
        f = copy(f, f.generation(), f.size(), f.chunks(), shown ? x.name() : f.name(), shown ? x.mime() : f.mime(),
            x.generation(), x.totalChunks(), x.totalSize(), x.name(), x.mime(), f.thumbnails(), f.thumbnailsStatus(),
            now, Math.max(f.lastGeneration(), x.generation()));
      } else if (e instanceof Retire x) {
        Set<String> keys = new HashSet<>();
        x.chunks().forEach(r -> keys.add(r.storageKey()));
        retire(chunks, known, r -> keys.contains(r.storageKey()));
      } else if (e instanceof PutChunk x) {
        chunks.add(x.chunk());
      } else if (e instanceof Discard x && x.copy().commitId() != null) {
        known.add(x.copy().commitId());
      } else if (e instanceof Complete x) {
        f = copy(f, x.generation(), x.size(), x.chunks(),
            f.uploadName() != null ? f.uploadName() : f.name(), f.uploadMime() != null ? f.uploadMime() : f.mime(),
            null, null, null, null, null, new JsonArray(), x.thumbnailsStatus(), now, f.lastGeneration());
        retire(chunks, known, r -> r.generation() != x.generation());
      }
    }
    if (f != null) {
      Integer up = f.uploadGeneration();
      long storedBytes = up == null ? 0 : chunks.stream().filter(r -> r.generation() == up).mapToLong(CommittedChunk::size).sum();
      f = new FileRecord(f.id(), f.companyId(), f.ownerType(), f.ownerId(), f.userId(), f.applicationId(), f.name(),
          f.mime(), f.generation(), f.size(), f.chunks(), f.uploadGeneration(), f.totalChunks(), f.totalSize(),
          f.uploadName(), f.uploadMime(), storedBytes, f.thumbnails(), f.thumbnailsStatus(), f.createdAt(),
          f.updatedAt(), f.dataKeyId(), f.dataKey(), f.lastGeneration());
    }
    return new State(f, chunks, known);
  }

  private static void retire(List<CommittedChunk> chunks, Set<UUID> known, java.util.function.Predicate<CommittedChunk> which) {
    chunks.removeIf(r -> {
      if (!which.test(r)) {
        return false;
      }
      if (r.commitId() != null) {
        known.add(r.commitId());
      }
      return true;
    });
  }

  private static FileRecord copy(FileRecord f, Integer generation, long size, int chunks, String name, String mime,
                                 Integer uploadGeneration, Integer totalChunks, Long totalSize, String uploadName,
                                 String uploadMime, JsonArray thumbnails, String thumbnailsStatus, long updatedAt,
                                 int lastGeneration) {
    return new FileRecord(f.id(), f.companyId(), f.ownerType(), f.ownerId(), f.userId(), f.applicationId(), name, mime,
        generation, size, chunks, uploadGeneration, totalChunks, totalSize, uploadName, uploadMime, f.storedBytes(),
        thumbnails, thumbnailsStatus, f.createdAt(), updatedAt, f.dataKeyId(), f.dataKey(), lastGeneration);
  }

  /**
   * The row of a new file owned by {@code r}: no generation, no upload in progress, generation
   * counter 0; {@code totalChunks}/{@code totalSize} as declared by an initialisation (or null);
   * thumbnails {@code "waiting"} when its type or name may get one (docs/api.md: "none" is only for files
   * that get no thumbnail), else {@code "none"}.
   */
  static FileRecord newFile(UUID fileId, UUID companyId, Requester r, String name, String mime, Integer totalChunks,
                            Long totalSize, long now, DataKeys.Wrapped key) {
    return new FileRecord(fileId, companyId, r.ownerType(), r.ownerId(), r.subject(), r.applicationId(),
        name == null ? "unnamed" : name, mime == null ? ContentTypes.OCTET_STREAM : mime,
        null, 0, 0, null, totalChunks, totalSize, null, null, 0,
        new JsonArray(), ContentTypes.thumbnailCandidate(mime, name) ? "waiting" : "none", now, now,
        key.masterKeyId(), key.bytes(), 0);
  }

  private static FileRecord newFile(UUID fileId, UUID companyId, Requester r, String name, String mime, long now,
                                    DataKeys.Wrapped key) {
    return newFile(fileId, companyId, r, name, mime, null, null, now, key);
  }

  /**
   * docs/api.md: a complete file is overwritten only by an application (or a server request); a pending
   * file is uploaded into only by its own user, an application, or a server request. Null when allowed.
   */
  private static Refused uploadRights(FileRecord f, Requester r) {
    if (r.application() || r.serverRequest()) {
      return null;
    }
    if (f.complete()) {
      return new Refused(Kind.FORBIDDEN, overwrite(f));
    }
    if (!f.ownerType().equals("user") || !f.ownerId().equals(r.subject())) {
      return new Refused(Kind.FORBIDDEN, otherOwner(f));
    }
    return null;
  }

  // ---- before the body ------------------------------------------------------------------------

  /** No limit beyond the configured ones ({@link #allowance}). */
  public static final long NO_LIMIT = Long.MAX_VALUE;

  /**
   * What an upload request says before its body (docs/api.md, "Choices a client may rely on": decide before reading).
   *
   * @param chunkNumber the 1-based chunk number given so far, or null (a whole file, or a number that
   *                    comes later in the body, as a multipart field)
   * @param totalChunks declared chunk count, or null
   * @param totalSize   declared file size in bytes, or null
   * @param bodyBytes   the request's declared body size in bytes (Content-Length), or -1 when unknown
   * @param leastBytes  the fewest bytes the chunk can hold given {@code bodyBytes} (0 when unknown)
   */
  public record Request(Integer chunkNumber, Integer totalChunks, Long totalSize, long bodyBytes, long leastBytes) {
  }

  /**
   * The generation whose chunks {@link #allowance} needs, or null when it needs none.
   *
   * @param f the file, or null for a new one
   */
  public static Integer generationToRead(FileRecord f, Requester r, Request q) {
    if (f == null) {
      return null;
    }
    boolean fresh = f.uploadGeneration() == null;
    if (f.complete() && fresh) {
      return privileged(r) ? null : f.generation(); // a user may only re-send a stored chunk
    }
    if (fresh || q.chunkNumber() == null) {
      return null;
    }
    return f.totalSize() != null || q.totalSize() != null ? f.uploadGeneration() : null;
  }

  /**
   * Decides an upload from its request line, headers and the file's row, before any byte of its body
   * is read. It refuses only what {@link #commit} would refuse anyway once the bytes are stored (the
   * same message for the same rule); {@link #commit} still decides, as the file may change meanwhile.
   * Without a chunk number the request may still be a chunk (its number in a multipart field, read
   * later), so only what holds for a whole file and for any chunk alike is decided then.
   *
   * <p>A user may re-send a chunk of a complete file only when it can be the stored one: same number,
   * same {@code total_chunks}, and a body that can hold exactly its size.
   *
   * @param f      the file (already known to be in the caller's company), or null for a new one
   * @param r      who asks
   * @param q      what the request says before its body
   * @param chunks the chunks of the generation {@link #generationToRead} named (empty when none)
   * @return the most bytes the chunk may hold as far as {@code total_size} is concerned, or
   *     {@link #NO_LIMIT}
   * @throws ServiceException 403 for a user writing into another owner's pending file or overwriting a
   *     complete one; 400 for a chunk number beyond {@code total_chunks}, totals that contradict the
   *     recorded ones, or a chunk that must hold more bytes than {@code total_size} still allows
   */
  public static long allowance(FileRecord f, Requester r, Request q, List<ChunkRecord> chunks) {
    Integer number = q.chunkNumber();
    long leastPart = q.leastBytes();
    boolean fresh = f == null || f.uploadGeneration() == null;
    if (f != null && !privileged(r)) {
      if (f.complete()) {
        if (!fresh) {
          throw new ServiceException(Kind.FORBIDDEN, overwrite(f));
        }
        // only the re-sending of a stored chunk (same number, same size) is not an overwrite
        boolean canBeTheSame = false;
        for (ChunkRecord live : chunks) {
          canBeTheSame |= (number == null || number == live.chunkNumber())
              && (q.totalChunks() == null || q.totalChunks() == f.chunks())
              && (q.bodyBytes() < 0 || (q.bodyBytes() >= live.size() && leastPart <= live.size()));
        }
        if (!canBeTheSame) {
          throw new ServiceException(Kind.FORBIDDEN, overwrite(f));
        }
        return NO_LIMIT;
      }
      if (!"user".equals(f.ownerType()) || !f.ownerId().equals(r.subject())) {
        throw new ServiceException(Kind.FORBIDDEN, otherOwner(f));
      }
    }
    if (f != null && f.complete() && fresh) {
      return NO_LIMIT; // an application re-sending a stored chunk changes nothing, whatever its totals
    }
    Integer recordedChunks = fresh ? null : f.totalChunks();
    Long recordedSize = fresh ? null : f.totalSize();
    if (number == null) {
      // a whole file must hold exactly the recorded total_size, a chunk at most that
      return recordedSize == null ? NO_LIMIT : leaves(recordedSize, leastPart, "the file part");
    }
    Integer totalChunks = agree("total_chunks", recordedChunks, q.totalChunks());
    Long totalSize = agree("total_size", recordedSize, q.totalSize());
    if (totalChunks != null && number > totalChunks) {
      throw new ServiceException(Kind.BAD_REQUEST, outside(number, totalChunks));
    }
    if (totalSize == null) {
      return NO_LIMIT;
    }
    long others = 0;
    for (ChunkRecord c : chunks) {
      // as commit counts: not the copy this chunk replaces, nor chunks above a total now known
      if (c.chunkNumber() != number && (totalChunks == null || c.chunkNumber() <= totalChunks)) {
        others += c.size();
      }
    }
    return leaves(Math.max(0, totalSize - others), leastPart, "chunk " + number);
  }

  private static long leaves(long allowed, long leastPart, String what) {
    if (leastPart > allowed) {
      throw new ServiceException(Kind.BAD_REQUEST, what + " would hold at least " + leastPart + " bytes, more than the "
          + allowed + " bytes total_size still allows");
    }
    return allowed;
  }

  private static boolean privileged(Requester r) {
    return r.application() || r.serverRequest();
  }

  private static <T> T agree(String param, T recorded, T given) {
    if (recorded != null && given != null && !recorded.equals(given)) {
      throw new ServiceException(Kind.BAD_REQUEST, contradicts(param, given, recorded));
    }
    return recorded != null ? recorded : given;
  }

  // ---- one message per rule -------------------------------------------------------------------

  /** 404: no such file in the company. */
  public static String notFound(java.util.UUID fileId) {
    return "file " + fileId + " not found";
  }

  private static String overwrite(FileRecord f) {
    return "file " + f.id() + " is complete; only an application may overwrite it";
  }

  private static String otherOwner(FileRecord f) {
    return "file " + f.id() + " is being uploaded by another owner";
  }

  private static String contradicts(String param, Object given, Object recorded) {
    return param + " " + given + " contradicts the recorded " + recorded;
  }

  private static String outside(int number, int totalChunks) {
    return "chunk_number " + number + " is outside 1.." + totalChunks;
  }
}

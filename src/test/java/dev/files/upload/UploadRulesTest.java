package dev.files.upload;

import dev.files.error.ServiceException;
import dev.files.model.ChunkRecord;
import dev.files.model.FileRecord;
import io.vertx.core.json.JsonArray;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What an upload may send, decided from the request line, headers and the file's row alone ({@link UploadRules#allowance}). */
class UploadRulesTest {

  private static final UUID OWNER = UUID.randomUUID();
  private static final Requester USER = new Requester(OWNER, null, false);
  private static final Requester OTHER_USER = new Requester(UUID.randomUUID(), null, false);
  private static final UUID APP_ID = UUID.randomUUID();
  private static final Requester APP = new Requester(APP_ID, APP_ID, false);
  /** Most bytes of a multipart body outside its file part (MultipartParser.MAX_FORM_BYTES). */
  private static final long FORM = 1024 * 1024;
  private static final long MIB = 1024 * 1024;

  /** A file of OWNER: pending (upload generation 1 with the given totals), or complete (generation 1, 2 chunks). */
  private static FileRecord file(boolean complete, Integer totalChunks, Long totalSize) {
    return new FileRecord(UUID.randomUUID(), UUID.randomUUID(), "user", OWNER, OWNER, null, "f.bin", "application/octet-stream",
        complete ? 1 : null, complete ? 30 : 0, complete ? 2 : 0, complete ? null : 1, totalChunks, totalSize, null, null, 0,
        new JsonArray(), "none", 0, 0, "k1", new byte[0]);
  }

  /** The query's parameters; the body's size is given to {@link #allowance}. */
  private record Query(Integer chunk, Integer totalChunks, Long totalSize) {
  }

  private static Query query(Integer chunk, Integer totalChunks, Long totalSize) {
    return new Query(chunk, totalChunks, totalSize);
  }

  /** A multipart request of {@code contentLength} bytes (-1: unknown): its file part holds at least that minus the form. */
  private static UploadRules.Request request(Query q, long contentLength) {
    return new UploadRules.Request(q.chunk(), q.totalChunks(), q.totalSize(), contentLength,
        contentLength < 0 ? 0 : Math.max(0, contentLength - FORM));
  }

  private static long allowance(FileRecord f, Requester r, Query q, long contentLength, List<ChunkRecord> chunks) {
    return UploadRules.allowance(f, r, request(q, contentLength), chunks);
  }

  private static Integer generationToRead(FileRecord f, Requester r, Query q) {
    return UploadRules.generationToRead(f, r, request(q, -1));
  }

  private static final List<ChunkRecord> LIVE = List.of(new ChunkRecord(1, 20, "a", "k/1"), new ChunkRecord(2, 10, "b", "k/2"));

  @Test
  void anotherUsersPendingFileIs403WhateverTheBody() {
    assertThatThrownBy(() -> allowance(file(false, 3, null), OTHER_USER, query(1, 3, null), 10, List.of()))
        .isInstanceOf(ServiceException.class).hasMessageContaining("another owner")
        .satisfies(e -> assertThat(dev.files.error.ErrorAnswer.status(((ServiceException) e).kind())).isEqualTo(403));
  }

  @Test
  void aUserMayOnlyReSendAStoredChunkOfACompleteFile() {
    FileRecord done = file(true, null, null);
    assertThat(generationToRead(done, USER, query(null, null, null))).isEqualTo(1);
    // a body that can hold chunk 2 (10 bytes) again, by number or with the number in a field
    assertThat(allowance(done, USER, query(2, null, null), 200, LIVE)).isEqualTo(UploadRules.NO_LIMIT);
    assertThat(allowance(done, USER, query(null, null, null), 200, LIVE)).isEqualTo(UploadRules.NO_LIMIT);
    // a body too large for any stored chunk, a chunk that is not stored, other totals: overwrites
    for (Query q : List.of(query(null, null, null), query(1, null, null))) {
      assertThatThrownBy(() -> allowance(done, USER, q, 64 * MIB, LIVE))
          .hasMessageContaining("only an application");
    }
    assertThatThrownBy(() -> allowance(done, USER, query(3, null, null), 200, LIVE)).hasMessageContaining("only an application");
    assertThatThrownBy(() -> allowance(done, USER, query(2, 5, null), 200, LIVE)).hasMessageContaining("only an application");
    // an application may overwrite
    assertThat(allowance(done, APP, query(null, null, null), 64 * MIB, List.of())).isEqualTo(UploadRules.NO_LIMIT);
  }

  @Test
  void withoutAChunkNumberInTheQueryOnlyWhatHoldsForAnyChunkIsDecided() {
    FileRecord pending = file(false, 3, 1000L);
    // the number and totals may come as multipart fields (Resumable.js): total_chunks 3 is no contradiction yet
    assertThat(allowance(pending, USER, query(null, null, null), 5000, List.of())).isEqualTo(1000);
    // but no part of the file can hold more than total_size
    assertThatThrownBy(() -> allowance(pending, USER, query(null, null, null), 3 * MIB, List.of()))
        .hasMessageContaining("total_size still allows");
  }

  @Test
  void aChunkMayHoldWhatTotalSizeLeavesBesideTheOtherChunks() {
    FileRecord pending = file(false, 3, 1000L);
    List<ChunkRecord> stored = List.of(new ChunkRecord(1, 300, "a", "k/1"), new ChunkRecord(2, 500, "b", "k/2"));
    assertThat(generationToRead(pending, USER, query(2, null, null))).isEqualTo(1);
    assertThat(allowance(pending, USER, query(2, null, null), 5000, stored)).isEqualTo(700); // chunk 2 replaced
    assertThat(allowance(pending, USER, query(3, null, null), 5000, stored)).isEqualTo(200);
    assertThatThrownBy(() -> allowance(pending, USER, query(3, null, null), 2 * MIB, stored))
        .hasMessageContaining("chunk 3 would hold at least");
    assertThatThrownBy(() -> allowance(pending, USER, query(4, null, null), 10, stored))
        .hasMessageContaining("outside 1..3");
    assertThatThrownBy(() -> allowance(pending, USER, query(1, 2, null), 10, stored))
        .hasMessageContaining("total_chunks 2 contradicts the recorded 3");
    // a new file's chunk: the query's totals alone
    assertThat(allowance(null, USER, query(1, 2, 100L), -1, List.of())).isEqualTo(100);
    assertThat(allowance(null, USER, query(null, null, null), 64 * MIB, List.of())).isEqualTo(UploadRules.NO_LIMIT);
  }
}

package dev.files.http;

import dev.files.auth.Caller;
import dev.files.model.ChunkRecord;
import dev.files.model.FileRecord;
import io.vertx.core.json.JsonArray;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What an upload may send, decided from the request line, headers and the file's row alone. */
class UploadAdmissionTest {

  private static final UUID OWNER = UUID.randomUUID();
  private static final Caller USER = new Caller(OWNER, null, Set.of(), false);
  private static final Caller OTHER_USER = new Caller(UUID.randomUUID(), null, Set.of(), false);
  private static final UUID APP_ID = UUID.randomUUID();
  private static final Caller APP = new Caller(APP_ID, APP_ID, Set.of(), false);
  private static final long MIB = 1024 * 1024;

  /** A file of OWNER: pending (upload generation 1 with the given totals), or complete (generation 1, 2 chunks). */
  private static FileRecord file(boolean complete, Integer totalChunks, Long totalSize) {
    return new FileRecord(UUID.randomUUID(), UUID.randomUUID(), "user", OWNER, OWNER, null, "f.bin", "application/octet-stream",
        complete ? 1 : null, complete ? 30 : 0, complete ? 2 : 0, complete ? null : 1, totalChunks, totalSize, null, null, 0,
        new JsonArray(), "none", 0, 0, "k1", new byte[0]);
  }

  private static UploadParams query(Integer chunk, Integer totalChunks, Long totalSize) {
    return new UploadParams(chunk, totalChunks, totalSize, null, null, false);
  }

  private static final List<ChunkRecord> LIVE = List.of(new ChunkRecord(1, 20, "a", "k/1"), new ChunkRecord(2, 10, "b", "k/2"));

  @Test
  void anotherUsersPendingFileIs403WhateverTheBody() {
    assertThatThrownBy(() -> UploadAdmission.allowance(file(false, 3, null), OTHER_USER, query(1, 3, null), 10, List.of()))
        .isInstanceOf(ApiError.class).hasMessageContaining("another owner")
        .satisfies(e -> assertThat(((ApiError) e).status()).isEqualTo(403));
  }

  @Test
  void aUserMayOnlyReSendAStoredChunkOfACompleteFile() {
    FileRecord done = file(true, null, null);
    assertThat(UploadAdmission.generationToRead(done, USER, query(null, null, null))).isEqualTo(1);
    // a body that can hold chunk 2 (10 bytes) again, by number or with the number in a field
    assertThat(UploadAdmission.allowance(done, USER, query(2, null, null), 200, LIVE)).isEqualTo(UploadAdmission.NO_LIMIT);
    assertThat(UploadAdmission.allowance(done, USER, query(null, null, null), 200, LIVE)).isEqualTo(UploadAdmission.NO_LIMIT);
    // a body too large for any stored chunk, a chunk that is not stored, other totals: overwrites
    for (UploadParams q : List.of(query(null, null, null), query(1, null, null))) {
      assertThatThrownBy(() -> UploadAdmission.allowance(done, USER, q, 64 * MIB, LIVE))
          .hasMessageContaining("only an application");
    }
    assertThatThrownBy(() -> UploadAdmission.allowance(done, USER, query(3, null, null), 200, LIVE)).hasMessageContaining("only an application");
    assertThatThrownBy(() -> UploadAdmission.allowance(done, USER, query(2, 5, null), 200, LIVE)).hasMessageContaining("only an application");
    // an application may overwrite
    assertThat(UploadAdmission.allowance(done, APP, query(null, null, null), 64 * MIB, List.of())).isEqualTo(UploadAdmission.NO_LIMIT);
  }

  @Test
  void withoutAChunkNumberInTheQueryOnlyWhatHoldsForAnyChunkIsDecided() {
    FileRecord pending = file(false, 3, 1000L);
    // the number and totals may come as multipart fields (Resumable.js): total_chunks 3 is no contradiction yet
    assertThat(UploadAdmission.allowance(pending, USER, query(null, null, null), 5000, List.of())).isEqualTo(1000);
    // but no part of the file can hold more than total_size
    assertThatThrownBy(() -> UploadAdmission.allowance(pending, USER, query(null, null, null), 3 * MIB, List.of()))
        .hasMessageContaining("total_size still allows");
  }

  @Test
  void aChunkMayHoldWhatTotalSizeLeavesBesideTheOtherChunks() {
    FileRecord pending = file(false, 3, 1000L);
    List<ChunkRecord> stored = List.of(new ChunkRecord(1, 300, "a", "k/1"), new ChunkRecord(2, 500, "b", "k/2"));
    assertThat(UploadAdmission.generationToRead(pending, USER, query(2, null, null))).isEqualTo(1);
    assertThat(UploadAdmission.allowance(pending, USER, query(2, null, null), 5000, stored)).isEqualTo(700); // chunk 2 replaced
    assertThat(UploadAdmission.allowance(pending, USER, query(3, null, null), 5000, stored)).isEqualTo(200);
    assertThatThrownBy(() -> UploadAdmission.allowance(pending, USER, query(3, null, null), 2 * MIB, stored))
        .hasMessageContaining("chunk 3 would hold at least");
    assertThatThrownBy(() -> UploadAdmission.allowance(pending, USER, query(4, null, null), 10, stored))
        .hasMessageContaining("outside 1..3");
    assertThatThrownBy(() -> UploadAdmission.allowance(pending, USER, query(1, 2, null), 10, stored))
        .hasMessageContaining("total_chunks 2 contradicts the recorded 3");
    // a new file's chunk: the query's totals alone
    assertThat(UploadAdmission.allowance(null, USER, query(1, 2, 100L), -1, List.of())).isEqualTo(100);
    assertThat(UploadAdmission.allowance(null, USER, query(null, null, null), 64 * MIB, List.of())).isEqualTo(UploadAdmission.NO_LIMIT);
  }
}

package dev.files.upload;

import dev.files.crypto.DataKeys;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code commit} message of an upload session on the event bus: nodes of two versions exchange it
 * during a rolling restart, so its JSON is pinned here, field by field, whatever the shape of
 * {@link ChunkCommit} in Java.
 */
class ChunkCommitJsonTest {

  private static final UUID FILE = UUID.fromString("0f0e0d0c-0b0a-4908-8706-050403020100");
  private static final UUID COMPANY = UUID.fromString("11111111-2222-4333-8444-555555555555");
  private static final UUID USER = UUID.fromString("66666666-7777-4888-8999-aaaaaaaaaaaa");
  private static final UUID APP = UUID.fromString("bbbbbbbb-cccc-4ddd-8eee-ffffffffffff");
  private static final UUID COMMIT = UUID.fromString("12345678-9abc-4def-8123-456789abcdef");

  /** Every field set: the message as nodes of the previous version wrote and read it. */
  private static final String FULL = "{\"action\":\"commit\","
      + "\"company_id\":\"11111111-2222-4333-8444-555555555555\","
      + "\"caller\":{\"sub\":\"66666666-7777-4888-8999-aaaaaaaaaaaa\","
      + "\"application_id\":\"bbbbbbbb-cccc-4ddd-8eee-ffffffffffff\",\"server_request\":false},"
      + "\"create\":true,\"whole\":false,\"chunk_number\":3,\"total_chunks\":5,\"total_size\":5000,"
      + "\"name\":\"report.pdf\",\"mime\":\"application/pdf\",\"sniffed_mime\":\"image/png\","
      + "\"storage_key\":\"0f/0f0e0d0c-0b0a-4908-8706-050403020100/k.chunk\",\"size\":1000,"
      + "\"sha256\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\"generation\":2,"
      + "\"data_key_id\":\"key-1\",\"data_key\":\"YWJj\","
      + "\"commit_id\":\"12345678-9abc-4def-8123-456789abcdef\",\"offset\":2000}";

  private static ChunkCommit full() {
    return new ChunkCommit(
        new ChunkCommit.Upload(FILE, COMPANY, new Requester(USER, APP, false), true),
        new ChunkCommit.Declared(false, 5, 5000L, "report.pdf", "application/pdf", 2000L),
        new ChunkCommit.Stored(3, 2, "0f/" + FILE + "/k.chunk", 1000,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "image/png",
            new DataKeys.Wrapped("key-1", "abc".getBytes(StandardCharsets.US_ASCII))),
        COMMIT);
  }

  @Test
  void aCommitIsWrittenAsTheFlatMessageOfEveryVersion() {
    assertThat(full().toJson().encode()).isEqualTo(FULL);
  }

  @Test
  void theFlatMessageIsReadBackIntoTheSameCommit() {
    ChunkCommit read = ChunkCommit.fromJson(FILE, new JsonObject(FULL));
    assertThat(read.upload()).isEqualTo(new ChunkCommit.Upload(FILE, COMPANY, new Requester(USER, APP, false), true));
    assertThat(read.declared()).isEqualTo(new ChunkCommit.Declared(false, 5, 5000L, "report.pdf", "application/pdf", 2000L));
    ChunkCommit.Stored s = read.stored();
    assertThat(s.chunkNumber()).isEqualTo(3);
    assertThat(s.generation()).isEqualTo(2);
    assertThat(s.storageKey()).isEqualTo("0f/" + FILE + "/k.chunk");
    assertThat(s.size()).isEqualTo(1000);
    assertThat(s.sha256()).isEqualTo("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    assertThat(s.sniffedMime()).isEqualTo("image/png");
    assertThat(s.dataKey().masterKeyId()).isEqualTo("key-1");
    assertThat(s.dataKey().bytes()).isEqualTo("abc".getBytes(StandardCharsets.US_ASCII));
    assertThat(read.commitId()).isEqualTo(COMMIT);
    assertThat(read.toJson().encode()).isEqualTo(FULL);
  }

  /** A message of an older node: no commit id, no offset, no data key, no create or whole flag. */
  @Test
  void anOlderNodesMessageWithoutTheOptionalFieldsIsRead() {
    JsonObject old = new JsonObject(FULL);
    for (String field : new String[]{"commit_id", "offset", "data_key_id", "data_key", "create", "whole"}) {
      old.remove(field);
    }
    ChunkCommit read = ChunkCommit.fromJson(FILE, old);
    assertThat(read.commitId()).isNull();
    assertThat(read.declared().offset()).isNull();
    assertThat(read.stored().dataKey()).isNull();
    assertThat(read.upload().create()).isFalse();
    assertThat(read.declared().whole()).isFalse();
    assertThat(read.fileId()).isEqualTo(FILE);
    assertThat(read.chunkNumber()).isEqualTo(3);
  }
}

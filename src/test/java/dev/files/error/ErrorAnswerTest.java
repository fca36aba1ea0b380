package dev.files.error;

import dev.files.api.FilesApiFailure;
import io.vertx.core.impl.NoStackTraceException;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The one mapping of a failure to its answer, used by the HTTP and the files.api edges alike. */
class ErrorAnswerTest {

  /** Every kind, its status (HTTP and files.api failure code) and the Retry-After of a 503 (0: none). */
  private static final Map<Kind, int[]> EXPECTED = new EnumMap<>(Map.ofEntries(
      Map.entry(Kind.BAD_REQUEST, new int[] {400, 0}),
      Map.entry(Kind.UNAUTHORIZED, new int[] {401, 0}),
      Map.entry(Kind.FORBIDDEN, new int[] {403, 0}),
      Map.entry(Kind.NOT_FOUND, new int[] {404, 0}),
      Map.entry(Kind.METHOD_NOT_ALLOWED, new int[] {405, 0}),
      Map.entry(Kind.TIMEOUT, new int[] {408, 0}),
      Map.entry(Kind.CONFLICT, new int[] {409, 0}),
      Map.entry(Kind.GONE, new int[] {410, 0}),
      Map.entry(Kind.PRECONDITION_FAILED, new int[] {412, 0}),
      Map.entry(Kind.TOO_LARGE, new int[] {413, 0}),
      Map.entry(Kind.UNSUPPORTED_TYPE, new int[] {415, 0}),
      Map.entry(Kind.RANGE_NOT_SATISFIABLE, new int[] {416, 0}),
      Map.entry(Kind.CHECKSUM_MISMATCH, new int[] {460, 0}),
      Map.entry(Kind.BUSY, new int[] {503, 1}),
      Map.entry(Kind.UNAVAILABLE, new int[] {503, 5}),
      Map.entry(Kind.OUTCOME_UNKNOWN, new int[] {503, 1}),
      Map.entry(Kind.FULL, new int[] {507, 0}),
      Map.entry(Kind.DAMAGED, new int[] {500, 0}),
      Map.entry(Kind.INTERNAL, new int[] {500, 0})));

  @Test
  void everyKindHasItsStatusAndRetryAfter() {
    assertThat(EXPECTED.keySet()).containsExactlyInAnyOrder(Kind.values());
    for (Kind kind : Kind.values()) {
      ErrorAnswer a = ErrorAnswer.of(new ServiceException(kind, "m"));
      assertThat(a.kind()).isEqualTo(kind);
      assertThat(a.status()).as(kind.name()).isEqualTo(EXPECTED.get(kind)[0]);
      assertThat(a.retryAfterS()).as(kind.name()).isEqualTo(EXPECTED.get(kind)[1]);
      assertThat(a.message()).isEqualTo("m");
    }
  }

  @Test
  void theBusContractReadsTheSameStatus() {
    assertThat(ErrorAnswer.status(Kind.FULL)).isEqualTo(FilesApiFailure.STORAGE_FULL.status());
    for (FilesApiFailure f : FilesApiFailure.values()) {
      if (f.status() > 0) {
        assertThat(java.util.Arrays.stream(Kind.values()).map(ErrorAnswer::status)).as(f.name()).contains(f.status());
      }
    }
    for (Kind kind : Kind.values()) {
      int status = ErrorAnswer.status(kind);
      FilesApiFailure f = FilesApiFailure.of(new io.vertx.core.eventbus.ReplyException(
          io.vertx.core.eventbus.ReplyFailure.RECIPIENT_FAILURE, status, "m"));
      assertThat(f.status()).as(kind.name()).isIn(status, -1);
      assertThat(f.retryable()).as(kind.name()).isEqualTo(status == 503);
    }
  }

  @Test
  void replyCodesRebuildTheKind() {
    for (Kind kind : Kind.values()) {
      assertThat(Kind.ofReplyCode(kind.replyCode())).isEqualTo(kind);
      ServiceException e = ServiceException.ofReply(kind.replyCode(), "m");
      assertThat(e.kind()).isEqualTo(kind);
      assertThat(e.mayHaveBeenRecorded()).isEqualTo(kind == Kind.OUTCOME_UNKNOWN);
    }
    assertThat(ServiceException.ofReply(1307, "moved")).isNull();
  }

  @Test
  void otherFailuresAreClassified() {
    assertThat(ErrorAnswer.of(new IllegalStateException("secret /path")))
        .isEqualTo(new ErrorAnswer(Kind.INTERNAL, 500, "internal error", 0));
    assertThat(ErrorAnswer.of(new RuntimeException(new java.net.ConnectException("refused"))))
        .isEqualTo(new ErrorAnswer(Kind.UNAVAILABLE, 503, "database unavailable", 5));
    assertThat(ErrorAnswer.of(new io.vertx.core.http.ConnectionPoolTooBusyException("full")))
        .isEqualTo(new ErrorAnswer(Kind.BUSY, 503, ServiceException.DATABASE_BUSY, 1));
    assertThat(ErrorAnswer.of(new NoStackTraceException("x")).kind()).isEqualTo(Kind.INTERNAL);
  }

  @Test
  void onlyKnownFailuresFreeTheObject() {
    assertThat(ServiceException.objectMayBeReferenced(new ServiceException(Kind.CONFLICT, "m"))).isFalse();
    assertThat(ServiceException.objectMayBeReferenced(new ServiceException(Kind.CONFLICT, "m").mayHaveBeenRecordedToo())).isTrue();
    assertThat(ServiceException.objectMayBeReferenced(ServiceException.outcomeUnknown("x"))).isTrue();
    assertThat(ServiceException.objectMayBeReferenced(new IllegalStateException())).isTrue();
  }
}

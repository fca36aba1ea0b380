package dev.files.support;

import io.vertx.core.Future;
import io.vertx.core.eventbus.ReplyException;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Calls over the event bus that must fail. */
public final class BusReplies {

  private BusReplies() {
  }

  /**
   * The failure of {@code call}, which must fail with a {@link ReplyException} within {@code within}.
   *
   * @throws AssertionError when it succeeds, fails otherwise, or does not end in time
   */
  public static ReplyException failure(Future<?> call, Duration within) {
    try {
      call.await(within.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ReplyException e) {
      return e;
    } catch (Exception e) {
      throw new AssertionError("expected a ReplyException, got " + e, e);
    }
    throw new AssertionError("the call succeeded");
  }
}

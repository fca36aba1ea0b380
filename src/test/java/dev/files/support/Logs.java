package dev.files.support;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;

/** Reading what a logback {@link ListAppender} captured while other threads keep logging. */
public final class Logs {

  private Logs() {
  }

  /**
   * A copy of the appender's events, taken under the appender's lock (logback appends under it),
   * so that a test never iterates the list while a node's thread adds to it.
   */
  public static List<ILoggingEvent> snapshot(ListAppender<ILoggingEvent> appender) {
    synchronized (appender) {
      return List.copyOf(appender.list);
    }
  }

  /** Forgets what the appender captured so far, under its lock. */
  public static void clear(ListAppender<ILoggingEvent> appender) {
    synchronized (appender) {
      appender.list.clear();
    }
  }
}

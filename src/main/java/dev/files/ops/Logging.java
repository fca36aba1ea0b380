package dev.files.ops;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.LoggerFactory;

import java.util.Iterator;
import java.util.Locale;

/**
 * Applies {@code log.format} and {@code log.level} to Logback (configured first by {@code logback.xml}):
 * {@code text} keeps the pattern of logback.xml; {@code json} writes one JSON object per line on
 * standard output ({@code @timestamp}, {@code level}, {@code logger_name}, {@code thread_name},
 * {@code message}, {@code stack_trace}) through logstash-logback-encoder.
 */
public final class Logging {

  private Logging() {
  }

  /**
   * @param format {@code text} or {@code json}
   * @param level  {@code trace}, {@code debug}, {@code info}, {@code warn} or {@code error}: the root level
   */
  public static void apply(String format, String level) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    if (!level.isBlank()) {
      root.setLevel(Level.toLevel(level.toUpperCase(Locale.ROOT), Level.INFO));
    }
    if ("json".equalsIgnoreCase(format.strip())) {
      for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
        if (it.next() instanceof ConsoleAppender<ILoggingEvent> console) {
          console.stop();
          LogstashEncoder encoder = new LogstashEncoder();
          encoder.setContext(context);
          encoder.start();
          console.setEncoder(encoder);
          console.start();
        }
      }
    }
  }
}

package dev.files.http;

import io.vertx.core.http.HttpServerRequest;

import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * The request id every response carries as {@code X-Request-Id} and every error body as
 * {@code request_id} (docs/api.md, "Errors"); log lines about a request name it, so that an error a
 * client reports can be found in the log.
 *
 * <p>A client's own {@code X-Request-Id} is kept when it is sane: 1 to {@value #MAX_LENGTH}
 * characters of {@code [A-Za-z0-9._-]}. Anything else (longer, other characters, several values) is
 * replaced by a new id: 32 random hex digits. The id lives on the response's header, so every part of
 * the edge that holds the request can read it with {@link #of(HttpServerRequest)}.
 */
public final class RequestIds {

  /** The header, in requests and responses. */
  public static final String HEADER = "X-Request-Id";
  /** Longest client-given id that is kept, in characters. */
  public static final int MAX_LENGTH = 64;

  private static final HexFormat HEX = HexFormat.of();
  private static final Pattern SANE = Pattern.compile("[A-Za-z0-9._-]{1," + MAX_LENGTH + "}");

  private RequestIds() {
  }

  /**
   * Gives {@code req} its id (the client's when sane, else a new one) and puts it on the response.
   *
   * @return the id
   */
  public static String assign(HttpServerRequest req) {
    String id = req.response().headers().get(HEADER);
    if (id != null) {
      return id;
    }
    var given = req.headers().getAll(HEADER);
    id = given.size() == 1 && SANE.matcher(given.get(0)).matches() ? given.get(0) : generate();
    req.response().putHeader(HEADER, id);
    return id;
  }

  /** The id of {@code req}, assigning one when none was yet. */
  public static String of(HttpServerRequest req) {
    return assign(req);
  }

  /** True when {@code id} would be kept as a client's request id. */
  public static boolean sane(String id) {
    return id != null && SANE.matcher(id).matches();
  }

  /**
   * A new id: 128 random bits as 32 lower-case hex digits. Made on every request, so without
   * {@code String.format} (its format string is parsed anew each call).
   */
  static String generate() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    return HEX.toHexDigits(r.nextLong()) + HEX.toHexDigits(r.nextLong());
  }
}

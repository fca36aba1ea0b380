package dev.files.http;

import io.netty.buffer.ByteBuf;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.streams.WriteStream;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A streaming {@code multipart/form-data} parser (RFC 7578, RFC 2046 §5.1), used as the write end
 * of the request body: {@code request.pipeTo(parser)}. Text fields are collected (at most
 * {@value #MAX_FIELD_BYTES} bytes each, {@value #MAX_FIELDS} fields); the bytes of a file part go,
 * without copies, to the {@link WriteStream} that {@link Listener#filePart} returns, and that
 * stream's back-pressure applies to the request. File names are taken as sent (UTF-8, or
 * {@code filename*} of RFC 5987), not rewritten. Malformed bodies fail a write, or {@link #end()},
 * with a 400 {@link ApiError}.
 */
final class MultipartParser implements WriteStream<Buffer> {

  static final int MAX_HEADER_BYTES = 16 * 1024;
  static final int MAX_FIELD_BYTES = 64 * 1024;
  static final int MAX_FIELDS = 256;

  /** What the parser reports. */
  interface Listener {
    /**
     * A file part starts.
     *
     * @param name        the part's form field name
     * @param filename    the file name as sent (null when the part has none)
     * @param contentType the part's Content-Type, or null
     * @return where its bytes go ({@link WriteStream#end()} is called after the last byte), or null to drop them
     */
    WriteStream<Buffer> filePart(String name, String filename, String contentType);
  }

  private enum State { PREAMBLE, AFTER_BOUNDARY, HEADERS, BODY, EPILOGUE }

  private final Listener listener;
  private final byte[] delimiter; // CRLF "--" boundary
  private final int[] shift0; // search shifts of the whole delimiter
  private final MultiMap fields = MultiMap.caseInsensitiveMultiMap();
  private State state = State.PREAMBLE;
  private Buffer carry = Buffer.buffer(); // bytes that may start a delimiter, or an unfinished header block
  private WriteStream<Buffer> sink; // current file part's destination, or null
  private boolean fieldPart;
  private String fieldName;
  private Buffer fieldValue;
  private Handler<Void> drainHandler;
  private int partialStart; // where the delimiter prefix at the end of the last searched buffer starts
  private boolean closed;

  MultipartParser(String boundary, Listener listener) {
    this.listener = listener;
    this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    this.shift0 = shiftTable(0);
  }

  /** The boundary parameter of a {@code multipart/form-data} Content-Type; 400 when missing. */
  static String boundary(String contentType) {
    for (String param : contentType.split(";")) {
      String p = param.strip();
      if (p.regionMatches(true, 0, "boundary=", 0, 9)) {
        String b = p.substring(9).strip();
        if (b.length() >= 2 && b.startsWith("\"") && b.endsWith("\"")) {
          b = b.substring(1, b.length() - 1);
        }
        if (!b.isEmpty() && b.length() <= 70) {
          return b;
        }
      }
    }
    throw ApiError.badRequest("multipart/form-data without a valid boundary parameter");
  }

  /** The text fields read so far. */
  MultiMap fields() {
    return fields;
  }

  /** True once the closing delimiter was read. */
  boolean complete() {
    return state == State.EPILOGUE;
  }

  @Override
  public Future<Void> write(Buffer data) {
    try {
      return parse(carry.length() == 0 ? data : carry.appendBuffer(data));
    } catch (ApiError e) {
      return Future.failedFuture(e);
    }
  }

  private Future<Void> parse(Buffer work) {
    carry = Buffer.buffer();
    Future<Void> result = Future.succeededFuture();
    int pos = 0;
    int length = work.length();
    while (pos < length) {
      switch (state) {
        case PREAMBLE -> {
          // The first boundary may come without the leading CRLF.
          int at = find(work, pos, 2); // skip "\r\n": match "--boundary"
          if (at == -1) {
            pos = length;
          } else if (at == -2) {
            carry = work.getBuffer(partialStart, length);
            pos = length;
          } else {
            pos = at + delimiter.length - 2;
            state = State.AFTER_BOUNDARY;
          }
        }
        case AFTER_BOUNDARY -> {
          if (length - pos < 2) {
            carry = work.getBuffer(pos, length);
            pos = length;
          } else if (work.getByte(pos) == '-' && work.getByte(pos + 1) == '-') {
            state = State.EPILOGUE;
            pos = length;
          } else {
            int eol = indexOfCrlf(work, pos);
            if (eol < 0) { // transport padding before the CRLF
              if (length - pos > 256) {
                throw ApiError.badRequest("malformed multipart body: no line end after a boundary");
              }
              carry = work.getBuffer(pos, length);
              pos = length;
            } else {
              pos = eol + 2;
              state = State.HEADERS;
            }
          }
        }
        case HEADERS -> {
          if (length - pos < 2) {
            carry = work.getBuffer(pos, length);
            pos = length;
            continue;
          }
          if (work.getByte(pos) == '\r' && work.getByte(pos + 1) == '\n') { // a part without headers
            startPart(new byte[0]);
            pos += 2;
            state = State.BODY;
            continue;
          }
          int end = indexOf(work, pos, new byte[]{'\r', '\n', '\r', '\n'});
          if (end < 0) {
            if (length - pos > MAX_HEADER_BYTES) {
              throw ApiError.badRequest("multipart part headers exceed " + MAX_HEADER_BYTES + " bytes");
            }
            carry = work.getBuffer(pos, length);
            pos = length;
          } else {
            startPart(work.getBytes(pos, end));
            pos = end + 4;
            state = State.BODY;
          }
        }
        case BODY -> {
          int at = find(work, pos, 0);
          int dataEnd = at >= 0 ? at : (at == -2 ? partialStart : length);
          if (dataEnd > pos) {
            Future<Void> written = partData(work.slice(pos, dataEnd));
            result = result.failed() ? result : written;
          }
          if (at >= 0) {
            endPart();
            pos = at + delimiter.length;
            state = State.AFTER_BOUNDARY;
          } else {
            if (at == -2) {
              carry = work.getBuffer(partialStart, length);
            }
            pos = length;
          }
        }
        case EPILOGUE -> pos = length;
        default -> throw new IllegalStateException();
      }
    }
    return result;
  }

  /**
   * Finds the delimiter (from byte {@code skip} of it) in {@code work} from {@code from}: its index,
   * -1 when absent, or -2 when the buffer ends with a prefix of it (which starts at {@link #partialStart}).
   * Boyer-Moore-Horspool over the buffer's bytes: most steps skip a whole delimiter length.
   */
  private int find(Buffer work, int from, int skip) {
    ByteBuf buf = ((BufferInternal) work).getByteBuf();
    byte[] a;
    int off;
    if (buf.hasArray()) {
      a = buf.array();
      off = buf.arrayOffset() + buf.readerIndex();
    } else {
      a = work.getBytes();
      off = 0;
    }
    int n = work.length();
    int m = delimiter.length - skip;
    int[] shift = skip == 0 ? shift0 : shiftTable(skip);
    int i = from;
    while (i <= n - m) {
      int j = m - 1;
      while (j >= 0 && a[off + i + j] == delimiter[skip + j]) {
        j--;
      }
      if (j < 0) {
        return i;
      }
      i += shift[a[off + i + m - 1] & 0xFF];
    }
    // A prefix of the delimiter at the very end of the buffer?
    for (int k = Math.max(from, n - m + 1); k < n; k++) {
      int len = n - k;
      boolean prefix = true;
      for (int t = 0; t < len; t++) {
        if (a[off + k + t] != delimiter[skip + t]) {
          prefix = false;
          break;
        }
      }
      if (prefix) {
        partialStart = k;
        return -2;
      }
    }
    return -1;
  }

  /** Horspool's bad-character shifts for the delimiter from byte {@code skip}. */
  private int[] shiftTable(int skip) {
    int m = delimiter.length - skip;
    int[] shift = new int[256];
    java.util.Arrays.fill(shift, m);
    for (int i = 0; i < m - 1; i++) {
      shift[delimiter[skip + i] & 0xFF] = m - 1 - i;
    }
    return shift;
  }

  private static int indexOfCrlf(Buffer work, int from) {
    return indexOf(work, from, new byte[]{'\r', '\n'});
  }

  private static int indexOf(Buffer work, int from, byte[] pattern) {
    outer:
    for (int i = from; i <= work.length() - pattern.length; i++) {
      for (int k = 0; k < pattern.length; k++) {
        if (work.getByte(i + k) != pattern[k]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private void startPart(byte[] headerBytes) {
    String name = null;
    String filename = null;
    String filenameExt = null;
    String contentType = null;
    for (String line : utf8(headerBytes).split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon <= 0) {
        continue;
      }
      String header = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).strip();
      if (header.equals("content-type")) {
        contentType = value;
      } else if (header.equals("content-disposition")) {
        for (String[] param : HeaderParams.parse(value)) {
          switch (param[0].toLowerCase(Locale.ROOT)) {
            case "name" -> name = param[1];
            case "filename" -> filename = param[1];
            case "filename*" -> filenameExt = HeaderParams.decodeExtValue(param[1]);
            default -> { }
          }
        }
      }
    }
    if (filenameExt != null) {
      filename = filenameExt;
    }
    if (filename == null) {
      if (fields.size() >= MAX_FIELDS) {
        throw ApiError.badRequest("more than " + MAX_FIELDS + " multipart fields");
      }
      fieldPart = true;
      fieldName = name == null ? "" : name;
      fieldValue = Buffer.buffer();
      sink = null;
    } else {
      fieldPart = false;
      sink = listener.filePart(name, filename, contentType);
      if (sink != null && drainHandler != null) {
        sink.drainHandler(drainHandler);
      }
    }
  }

  private Future<Void> partData(Buffer data) {
    if (fieldPart) {
      if (fieldValue.length() + data.length() > MAX_FIELD_BYTES) {
        throw ApiError.badRequest("multipart field " + fieldName + " exceeds " + MAX_FIELD_BYTES + " bytes");
      }
      fieldValue.appendBuffer(data);
      return Future.succeededFuture();
    }
    return sink == null ? Future.succeededFuture() : sink.write(data);
  }

  private void endPart() {
    if (fieldPart) {
      fields.add(fieldName, utf8(fieldValue.getBytes()));
      fieldPart = false;
      return;
    }
    WriteStream<Buffer> done = sink;
    sink = null;
    if (done != null) {
      done.end(); // after the part's writes; the listener follows the outcome of its own stream
    }
  }

  private static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      // Not UTF-8: read as ISO-8859-1, which never fails (old clients).
      return new String(bytes, StandardCharsets.ISO_8859_1);
    }
  }

  /** The request body ended: fails with 400 unless the closing delimiter was read. */
  @Override
  public Future<Void> end() {
    closed = true;
    if (state != State.EPILOGUE) {
      return Future.failedFuture(ApiError.badRequest("truncated multipart body: no closing boundary"));
    }
    return Future.succeededFuture();
  }

  /** True once {@link #end()} was called. */
  boolean ended() {
    return closed;
  }

  @Override
  public WriteStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
    return this;
  }

  @Override
  public WriteStream<Buffer> setWriteQueueMaxSize(int maxSize) {
    return this;
  }

  @Override
  public boolean writeQueueFull() {
    return sink != null && sink.writeQueueFull();
  }

  @Override
  public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
    drainHandler = handler;
    if (sink != null) {
      sink.drainHandler(handler);
    }
    return this;
  }
}

package dev.files.http;

import dev.files.error.Kind;
import dev.files.error.ServiceException;
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
 * of the request body. Text fields are collected (at most {@value #MAX_FIELD_BYTES} bytes each);
 * the bytes of a file part go, without copies, to the {@link WriteStream} that
 * {@link Listener#filePart} returns, and that stream's back-pressure applies to the request. File
 * names are taken as sent (UTF-8, or {@code filename*} of RFC 5987), not rewritten.
 *
 * <p>Limits, whatever the parts look like (named, repeated or nameless): at most
 * {@value #MAX_PARTS} parts of any kind (400), part headers of at most {@value #MAX_HEADER_BYTES}
 * bytes (400), and at most {@value #MAX_FORM_BYTES} bytes of the body outside the file parts whose
 * bytes are kept (text fields, part headers, dropped parts, preamble, epilogue: 413). So the bytes of
 * the kept file part are at least Content-Length minus {@value #MAX_FORM_BYTES}, which lets an
 * upload be refused from its headers alone. Parsing is linear in the body: every byte is examined a
 * bounded number of times (a few times the delimiter's length, at most 74 bytes), however the body
 * is split into writes; {@link #work()} counts those examinations. Malformed bodies fail a write, or
 * {@link #end()}, with an {@link ServiceException} (400, or 413 for {@value #MAX_FORM_BYTES}).
 */
final class MultipartParser implements WriteStream<Buffer> {

  /** Largest header block of one part, bytes. */
  static final int MAX_HEADER_BYTES = 16 * 1024;
  /** Largest text field value, bytes. */
  static final int MAX_FIELD_BYTES = 64 * 1024;
  /** Most parts of any kind in one body. */
  static final int MAX_PARTS = 1000;
  /** Most bytes of a body outside the kept file parts' contents (text fields, headers, dropped parts). */
  static final long MAX_FORM_BYTES = 1024 * 1024;
  /** Most bytes of transport padding between a delimiter and its line end. */
  private static final int MAX_PADDING = 256;

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
  private final int[] shift2; // search shifts of the delimiter without its CRLF (the first boundary)
  private final int[] fail0; // prefix function of the whole delimiter (a prefix of it ending a buffer)
  private final int[] fail2; // the same without its CRLF
  private final MultiMap fields = MultiMap.caseInsensitiveMultiMap();
  private State state = State.PREAMBLE;
  private Buffer carry = Buffer.buffer(); // bytes at the end of the last write that may start a delimiter
  private WriteStream<Buffer> sink; // current file part's destination, or null
  private boolean fieldPart;
  private String fieldName;
  private Buffer fieldValue;
  private Handler<Void> drainHandler;
  private int partialStart; // where the delimiter prefix at the end of the last searched buffer starts
  private boolean closed;
  private int parts;
  private long formBytes;
  private long examined;
  // HEADERS: the header block read so far, preceded by the CRLF that ended the boundary line, and how
  // much of CRLF CRLF has been matched at its end
  private Buffer header = Buffer.buffer();
  private int headerMatch;
  // AFTER_BOUNDARY: bytes read since the delimiter, the first of them, the last of them
  private int padding;
  private byte firstAfter;
  private byte lastAfter;

  MultipartParser(String boundary, Listener listener) {
    this.listener = listener;
    this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    this.shift0 = shiftTable(0);
    this.shift2 = shiftTable(2);
    this.fail0 = failTable(0);
    this.fail2 = failTable(2);
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
    throw ServiceException.badRequest("multipart/form-data without a valid boundary parameter");
  }

  /** The text fields read so far. */
  MultiMap fields() {
    return fields;
  }

  /** True once the closing delimiter was read. */
  boolean complete() {
    return state == State.EPILOGUE;
  }

  /** Parts started so far (fields and files). */
  int parts() {
    return parts;
  }

  /**
   * Bytes examined so far, counting every comparison of the delimiter search and every byte copied
   * or scanned elsewhere: a small multiple of the delimiter's length per body byte (a linearity
   * witness for tests).
   */
  long work() {
    return examined;
  }

  @Override
  public Future<Void> write(Buffer data) {
    try {
      Buffer work;
      if (carry.length() == 0) {
        // the delimiter search reads the bytes in place: a direct buffer is copied to the heap once
        work = ((BufferInternal) data).getByteBuf().hasArray() ? data : Buffer.buffer(data.getBytes());
      } else {
        examined += carry.length() + data.length();
        work = carry.appendBuffer(data);
      }
      return parse(work);
    } catch (ServiceException e) {
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
          int end = at >= 0 ? at + delimiter.length - 2 : at == -2 ? partialStart : length;
          countForm(end - pos);
          if (at == -1) {
            pos = length;
          } else if (at == -2) {
            carry = work.getBuffer(partialStart, length);
            pos = length;
          } else {
            pos = end;
            startAfterBoundary();
          }
        }
        case AFTER_BOUNDARY -> pos = afterBoundary(work, pos, length);
        case HEADERS -> pos = headers(work, pos, length);
        case BODY -> {
          int at = find(work, pos, 0);
          int dataEnd = at >= 0 ? at : (at == -2 ? partialStart : length);
          if (dataEnd > pos) {
            Future<Void> written = partData(work.slice(pos, dataEnd));
            result = result.failed() ? result : written;
          }
          if (at >= 0) {
            endPart();
            countForm(delimiter.length);
            pos = at + delimiter.length;
            startAfterBoundary();
          } else {
            if (at == -2) {
              carry = work.getBuffer(partialStart, length);
            }
            pos = length;
          }
        }
        case EPILOGUE -> {
          countForm(length - pos);
          pos = length;
        }
        default -> throw new IllegalStateException();
      }
    }
    return result;
  }

  private void startAfterBoundary() {
    state = State.AFTER_BOUNDARY;
    padding = 0;
  }

  /**
   * After a delimiter: {@code --} closes the body; else transport padding, then CRLF starts a part's
   * headers. Byte by byte, so that a body split into tiny writes is read once.
   */
  private int afterBoundary(Buffer work, int pos, int length) {
    while (pos < length) {
      byte b = work.getByte(pos++);
      examined++;
      countForm(1);
      padding++;
      if (padding == 1) {
        firstAfter = b;
      } else if (padding == 2 && firstAfter == '-' && b == '-') {
        state = State.EPILOGUE;
        return pos;
      } else if (b == '\n' && lastAfter == '\r') {
        startHeaders();
        return pos;
      }
      lastAfter = b;
      if (padding > MAX_PADDING) {
        throw ServiceException.badRequest("malformed multipart body: no line end after a boundary");
      }
    }
    return pos;
  }

  private void startHeaders() {
    if (parts >= MAX_PARTS) {
      throw ServiceException.badRequest("a multipart body may have at most " + MAX_PARTS + " parts");
    }
    parts++;
    state = State.HEADERS;
    header = Buffer.buffer(256).appendString("\r\n");
    headerMatch = 2; // the CRLF that ended the boundary line: a blank line right away means no headers
  }

  /** A part's header block, up to the blank line: scanned once, byte by byte. */
  private int headers(Buffer work, int pos, int length) {
    int start = pos;
    while (pos < length) {
      byte b = work.getByte(pos++);
      boolean expected = (headerMatch % 2 == 0) ? b == '\r' : b == '\n';
      headerMatch = expected ? headerMatch + 1 : (b == '\r' ? 1 : 0);
      if (headerMatch == 4) {
        header.appendBuffer(work, start, pos - start);
        examined += pos - start;
        countForm(pos - start);
        int n = header.length() - 4; // without the final CRLF CRLF
        if (n - 2 > MAX_HEADER_BYTES) {
          throw ServiceException.badRequest("multipart part headers exceed " + MAX_HEADER_BYTES + " bytes");
        }
        startPart(n > 2 ? header.getBytes(2, n) : new byte[0]);
        state = State.BODY;
        return pos;
      }
    }
    header.appendBuffer(work, start, length - start);
    examined += length - start;
    countForm(length - start);
    if (header.length() - 2 > MAX_HEADER_BYTES) {
      throw ServiceException.badRequest("multipart part headers exceed " + MAX_HEADER_BYTES + " bytes");
    }
    return length;
  }

  /** Counts body bytes outside the kept file parts; 413 beyond {@link #MAX_FORM_BYTES}. */
  private void countForm(long n) {
    formBytes += n;
    if (formBytes > MAX_FORM_BYTES) {
      throw new ServiceException(Kind.TOO_LARGE, "the multipart form outside the file part exceeds " + MAX_FORM_BYTES
          + " bytes (text fields, part headers, other parts)");
    }
  }

  /**
   * Finds the delimiter (from byte {@code skip} of it) in {@code work} from {@code from}: its index,
   * -1 when absent, or -2 when the buffer ends with a prefix of it (which starts at {@link #partialStart}).
   * Boyer-Moore-Horspool over the buffer's bytes: most steps skip a whole delimiter length.
   */
  private int find(Buffer work, int from, int skip) {
    ByteBuf buf = ((BufferInternal) work).getByteBuf(); // on the heap (see write)
    byte[] a = buf.array();
    int off = buf.arrayOffset() + buf.readerIndex();
    int n = work.length();
    int m = delimiter.length - skip;
    int[] shift = skip == 0 ? shift0 : shift2;
    int i = from;
    long compared = 0;
    while (i <= n - m) {
      int j = m - 1;
      while (j >= 0 && a[off + i + j] == delimiter[skip + j]) {
        j--;
      }
      compared += m - j;
      if (j < 0) {
        examined += compared;
        return i;
      }
      i += shift[a[off + i + m - 1] & 0xFF];
    }
    // The longest end of the buffer that is a prefix of the delimiter (Knuth-Morris-Pratt over at
    // most m - 1 bytes: linear, whatever the bytes).
    int[] fail = skip == 0 ? fail0 : fail2;
    int q = 0;
    for (int k = Math.max(from, n - m + 1); k < n; k++) {
      byte c = a[off + k];
      while (q > 0 && delimiter[skip + q] != c) {
        q = fail[q - 1];
        compared++;
      }
      compared++;
      if (delimiter[skip + q] == c) {
        q++;
      }
    }
    examined += compared;
    if (q > 0) {
      partialStart = n - q;
      return -2;
    }
    return -1;
  }

  /** The Knuth-Morris-Pratt failure function of the delimiter from byte {@code skip}. */
  private int[] failTable(int skip) {
    int m = delimiter.length - skip;
    int[] fail = new int[m];
    for (int i = 1, k = 0; i < m; i++) {
      while (k > 0 && delimiter[skip + i] != delimiter[skip + k]) {
        k = fail[k - 1];
      }
      if (delimiter[skip + i] == delimiter[skip + k]) {
        k++;
      }
      fail[i] = k;
    }
    return fail;
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
        throw ServiceException.badRequest("multipart field " + fieldName + " exceeds " + MAX_FIELD_BYTES + " bytes");
      }
      countForm(data.length());
      examined += data.length();
      fieldValue.appendBuffer(data);
      return Future.succeededFuture();
    }
    if (sink == null) {
      countForm(data.length()); // a dropped file part
      return Future.succeededFuture();
    }
    return sink.write(data);
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
      return Future.failedFuture(ServiceException.badRequest("truncated multipart body: no closing boundary"));
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

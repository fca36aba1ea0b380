package dev.files;

import dev.files.support.Api;
import dev.files.support.NodeTest;
import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/** File names: stored as sent but sanitised, the same in metadata, and encoded per RFC 6266/5987 in Content-Disposition. */
class FilenameTest extends NodeTest {

  private static final Pattern DISPOSITION = Pattern.compile("attachment; filename=\"([^\"]*)\"; filename\\*=UTF-8''(\\S*)");
  private static final String ATTR_CHAR_PUNCT = "!#$&+-.^_`|~";
  private static final String LONG_ASCII = "x".repeat(296) + ".txt";
  private static final String LONG_EMOJI = "🎉".repeat(296) + ".txt";

  /** (name sent by the client, name the service must store). */
  Stream<Arguments> names() {
    return Stream.of(
        arguments("résumé été.pdf", "résumé été.pdf"),
        arguments("Отчёт.docx", "Отчёт.docx"),
        arguments("تقرير.pdf", "تقرير.pdf"),
        arguments("דוח.txt", "דוח.txt"),
        arguments("photo 🎉.jpg", "photo 🎉.jpg"),
        arguments("say \"hi\".txt", "say \"hi\".txt"),
        arguments("a;b.txt", "a;b.txt"),
        arguments("a+b=c, d.txt", "a+b=c, d.txt"),
        arguments("10:30 notes.txt", "10:30 notes.txt"),
        arguments("50%25.txt", "50%25.txt"),
        arguments("50%.txt", "50%.txt"),
        arguments("line1\r\nline2.txt", "line1line2.txt"),
        arguments("tab\there.txt", "tabhere.txt"),
        arguments("C:\\Users\\me\\b.jpg", "b.jpg"),
        arguments("../../etc/passwd", "passwd"),
        arguments("dir/sub/c.png", "c.png"),
        arguments("../", "unnamed"),
        arguments(LONG_ASCII, "x".repeat(251) + ".txt"),
        arguments(LONG_EMOJI, "🎉".repeat(251) + ".txt"));
  }

  @ParameterizedTest(name = "[{index}] part filename {0}")
  @MethodSource("names")
  void partFilename(String sent, String stored) throws Exception {
    HttpResponse<String> up = api.post(api.files(company), token, new Api.Multipart().filename(sent), bytes(sent));
    checkStoredName(up, stored);
  }

  /** The query's {@code filename} wins over the part's. */
  Stream<Arguments> queryNames() {
    return Stream.of(
        arguments("résumé été.pdf", "résumé été.pdf"),
        arguments("photo 🎉.jpg", "photo 🎉.jpg"),
        arguments("50%25 & a+b.txt", "50%25 & a+b.txt"),
        arguments("a;b=c, 10:30.txt", "a;b=c, 10:30.txt"),
        arguments("../../etc/passwd", "passwd"),
        arguments("line1\r\nline2.txt", "line1line2.txt"));
  }

  @ParameterizedTest(name = "[{index}] query filename {0}")
  @MethodSource("queryNames")
  void queryFilename(String sent, String stored) throws Exception {
    HttpResponse<String> up = api.post(api.files(company) + "?" + Api.query("filename", sent), token,
        new Api.Multipart().filename("from-the-part.bin"), bytes(sent));
    checkStoredName(up, stored);
  }

  @Test
  void storagePathsNeverContainTheName() throws Exception {
    for (String name : List.of("résumé été.pdf", "../../etc/passwd", "Отчёт.docx", "secret-name.txt")) {
      HttpResponse<String> up = api.upload(company, token, name, "text/plain", bytes(name));
      assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    }
    try (var paths = Tree.walk(node.storage)) {
      List<String> all = paths.map(p -> node.storage.relativize(p).toString()).toList();
      assertThat(all).anyMatch(p -> p.endsWith(".chunk"));
      assertThat(all).noneMatch(p -> p.contains("résumé") || p.contains("passwd") || p.contains("Отчёт")
          || p.contains("secret-name") || p.contains(".txt") || p.contains(".pdf") || p.contains(".docx"));
    }
  }

  private static byte[] bytes(String name) {
    return ("content of " + name).getBytes(StandardCharsets.UTF_8);
  }

  /** The upload reply, the metadata and the download's Content-Disposition all carry {@code stored}. */
  private void checkStoredName(HttpResponse<String> up, String stored) throws Exception {
    assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    JsonObject r = Api.resource(up);
    assertThat(r.getJsonObject("metadata").getString("name")).isEqualTo(stored);
    UUID id = UUID.fromString(r.getString("id"));

    HttpResponse<String> meta = api.get(api.file(company, id), token);
    assertThat(meta.statusCode()).isEqualTo(200);
    assertThat(Api.resource(meta).getJsonObject("metadata").getString("name")).isEqualTo(stored);

    HttpResponse<byte[]> down = api.download(company, id, token);
    assertThat(down.statusCode()).isEqualTo(200);
    String disposition = down.headers().firstValue("Content-Disposition").orElseThrow();
    Matcher m = DISPOSITION.matcher(disposition);
    assertThat(m.matches()).as("Content-Disposition: %s", disposition).isTrue();
    String fallback = m.group(1);
    String encoded = m.group(2);
    // docs/api.md: letters, digits, space and . _ - ( ) are kept, anything else is _ (one per character)
    assertThat(fallback).as("ASCII fallback").isNotEmpty().matches("[A-Za-z0-9 ._()\\-]*")
        .hasSize(stored.codePointCount(0, stored.length()));
    StringBuilder expected = new StringBuilder();
    stored.codePoints().forEach(cp -> expected.append(cp < 0x80 && (Character.isLetterOrDigit(cp) || " ._-()".indexOf(cp) >= 0)
        ? (char) cp : '_'));
    assertThat(fallback).as("ASCII fallback of %s", stored).isEqualTo(expected.toString());
    assertThat(decodeRfc5987(encoded)).as("filename* of %s", disposition).isEqualTo(stored);
    if (stored.contains("🎉")) {
      assertThat(encoded).contains("%F0%9F%8E%89");
    }
  }

  /** RFC 5987 value-chars → string: attr-chars stand for themselves, %XX is a UTF-8 byte; nothing else is allowed. */
  private static String decodeRfc5987(String value) throws CharacterCodingException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '%') {
        assertThat(value.substring(i + 1, Math.min(i + 3, value.length()))).as("pct-encoded in %s", value).matches("[0-9A-Fa-f]{2}");
        out.write(Integer.parseInt(value.substring(i + 1, i + 3), 16));
        i += 2;
      } else {
        boolean attrChar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || ATTR_CHAR_PUNCT.indexOf(c) >= 0;
        assertThat(attrChar).as("'%s' is an attr-char in %s", c, value).isTrue();
        out.write(c);
      }
    }
    return StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(out.toByteArray())).toString();
  }
}

package dev.files;

import dev.files.support.Tree;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A clone holds everything it refers to: the README and {@code docs/} link only to files of the
 * repository (which exist), nothing refers to a directory beside the clone, the licence is there,
 * and the README's configuration table lists every key of {@code conf/config.json}.
 */
class RepositoryStandsAloneTest {

  private static final Path PROJECT = Path.of("").toAbsolutePath();
  /** A Markdown link or image target: {@code [text](target)}. */
  private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

  @Test
  void readmeAndDocsLinkOnlyToFilesOfTheRepository() throws IOException {
    List<Path> pages = new ArrayList<>(List.of(PROJECT.resolve("README.md")));
    try (Stream<Path> docs = Tree.walk(PROJECT.resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).forEach(pages::add);
    }
    assertThat(pages).contains(PROJECT.resolve("docs/api.md"), PROJECT.resolve("docs/architecture.md"));
    List<String> broken = new ArrayList<>();
    for (Path page : pages) {
      Matcher m = LINK.matcher(Files.readString(page));
      while (m.find()) {
        String target = m.group(1);
        if (target.startsWith("http://") || target.startsWith("https://") || target.startsWith("#")
            || target.startsWith("mailto:")) {
          continue;
        }
        String file = target.replaceFirst("#.*$", "");
        Path resolved = page.getParent().resolve(file).normalize();
        if (!resolved.startsWith(PROJECT) || !Files.exists(resolved)) {
          broken.add(PROJECT.relativize(page) + ": " + target);
        }
      }
    }
    assertThat(broken).as("links that leave the repository or lead nowhere").isEmpty();
  }

  @Test
  void nothingRefersToADirectoryBesideTheClone() throws IOException {
    List<String> offending = new ArrayList<>();
    // the directory beside a clone that a user does not have, spelt so that this file does not name it
    final String beside = ".." + "/" + "shared";
    List<Path> roots = List.of(PROJECT.resolve("README.md"), PROJECT.resolve("docs"), PROJECT.resolve("src"),
        PROJECT.resolve("conf"), PROJECT.resolve("pom.xml"), PROJECT.resolve("scripts"), PROJECT.resolve(".ci"));
    for (Path root : roots) {
      if (!Files.exists(root)) {
        continue;
      }
      try (Stream<Path> files = Tree.walk(root)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          String text;
          try {
            text = Files.readString(f);
          } catch (java.nio.charset.MalformedInputException binary) {
            continue;
          }
          if (text.contains(beside) || text.contains("/work" + beside.substring(2))) {
            offending.add(PROJECT.relativize(f).toString());
          }
        }
      }
    }
    assertThat(offending).isEmpty();
  }

  @Test
  void theLicenceIsApache2() throws IOException {
    String licence = Files.readString(PROJECT.resolve("LICENSE"));
    assertThat(licence).contains("Apache License").contains("Version 2.0, January 2004")
        .contains("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION");
    assertThat(Files.readString(PROJECT.resolve("README.md"))).contains("](LICENSE)");
  }

  /**
   * Every key of conf/config.json has a row in the README's configuration table. A row's first
   * cell names one or more keys: {@code `http.host` / `http.port`}, or short forms that share the
   * first key's prefix ({@code `thumbnails.workers` / `concurrency` / `queue`}).
   */
  @Test
  void theReadmeConfigurationTableListsEveryKey() throws IOException {
    Set<String> keys = new TreeSet<>();
    flatten("", new JsonObject(Files.readString(PROJECT.resolve("conf/config.json"))), keys);
    String readme = Files.readString(PROJECT.resolve("README.md"));
    Set<String> documented = new LinkedHashSet<>();
    Pattern code = Pattern.compile("`([a-z0-9_.]+)`");
    for (String line : readme.lines().toList()) {
      if (!line.startsWith("| `")) {
        continue;
      }
      String firstCell = line.substring(1, line.indexOf('|', 1));
      Matcher m = code.matcher(firstCell);
      String prefix = null;
      while (m.find()) {
        String name = m.group(1);
        if (name.contains(".")) {
          prefix = name.substring(0, name.lastIndexOf('.') + 1);
          documented.add(name);
        } else if (prefix != null) {
          documented.add(prefix + name);
        }
      }
    }
    assertThat(documented).as("keys in the README's configuration table").containsAll(keys);
  }

  private static void flatten(String prefix, JsonObject json, Set<String> out) {
    for (String name : json.fieldNames()) {
      Object v = json.getValue(name);
      if (v instanceof JsonObject o) {
        flatten(prefix + name + ".", o, out);
      } else {
        out.add(prefix + name);
      }
    }
  }
}

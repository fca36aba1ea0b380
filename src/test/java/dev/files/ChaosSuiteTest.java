package dev.files;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A short run of the fault-injection suite, {@code scripts/chaos} (docs/chaos.md): 3 node processes in
 * network namespaces, every fault kind for {@code chaos.seconds} seconds each (default 5; a kind's first fault always runs whole) with
 * {@code chaos.clients} upload clients (default 2), then its checker. Passes when the script exits 0
 * and its table says 0 in every column that counts a broken promise (lost, wrong, no-object,
 * events-miss, non-owner) for every fault kind.
 *
 * <p>Tagged {@code chaos}, which the default suite leaves out (pom.xml, {@code tests.excluded}): it needs
 * root and takes about 5 minutes. Run it with {@code scripts/test -Pchaos} (or
 * {@code scripts/test -Dtests.excluded=bench -Dgroups=chaos -Dtest=ChaosSuiteTest}). Skipped when not root
 * or when {@code ip netns} is refused (a container without CAP_NET_ADMIN).
 */
class ChaosSuiteTest {

  /** The columns of scripts/chaos's table that count broken promises, by their index in a line. */
  private static final int[] BROKEN = {4, 5, 6, 7, 8};

  @Test
  @Tag("chaos")
  void everyFaultKindKeepsEveryPromise() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "scripts/chaos needs root");
    Process probe = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
    assumeTrue(probe.waitFor(30, TimeUnit.SECONDS) && probe.exitValue() == 0, "ip netns is not available here");

    Path out = Files.createTempFile("chaos", ".out");
    try {
      Process chaos = new ProcessBuilder("scripts/chaos", "--fault", "all",
          "--seconds", System.getProperty("chaos.seconds", "5"), "--clients", System.getProperty("chaos.clients", "2"))
          .redirectErrorStream(true).redirectOutput(out.toFile()).start();
      boolean ended = chaos.waitFor(20, TimeUnit.MINUTES);
      if (!ended) {
        chaos.destroy();
        chaos.waitFor(3, TimeUnit.MINUTES);
      }
      String output = Files.readString(out, StandardCharsets.UTF_8);
      System.out.println(output);
      assertThat(ended).as("scripts/chaos ended within 20 minutes").isTrue();

      List<String[]> rows = new ArrayList<>();
      for (String line : output.split("\n")) {
        String[] f = line.trim().split("\\s+");
        if (f.length == 10 && f[0].matches("kill|freeze|cut-db|partition|s3|rolling")) {
          rows.add(f);
        }
      }
      // the final table repeats the lines printed after each fault kind: one line per kind in it
      assertThat(rows.stream().map(r -> r[0]).distinct())
          .containsExactlyInAnyOrder("kill", "freeze", "cut-db", "partition", "s3", "rolling");
      for (String[] row : rows) {
        assertThat(Long.parseLong(row[3])).as("%s: files completed", row[0]).isPositive();
        for (int column : BROKEN) {
          assertThat(row[column]).as("%s: column %d of %s", row[0], column, String.join(" ", row)).isEqualTo("0");
        }
      }
      assertThat(chaos.exitValue()).as("exit status of scripts/chaos").isZero();
    } finally {
      Files.deleteIfExists(out);
    }
  }
}

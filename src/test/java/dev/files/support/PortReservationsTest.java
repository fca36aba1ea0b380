package dev.files.support;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Test ports are given out once per machine: never twice in one JVM, never to a second test JVM. */
class PortReservationsTest {

  /** Run in a second JVM: prints whether it could reserve the port given as its argument. */
  public static void main(String[] args) throws Exception {
    System.out.print(PortReservations.reserve(Integer.parseInt(args[0])));
  }

  @Test
  void aPortGivenOutIsNeitherGivenAgainNorToAnotherJvm() throws Exception {
    int port = TestNode.freePort();
    assertThat(PortReservations.bindable(port)).isTrue(); // reserved, not bound: the node binds it
    assertThat(PortReservations.reserve(port)).isFalse();
    assertThat(otherJvmReserves(port)).isEqualTo("false");

    int other = TestNode.freePort();
    assertThat(other).isNotEqualTo(port);
    try (ServerSocket bound = new ServerSocket()) { // a port some process binds is not given out either
      bound.bind(new InetSocketAddress("127.0.0.1", 0));
      assertThat(PortReservations.reserve(bound.getLocalPort())).isFalse();
    }
  }

  @Test
  void aBlockOfPortsIsReservedWhole() throws Exception {
    int base = ProjectCopy.freePortBlock(3);
    for (int p = base; p < base + 3; p++) {
      assertThat(otherJvmReserves(p)).as("port %d", p).isEqualTo("false");
    }
  }

  private static String otherJvmReserves(int port) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        PortReservationsTest.class.getName(), Integer.toString(port)).redirectErrorStream(true).start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
  }
}

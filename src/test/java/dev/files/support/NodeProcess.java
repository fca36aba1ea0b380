package dev.files.support;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a node (or tool) process that a test starts: this JVM's {@code java}, a
 * 256 MiB heap, the flags Hazelcast asks for on Java 17 (as {@code scripts/lib/common.sh} passes
 * them), and a start limit of 300 s ({@code files.start_limit_s}) so that a loaded CI machine is
 * slow, not failing.
 */
public final class NodeProcess {

  /** JVM options every test-started process gets, also through {@code FILES_JAVA_OPTS} for the scripts. */
  public static final List<String> JVM_OPTIONS = List.of("-Xmx256m", "-Dfiles.start_limit_s=300",
      "--add-modules", "java.se", "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
      "--add-opens", "java.base/java.lang=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens", "java.management/sun.management=ALL-UNNAMED",
      "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED");

  private NodeProcess() {
  }

  /** {@code java}, {@link #JVM_OPTIONS}, then {@code args} (e.g. {@code -cp CP dev.files.Main}). */
  public static List<String> command(String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(JVM_OPTIONS);
    command.addAll(List.of(args));
    return command;
  }
}

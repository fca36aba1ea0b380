package dev.files.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

/** Direct SQL on the test databases (to check what is stored, and to drop databases). */
public final class Db {

  private Db() {
  }

  private static String jdbc(String db) {
    String hostPort = TestNode.PG.replaceFirst("^postgresql://([^@]*@)?", "");
    return "jdbc:postgresql://" + hostPort + "/" + db + "?user=postgres";
  }

  /** A JDBC connection to a test database (the caller closes it). */
  public static Connection connect(String db) throws Exception {
    return DriverManager.getConnection(jdbc(db));
  }

  /** The first column of the first row of {@code sql} as a long (a count). */
  public static long count(String db, String sql) throws Exception {
    try (Connection c = DriverManager.getConnection(jdbc(db)); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** The first column of every row of {@code sql}, as text (null for SQL NULL). */
  public static java.util.List<String> strings(String db, String sql) throws Exception {
    java.util.List<String> out = new java.util.ArrayList<>();
    try (Connection c = DriverManager.getConnection(jdbc(db)); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /** Runs a statement. */
  public static void execute(String db, String sql) throws Exception {
    try (Connection c = DriverManager.getConnection(jdbc(db)); Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /** An event row of database {@code db}: its id and its file's id. */
  public record Event(java.util.UUID id, java.util.UUID file) {
  }

  /**
   * Records a {@code file.deleted} event of a new file of {@code company} already marked published, as
   * an event that reached nobody (across a partition) would be, and waits up to 60 s until the relay has
   * given it its position: the next event names it as its previous one.
   */
  public static Event insertLostEvent(String db, java.util.UUID company) throws Exception {
    java.util.UUID file = java.util.UUID.randomUUID();
    java.util.UUID id = java.util.UUID.randomUUID();
    execute(db, "INSERT INTO event_outbox (id, file_id, company_id, type, body, published_at) VALUES ('"
        + id + "', '" + file + "', '" + company + "', 'file.deleted', '{\"id\": \"" + id
        + "\", \"type\": \"file.deleted\", \"company_id\": \"" + company + "\", \"file_id\": \"" + file
        + "\", \"at\": \"2026-01-01T00:00:00Z\"}', now())");
    Eventually.eventually(java.time.Duration.ofSeconds(60), () -> org.assertj.core.api.Assertions.assertThat(count(db,
        "SELECT count(*) FROM event_outbox WHERE id = '" + id + "' AND position IS NOT NULL")).isEqualTo(1));
    return new Event(id, file);
  }

  public static void drop(String db) throws Exception {
    execute("postgres", "DROP DATABASE IF EXISTS \"" + db + "\" WITH (FORCE)");
  }
}

package dev.files.db;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

/**
 * Opens the PostgreSQL database named by a {@code postgresql://} URI: creates the database when it
 * does not exist, applies the Flyway migrations of {@code classpath:db/migration}, and builds the
 * vertx-pg-client pool the service uses. Blocking JDBC work runs on a worker thread.
 */
public final class Database {

  private static final Logger LOG = LoggerFactory.getLogger(Database.class);

  private Database() {
  }

  /**
   * Prepares the database and returns a pool of at most {@code poolSize} connections.
   *
   * @param url a {@code postgresql://user:password@host:port/database} URI
   * @return the pool; fails with the JDBC error when PostgreSQL does not answer or a migration fails
   */
  public static Future<Pool> open(Vertx vertx, String url, int poolSize) {
    return open(vertx, url, poolSize, -1);
  }

  /**
   * Prepares the database and returns a pool of at most {@code poolSize} connections, with at most
   * {@code maxWaiting} queries waiting for a connection ({@code db.wait_queue}; -1: no bound). Beyond,
   * a query fails at once with Vert.x's {@code ConnectionPoolTooBusyException} (HTTP 503 with
   * {@code Retry-After}).
   */
  public static Future<Pool> open(Vertx vertx, String url, int poolSize, int maxWaiting) {
    return open(vertx, url, poolSize, maxWaiting, null);
  }

  /**
   * As {@link #open(Vertx, String, int, int)}, the pool's connections named {@code applicationName}
   * in {@code pg_stat_activity} (null: unnamed), so that another node can end them when this node's
   * lease has lapsed while it held a transaction open (frozen, cut off).
   */
  public static Future<Pool> open(Vertx vertx, String url, int poolSize, int maxWaiting, String applicationName) {
    PgConnectOptions options = PgConnectOptions.fromUri(url).setCachePreparedStatements(true);
    if (applicationName != null) {
      options.addProperty("application_name", applicationName);
    }
    return vertx.executeBlocking(() -> {
      ensureDatabase(options);
      migrate(options);
      return null;
    }, false).map(v -> PgBuilder.pool()
        .with(new PoolOptions().setMaxSize(poolSize).setMaxWaitQueueSize(maxWaiting))
        .connectingTo(options)
        .using(vertx)
        .build());
  }

  /** The JDBC URL of the same database, for Flyway. */
  static String jdbcUrl(PgConnectOptions o, String database) {
    return "jdbc:postgresql://" + o.getHost() + ":" + o.getPort() + "/" + database;
  }

  private static Properties credentials(PgConnectOptions o) {
    Properties p = new Properties();
    if (o.getUser() != null) {
      p.setProperty("user", o.getUser());
    }
    if (o.getPassword() != null) {
      p.setProperty("password", o.getPassword());
    }
    p.setProperty("connectTimeout", "10");
    p.setProperty("loginTimeout", "10"); // a server that accepts but never answers fails the start, not hangs it
    return p;
  }

  /**
   * Creates the configured database when it does not exist. Nodes of a cluster start at the same
   * time against one new database: when two create it at once, the loser fails with either
   * {@code duplicate_database} (42P04) or a unique violation on {@code pg_database} (23505),
   * depending on how far the winner got; any failure is therefore rechecked, and only a database
   * that still does not exist fails the start.
   *
   * @throws SQLException when the server cannot be reached or the database cannot be created
   */
  static void ensureDatabase(PgConnectOptions o) throws SQLException {
    String name = o.getDatabase();
    try (Connection c = DriverManager.getConnection(jdbcUrl(o, "postgres"), credentials(o))) {
      if (exists(c, name)) {
        return;
      }
      try (Statement s = c.createStatement()) {
        s.execute("CREATE DATABASE \"" + name.replace("\"", "\"\"") + "\"");
        LOG.info("created database {}", name);
      } catch (SQLException e) {
        if (!exists(c, name)) { // another node was faster, or it really failed
          throw e;
        }
      }
    }
  }

  private static boolean exists(Connection c, String name) throws SQLException {
    try (PreparedStatement q = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
      q.setString(1, name);
      try (ResultSet rs = q.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static void migrate(PgConnectOptions o) {
    Properties p = credentials(o);
    int applied = Flyway.configure()
        .dataSource(jdbcUrl(o, o.getDatabase()), p.getProperty("user"), p.getProperty("password"))
        .locations("classpath:db/migration")
        .load()
        .migrate()
        .migrationsExecuted;
    if (applied > 0) {
      LOG.info("applied {} database migration(s)", applied);
    }
  }

  /**
   * True when {@code failure} (or one of its causes) comes from PostgreSQL or the connection to it:
   * both edges answer it as 503 "database unavailable" (docs/api.md, Errors; docs/event-bus.md).
   */
  public static boolean isDatabaseFailure(Throwable failure) {
    return dev.files.error.ErrorAnswer.isDatabaseFailure(failure);
  }
}

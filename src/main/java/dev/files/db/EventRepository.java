package dev.files.db;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The SQL of the file events: the {@code event_outbox} rows, the cluster's last position
 * ({@code event_positions}) and each company's ({@code event_company_positions}). Every method runs
 * through the client it is given: a transaction of the change an event describes
 * ({@link #insert}), the relay's own connection that holds its advisory lock ({@link #cycle},
 * {@link #markPublished}, {@link #deletePublished}, {@link #endLapsedHolder}), or the pool
 * ({@link #replay}). What the rows mean is {@code dev.files.events}' (docs/event-bus.md, "Positions and
 * replay"). Every method fails with the pg-client's exception when PostgreSQL fails.
 */
public final class EventRepository {

  private EventRepository() {
  }

  /** A numbered row: its {@code seq} (0 when not read), {@code position}, {@code previous_position} and stored body. */
  public record Numbered(long seq, long position, long previous, JsonObject body) {
  }

  /**
   * A page of a company's events read in one snapshot.
   *
   * @param last   the company's last position given so far (0: none)
   * @param events its rows above the position asked for, in position order (seq 0)
   */
  public record Page(long last, List<Numbered> events) {
  }

  /**
   * A file event to write in the transaction of its change: its {@code type} ({@code file.uploaded},
   * {@code file.overwritten}, {@code file.deleted}, {@code file.thumbnails.ready}: the constants of
   * {@code dev.files.events.Outbox}), the file, its company, and the file's API resource after the
   * change ({@code null} for a delete).
   */
  public record NewEvent(String type, UUID fileId, UUID companyId, JsonObject resource) {
  }

  /**
   * The stored body of {@code e}: JSON {@code {"id": fresh uuid, "type", "company_id", "file_id",
   * "at": ISO-8601 UTC instant now, "resource"?}} (the relay adds {@code position} and
   * {@code previous_position} when it publishes it).
   */
  static JsonObject body(NewEvent e) {
    JsonObject body = new JsonObject()
        .put("id", UUID.randomUUID().toString())
        .put("type", e.type())
        .put("company_id", e.companyId().toString())
        .put("file_id", e.fileId().toString())
        .put("at", Instant.now().toString());
    if (e.resource() != null) {
      body.put("resource", e.resource());
    }
    return body;
  }

  /**
   * Writes {@code event} to the outbox through {@code conn}, which must be in the transaction of the
   * change: the event exists if and only if the change was committed.
   */
  public static Future<Void> insert(SqlClient conn, NewEvent event) {
    return insertAll(conn, List.of(event));
  }

  /**
   * Writes {@code events} to the outbox in one statement (arrays, one element per event), their
   * {@code seq} in this order, through {@code conn}, which must be in the transaction of their
   * changes (a group commit writes all its events so). No events: no statement, succeeded.
   */
  public static Future<Void> insertAll(SqlClient conn, List<NewEvent> events) {
    if (events.isEmpty()) {
      return Future.succeededFuture();
    }
    int n = events.size();
    UUID[] id = new UUID[n], file = new UUID[n], company = new UUID[n];
    String[] type = new String[n], body = new String[n];
    for (int i = 0; i < n; i++) {
      JsonObject e = body(events.get(i));
      id[i] = UUID.fromString(e.getString("id"));
      file[i] = UUID.fromString(e.getString("file_id"));
      company[i] = UUID.fromString(e.getString("company_id"));
      type[i] = e.getString("type");
      body[i] = e.encode(); // text here, jsonb in the row
    }
    return conn.preparedQuery("""
            INSERT INTO event_outbox (id, file_id, company_id, type, body)
            SELECT id, file_id, company_id, type, body::jsonb
            FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[]) WITH ORDINALITY
                 AS t(id, file_id, company_id, type, body, n)
            ORDER BY n""")
        .execute(Tuple.of(id, file, company, type, body))
        .mapEmpty();
  }

  /**
   * The company's last position and its rows with a position above {@code after}, in position order, at
   * most {@code limit}; one statement, hence one snapshot (read apart, a batch numbered in between would
   * look like events removed).
   */
  public static Future<Page> replay(SqlClient c, UUID company, long after, int limit) {
    return c.preparedQuery("""
            SELECT h.last, e.position, e.previous_position, e.body
            FROM (SELECT coalesce((SELECT last FROM event_company_positions WHERE company_id = $1), 0) AS last) h
            LEFT JOIN LATERAL (
              SELECT position, previous_position, body FROM event_outbox
              WHERE company_id = $1 AND position > $2 ORDER BY position LIMIT $3) e ON true
            ORDER BY e.position""")
        .execute(Tuple.of(company, after, limit))
        .map(rows -> {
          long last = 0;
          List<Numbered> events = new ArrayList<>();
          for (Row r : rows) {
            last = r.getLong(0);
            if (r.getLong(1) != null) { // null: no row above after
              events.add(new Numbered(0, r.getLong(1), r.getLong(2), (JsonObject) r.getValue(3)));
            }
          }
          return new Page(last, events);
        });
  }

  /**
   * Marks published the rows of {@code $2} (seq numbers: published by the previous cycle), gives the
   * next positions to the rows without one (at most {@code $1}, in {@code seq} order), and answers the
   * numbered, unpublished rows ({@code seq, position, previous_position, body}) in position order.
   *
   * <p>One statement, hence one transaction: the rows, the cluster's last position and each company's
   * last position change together or not at all, so positions have no gap. Every sub-statement reads
   * the snapshot from before the statement: {@code event_company_positions} read below is the value
   * before this batch, and the rows numbered here come from the {@code numbering} sub-statement's
   * RETURNING, the ones numbered before from the table. Only the lock holder runs it, so positions are
   * given serially and become visible in order.
   */
  static final String CYCLE = """
      WITH marked AS (
        UPDATE event_outbox SET published_at = now() WHERE seq = ANY($2) AND published_at IS NULL
        RETURNING seq),
      pick AS (
        SELECT seq, company_id, row_number() OVER (ORDER BY seq) AS n
        FROM (SELECT seq, company_id FROM event_outbox WHERE position IS NULL ORDER BY seq LIMIT $1) p),
      bump AS (
        UPDATE event_positions SET last = last + (SELECT count(*) FROM pick)
        WHERE EXISTS (SELECT 1 FROM pick)
        RETURNING last - (SELECT count(*) FROM pick) AS base),
      numbered AS (
        SELECT pick.seq, pick.company_id, (SELECT base FROM bump) + pick.n AS position,
               lag((SELECT base FROM bump) + pick.n) OVER (PARTITION BY pick.company_id ORDER BY pick.n) AS previous
        FROM pick),
      heads AS (
        INSERT INTO event_company_positions (company_id, last)
        SELECT company_id, max(position) FROM numbered GROUP BY company_id
        ON CONFLICT (company_id) DO UPDATE SET last = excluded.last
        RETURNING company_id),
      numbering AS (
        UPDATE event_outbox o SET position = numbered.position,
          previous_position = coalesce(numbered.previous,
            (SELECT c.last FROM event_company_positions c WHERE c.company_id = numbered.company_id), 0)
        FROM numbered WHERE o.seq = numbered.seq AND o.position IS NULL
        RETURNING o.seq, o.position, o.previous_position, o.body, o.published_at)
      SELECT seq, position, previous_position, body FROM (
        SELECT seq, position, previous_position, body FROM event_outbox
        WHERE published_at IS NULL AND position IS NOT NULL AND seq <> ALL($2)
        UNION ALL
        SELECT seq, position, previous_position, body FROM numbering WHERE published_at IS NULL) r
      ORDER BY position""";

  /**
   * One relay cycle ({@link #CYCLE}): marks {@code marks} published, numbers at most {@code batch} rows,
   * and answers the numbered, unpublished rows in position order.
   */
  public static Future<List<Numbered>> cycle(SqlClient c, int batch, Long[] marks) {
    return c.preparedQuery(CYCLE).execute(Tuple.of(batch, (Object) marks)).map(rows -> {
      List<Numbered> out = new ArrayList<>(rows.size());
      for (Row r : rows) {
        out.add(new Numbered(r.getLong(0), r.getLong(1), r.getLong(2), (JsonObject) r.getValue(3)));
      }
      return out;
    });
  }

  /** Marks published the rows whose {@code seq} is in {@code marks} (those not marked yet). */
  public static Future<Void> markPublished(SqlClient c, Long[] marks) {
    return c.preparedQuery("UPDATE event_outbox SET published_at = now() WHERE seq = ANY($1) AND published_at IS NULL")
        .execute(Tuple.of((Object) marks)).mapEmpty();
  }

  /** Deletes the rows published more than {@code retentionMs} (ms) ago, by the database clock. */
  public static Future<Void> deletePublished(SqlClient c, long retentionMs) {
    return c.preparedQuery("DELETE FROM event_outbox WHERE published_at < now() - make_interval(secs => $1)")
        .execute(Tuple.of(retentionMs / 1000.0))
        .mapEmpty();
  }

  /**
   * Ends the connection that holds the advisory lock {@code lockKey} in this database when it is named
   * {@code prefix} + a node id other than {@code own}'s and that node's lease ({@code nodes.lease_until})
   * has lapsed ({@code pg_terminate_backend}).
   *
   * @param own this relay's {@code application_name} (never ended)
   * @return the {@code application_name} of each connection ended
   */
  public static Future<List<String>> endLapsedHolder(SqlClient c, long lockKey, String prefix, String own) {
    return c.preparedQuery("""
            SELECT a.application_name, pg_terminate_backend(a.pid)
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            JOIN nodes n ON n.node_id = substr(a.application_name, length($2) + 1)
            WHERE l.locktype = 'advisory' AND l.granted
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
              AND a.application_name LIKE $2 || '%' AND a.application_name <> $3
              AND n.lease_until < now()""")
        .execute(Tuple.of(lockKey, prefix, own))
        .map(rows -> {
          List<String> ended = new ArrayList<>();
          rows.forEach(r -> ended.add(r.getString(0)));
          return ended;
        });
  }
}

package dev.files.db;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The SQL of the thumbnail claims: which node took a file's thumbnail job ({@code files.thumbnail_node},
 * migration V9). What a claim means is {@code dev.files.thumbnail.ThumbnailClaims}'. Every method fails
 * with the pg-client's exception when PostgreSQL fails.
 */
public final class ThumbnailClaimRepository {

  private final Pool pool;

  public ThumbnailClaimRepository(Pool pool) {
    this.pool = pool;
  }

  /** A waiting thumbnail job: the file and the generation whose thumbnail is to be made. */
  public record Job(UUID fileId, int generation) {
  }

  /**
   * Names {@code nodeId} on the file's row when {@code generation} is live and its thumbnail waits.
   *
   * @return whether the row was claimed
   */
  public Future<Boolean> claim(UUID fileId, int generation, String nodeId) {
    return pool.preparedQuery("""
            UPDATE files SET thumbnail_node = $3
             WHERE id = $1 AND generation = $2 AND thumbnails_status = 'waiting'""")
        .execute(Tuple.of(fileId, generation, nodeId))
        .map(rows -> rows.rowCount() > 0);
  }

  /**
   * Names {@code nodeId} on every waiting job claimed by {@code node} or by nobody, in one conditional
   * statement; answers those jobs.
   */
  public Future<List<Job>> takeOver(String node, String nodeId) {
    return pool.preparedQuery("""
            UPDATE files SET thumbnail_node = $2
             WHERE thumbnails_status = 'waiting' AND generation IS NOT NULL
               AND (thumbnail_node = $1 OR thumbnail_node IS NULL)
            RETURNING id, generation""")
        .execute(Tuple.of(node, nodeId))
        .map(ThumbnailClaimRepository::jobs);
  }

  /** Clears the claim of every waiting job claimed by a node not in {@code live}; answers those jobs. */
  public Future<List<Job>> releaseAllBut(String[] live) {
    return pool.preparedQuery("""
            UPDATE files SET thumbnail_node = NULL
             WHERE thumbnails_status = 'waiting' AND generation IS NOT NULL AND thumbnail_node IS NOT NULL
               AND NOT (thumbnail_node = ANY ($1))
            RETURNING id, generation""")
        .execute(Tuple.of((Object) live))
        .map(ThumbnailClaimRepository::jobs);
  }

  private static List<Job> jobs(RowSet<Row> rows) {
    List<Job> out = new ArrayList<>();
    for (Row r : rows) {
      out.add(new Job(r.getUUID(0), r.getInteger(1)));
    }
    return out;
  }
}

package dev.files.thumbnail;

import dev.files.db.ThumbnailClaimRepository;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Which node took a file's thumbnail job, in PostgreSQL ({@code files.thumbnail_node}, migration V9;
 * SQL in {@link ThumbnailClaimRepository}),
 * so that the jobs of a node that left the cluster are asked for again at once by a survivor instead
 * of waiting for the sweep ({@code thumbnails.retry_after_ms}).
 *
 * <p>A claim is a hint, not a lock: the last node to claim a job is named, two nodes may make the same
 * thumbnail, and the one recorded is the first ({@code FileRepository.recordThumbnails} records only
 * while the generation is live and its thumbnails wait). A release is one conditional statement, so of
 * several survivors releasing the same node's jobs, each job is released (and asked for) by one.
 */
public final class ThumbnailClaims {

  private final ThumbnailClaimRepository rows;
  private final String nodeId;
  private final Supplier<Set<String>> members;

  /**
   * @param nodeId this node's id (the cluster manager's node id when clustered)
   * @param members the node ids of the live cluster members, this node included
   */
  public ThumbnailClaims(Pool pool, String nodeId, Supplier<Set<String>> members) {
    this.rows = new ThumbnailClaimRepository(pool);
    this.nodeId = nodeId;
    this.members = members;
  }

  /** This node's id. */
  public String nodeId() {
    return nodeId;
  }

  /**
   * Names this node as the one making the thumbnail of {@code generation} of a file. Answers false
   * (nothing claimed) when that generation is no longer live or its thumbnail no longer waits.
   */
  Future<Boolean> claim(UUID fileId, int generation) {
    return rows.claim(fileId, generation, nodeId);
  }

  /**
   * Takes over the waiting thumbnail jobs of {@code node} (a node that left) for this node: those it
   * had claimed, and those nobody has claimed (a job on its way to that node when it died was never
   * claimed there, and would otherwise wait for the sweep's retry). Answers them as
   * {@code {"file_id", "generation"}}, the message of {@code files.thumbnails}. One conditional
   * statement: of several survivors, each job goes to one. A job that was on its way to a live node at
   * that instant may be made twice; the second result is not recorded (its write is conditional).
   */
  Future<List<JsonObject>> release(String node) {
    return rows.takeOver(node, nodeId).map(ThumbnailClaims::jobs);
  }

  /**
   * Releases the waiting thumbnail jobs claimed by nodes that are not live members now (a node that
   * stopped while this one was down, a restarted single node's former self).
   */
  Future<List<JsonObject>> releaseGone() {
    return rows.releaseAllBut(members.get().toArray(new String[0])).map(ThumbnailClaims::jobs);
  }

  private static List<JsonObject> jobs(List<ThumbnailClaimRepository.Job> jobs) {
    List<JsonObject> out = new ArrayList<>();
    for (ThumbnailClaimRepository.Job j : jobs) {
      out.add(new JsonObject().put("file_id", j.fileId().toString()).put("generation", j.generation()));
    }
    return out;
  }
}

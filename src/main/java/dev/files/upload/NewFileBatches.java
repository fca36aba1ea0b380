package dev.files.upload;

import dev.files.error.ServiceException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Group commit of new files: the whole-file uploads of new file ids ({@link UploadSessions#commitNew})
 * that arrive while transactions of others are in flight share one transaction, hence one WAL flush
 * ({@link Commits#commitNewAll}). At most {@code inFlight} transactions run at once; a commit that
 * finds one free goes at once (alone, by the single path {@link Commits#commitNew}: a lone client waits
 * no longer than without batching); the others queue, and when a transaction ends the queued ones, up
 * to {@code max} (README, {@code upload.group_commit_max}), go together in the next. No timer: batches
 * form only from commits that wait anyway. At most {@code maxQueued} wait ({@code db.wait_queue}, the
 * bound they would meet waiting for a database connection without grouping); beyond, a commit is
 * refused at once with {@link ServiceException#databaseBusy} (503, {@code Retry-After: 1}; nothing
 * was asked of PostgreSQL, its object is deleted by {@link Uploads#commit}).
 *
 * <p>Failures do not spread between members and are no weaker than alone: a refusal of the rules
 * fails only its commit; a group whose transaction fails before its COMMIT (nothing of it was made)
 * has each member tried again alone, by the single path; a group whose COMMIT was not confirmed
 * fails each member with {@link Commits.OutcomeUnknown}, which its caller settles alone (it reads the
 * row, {@link Commits#commitNew} with {@code again}). Each answer comes on the context of its asker.
 */
final class NewFileBatches {

  private record Waiting(ChunkCommit commit, long askedAt, Promise<Commits.Outcome> answer) {
  }

  private final Vertx vertx;
  private final Commits commits;
  private final int max;
  private final int inFlight;
  private final int maxQueued;
  /** Commits waiting for a free transaction, oldest first; guarded by {@code this}. */
  private final ArrayDeque<Waiting> queue = new ArrayDeque<>();
  /** Transactions running; guarded by {@code this}. */
  private int running;

  /**
   * @param max      the most commits one transaction takes ({@code upload.group_commit_max}, at least 1;
   *                 1: no grouping, every commit goes alone at once)
   * @param inFlight the most group transactions at once (at least 1; at most the database pool's size)
   * @param maxQueued the most commits waiting for a transaction (-1: no bound)
   */
  NewFileBatches(Vertx vertx, Commits commits, int max, int inFlight, int maxQueued) {
    this.vertx = vertx;
    this.commits = commits;
    this.max = Math.max(1, max);
    this.inFlight = Math.max(1, inFlight);
    this.maxQueued = maxQueued;
  }

  /**
   * Records {@code c} (a new file id's whole-file upload, first asked at {@code askedAt}, epoch ms),
   * alone or with others; answers and fails as {@link Commits#commitNew} without {@code again}, or
   * with {@link ServiceException#databaseBusy} when {@code maxQueued} commits wait already.
   */
  Future<Commits.Outcome> commit(ChunkCommit c, long askedAt) {
    if (max == 1) {
      return commits.commitNew(c, askedAt, false);
    }
    Promise<Commits.Outcome> answer = ((ContextInternal) vertx.getOrCreateContext()).promise();
    List<Waiting> next;
    synchronized (this) {
      if (maxQueued >= 0 && queue.size() >= maxQueued) {
        return Future.failedFuture(ServiceException.databaseBusy());
      }
      queue.add(new Waiting(c, askedAt, answer));
      next = take();
    }
    if (next != null) {
      run(next);
    }
    return answer.future();
  }

  /** The next group, when a transaction may start and commits wait (it is then counted running); else null. */
  private List<Waiting> take() {
    if (running >= inFlight || queue.isEmpty()) {
      return null;
    }
    running++;
    List<Waiting> group = new ArrayList<>(Math.min(max, queue.size()));
    while (group.size() < max && !queue.isEmpty()) {
      group.add(queue.poll());
    }
    return group;
  }

  private void run(List<Waiting> group) {
    if (group.size() == 1) { // the single path, as without grouping
      Waiting w = group.get(0);
      alone(w).onComplete(ar -> {
        ended();
        w.answer().handle(ar);
      });
      return;
    }
    List<ChunkCommit> cs = new ArrayList<>(group.size());
    List<Long> askedAt = new ArrayList<>(group.size());
    group.forEach(w -> {
      cs.add(w.commit());
      askedAt.add(w.askedAt());
    });
    Future<List<Future<Commits.Outcome>>> done;
    try {
      done = commits.commitNewAll(cs, askedAt);
    } catch (RuntimeException e) {
      done = Future.failedFuture(e);
    }
    done.onComplete(ar -> {
      ended();
      for (int i = 0; i < group.size(); i++) {
        Waiting w = group.get(i);
        if (ar.succeeded()) {
          w.answer().handle(ar.result().get(i));
        } else if (ar.cause() instanceof Commits.OutcomeUnknown) {
          w.answer().fail(ar.cause()); // its caller settles it alone, reading its row
        } else { // rolled back: nothing of the group was made; each is tried alone
          alone(w).onComplete(w.answer());
        }
      }
    });
  }

  /** {@code w} committed alone, by the single path. */
  private Future<Commits.Outcome> alone(Waiting w) {
    try {
      return commits.commitNew(w.commit(), w.askedAt(), false);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  /** A transaction ended: the next group, if commits wait, takes its place. */
  private void ended() {
    List<Waiting> next;
    synchronized (this) {
      running--;
      next = take();
    }
    if (next != null) {
      run(next);
    }
  }
}

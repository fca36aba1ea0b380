package dev.files.storage;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.PromiseInternal;

import java.util.ArrayDeque;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads for blocking storage work (file I/O, hashing, later encryption), so the event loops never
 * block. Results come back on the caller's Vert.x context. A {@link Serial} runs one stream's tasks
 * one at a time, in order, while different streams proceed in parallel.
 *
 * <p>The queue of waiting tasks is bounded for new work only ({@code storage.io_queue}):
 * {@link #admit} refuses to start an operation while that many tasks wait, with a
 * {@link StorageException#busy() busy} failure (HTTP 503 with {@code Retry-After}), before anything
 * is written. The later steps of an operation already admitted ({@link #run}, {@link #execute},
 * {@link Serial}) are always queued, so no write is cut in the middle; as each operation queues at
 * most a few steps at a time, the queue stays near the bound.
 */
public final class IoExecutor implements AutoCloseable {

  private final Vertx vertx;
  private final ThreadPoolExecutor pool;
  private final int maxQueued;

  /** @param threads how many threads do storage work at once (no bound on waiting tasks) */
  public IoExecutor(Vertx vertx, int threads) {
    this(vertx, threads, Integer.MAX_VALUE);
  }

  /**
   * @param threads   how many threads do storage work at once
   * @param maxQueued while this many tasks wait for a thread, {@link #admit} refuses new operations
   */
  public IoExecutor(Vertx vertx, int threads, int maxQueued) {
    this.vertx = vertx;
    this.maxQueued = maxQueued;
    AtomicInteger n = new AtomicInteger();
    this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
      Thread t = new Thread(r, "files-io-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Tasks waiting for a storage thread now (a count; {@code storage.io_queue} bounds it for new
   * operations). The node exports it as the gauge {@code files_storage_queue}.
   */
  public int queued() {
    return pool.getQueue().size();
  }

  /**
   * Starts a new storage operation with {@code task} as its first step, unless the queue is full.
   *
   * @param what the operation, for the log ({@code "create 0a/…chunk"})
   * @return fails with a busy {@link StorageException} when {@code storage.io_queue} tasks wait
   */
  public <T> Future<T> admit(String what, Callable<T> task) {
    if (pool.getQueue().size() >= maxQueued) {
      return Future.failedFuture(StorageException.busy("storage queue full (" + maxQueued + " tasks waiting): cannot " + what));
    }
    return run(task);
  }

  /** Runs {@code task} on a storage thread; the future completes on the caller's context. */
  public <T> Future<T> run(Callable<T> task) {
    PromiseInternal<T> promise = ((ContextInternal) vertx.getOrCreateContext()).promise();
    pool.execute(() -> complete(promise, task));
    return promise.future();
  }

  /** Runs {@code task} on a storage thread, for its side effects only. */
  public void execute(Runnable task) {
    pool.execute(task);
  }

  /**
   * A queue whose tasks run in submission order, one at a time. Their futures complete in that order
   * too, but callbacks need not run in it: a callback added to a future already complete runs at
   * once, while the one of the task before may still wait in the event loop's queue. Code that hands
   * results on in order must keep its own order ({@code EncryptedWrite} does).
   */
  public Serial serial() {
    return new Serial();
  }

  private static <T> void complete(PromiseInternal<T> promise, Callable<T> task) {
    try {
      promise.complete(task.call());
    } catch (Throwable t) {
      promise.fail(t);
    }
  }

  @Override
  public void close() {
    pool.shutdown();
  }

  /** Tasks of one stream: run in order, one at a time, on the pool. */
  public final class Serial {
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private boolean running;

    private Serial() {
    }

    /** Queues {@code task}; the future completes on the caller's context. */
    public <T> Future<T> run(Callable<T> task) {
      PromiseInternal<T> promise = ((ContextInternal) vertx.getOrCreateContext()).promise();
      Runnable r = () -> complete(promise, task);
      synchronized (this) {
        tasks.add(r);
        if (running) {
          return promise.future();
        }
        running = true;
      }
      pool.execute(this::drain);
      return promise.future();
    }

    private void drain() {
      for (;;) {
        Runnable r;
        synchronized (this) {
          r = tasks.poll();
          if (r == null) {
            running = false;
            return;
          }
        }
        r.run();
      }
    }
  }
}

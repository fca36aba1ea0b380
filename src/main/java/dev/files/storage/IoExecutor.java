package dev.files.storage;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.PromiseInternal;

import java.util.ArrayDeque;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads for blocking storage work (file I/O, hashing, later encryption), so the event loops never
 * block. Results come back on the caller's Vert.x context. A {@link Serial} runs one stream's tasks
 * one at a time, in order, while different streams proceed in parallel.
 */
public final class IoExecutor implements AutoCloseable {

  private final Vertx vertx;
  private final ExecutorService pool;

  /** @param threads how many threads do storage work at once */
  public IoExecutor(Vertx vertx, int threads) {
    this.vertx = vertx;
    AtomicInteger n = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "files-io-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
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

  /** A queue whose tasks run in submission order, one at a time. */
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

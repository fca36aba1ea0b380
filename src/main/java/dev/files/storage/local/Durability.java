package dev.files.storage.local;

import dev.files.storage.Fsync;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Threads of their own that make written objects durable, so that the storage threads
 * ({@code IoExecutor}, which also encrypt and hash) never wait for the disk: each object's
 * {@code fdatasync}, link to its name and directory sync run here, many objects at once.
 *
 * <p>Objects are synced concurrently, each on its own thread, not in batches that wait for one
 * another: Linux file systems with a journal (ext4's jbd2, XFS) already join the {@code fsync}s
 * that arrive together into one journal commit and one cache flush, which is the group commit
 * itself. Measured on the bench machine (ext4 on a virtual disk, 16 threads each writing 64 KiB
 * files into a directory of their own, 4–5 s per way, alternated, load average 4–19 from other
 * work): each object synced on its own, concurrently: 2,172–2,182 files/s (load 4–6),
 * 933–1,880 (load 13–19); batches that take everything queued, {@code fdatasync} each on 4–16
 * threads at once, link each and then sync each directory: 251–293 with the directories synced
 * one after another (load 4–6), 554–1,167 with them synced at once (load 13–18); the same batches
 * made durable with one {@code syncfs} instead of the {@code fdatasync}s: 222–249, then
 * 774–1,183. A batch holds its first objects until its last is durable, and the next batch waits
 * for it, so the disk sees fewer syncs at once than without batches; {@code syncfs} also flushes
 * every other process's dirty data on the file system (PostgreSQL's). So neither is used.
 * Through the store itself (8 storage threads, 16 writers of 64 KiB objects, 4 s each way,
 * alternated three times, load average 15): forced on the storage queues 603, 1,290, 2,285
 * objects/s; on 32 sync threads 912, 1,267, 2,628.
 *
 * <p>What is shared: the directory sync. Objects published in one directory while its sync waits
 * for a thread share that one sync (chunks of one file, under load), and so do directories created
 * in it ({@link #syncNewName}: the {@code <file id>} directories of new files in their
 * {@code <2 hex>} directory); a sync already running is not joined (it may have read the directory
 * before the new name), a new one is queued.
 *
 * <p>Big objects go through the same threads: without batches a 2 GiB {@code fdatasync} holds
 * only its own thread, never small objects behind it (and its writeback was started every
 * {@value Writeback#STEP_BYTES} bytes while it streamed, so its force has little left to write).
 *
 * <p>Idle threads end after a few seconds; {@link #close} lets queued work finish.
 */
final class Durability implements AutoCloseable {

  /** Seconds an idle sync thread lives. */
  private static final long IDLE_SECONDS = 10;
  private static final AtomicInteger POOLS = new AtomicInteger();

  private final ThreadPoolExecutor pool;
  private final DirectorySyncs counted;
  /** Directory syncs queued and not yet started, by directory (under this object's lock). */
  private final Map<Path, DirectorySync> waiting = new HashMap<>();

  /**
   * @param threads how many objects are synced at once (at least 1)
   * @param counted told of each directory sync done here
   */
  Durability(int threads, DirectorySyncs counted) {
    this.counted = counted;
    int id = POOLS.incrementAndGet();
    AtomicInteger n = new AtomicInteger();
    pool = new ThreadPoolExecutor(threads, threads, IDLE_SECONDS, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
      Thread t = new Thread(r, "files-sync-" + id + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    pool.allowCoreThreadTimeOut(true);
  }

  /**
   * Makes one object durable on a sync thread: runs {@code publish} (which forces the file's
   * bytes, links it to its name and returns the directory holding that name; on failure it has
   * removed what it wrote), then syncs that directory, then calls {@code done} with null. When
   * {@code publish} throws, {@code done} gets the exception and no directory is synced. A directory
   * that cannot be synced is ignored, as some file systems cannot: the bytes are on disk.
   *
   * @param done called once, on a sync thread: null when the object is durable under its name, else why not
   */
  void finish(Callable<Path> publish, Consumer<Throwable> done) {
    execute(() -> {
      Path dir;
      try {
        dir = publish.call();
      } catch (Throwable t) {
        done.accept(t);
        return;
      }
      syncDirectory(dir, false, done);
    });
  }

  /**
   * Makes the name of a directory just created in {@code parent} durable: a sync of {@code parent}
   * on a sync thread, shared with the other syncs of {@code parent} queued and not yet started
   * (new directories and objects named there meanwhile); then runs {@code done} on that thread. A
   * parent that cannot be synced is ignored, as in {@link #finish}.
   */
  void syncNewName(Path parent, Runnable done) {
    syncDirectory(parent, true, failure -> done.run());
  }

  /**
   * Queues a sync of {@code dir}, or joins the one queued for it and not yet started;
   * {@code newDirectory} when it is for the name of a directory created in {@code dir}.
   */
  private void syncDirectory(Path dir, boolean newDirectory, Consumer<Throwable> done) {
    DirectorySync sync;
    synchronized (this) {
      sync = waiting.get(dir);
      if (sync != null) {
        sync.waiters.add(done);
        sync.newDirectory |= newDirectory;
        return;
      }
      sync = new DirectorySync(dir);
      sync.waiters.add(done);
      sync.newDirectory = newDirectory;
      waiting.put(dir, sync);
    }
    execute(sync);
  }

  /** Runs {@code task} on a sync thread; once {@link #close closed}, on the caller's thread, so that nothing handed over is lost. */
  private void execute(Runnable task) {
    try {
      pool.execute(task);
    } catch (RejectedExecutionException closed) {
      task.run();
    }
  }

  /** One directory's sync and the objects waiting for it. */
  private final class DirectorySync implements Runnable {
    private final Path dir;
    /** Under the lock of the {@link Durability}; no longer added to once this sync is out of {@code waiting}. */
    private final List<Consumer<Throwable>> waiters = new ArrayList<>();
    /** Whether one of the waiters named a new directory in it (under the same lock). */
    private boolean newDirectory;

    DirectorySync(Path dir) {
      this.dir = dir;
    }

    @Override
    public void run() {
      List<Consumer<Throwable>> all;
      boolean forDirectory;
      synchronized (Durability.this) {
        waiting.remove(dir, this); // from here on, a name linked in dir queues a new sync
        all = List.copyOf(waiters);
        forDirectory = newDirectory;
      }
      Fsync.directory(dir);
      counted.synced(forDirectory ? DirectorySyncs.DIRECTORY : DirectorySyncs.OBJECT);
      for (Consumer<Throwable> done : all) {
        done.accept(null);
      }
    }
  }

  /** Lets what is queued finish on the sync threads, then ends them; later work runs on its caller's thread. Never waits. */
  @Override
  public void close() {
    pool.shutdown();
  }
}

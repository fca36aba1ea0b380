package dev.files.storage.local;

import dev.files.storage.Fsync;
import dev.files.storage.IoExecutor;
import dev.files.storage.ObjectInfo;
import dev.files.storage.ObjectKeys;
import dev.files.storage.ObjectPage;
import dev.files.storage.ObjectRead;
import dev.files.storage.ObjectStore;
import dev.files.storage.ObjectStoreException;
import dev.files.storage.ObjectStoreException.Reason;
import dev.files.storage.StoreMarker;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.streams.ReadStream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An {@link ObjectStore} in a directory: the object under key {@code a/b/c} is the file
 * {@code <root>/a/b/c}. Several nodes can share it only through a shared file system (NFS, a
 * cluster file system) that has atomic hard links and renames.
 *
 * <ul>
 *   <li>Write: the body goes to a hidden temporary file {@code .<name>.<random>.tmp} beside the
 *       target (no key segment starts with a dot, so it never clashes with one and is never listed);
 *       while it streams, the disk is started on each {@value Writeback#STEP_BYTES} bytes written
 *       (when {@code fsync}; {@link Writeback}), so that the final force waits for little;
 *       at the end it is forced to disk (when {@code fsync}), then hard-linked to the target name,
 *       which fails atomically if that name exists, the temporary name is removed, and the directory
 *       is forced to disk (when {@code fsync}); the directories the write had to create have their
 *       names forced too, each in its parent, from their creation on, and a write into a directory
 *       whose name is not yet forced waits for it (when {@code fsync}; {@link #makeDirectories});
 *       only then does the write succeed. With {@code fsync}
 *       these last steps run on the store's sync threads ({@link Durability}), many objects at once,
 *       so that no storage thread waits for the disk. A failed write
 *       removes its temporary file; one cut short by a crash leaves it behind (not listed; see
 *       {@link #removeTemporaries(long)}).</li>
 *   <li>Read: positioned reads of {@value #READ_BLOCK_BYTES} bytes, at most {@value
 *       FileRangeRead#PREFETCH} ahead of the consumer.</li>
 *   <li>List: the prefix's directory walked in key order, each page from the key after the token
 *       (the token is the last key of the page before); only one directory's names are held at a
 *       time per level.</li>
 *   <li>Delete: files removed, then their directories while empty, up to the root.</li>
 * </ul>
 * Blocking file work runs on the storage threads ({@link IoExecutor}), the forcing of durable
 * writes on the sync threads; results come back on the caller's context.
 */
public final class LocalObjectStore implements ObjectStore {

  /** Size of the blocks a read hands out. */
  static final int READ_BLOCK_BYTES = 256 * 1024;
  /** Bytes waiting for the storage thread before the body is paused. */
  private static final int WRITE_QUEUE_BYTES = 4 * 1024 * 1024;
  /** Incoming buffers are written in batches of about this many bytes (fewer system calls). */
  private static final int WRITE_BATCH_BYTES = 1024 * 1024;
  private static final String TEMP_SUFFIX = ".tmp";
  /** Default of {@code storage.local.sync_threads}: objects forced to disk at once. */
  public static final int SYNC_THREADS = 32;

  private final Vertx vertx;
  private final IoExecutor io;
  private final Path root;
  private final boolean fsync;
  /** Where durable writes are forced and published; null to do it on the storage queue. */
  private final Durability syncs;
  /** Told of each directory sync. */
  private final DirectorySyncs counted;
  /**
   * With {@code fsync}: the directories this store created whose names may not be durable in their
   * parents yet, each with the sync of its parent, completed (and the entry removed) once that sync
   * has run. A write into such a directory, created by itself or by another write, waits for it too.
   */
  private final ConcurrentHashMap<Path, CompletableFuture<Void>> newDirectories = new ConcurrentHashMap<>();

  /**
   * A store whose durable writes are forced on {@value #SYNC_THREADS} sync threads of its own.
   *
   * @param io    the storage threads
   * @param root  directory holding the objects; created by the first write when missing
   * @param fsync whether a write forces its bytes and the new name to disk before it succeeds
   */
  public LocalObjectStore(Vertx vertx, IoExecutor io, Path root, boolean fsync) {
    this(vertx, io, root, fsync, SYNC_THREADS);
  }

  /**
   * @param io          the storage threads
   * @param root        directory holding the objects; created by the first write when missing
   * @param fsync       whether a write forces its bytes and the new name to disk before it succeeds
   * @param syncThreads with {@code fsync}, how many objects are forced to disk at once on threads of
   *     this store ({@link Durability}; {@code storage.local.sync_threads}); 0 forces each on its
   *     write's storage queue, holding a storage thread while the disk works
   * @throws IllegalArgumentException when {@code syncThreads} is negative
   */
  public LocalObjectStore(Vertx vertx, IoExecutor io, Path root, boolean fsync, int syncThreads) {
    this(vertx, io, root, fsync, syncThreads, DirectorySyncs.NONE);
  }

  /**
   * @param io          the storage threads
   * @param root        directory holding the objects; created by the first write when missing
   * @param fsync       whether a write forces its bytes and the new name to disk before it succeeds
   *     (and the names of the directories it created in their parents)
   * @param syncThreads with {@code fsync}, how many objects are forced to disk at once on threads of
   *     this store ({@link Durability}; {@code storage.local.sync_threads}); 0 forces each on its
   *     write's storage queue, holding a storage thread while the disk works
   * @param counted     told of each directory sync (metrics; {@link DirectorySyncs#NONE} for none)
   * @throws IllegalArgumentException when {@code syncThreads} is negative
   */
  public LocalObjectStore(Vertx vertx, IoExecutor io, Path root, boolean fsync, int syncThreads, DirectorySyncs counted) {
    if (syncThreads < 0) {
      throw new IllegalArgumentException("negative sync threads");
    }
    this.vertx = vertx;
    this.io = io;
    this.root = root.toAbsolutePath().normalize();
    this.fsync = fsync;
    this.counted = counted;
    this.syncs = fsync && syncThreads > 0 ? new Durability(syncThreads, counted) : null;
  }

  /** The directory holding the objects. */
  public Path root() {
    return root;
  }

  private Path file(String key) {
    return root.resolve(ObjectKeys.check(key));
  }

  private ContextInternal context() {
    return (ContextInternal) vertx.getOrCreateContext();
  }

  @Override
  public Future<Long> write(String key, ReadStream<Buffer> body) {
    Path target = file(key);
    Path temp = target.resolveSibling("." + target.getFileName() + "." + UUID.randomUUID() + TEMP_SUFFIX);
    ContextInternal ctx = context();
    Promise<Long> result = ctx.promise();
    body.pause(); // until the temporary file is open
    io.run(() -> {
      if (Files.exists(target)) { // fails early; the link below is the atomic check
        throw new ObjectStoreException("storing an object", Reason.EXISTS, null);
      }
      Path dir = target.getParent();
      makeDirectories(dir);
      FileChannel channel;
      try {
        channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      } catch (NoSuchFileException e) { // a delete removed the emptied directory meanwhile: once more
        makeDirectories(dir);
        channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      }
      // the temporary file keeps dir from being removed: what its path waits for is known from here on
      return new Opened(channel, fsync ? namesDurable(dir) : null);
    }).onComplete(ar -> {
      if (ar.failed()) {
        result.fail(ObjectStoreException.of("storing an object", Reason.UNAVAILABLE, ar.cause()));
      } else {
        new LocalWrite(ctx, ar.result().channel(), ar.result().names(), temp, target, body, result).start();
      }
    });
    return result.future();
  }

  /** A write's temporary file, open, and the syncs of directory names it waits for (null: none). */
  private record Opened(FileChannel channel, CompletableFuture<Void> names) {
  }

  /**
   * On a storage thread: creates {@code dir} and its missing ancestors, the highest first. With
   * {@code fsync}, the name of each one created is then made durable in its parent: the parent is
   * synced ({@link Durability#syncNewName}: shared with other syncs of it that wait; without sync
   * threads, here), while the write goes on; until that sync has run the directory is in
   * {@link #newDirectories}, entered before it is created, so that a write that finds it already
   * there waits for the sync as well.
   *
   * @throws IOException when a directory cannot be created (a file in its place, no permission)
   */
  private void makeDirectories(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    ArrayDeque<Path> missing = new ArrayDeque<>();
    for (Path p = dir; p != null && !Files.isDirectory(p); p = p.getParent()) {
      missing.push(p); // the highest missing one ends first in the deque
    }
    for (Path p : missing) {
      CompletableFuture<Void> named = fsync ? new CompletableFuture<>() : null;
      if (named != null) {
        newDirectories.put(p, named);
      }
      try {
        Files.createDirectory(p);
      } catch (FileAlreadyExistsException e) {
        if (!Files.isDirectory(p)) {
          throw e;
        }
        // another write created it meanwhile: its name is synced once more, which costs little
      } finally {
        if (named != null) {
          syncNewName(p, named);
        }
      }
    }
  }

  /** Makes the name of directory {@code p} durable in its parent, then completes {@code named}. */
  private void syncNewName(Path p, CompletableFuture<Void> named) {
    Runnable synced = () -> {
      newDirectories.remove(p, named);
      named.complete(null);
    };
    Path parent = p.getParent();
    if (parent == null) {
      synced.run();
    } else if (syncs != null) {
      syncs.syncNewName(parent, synced);
    } else {
      Fsync.directory(parent);
      counted.synced(DirectorySyncs.DIRECTORY);
      synced.run();
    }
  }

  /**
   * The syncs of the names of the directories from {@code dir} up to the root that are not yet
   * known durable ({@link #newDirectories}), as one future; null when there are none (the usual
   * case: a directory named before).
   */
  private CompletableFuture<Void> namesDurable(Path dir) {
    if (newDirectories.isEmpty()) {
      return null;
    }
    List<CompletableFuture<Void>> pending = new ArrayList<>(2);
    for (Path p = dir; p != null; p = p.getParent()) {
      CompletableFuture<Void> named = newDirectories.get(p);
      if (named != null) {
        pending.add(named);
      }
      if (p.equals(root)) {
        break;
      }
    }
    return switch (pending.size()) {
      case 0 -> null;
      case 1 -> pending.get(0);
      default -> CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new));
    };
  }

  /**
   * Reads the body into the temporary file: buffers are gathered on the context and written in
   * batches, in order, on one storage queue; the body is paused while more than {@value
   * #WRITE_QUEUE_BYTES} bytes wait for it.
   */
  private final class LocalWrite {
    private final ContextInternal ctx;
    private final FileChannel channel;
    /** The syncs of the names of new directories on the object's path, or null (none). */
    private final CompletableFuture<Void> names;
    private final Path temp;
    private final Path target;
    private final ReadStream<Buffer> body;
    private final Promise<Long> result;
    private final IoExecutor.Serial serial = io.serial();
    /** Starts the disk on the bytes written so far (storage queue only); null without fsync. */
    private final Writeback writeback;
    /** Bytes written to the file (storage queue only). */
    private long written;
    private List<Buffer> batch = new ArrayList<>();
    private int batchBytes;
    private long queued;
    private long size;
    private boolean paused;
    private boolean done;
    /** A batch that could not be written (storage thread): the end must not publish what came before it. */
    private volatile Exception writeError;

    LocalWrite(ContextInternal ctx, FileChannel channel, CompletableFuture<Void> names, Path temp, Path target,
        ReadStream<Buffer> body, Promise<Long> result) {
      this.ctx = ctx;
      this.channel = channel;
      this.names = names;
      this.temp = temp;
      this.target = target;
      this.body = body;
      this.result = result;
      this.writeback = fsync ? new Writeback(temp) : null;
    }

    void start() {
      body.handler(this::onData);
      body.exceptionHandler(err -> fail(new ObjectStoreException("storing an object", Reason.BODY, err)));
      body.endHandler(v -> finish());
      body.resume();
    }

    private void onData(Buffer data) {
      if (done) {
        return;
      }
      batch.add(data);
      batchBytes += data.length();
      size += data.length();
      if (batchBytes >= WRITE_BATCH_BYTES) {
        flush();
      }
    }

    private void flush() {
      if (batchBytes == 0) {
        return;
      }
      List<Buffer> buffers = batch;
      int bytes = batchBytes;
      batch = new ArrayList<>();
      batchBytes = 0;
      queued += bytes;
      serial.run(() -> {
        if (writeError != null) {
          throw writeError;
        }
        try {
          for (Buffer b : buffers) {
            ByteBuffer bb = ((BufferInternal) b).getByteBuf().nioBuffer();
            while (bb.hasRemaining()) {
              written += channel.write(bb);
            }
          }
          if (writeback != null) {
            writeback.written(written);
          }
        } catch (IOException | RuntimeException e) {
          writeError = e;
          throw e;
        }
        return null;
      }).onComplete(ar -> {
        queued -= bytes;
        if (ar.failed()) {
          fail(ObjectStoreException.of("storing an object", Reason.UNAVAILABLE, ar.cause()));
        } else if (paused && queued <= WRITE_QUEUE_BYTES / 2 && !done) {
          paused = false;
          body.resume();
        }
      });
      if (queued > WRITE_QUEUE_BYTES && !paused) {
        paused = true;
        body.pause();
      }
    }

    private void finish() {
      if (done) {
        return;
      }
      flush();
      done = true;
      serial.run(() -> {
        if (writeError != null) { // the last batch failed after the end arrived
          discard();
          throw writeError;
        }
        if (syncs != null) { // forced and published on a sync thread; this storage thread goes on
          syncs.finish(this::forceAndPublish, this::published);
          return null;
        }
        Path dir = forceAndPublish();
        if (fsync) {
          Fsync.directory(dir);
          counted.synced(DirectorySyncs.OBJECT);
          if (names != null) {
            names.join(); // forced on the storage thread of the write that created the directory
          }
        }
        finished(null);
        return null;
      }).onFailure(this::finished);
    }

    /**
     * Forces the bytes (when {@code fsync}), closes the file and publishes it under its key
     * ({@link #publish}); on failure removes the temporary file. Returns the directory of the key,
     * whose new entry is not yet on disk.
     */
    private Path forceAndPublish() throws Exception {
      try {
        if (fsync) {
          channel.force(false);
        }
        closeWriteback();
        channel.close();
        publish(temp, target);
        return target.getParent();
      } catch (Exception e) {
        discard();
        throw e;
      }
    }

    /**
     * The object is durable under its name (null), or could not be stored: answers once the names of
     * the new directories on its path are durable too.
     */
    private void published(Throwable failure) {
      if (failure != null || names == null) {
        finished(failure);
      } else {
        names.whenComplete((v, never) -> finished(null));
      }
    }

    /** Answers the write: null when the object is stored (durably, with {@code fsync}), else why not; any thread. */
    private void finished(Throwable failure) {
      if (failure == null) {
        result.tryComplete(size);
      } else {
        result.tryFail(ObjectStoreException.of("storing an object", Reason.UNAVAILABLE, failure));
      }
    }

    private void fail(ObjectStoreException failure) {
      if (done) {
        return;
      }
      done = true;
      body.pause();
      body.handler(null);
      body.endHandler(null);
      body.exceptionHandler(null);
      serial.run(() -> {
        discard();
        return null;
      }).onComplete(ar -> result.tryFail(failure));
    }

    /** On the storage thread: closes and removes the temporary file; never fails. */
    private void discard() {
      closeWriteback();
      try {
        channel.close();
      } catch (IOException ignored) {
        // the delete is what matters
      }
      try {
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // a hidden temporary file: never listed, removed by removeTemporaries
      }
    }

    private void closeWriteback() {
      if (writeback != null) {
        writeback.close();
      }
    }
  }

  /**
   * Gives the temporary file its key's name, failing if the name is taken; then removes the
   * temporary name. The directory is not synced here: the caller does it (with {@code fsync}).
   */
  private void publish(Path temp, Path target) throws IOException {
    try {
      Files.createLink(target, temp); // atomic, and refuses an existing name
    } catch (FileAlreadyExistsException e) {
      throw new ObjectStoreException("storing an object", Reason.EXISTS, null);
    } catch (UnsupportedOperationException | java.nio.file.FileSystemException e) {
      if (Files.exists(target)) {
        throw new ObjectStoreException("storing an object", Reason.EXISTS, null);
      }
      // no hard links here (some shared file systems): a rename, which does not refuse an existing name
      Files.move(temp, target);
    }
    Files.deleteIfExists(temp);
  }

  @Override
  public Future<ObjectRead> read(String key, long offset, long length) {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("negative offset or length");
    }
    ContextInternal ctx = context();
    return openFile(key, offset + length).map(channel -> new FileRangeRead(ctx, io.serial(), channel, offset, length));
  }

  @Override
  public Future<FileChannel> openFile(String key, long length) {
    Path file = file(key);
    return io.run(() -> {
      FileChannel channel;
      try {
        channel = FileChannel.open(file, StandardOpenOption.READ);
      } catch (NoSuchFileException e) {
        throw new ObjectStoreException("reading an object", Reason.NOT_FOUND, e);
      }
      try {
        if (channel.size() < length) {
          throw new ObjectStoreException("reading an object", Reason.SHORT, null);
        }
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
      return channel;
    }).recover(err -> Future.failedFuture(ObjectStoreException.of("reading an object", Reason.UNAVAILABLE, err)));
  }

  @Override
  public Future<Void> delete(Collection<String> keys) {
    List<Path> files = keys.stream().map(this::file).toList();
    return io.run(() -> {
      int failed = 0;
      IOException first = null;
      for (Path f : files) {
        try {
          Files.deleteIfExists(f);
          removeEmptyParents(f);
        } catch (IOException e) {
          failed++;
          first = first == null ? e : first;
        }
      }
      if (failed > 0) {
        throw new ObjectStoreException("deleting " + failed + " objects", Reason.UNAVAILABLE, first);
      }
      return (Void) null;
    }).recover(err -> Future.failedFuture(ObjectStoreException.of("deleting objects", Reason.UNAVAILABLE, err)));
  }

  /** Removes the directories above {@code file} while they are empty, below the root. */
  private void removeEmptyParents(Path file) {
    for (Path dir = file.getParent(); dir != null && !dir.equals(root) && dir.startsWith(root); dir = dir.getParent()) {
      try {
        Files.deleteIfExists(dir);
      } catch (DirectoryNotEmptyException e) {
        return; // still holds other objects (or a write in progress)
      } catch (IOException e) {
        return;
      }
    }
  }

  @Override
  public Future<ObjectPage> list(String prefix, String pageToken, int pageSize) {
    ObjectKeys.checkPrefix(prefix);
    if (pageSize < 1 || pageSize > 1000) {
      throw new IllegalArgumentException("page size out of 1..1000");
    }
    int slash = prefix.lastIndexOf('/');
    String dirKey = prefix.substring(0, slash + 1); // "" or "a/b/"
    String namePrefix = prefix.substring(slash + 1);
    return io.run(() -> {
      List<ObjectInfo> found = new ArrayList<>();
      Path dir = dirKey.isEmpty() ? root : root.resolve(dirKey);
      walk(dir, dirKey, namePrefix, pageToken, pageSize + 1, found);
      boolean more = found.size() > pageSize;
      List<ObjectInfo> page = more ? found.subList(0, pageSize) : found;
      return new ObjectPage(page, more ? page.get(page.size() - 1).key() : null);
    }).recover(err -> Future.failedFuture(ObjectStoreException.of("listing objects", Reason.UNAVAILABLE, err)));
  }

  /**
   * Adds to {@code out}, in key order, the objects under {@code dir} (whose keys start with
   * {@code dirKey}) named {@code namePrefix}… at this level, with keys after {@code after}, until
   * it holds {@code limit}. Entries are sorted by name, a directory's name followed by "/", which is
   * the order of the keys themselves. Returns false once {@code out} is full.
   */
  private boolean walk(Path dir, String dirKey, String namePrefix, String after, int limit, List<ObjectInfo> out)
      throws IOException {
    TreeMap<String, Path> entries = new TreeMap<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path p : stream) {
        String name = p.getFileName().toString();
        if (name.startsWith(".") || !name.startsWith(namePrefix)) {
          continue; // temporary files, and names outside the prefix
        }
        entries.put(Files.isDirectory(p) ? name + "/" : name, p);
      }
    } catch (NoSuchFileException | java.nio.file.NotDirectoryException e) {
      return true; // nothing there (or removed while walking)
    }
    for (var e : entries.entrySet()) {
      String key = dirKey + e.getKey();
      if (key.endsWith("/")) {
        if (after != null && key.compareTo(after) < 0 && !after.startsWith(key)) {
          continue; // the whole directory sorts before the token
        }
        if (!walk(e.getValue(), key, "", after, limit, out)) {
          return false;
        }
      } else if (after == null || key.compareTo(after) > 0) {
        BasicFileAttributes attrs;
        try {
          attrs = Files.readAttributes(e.getValue(), BasicFileAttributes.class);
        } catch (NoSuchFileException gone) {
          continue; // deleted while listing
        }
        out.add(new ObjectInfo(key, attrs.size(), attrs.lastModifiedTime().toMillis()));
        if (out.size() >= limit) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * Removes the temporary files of writes that a crash cut short, when older than {@code olderThanMs}
   * (keep it far above the longest write: with a shared directory, another node may be writing).
   *
   * @return how many were removed
   */
  @Override
  public Future<Integer> removeTemporaries(long olderThanMs) {
    long before = System.currentTimeMillis() - olderThanMs;
    return io.run(() -> {
      if (!Files.isDirectory(root)) {
        return 0;
      }
      int removed = 0;
      try (var files = Files.walk(root)) {
        for (Path p : (Iterable<Path>) files::iterator) {
          String name = p.getFileName().toString();
          if (name.startsWith(".") && name.endsWith(TEMP_SUFFIX) && Files.isRegularFile(p)
              && Files.getLastModifiedTime(p).toMillis() < before && Files.deleteIfExists(p)) {
            removed++;
          }
        }
      } catch (java.io.UncheckedIOException e) {
        // a directory removed while walking: the next run sees the rest
      }
      return removed;
    });
  }

  @Override
  public Future<Void> probe() {
    return io.run(() -> {
      if (!Files.isDirectory(root) && !Files.isDirectory(Files.createDirectories(root))) {
        throw new IOException("not a directory");
      }
      if (!Files.isWritable(root)) {
        throw new IOException("not writable");
      }
      return (Void) null;
    }).recover(err -> Future.failedFuture(ObjectStoreException.of("checking storage", Reason.UNAVAILABLE, err)));
  }

  @Override
  public Future<Void> close() {
    if (syncs != null) {
      syncs.close(); // writes already handed over still finish; the storage threads belong to the caller
    }
    return Future.succeededFuture();
  }

  @Override
  public String description() {
    return "storage.local.path " + root;
  }

  @Override
  public String settings() {
    return "storage.local.path (FILES_STORAGE_LOCAL_PATH)";
  }

  /** The file {@link StoreMarker#FILE} in the directory, outside the key space. */
  @Override
  public String identityLocation() {
    return root.resolve(StoreMarker.FILE).toString();
  }

  @Override
  public Future<UUID> readIdentity() {
    return vertx.executeBlocking(() -> StoreMarker.read(root), false);
  }

  @Override
  public Future<UUID> recordIdentity(UUID id) {
    return vertx.executeBlocking(() -> {
      UUID current = StoreMarker.read(root);
      if (current == null) {
        StoreMarker.write(root, id);
        return id;
      }
      return current;
    }, false);
  }

  /** A small file written, read back and deleted in the directory, on a worker thread ({@link #probeDirectory}). */
  @Override
  public Future<Void> checkReady() {
    return vertx.executeBlocking(() -> {
      probeDirectory(root);
      return null;
    }, false);
  }

  @Override
  public String notReadyReason() {
    return "the storage directory cannot be written";
  }

  /**
   * Creates {@code root} if needed, then writes, reads back and deletes a small file in it (hidden name,
   * outside the object key space). Blocking: call from a worker thread.
   *
   * @throws IOException when the directory cannot be created or written, or reads back something else
   */
  public static void probeDirectory(Path root) throws IOException {
    Files.createDirectories(root);
    Path probe = root.resolve(".probe-" + UUID.randomUUID());
    byte[] data = ("probe " + System.nanoTime()).getBytes(StandardCharsets.US_ASCII);
    try {
      Files.write(probe, data);
      if (!Arrays.equals(Files.readAllBytes(probe), data)) {
        throw new IOException("what was written to " + probe + " reads back differently");
      }
    } finally {
      Files.deleteIfExists(probe);
    }
  }
}

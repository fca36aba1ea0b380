package dev.files.storage.local;

/**
 * Counts the directory syncs of a {@link LocalObjectStore} with {@code fsync} (the node's metric
 * {@code files_storage_directory_syncs_total}). Called once per {@code fsync} of a directory, after
 * it, on the sync or storage thread that did it: must be quick, thread-safe and never throw.
 */
@FunctionalInterface
public interface DirectorySyncs {

  /** Label of a sync that made the names of new objects durable in their directory. */
  String OBJECT = "object";
  /**
   * Label of a sync that made the name of a new directory durable in its parent (a sync that did
   * both, as objects and a new directory were named in one directory, is counted under this one).
   */
  String DIRECTORY = "directory";

  /** Counts nothing. */
  DirectorySyncs NONE = entries -> { };

  /**
   * One directory was forced to disk.
   *
   * @param entries what its sync was for: {@link #OBJECT} or {@link #DIRECTORY}
   */
  void synced(String entries);
}

package dev.files.storage;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.security.GeneralSecurityException;

/**
 * How one chunk object is encrypted: a streaming AEAD bound to the chunk's associated data (file
 * id, generation, chunk number), so a chunk moved to another file or position fails to decrypt.
 * Channels are used on storage threads only.
 */
public interface ChunkCipher {

  /** Plaintext written to the result goes to {@code ciphertext} encrypted; closing it writes the last segment. */
  WritableByteChannel encrypting(WritableByteChannel ciphertext) throws GeneralSecurityException, IOException;

  /**
   * A plaintext view of {@code ciphertext} with random access: reading a range decrypts only the
   * segments it covers. A read of a tampered, truncated or swapped segment throws an IOException.
   */
  SeekableByteChannel decrypting(SeekableByteChannel ciphertext) throws GeneralSecurityException, IOException;

  /** No encryption: for benchmarks against plaintext only ({@code encryption.null_cipher}). */
  ChunkCipher NONE = new ChunkCipher() {
    @Override
    public WritableByteChannel encrypting(WritableByteChannel ciphertext) {
      return ciphertext;
    }

    @Override
    public SeekableByteChannel decrypting(SeekableByteChannel ciphertext) {
      return ciphertext;
    }
  };
}

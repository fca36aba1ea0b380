package dev.files.crypto;

import java.io.IOException;
import java.nio.ByteBuffer;
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

  /**
   * Where the segments lie in an object this cipher writes (Tink's AES-GCM-HKDF streaming format):
   * a header of {@code headerBytes}, then segments of {@code segmentBytes} ciphertext bytes each
   * (the first shorter by the header, the last possibly shorter), each holding {@code segmentBytes -
   * tagBytes} plaintext bytes (the first {@code headerBytes} fewer). Lets a ranged read ask the store
   * only for the segments it needs. All sizes in bytes.
   */
  record Layout(int headerBytes, int segmentBytes, int tagBytes) {

    /** Plaintext bytes a segment holds (the first one {@code headerBytes} fewer). */
    public int plainSegmentBytes() {
      return segmentBytes - tagBytes;
    }

    /** The segment holding plaintext byte {@code position}. */
    public long segmentOf(long position) {
      return (position + headerBytes) / plainSegmentBytes();
    }

    /** How many segments hold {@code plaintextSize} bytes (an empty plaintext is one empty segment). */
    public long segments(long plaintextSize) {
      long first = plainSegmentBytes() - headerBytes;
      return plaintextSize <= first ? 1 : 1 + (plaintextSize - first + plainSegmentBytes() - 1) / plainSegmentBytes();
    }

    /** The size of the object that stores {@code plaintextSize} bytes. */
    public long ciphertextSize(long plaintextSize) {
      return headerBytes + plaintextSize + segments(plaintextSize) * tagBytes;
    }

    /** Where segment {@code s}'s ciphertext starts in the object. */
    public long cipherStart(long s) {
      return s == 0 ? headerBytes : s * segmentBytes;
    }

    /** Where segment {@code s}'s plaintext starts. */
    public long plainStart(long s) {
      return s == 0 ? 0 : s * plainSegmentBytes() - headerBytes;
    }
  }

  /**
   * Whole-segment decryption between buffers, for a read that fetches the ciphertext itself (a
   * local file read into direct memory); null when this cipher has none, and its objects are read
   * through {@link #decrypting} only. Never null with a {@link #layout()} of Tink's format written
   * by the project's own AES-GCM ({@code SegmentedAesGcm}).
   */
  default SegmentOpener segmentOpener() {
    return null;
  }

  /** Opens one object's segments from its header. */
  interface SegmentOpener {
    /**
     * @param header the object's first {@code layout().headerBytes()} bytes (read from position to limit)
     * @return a decryptor of that object's segments, for one thread at a time
     * @throws GeneralSecurityException when the header is not of this format
     */
    SegmentDecryptor open(ByteBuffer header) throws GeneralSecurityException;
  }

  /** Decrypts the segments of one object, each on its own, authenticated. */
  interface SegmentDecryptor {
    /**
     * Decrypts segment {@code segment} (0-based): the remaining bytes of {@code ciphertext}, its
     * ciphertext with the tag, into {@code plaintext} from its position (which moves past them).
     *
     * @param last true for the object's last segment (the format binds it into the nonce)
     * @return plaintext bytes written ({@code ciphertext.remaining() - tagBytes})
     * @throws GeneralSecurityException when the segment does not authenticate (tampered, moved,
     *         truncated); nothing it wrote may be used then
     */
    int decrypt(int segment, boolean last, ByteBuffer ciphertext, ByteBuffer plaintext) throws GeneralSecurityException;
  }

  /** The segment layout of the objects this cipher writes; null when bytes are stored as they are. */
  default Layout layout() {
    return null;
  }

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

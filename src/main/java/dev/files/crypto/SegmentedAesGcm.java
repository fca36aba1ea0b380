package dev.files.crypto;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.Key;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.StreamingAead;
import com.google.crypto.tink.streamingaead.AesGcmHkdfStreamingKey;
import com.google.crypto.tink.streamingaead.AesGcmHkdfStreamingParameters;
import com.google.crypto.tink.subtle.Hkdf;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tink's AES-GCM-HKDF streaming format, byte for byte, with every segment encrypted and decrypted
 * by {@link Cipher#doFinal(byte[], int, int, byte[], int)} on arrays: whole segments are read up to
 * {@value #SEGMENTS_PER_IO} at a time and decrypted straight into the caller's buffer (Tink's
 * channel reads one segment per call and copies each through a segment buffer), and the cipher can
 * come from a native provider (below). The format is the same, so objects written by either open
 * with the other. (On JDK 17 here, the JDK's AES-GCM ran about as fast on heap ByteBuffers as on
 * arrays, 2-2.5 GB per CPU-second under heavy machine load: the array path alone is no speed-up.)
 *
 * <p>The format (Tink's {@code AesGcmHkdfStreaming} with a first-segment offset of 0): a header of
 * {@code 1 + keySize + 7} bytes (its own length, a random salt of keySize bytes, a random 7-byte
 * nonce prefix), then segments of {@code segmentSize} ciphertext bytes (the first one shorter by
 * the header), each the AES-GCM encryption of its plaintext with a 16-byte tag, under the key
 * HKDF(ikm, salt, info = associated data), with the nonce {@code prefix || segment number (4
 * bytes, big-endian) || 1 if last else 0}. A segment is written as "not last" only once more
 * plaintext follows it, so an empty plaintext is one empty last segment.
 *
 * <p>The AES-GCM of the segments comes from Amazon Corretto Crypto Provider (AWS-LC, native) when
 * it loads on this platform (Linux x86-64), else from the JDK; only this class uses it, nothing is
 * installed as a system-wide provider. {@code -Dfiles.crypto.jdk_only=true} forces the JDK's.
 *
 * <p>Only the two channel operations the store uses run here; the stream operations go to Tink.
 */
final class SegmentedAesGcm implements StreamingAead {

  private static final int NONCE_PREFIX_BYTES = 7;
  private static final int TAG_BYTES = 16;
  /**
   * Whole segments read or written per I/O call at most: 256 KiB with 64 KiB segments, below half a
   * G1 region, so no array of a call is a humongous object.
   */
  private static final int SEGMENTS_PER_IO = 4;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Logger LOG = LoggerFactory.getLogger(SegmentedAesGcm.class);
  /** The provider of the segments' AES-GCM; null for the JDK's default. */
  private static final Provider GCM_PROVIDER = gcmProvider();

  private static Provider gcmProvider() {
    if (Boolean.getBoolean("files.crypto.jdk_only")) {
      return null;
    }
    try {
      Provider p = AmazonCorrettoCryptoProvider.INSTANCE;
      AmazonCorrettoCryptoProvider.INSTANCE.assertHealthy();
      Cipher.getInstance("AES/GCM/NoPadding", p);
      return p;
    } catch (Throwable e) { // no native library for this platform, or it failed its self-tests
      LOG.info("Amazon Corretto Crypto Provider not usable here ({}): chunk segments use the JDK's AES-GCM",
          e.getMessage());
      return null;
    }
  }

  /** A new AES-GCM cipher from the chosen provider. */
  static Cipher gcm() throws GeneralSecurityException {
    return GCM_PROVIDER != null ? Cipher.getInstance("AES/GCM/NoPadding", GCM_PROVIDER)
        : Cipher.getInstance("AES/GCM/NoPadding");
  }

  /**
   * Loads the AES-GCM provider now (its native library and self-tests take a moment), so that the
   * first upload or download does not wait for it.
   */
  static void load() {
    // the class initialiser did it
  }

  /** The name of the provider of the segments' AES-GCM (for tests and logs). */
  static String provider() throws GeneralSecurityException {
    return gcm().getProvider().getName();
  }

  private final byte[] ikm;
  private final String hkdfMac;
  private final int keyBytes;
  private final int segmentBytes;
  /** The keyset, for Tink's own primitive when first needed; null when {@link #tink} was given. */
  private final KeysetHandle handle;
  /** Tink's own primitive of the same keyset (made on first use from {@link #handle}), for its streams. */
  private StreamingAead tink;

  private SegmentedAesGcm(byte[] ikm, String hkdfMac, int keyBytes, int segmentBytes, KeysetHandle handle,
                          StreamingAead tink) {
    this.ikm = ikm;
    this.hkdfMac = hkdfMac;
    this.keyBytes = keyBytes;
    this.segmentBytes = segmentBytes;
    this.handle = handle;
    this.tink = tink;
  }

  /**
   * The array-based primitive for a keyset of one AES-GCM-HKDF streaming key; otherwise (several
   * keys, another key type) {@code tink}, Tink's own primitive of the same keyset.
   */
  static StreamingAead of(KeysetHandle handle, StreamingAead tink) {
    StreamingAead fast = arrays(handle, null, tink);
    return fast != null ? fast : tink;
  }

  /**
   * As {@link #of(KeysetHandle, StreamingAead)}, with Tink's own primitive made only when it is used
   * (its streams; not the channels a chunk is written and read through): making it costs about a
   * quarter of a new data key's time, and every new file makes one.
   */
  static StreamingAead of(KeysetHandle handle) throws GeneralSecurityException {
    StreamingAead fast = arrays(handle, handle, null);
    return fast != null ? fast : tinkPrimitive(handle);
  }

  private static StreamingAead tinkPrimitive(KeysetHandle handle) throws GeneralSecurityException {
    return handle.getPrimitive(RegistryConfiguration.get(), StreamingAead.class);
  }

  /** Tink's own primitive of the keyset, made on first use. */
  private synchronized StreamingAead tink() throws GeneralSecurityException {
    if (tink == null) {
      tink = tinkPrimitive(handle);
    }
    return tink;
  }

  /** The array-based primitive of {@code keyset}; null when its keys are not one AES-GCM-HKDF streaming key. */
  private static SegmentedAesGcm arrays(KeysetHandle keyset, KeysetHandle handle, StreamingAead tink) {
    if (keyset.size() != 1) {
      return null;
    }
    Key key = keyset.getPrimary().getKey();
    if (!(key instanceof AesGcmHkdfStreamingKey k)) {
      return null;
    }
    AesGcmHkdfStreamingParameters p = k.getParameters();
    String mac;
    if (p.getHkdfHashType() == AesGcmHkdfStreamingParameters.HashType.SHA256) {
      mac = "HmacSha256";
    } else if (p.getHkdfHashType() == AesGcmHkdfStreamingParameters.HashType.SHA512) {
      mac = "HmacSha512";
    } else if (p.getHkdfHashType() == AesGcmHkdfStreamingParameters.HashType.SHA1) {
      mac = "HmacSha1";
    } else {
      return null;
    }
    return new SegmentedAesGcm(k.getInitialKeyMaterial().toByteArray(InsecureSecretKeyAccess.get()), mac,
        p.getDerivedAesGcmKeySizeBytes(), p.getCiphertextSegmentSizeBytes(), handle, tink);
  }

  private int headerBytes() {
    return 1 + keyBytes + NONCE_PREFIX_BYTES;
  }

  private SecretKeySpec segmentKey(byte[] salt, byte[] associatedData) throws GeneralSecurityException {
    return new SecretKeySpec(Hkdf.computeHkdf(hkdfMac, ikm, salt, associatedData, keyBytes), "AES");
  }

  private static GCMParameterSpec nonce(byte[] prefix, int segment, boolean last) {
    byte[] n = new byte[NONCE_PREFIX_BYTES + 5];
    System.arraycopy(prefix, 0, n, 0, NONCE_PREFIX_BYTES);
    n[7] = (byte) (segment >>> 24);
    n[8] = (byte) (segment >>> 16);
    n[9] = (byte) (segment >>> 8);
    n[10] = (byte) segment;
    n[11] = (byte) (last ? 1 : 0);
    return new GCMParameterSpec(8 * TAG_BYTES, n);
  }

  /**
   * The decryptor of one object's segments between buffers, from its header. Heap buffers go
   * through the array call: Amazon Corretto Crypto Provider 2.4 decrypted 64 KiB segments at
   * 3.8-12 GB per CPU-second from arrays and at 0.3 from direct buffers (measured on this
   * machine, loaded), so callers decrypt between heap buffers.
   *
   * @param header the object's first {@code 1 + keySize + 7} bytes, position to limit
   * @throws GeneralSecurityException when the header is not this format's (its first byte is its length)
   */
  ChunkCipher.SegmentDecryptor segments(ByteBuffer header, byte[] associatedData) throws GeneralSecurityException {
    if (header.remaining() != headerBytes() || header.get(header.position()) != headerBytes()) {
      throw new GeneralSecurityException("invalid ciphertext header");
    }
    byte[] salt = new byte[keyBytes];
    byte[] prefix = new byte[NONCE_PREFIX_BYTES];
    header.get(header.position() + 1, salt);
    header.get(header.position() + 1 + keyBytes, prefix);
    SecretKeySpec key = segmentKey(salt, associatedData);
    Cipher cipher = gcm();
    return (segment, last, ciphertext, plaintext) -> {
      cipher.init(Cipher.DECRYPT_MODE, key, nonce(prefix, segment, last));
      if (!ciphertext.hasArray() || !plaintext.hasArray()) {
        return cipher.doFinal(ciphertext, plaintext);
      }
      int n = cipher.doFinal(ciphertext.array(), ciphertext.arrayOffset() + ciphertext.position(), ciphertext.remaining(),
          plaintext.array(), plaintext.arrayOffset() + plaintext.position());
      ciphertext.position(ciphertext.limit());
      plaintext.position(plaintext.position() + n);
      return n;
    };
  }

  @Override
  public WritableByteChannel newEncryptingChannel(WritableByteChannel ciphertext, byte[] associatedData)
      throws GeneralSecurityException, IOException {
    return new Encrypting(ciphertext, associatedData);
  }

  @Override
  public SeekableByteChannel newSeekableDecryptingChannel(SeekableByteChannel ciphertext, byte[] associatedData)
      throws GeneralSecurityException, IOException {
    return new Decrypting(ciphertext, associatedData);
  }

  @Override
  public ReadableByteChannel newDecryptingChannel(ReadableByteChannel ciphertext, byte[] associatedData)
      throws GeneralSecurityException, IOException {
    return tink().newDecryptingChannel(ciphertext, associatedData);
  }

  @Override
  public OutputStream newEncryptingStream(OutputStream ciphertext, byte[] associatedData)
      throws GeneralSecurityException, IOException {
    return tink().newEncryptingStream(ciphertext, associatedData);
  }

  @Override
  public InputStream newDecryptingStream(InputStream ciphertext, byte[] associatedData)
      throws GeneralSecurityException, IOException {
    return tink().newDecryptingStream(ciphertext, associatedData);
  }

  /**
   * Plaintext in, ciphertext out. Plaintext is gathered in one segment's array; a full segment is
   * encrypted once more plaintext arrives (so the last one can be marked last on close), into an
   * output array written {@value #SEGMENTS_PER_IO} segments at a time. The output array starts at
   * two segments and doubles as segments come: a small file never allocates the full array (1 MiB
   * with 64 KiB segments, a "humongous" object for G1 with a small heap, whose every allocation
   * can start a concurrent collection cycle).
   */
  private final class Encrypting implements WritableByteChannel {
    private final WritableByteChannel out;
    private final SecretKeySpec key;
    private final byte[] prefix = new byte[NONCE_PREFIX_BYTES];
    private final Cipher cipher;
    private final byte[] plain;
    private int plainLength;
    private int plainCapacity; // the first segment holds less: the header shares it
    private byte[] cipherOut;
    private int cipherLength;
    private int segment;
    private boolean open = true;

    Encrypting(WritableByteChannel out, byte[] associatedData) throws GeneralSecurityException {
      this.out = out;
      byte[] salt = new byte[keyBytes];
      RANDOM.nextBytes(salt);
      RANDOM.nextBytes(prefix);
      this.key = segmentKey(salt, associatedData);
      this.cipher = gcm();
      this.plain = new byte[segmentBytes - TAG_BYTES];
      this.plainCapacity = segmentBytes - TAG_BYTES - headerBytes();
      this.cipherOut = new byte[segmentBytes * Math.min(2, SEGMENTS_PER_IO)];
      cipherOut[0] = (byte) headerBytes();
      System.arraycopy(salt, 0, cipherOut, 1, keyBytes);
      System.arraycopy(prefix, 0, cipherOut, 1 + keyBytes, NONCE_PREFIX_BYTES);
      cipherLength = headerBytes();
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      if (!open) {
        throw new ClosedChannelException();
      }
      int n = src.remaining();
      while (src.hasRemaining()) {
        if (plainLength == plainCapacity) { // full, and more follows: not the last segment
          seal(false);
        }
        int k = Math.min(src.remaining(), plainCapacity - plainLength);
        src.get(plain, plainLength, k);
        plainLength += k;
      }
      return n;
    }

    private void seal(boolean last) throws IOException {
      if (cipherOut.length - cipherLength < plainLength + TAG_BYTES) {
        if (cipherOut.length < segmentBytes * SEGMENTS_PER_IO) {
          cipherOut = java.util.Arrays.copyOf(cipherOut, Math.min(cipherOut.length * 2, segmentBytes * SEGMENTS_PER_IO));
        } else {
          flush();
        }
      }
      try {
        cipher.init(Cipher.ENCRYPT_MODE, key, nonce(prefix, segment, last));
        cipherLength += cipher.doFinal(plain, 0, plainLength, cipherOut, cipherLength);
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot encrypt segment " + segment, e);
      }
      segment++;
      plainLength = 0;
      plainCapacity = plain.length;
    }

    private void flush() throws IOException {
      ByteBuffer b = ByteBuffer.wrap(cipherOut, 0, cipherLength);
      while (b.hasRemaining()) {
        out.write(b);
      }
      cipherLength = 0;
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    /** Encrypts the last segment, writes what is left, and closes the destination. */
    @Override
    public void close() throws IOException {
      if (!open) {
        return;
      }
      open = false;
      seal(true);
      flush();
      out.close();
    }
  }

  /**
   * A seekable plaintext view. A read that starts on a segment boundary with room for whole
   * segments reads their ciphertext in one call and decrypts them straight into the caller's
   * array; anything else goes through one segment's plaintext array. Reading up to the end always
   * authenticates the last segment (so a truncated object fails), as Tink's channel does.
   */
  private final class Decrypting implements SeekableByteChannel {
    private final SeekableByteChannel in;
    private final byte[] associatedData;
    private final long cipherSize;
    private final int segments;
    private final int lastSegmentCipherBytes;
    private final long plainSize;
    private final int plainSegment = segmentBytes - TAG_BYTES;
    private final int offset = headerBytes(); // first segment's plaintext is shorter by this
    private Cipher cipher;
    private SecretKeySpec key;
    private byte[] prefix;
    private byte[] cipherIn; // ciphertext of up to SEGMENTS_PER_IO segments
    private byte[] plain; // one decrypted segment, for partial reads
    private int plainSegmentNr = -1;
    private int plainLength;
    private boolean lastVerified;
    private long position;
    private boolean open = true;

    Decrypting(SeekableByteChannel in, byte[] associatedData) throws IOException {
      this.in = in;
      this.associatedData = associatedData.clone();
      this.cipherSize = in.size();
      long full = cipherSize / segmentBytes;
      int rest = (int) (cipherSize % segmentBytes);
      if (rest > 0) {
        if (rest < TAG_BYTES) {
          throw new IOException("invalid ciphertext size");
        }
        segments = (int) full + 1;
        lastSegmentCipherBytes = rest;
      } else {
        segments = (int) full;
        lastSegmentCipherBytes = segmentBytes;
      }
      long overhead = (long) segments * TAG_BYTES + offset;
      if (overhead > cipherSize) {
        throw new IOException("ciphertext is too short");
      }
      plainSize = cipherSize - overhead;
    }

    private void init() throws IOException {
      byte[] header = new byte[offset];
      readFully(ByteBuffer.wrap(header), 0);
      if (header[0] != offset) {
        throw new IOException("invalid ciphertext header");
      }
      byte[] salt = new byte[keyBytes];
      System.arraycopy(header, 1, salt, 0, keyBytes);
      prefix = new byte[NONCE_PREFIX_BYTES];
      System.arraycopy(header, 1 + keyBytes, prefix, 0, NONCE_PREFIX_BYTES);
      try {
        key = segmentKey(salt, associatedData);
        cipher = gcm();
      } catch (GeneralSecurityException e) {
        throw new IOException(e);
      }
    }

    private void readFully(ByteBuffer dst, long at) throws IOException {
      if (in instanceof FileChannel f) { // positional reads: no shared position to move
        long base = at - dst.position();
        while (dst.hasRemaining()) {
          if (f.read(dst, base + dst.position()) < 0) {
            throw new IOException("ciphertext ends early");
          }
        }
        return;
      }
      in.position(at);
      while (dst.hasRemaining()) {
        if (in.read(dst) < 0) {
          throw new IOException("ciphertext ends early");
        }
      }
    }

    private int segmentOf(long plainPosition) {
      return (int) ((plainPosition + offset) / plainSegment);
    }

    /** Plaintext bytes in segment {@code s}. */
    private int plainBytes(int s) {
      int cipherBytes = s == segments - 1 ? lastSegmentCipherBytes : segmentBytes;
      return cipherBytes - TAG_BYTES - (s == 0 ? offset : 0);
    }

    /** Where segment {@code s}'s ciphertext starts in the object. */
    private long cipherStart(int s) {
      return s == 0 ? offset : (long) s * segmentBytes;
    }

    /** Where segment {@code s}'s plaintext starts. */
    private long plainStart(int s) {
      return s == 0 ? 0 : (long) s * plainSegment - offset;
    }

    /** Decrypts {@code count} consecutive segments from {@code first} into {@code dst} at {@code at}. */
    private int decrypt(int first, int count, byte[] dst, int at) throws IOException {
      if (cipher == null) {
        init();
      }
      int cipherBytes = 0;
      for (int s = first; s < first + count; s++) {
        cipherBytes += plainBytes(s) + TAG_BYTES;
      }
      if (cipherIn == null || cipherIn.length < cipherBytes) {
        cipherIn = new byte[Math.max(cipherBytes, segmentBytes)];
      }
      readFully(ByteBuffer.wrap(cipherIn, 0, cipherBytes), cipherStart(first));
      int from = 0;
      int written = 0;
      for (int s = first; s < first + count; s++) {
        int len = plainBytes(s) + TAG_BYTES;
        boolean last = s == segments - 1;
        try {
          cipher.init(Cipher.DECRYPT_MODE, key, nonce(prefix, s, last));
          written += cipher.doFinal(cipherIn, from, len, dst, at + written);
        } catch (GeneralSecurityException e) {
          plainSegmentNr = -1;
          throw new IOException("segment " + s + " does not decrypt", e);
        }
        if (last) {
          lastVerified = true;
        }
        from += len;
      }
      return written;
    }

    private void load(int s) throws IOException {
      if (plainSegmentNr == s) {
        return;
      }
      if (plain == null) {
        plain = new byte[plainSegment];
      }
      plainSegmentNr = -1;
      plainLength = decrypt(s, 1, plain, 0);
      plainSegmentNr = s;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      if (!open) {
        throw new ClosedChannelException();
      }
      int start = dst.position();
      while (dst.hasRemaining() && position < plainSize) {
        int s = segmentOf(position);
        int within = (int) (position - plainStart(s));
        if (within == 0 && s != plainSegmentNr && dst.hasArray() && dst.remaining() >= plainBytes(s)) {
          int count = 0;
          long room = dst.remaining();
          while (s + count < segments && count < SEGMENTS_PER_IO && room >= plainBytes(s + count)) {
            room -= plainBytes(s + count);
            count++;
          }
          int n = decrypt(s, count, dst.array(), dst.arrayOffset() + dst.position());
          dst.position(dst.position() + n);
          position += n;
        } else {
          load(s);
          int n = Math.min(dst.remaining(), plainLength - within);
          dst.put(plain, within, n);
          position += n;
        }
      }
      if (position >= plainSize && !lastVerified) {
        load(segments - 1);
      }
      int read = dst.position() - start;
      return read == 0 && position >= plainSize ? -1 : read;
    }

    @Override
    public long position() {
      return position;
    }

    @Override
    public SeekableByteChannel position(long newPosition) {
      position = newPosition;
      return this;
    }

    @Override
    public long size() {
      return plainSize;
    }

    @Override
    public int write(ByteBuffer src) {
      throw new NonWritableChannelException();
    }

    @Override
    public SeekableByteChannel truncate(long size) {
      throw new NonWritableChannelException();
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() throws IOException {
      open = false;
      in.close();
    }
  }
}

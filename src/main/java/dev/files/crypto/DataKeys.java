package dev.files.crypto;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.StreamingAead;
import com.google.crypto.tink.TinkProtoKeysetFormat;
import com.google.crypto.tink.streamingaead.AesGcmHkdfStreamingParameters;
import com.google.crypto.tink.streamingaead.StreamingAeadConfig;
import com.google.crypto.tink.subtle.AesGcmJce;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Envelope encryption of file data. Every file has its own data key: a Tink streaming AEAD keyset
 * (AES-256-GCM-HKDF, {@value #SEGMENT_BYTES}-byte segments, each authenticated). The data key is
 * stored only wrapped (AES-256-GCM, the file id as associated data) by a master key
 * (key-encryption key) identified by an id; older master keys can be kept for reading, so that
 * master keys rotate ({@link #rewrap}) without touching chunk objects.
 *
 * <p>Configuration: {@code encryption.master_key} (base64 of 32 bytes), {@code encryption.master_key_id},
 * {@code encryption.previous_keys} ({@code id:base64,id:base64}), and {@code encryption.null_cipher}
 * (benchmarks only: data keys are {@link #NULL_KEY_ID} and nothing is encrypted).
 */
public final class DataKeys {

  /** The key id recorded for files stored without encryption by a null-cipher node. */
  public static final String NULL_KEY_ID = "none";

  /** Size of a ciphertext segment: the unit that is authenticated, and read for any range (bytes). */
  public static final int SEGMENT_BYTES = 64 * 1024;

  /**
   * AES-256-GCM-HKDF-SHA256 streaming with 64 KiB segments: a 1-byte range reads 64 KiB instead of
   * 1 MiB. Segments are encrypted and decrypted by {@link SegmentedAesGcm} (Tink's format, on arrays,
   * AES-GCM from AWS-LC where it loads); through Tink's own channels the same keys ran at about 1 GB/s
   * (encrypt) and 2.5 GB/s (decrypt) on this project's machine.
   */
  private static final AesGcmHkdfStreamingParameters DATA_KEY_PARAMETERS = parameters();

  private static AesGcmHkdfStreamingParameters parameters() {
    try {
      return AesGcmHkdfStreamingParameters.builder()
          .setKeySizeBytes(32)
          .setDerivedAesGcmKeySizeBytes(32)
          .setHkdfHashType(AesGcmHkdfStreamingParameters.HashType.SHA256)
          .setCiphertextSegmentSizeBytes(SEGMENT_BYTES)
          .build();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The segment layout of {@link #DATA_KEY_PARAMETERS} (Tink's format): a header of 1 + 32 (salt) +
   * 7 (nonce prefix) bytes, segments of {@link #SEGMENT_BYTES} with a 16-byte GCM tag each.
   */
  static final ChunkCipher.Layout LAYOUT = new ChunkCipher.Layout(1 + 32 + 7, SEGMENT_BYTES, 16);

  static {
    try {
      StreamingAeadConfig.register();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Tink streaming AEAD unavailable", e);
    }
  }

  /** A data key as stored: the id of the master key that wraps it, and the wrapped bytes. */
  public record Wrapped(String masterKeyId, byte[] bytes) {
  }

  /**
   * Why a file's data key cannot be used ({@code failure} of {@link #unwrap}), for a client: the
   * service's own explanation (which master key is missing), never a library's exception text.
   */
  public static String unavailableReason(Throwable failure) {
    return failure instanceof UnavailableException ? failure.getMessage() : "its data key cannot be opened";
  }

  /** The data key of a file cannot be unwrapped: its master key is not configured, or it is damaged. */
  public static final class UnavailableException extends GeneralSecurityException {
    public UnavailableException(String message) {
      super(message);
    }
  }

  private final String currentId;
  private final Map<String, Aead> masterKeys; // id → key-encryption AEAD, current first
  private final boolean nullCipher;

  private DataKeys(String currentId, Map<String, Aead> masterKeys, boolean nullCipher) {
    this.currentId = currentId;
    this.masterKeys = masterKeys;
    this.nullCipher = nullCipher;
  }

  /**
   * @param masterKey    base64 of 32 bytes; may be blank only with {@code nullCipher}
   * @param masterKeyId  its id (recorded beside every data key it wraps)
   * @param previousKeys older master keys for reading: {@code id:base64[,id:base64…]}, or blank
   * @throws IllegalStateException with a clear message when a key is missing or malformed
   */
  public static DataKeys create(String masterKey, String masterKeyId, String previousKeys, boolean nullCipher) {
    Map<String, Aead> keys = new LinkedHashMap<>();
    if (masterKey.isBlank()) {
      if (!nullCipher) {
        throw new IllegalStateException("no master key configured: set encryption.master_key "
            + "(FILES_ENCRYPTION_MASTER_KEY, base64 of 32 random bytes); scripts/run makes one in data/master.key");
      }
    } else {
      if (masterKeyId.isBlank() || masterKeyId.equals(NULL_KEY_ID)) {
        throw new IllegalStateException("encryption.master_key_id must be set (and not '" + NULL_KEY_ID + "')");
      }
      keys.put(masterKeyId, aead("encryption.master_key", masterKey));
    }
    if (!previousKeys.isBlank()) {
      for (String entry : previousKeys.split(",")) {
        int colon = entry.indexOf(':');
        if (colon <= 0) {
          throw new IllegalStateException("encryption.previous_keys must be id:base64[,id:base64...]");
        }
        String id = entry.substring(0, colon).strip();
        keys.putIfAbsent(id, aead("encryption.previous_keys " + id, entry.substring(colon + 1).strip()));
      }
    }
    if (!nullCipher) {
      SegmentedAesGcm.load(); // the native AES-GCM loads at start, not during the first request
    }
    return new DataKeys(masterKeyId, Map.copyOf(keys), nullCipher);
  }

  private static Aead aead(String what, String base64) {
    byte[] raw;
    try {
      raw = Base64.getDecoder().decode(base64.strip());
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(what + " is not base64");
    }
    if (raw.length != 32) {
      throw new IllegalStateException(what + " must be 32 bytes (base64), got " + raw.length);
    }
    try {
      return new AesGcmJce(raw);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(what + ": " + e.getMessage(), e);
    }
  }

  /** The id of the master key new data keys are wrapped with. */
  public String currentId() {
    return nullCipher ? NULL_KEY_ID : currentId;
  }

  /** A new data key: as stored ({@code wrapped}) and ready to use ({@code aead}, null for the null cipher). */
  public record NewKey(Wrapped wrapped, StreamingAead aead) {
  }

  /** A new random data key for {@code fileId}, wrapped by the current master key. */
  public NewKey newDataKey(UUID fileId) throws GeneralSecurityException {
    if (nullCipher) {
      return new NewKey(new Wrapped(NULL_KEY_ID, new byte[0]), null);
    }
    KeysetHandle handle = KeysetHandle.generateNew(DATA_KEY_PARAMETERS);
    return new NewKey(
        new Wrapped(currentId, TinkProtoKeysetFormat.serializeEncryptedKeyset(handle, masterKeys.get(currentId), ad(fileId))),
        primitive(handle));
  }

  /** The keyset's streaming AEAD: segments on arrays through {@link SegmentedAesGcm}. */
  private static StreamingAead primitive(KeysetHandle handle) throws GeneralSecurityException {
    return SegmentedAesGcm.of(handle);
  }

  /**
   * The streaming AEAD of a stored file's data key; null for a file stored by a null-cipher node.
   *
   * @param fileId      the file's id (the associated data of the wrapping)
   * @param masterKeyId the id of the master key that wraps it, as stored beside it
   * @param wrapped     the wrapped data key, as stored
   * @throws UnavailableException when that master key is not configured or does not open the key
   */
  public StreamingAead unwrap(UUID fileId, String masterKeyId, byte[] wrapped) throws GeneralSecurityException {
    return unwrap(fileId, new Wrapped(masterKeyId, wrapped));
  }

  /** The streaming AEAD of a file's data key; null for a file stored by a null-cipher node. */
  public StreamingAead unwrap(UUID fileId, Wrapped key) throws GeneralSecurityException {
    if (NULL_KEY_ID.equals(key.masterKeyId())) {
      return null;
    }
    return primitive(handle(fileId, key));
  }

  private KeysetHandle handle(UUID fileId, Wrapped key) throws GeneralSecurityException {
    Aead kek = masterKeys.get(key.masterKeyId());
    if (kek == null) {
      throw new UnavailableException("the data key of file " + fileId + " is wrapped by master key '"
          + key.masterKeyId() + "', which is not configured (add it to encryption.previous_keys)");
    }
    try {
      return TinkProtoKeysetFormat.parseEncryptedKeyset(key.bytes(), kek, ad(fileId));
    } catch (GeneralSecurityException e) {
      throw new UnavailableException("the data key of file " + fileId + " does not open with master key '"
          + key.masterKeyId() + "'");
    }
  }

  /** The same data key wrapped by the current master key (rotation); the chunks are untouched. */
  public Wrapped rewrap(UUID fileId, Wrapped key) throws GeneralSecurityException {
    if (NULL_KEY_ID.equals(key.masterKeyId()) || key.masterKeyId().equals(currentId)) {
      return key;
    }
    return new Wrapped(currentId, TinkProtoKeysetFormat.serializeEncryptedKeyset(handle(fileId, key),
        masterKeys.get(currentId), ad(fileId)));
  }

  /**
   * The cipher of one chunk: the file's streaming AEAD with the associated data
   * {@code files/<file id>/<generation>/<chunk number>}; {@link ChunkCipher#NONE} for a null-cipher file.
   */
  public static ChunkCipher cipher(StreamingAead aead, UUID fileId, int generation, int chunkNumber) {
    if (aead == null) {
      return ChunkCipher.NONE;
    }
    return cipher(aead, ("files/" + fileId + "/" + generation + "/" + chunkNumber).getBytes(StandardCharsets.US_ASCII));
  }

  private static ChunkCipher cipher(StreamingAead aead, byte[] ad) {
    return new ChunkCipher() {
      @Override
      public WritableByteChannel encrypting(WritableByteChannel ciphertext) throws GeneralSecurityException, IOException {
        return aead.newEncryptingChannel(ciphertext, ad);
      }

      @Override
      public SeekableByteChannel decrypting(SeekableByteChannel ciphertext) throws GeneralSecurityException, IOException {
        return aead.newSeekableDecryptingChannel(ciphertext, ad);
      }

      @Override
      public Layout layout() {
        return LAYOUT;
      }

      @Override
      public SegmentOpener segmentOpener() {
        return aead instanceof SegmentedAesGcm s ? header -> s.segments(header, ad) : null;
      }
    };
  }

  /**
   * The cipher of a thumbnail: associated data {@code files/<file id>/<generation>/thumbnail/<index>}.
   */
  public static ChunkCipher thumbnailCipher(StreamingAead aead, UUID fileId, int generation, int index) {
    return aead == null ? ChunkCipher.NONE : cipher(aead, ("files/" + fileId + "/" + generation + "/thumbnail/" + index)
        .getBytes(StandardCharsets.US_ASCII));
  }

  private static byte[] ad(UUID fileId) {
    return ("files/data-key/" + fileId).getBytes(StandardCharsets.US_ASCII);
  }
}

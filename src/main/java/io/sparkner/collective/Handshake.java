package io.sparkner.collective;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The mutual HMAC-SHA256 challenge of a ring connection, between the rank that connects
 * ("connector", rank c) and the rank that accepts ("acceptor", rank a = c+1 mod n). Little-endian:
 *
 * <pre>
 * acceptor  → connector  HELLO  "SPKR" u32 version, nonceA[32]                                 40 B
 * connector → acceptor  PROOF  "SPKR" u32 version, i32 c, i32 n, nonceC[32],
 *                              HMAC(secret, "sparkner-ring/1 connect" ‖ nonceA ‖ c ‖ n ‖ nonceC)  80 B
 * acceptor  → connector  PROOF  "SPKR" i32 a, HMAC(secret, "sparkner-ring/1 accept" ‖ nonceC ‖ a ‖ n ‖ nonceA)  40 B
 * connector → acceptor  OK     "SPOK"                                                           4 B
 * </pre>
 *
 * The secret is the ring key of the stage attempt ({@link #ringKey}), not the job's secret itself.
 * Each side proves knowledge of the secret over the other side's fresh nonce; the role label keeps
 * one side's proof from being replayed as the other's, and the acceptor answers only after the
 * connector has proved itself, so a stranger learns nothing from it. MACs are compared in constant
 * time; the secret never appears in a message or a log.
 */
public final class Handshake {
  static final int MAGIC = 0x524B5053; // "SPKR" little-endian
  static final int OK = 0x4B4F5053; // "SPOK"
  static final int VERSION = 1;
  static final int NONCE = 32;
  static final int MAC = 32;
  private static final byte[] CONNECT =
      "sparkner-ring/1 connect".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] ACCEPT = "sparkner-ring/1 accept".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] KEY = "sparkner-ring/1 key".getBytes(StandardCharsets.US_ASCII);
  private static final SecureRandom RANDOM = new SecureRandom();

  /** The handshake failed for a reason worth logging (bad MAC, wrong rank, garbage). */
  static final class Refused extends IOException {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message);
    }
  }

  private Handshake() {}

  /**
   * Acceptor side: returns when {@code ch} is the authenticated connection of rank {@code
   * expectedRank}; throws {@link Refused} when it is not, IOException on timeout/EOF.
   */
  static void accept(
      FrameChannel ch, byte[] secret, int myRank, int n, int expectedRank, long deadline)
      throws IOException {
    byte[] nonceA = nonce();
    ByteBuffer hello = buffer(40).putInt(MAGIC).putInt(VERSION).put(nonceA).flip();
    ch.writeFully(hello, deadline);

    ByteBuffer proof = buffer(80);
    ch.readFully(proof, deadline);
    proof.flip();
    int magic = proof.getInt();
    int version = proof.getInt();
    if (magic != MAGIC) {
      throw new Refused("not a sparkner ring peer (bad greeting)");
    }
    if (version != VERSION) {
      throw new Refused("ring protocol version " + version + ", expected " + VERSION);
    }
    int c = proof.getInt();
    int peerN = proof.getInt();
    byte[] nonceC = new byte[NONCE];
    proof.get(nonceC);
    byte[] mac = new byte[MAC];
    proof.get(mac);
    if (!MessageDigest.isEqual(mac, hmac(secret, CONNECT, nonceA, c, peerN, nonceC))) {
      throw new Refused("failed authentication (wrong secret)");
    }
    if (peerN != n) {
      throw new Refused(
          "authenticated rank " + c + " of a ring of " + peerN + ", this ring has " + n);
    }
    if (c != expectedRank) {
      throw new Refused("authenticated as rank " + c + ", expected rank " + expectedRank);
    }
    ByteBuffer answer =
        buffer(40)
            .putInt(MAGIC)
            .putInt(myRank)
            .put(hmac(secret, ACCEPT, nonceC, myRank, n, nonceA))
            .flip();
    ch.writeFully(answer, deadline);
    ByteBuffer ok = buffer(4);
    ch.readFully(ok, deadline);
    if (ok.flip().getInt() != OK) {
      throw new Refused("rank " + c + " did not confirm the handshake");
    }
  }

  /** Connector side: returns when the acceptor proved to be rank {@code expectedRank}. */
  static void connect(
      FrameChannel ch, byte[] secret, int myRank, int n, int expectedRank, long deadline)
      throws IOException {
    ByteBuffer hello = buffer(40);
    ch.readFully(hello, deadline);
    hello.flip();
    if (hello.getInt() != MAGIC) {
      throw new Refused("not a sparkner ring peer (bad greeting)");
    }
    int version = hello.getInt();
    if (version != VERSION) {
      throw new Refused("ring protocol version " + version + ", expected " + VERSION);
    }
    byte[] nonceA = new byte[NONCE];
    hello.get(nonceA);
    byte[] nonceC = nonce();
    ByteBuffer proof =
        buffer(80)
            .putInt(MAGIC)
            .putInt(VERSION)
            .putInt(myRank)
            .putInt(n)
            .put(nonceC)
            .put(hmac(secret, CONNECT, nonceA, myRank, n, nonceC))
            .flip();
    ch.writeFully(proof, deadline);

    ByteBuffer answer = buffer(40);
    try {
      ch.readFully(answer, deadline);
    } catch (java.io.EOFException e) {
      throw new Refused(
          "the peer closed the connection after this rank's proof: it refused it (wrong"
              + " secret, rank or ring size?)");
    }
    answer.flip();
    if (answer.getInt() != MAGIC) {
      throw new Refused("not a sparkner ring peer (bad answer)");
    }
    int a = answer.getInt();
    byte[] mac = new byte[MAC];
    answer.get(mac);
    if (!MessageDigest.isEqual(mac, hmac(secret, ACCEPT, nonceC, a, n, nonceA))) {
      throw new Refused("the peer failed authentication (wrong secret)");
    }
    if (a != expectedRank) {
      throw new Refused("the peer authenticated as rank " + a + ", expected rank " + expectedRank);
    }
    ch.writeFully(buffer(4).putInt(OK).flip(), deadline);
  }

  /**
   * The key a ring of one attempt of one Spark stage authenticates with, derived from the job's
   * secret: HMAC-SHA256(secret, "sparkner-ring/1 key" ‖ i32 stageId ‖ i32 stageAttempt). A task
   * left over from a failed attempt (still retrying its connection, perhaps to a port the next
   * attempt reuses) holds another attempt's key and is refused like a stranger.
   */
  public static byte[] ringKey(byte[] secret, int stageId, int stageAttempt) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      mac.update(KEY);
      mac.update(
          ByteBuffer.allocate(8)
              .order(ByteOrder.LITTLE_ENDIAN)
              .putInt(stageId)
              .putInt(stageAttempt)
              .array());
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }

  private static ByteBuffer buffer(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static byte[] nonce() {
    byte[] b = new byte[NONCE];
    RANDOM.nextBytes(b);
    return b;
  }

  static byte[] hmac(byte[] secret, byte[] label, byte[] nonce1, int rank, int n, byte[] nonce2) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      mac.update(label);
      mac.update(nonce1);
      mac.update(
          ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(rank).putInt(n).array());
      mac.update(nonce2);
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }
}

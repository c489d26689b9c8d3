package io.sparkner.collective;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A formed ring of N ranks (see {@link RingEndpoint#join}): rank r sends to rank r+1 over the
 * connection it opened and receives from rank r-1 over the one it accepted.
 *
 * <p>Collectives are the bandwidth-optimal ring algorithms: reduce-scatter and all-gather each run
 * n-1 steps, in each of which a rank sends one chunk to the next rank and receives one from the
 * previous rank, so a rank sends (n-1)/n of the data per collective. The send runs on this ring's
 * sender thread while the calling thread receives (and adds), so both directions are busy; chunks
 * travel in pieces of at most {@value #PIECE_BYTES} bytes, each with a 40-byte header (collective,
 * sequence number, training step, ring step, chunk, offset, length) that the receiver checks, so a
 * desynchronised peer is an error rather than corrupt data. Adding piece k overlaps the transfer of
 * piece k+1 (the kernel keeps receiving while the caller adds). The steps of a collective (and both
 * passes of an all-reduce) form one pipeline: the sender forwards piece k of a step as soon as
 * piece k of the step before has arrived and been added, not after the whole step.
 *
 * <p>The data is a {@link DirectFloats} (off-heap, as the trainer's flat buffers are): with the
 * fp32 wire, pieces are written from its memory and all-gather pieces read into it, so the only
 * user-space pass over the bytes is the reduce-scatter's addition — on a fast link, copying through
 * the Java heap costs as much CPU as the kernel's transfer. The {@code float[]} overloads copy in
 * and out, for small and test uses.
 *
 * <p>Timeouts: every frame (header + piece) must be sent or received within the ring's timeout from
 * when this rank starts waiting for it (the join timeout unless {@link #setTimeout} changes it);
 * note that the first frame of a collective also waits for the slowest rank to arrive at it. On
 * expiry, on a closed connection or a desynchronised frame, the collective throws {@link
 * CollectiveException} naming this rank, the peer, the operation, the ring step and the training
 * step, and closes the ring (every later call throws too). Where a rank knowingly works alone for
 * longer than that (rank 0 validating or writing a checkpoint while the others wait), all ranks
 * wrap that work in {@link #longPhase}: each sends heartbeat frames to its next rank meanwhile, and
 * a heartbeat restarts the receiver's wait, so the waiting ranks do not time out.
 *
 * <p>One collective at a time: the methods are synchronized. All ranks must call the same
 * collectives in the same order with the same bounds.
 */
public final class Ring implements AutoCloseable {
  /** Largest payload of one frame. */
  static final int PIECE_BYTES = 1 << 20;

  /**
   * Elements a piece is converted or added in at a time (32 KiB of floats): the scratch arrays stay
   * in the CPU cache.
   */
  static final int ADD_BLOCK = 8192;

  /** Frame header size. */
  static final int HEADER = 40;

  static final int FRAME_MAGIC = 0x464B5053; // "SPKF" little-endian

  private static final byte RS = 1;
  private static final byte AG = 2;
  private static final byte SUM = 3;

  /** A frame without payload that only says "still here": it restarts the receiver's timeout. */
  private static final byte HEARTBEAT = 4;

  /** A piece of a variable-length block of {@link #allGatherBlocks}, moved as raw 32-bit words. */
  private static final byte BLOCKS = 5;

  /** Longest interval between heartbeats (a quarter of the timeout if that is shorter). */
  static final long MAX_HEARTBEAT_NANOS = TimeUnit.SECONDS.toNanos(10);

  private static final byte F32 = 0;
  private static final byte F16 = 1;
  private static final byte F64 = 2;

  private final int rank;
  private final int n;
  private final List<String> addresses;
  private final FrameChannel out;
  private final FrameChannel in;
  private final ScheduledExecutorService sender;
  private volatile long timeoutNanos;
  private volatile boolean halfWire;
  private long seq;

  private final AtomicLong bytesSent = new AtomicLong();
  private final AtomicLong bytesReceived = new AtomicLong();
  private final AtomicLong frameBytesSent = new AtomicLong();
  private final AtomicLong frameBytesReceived = new AtomicLong();
  private final AtomicLong heartbeatsSent = new AtomicLong();
  private final AtomicLong heartbeatsReceived = new AtomicLong();
  private final AtomicReference<CollectiveException> failure = new AtomicReference<>();
  private volatile boolean closed;

  // sender side (used by the sender thread only)
  private final ByteBuffer sendHeader;
  private final ByteBuffer sendPayload;
  private final ByteBuffer[] sendFrame;
  private final ShortBuffer sendShorts;
  private final DoubleBuffer sendDoubles;
  private final short[] sendHalf;
  private final float[] sendScratch;
  // receiver side (used by the calling thread only)
  private final ByteBuffer recvHeader;
  private final ByteBuffer recvPayload;
  private final FloatBuffer recvFloats;
  private final ShortBuffer recvShorts;
  private final DoubleBuffer recvDoubles;
  private final float[] recvScratch;
  private final float[] recvSum;
  private final short[] recvHalf;

  /** A fault to simulate ({@link #simulate}), or null; cleared once simulated. */
  private volatile SendStall stall;

  /** Frames sent so far (sender thread only). */
  private long framesSent;

  /**
   * Pieces the calling thread has received (and added) so far in the running pipeline of ring steps
   * ({@link #ringPasses}); the sender waits on this lock for the pieces it forwards.
   */
  private final Object progress = new Object();

  private long piecesReceived; // guarded by progress

  /** The running long phase's heartbeat, which the sender also sends while it waits, or null. */
  private volatile Beat beat;

  /** Told of every all-gather piece received, during {@link #allGather} with a progress only. */
  private Progress gathered; // calling thread only

  private record Beat(String what, long step, long intervalNanos) {}

  Ring(
      int rank,
      int n,
      List<String> addresses,
      FrameChannel out,
      FrameChannel in,
      Duration timeout) {
    this.rank = rank;
    this.n = n;
    this.addresses = addresses;
    this.out = out;
    this.in = in;
    this.timeoutNanos = timeout.toNanos();
    if (n > 1) {
      sender =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "sparkner-ring-" + rank + "-send");
                t.setDaemon(true);
                return t;
              });
      sendHeader = ByteBuffer.allocateDirect(HEADER).order(ByteOrder.LITTLE_ENDIAN);
      sendPayload = ByteBuffer.allocateDirect(PIECE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
      sendFrame = new ByteBuffer[] {sendHeader, null};
      sendShorts = sendPayload.asShortBuffer();
      sendDoubles = sendPayload.asDoubleBuffer();
      sendHalf = new short[ADD_BLOCK];
      sendScratch = new float[ADD_BLOCK];
      recvHeader = ByteBuffer.allocateDirect(HEADER).order(ByteOrder.LITTLE_ENDIAN);
      recvPayload = ByteBuffer.allocateDirect(PIECE_BYTES).order(ByteOrder.LITTLE_ENDIAN);
      recvFloats = recvPayload.asFloatBuffer();
      recvShorts = recvPayload.asShortBuffer();
      recvDoubles = recvPayload.asDoubleBuffer();
      recvScratch = new float[ADD_BLOCK];
      recvSum = new float[ADD_BLOCK];
      recvHalf = new short[ADD_BLOCK];
    } else {
      sender = null;
      sendHeader = sendPayload = recvHeader = recvPayload = null;
      sendFrame = null;
      recvFloats = null;
      sendShorts = recvShorts = null;
      sendDoubles = recvDoubles = null;
      sendHalf = recvHalf = null;
      recvScratch = recvSum = sendScratch = null;
    }
  }

  public int rank() {
    return rank;
  }

  public int size() {
    return n;
  }

  /** The addresses the ring was joined with, in rank order. */
  public List<String> addresses() {
    return addresses;
  }

  /** The per-frame timeout of the collectives (initially the join timeout). */
  public void setTimeout(Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout " + timeout);
    }
    this.timeoutNanos = timeout.toNanos();
  }

  public Duration timeout() {
    return Duration.ofNanos(timeoutNanos);
  }

  /** fp16 on the wire for float payloads; values are summed in fp32 locally. */
  public void setHalfPrecisionWire(boolean on) {
    this.halfWire = on;
  }

  /** Whether float payloads travel as fp16 ({@link #setHalfPrecisionWire}). */
  public boolean isHalfPrecisionWire() {
    return halfWire;
  }

  /** Payload bytes sent by the collectives (not headers, not the handshake). */
  public long bytesSent() {
    return bytesSent.get();
  }

  /** Payload bytes received by the collectives. */
  public long bytesReceived() {
    return bytesReceived.get();
  }

  /** Bytes sent by the collectives including frame headers. */
  public long frameBytesSent() {
    return frameBytesSent.get();
  }

  /** Bytes received by the collectives including frame headers. */
  public long frameBytesReceived() {
    return frameBytesReceived.get();
  }

  /** Heartbeat frames sent during {@link #longPhase}s (not counted in the byte counts). */
  public long heartbeatsSent() {
    return heartbeatsSent.get();
  }

  /** Heartbeat frames received (each restarted the wait for a frame). */
  public long heartbeatsReceived() {
    return heartbeatsReceived.get();
  }

  /**
   * Runs {@code body}, a phase in which some ranks may work alone for longer than the timeout while
   * the others wait for them (rank 0 validating, or writing a checkpoint), and returns when every
   * rank's body has returned. Every rank calls it at the same point with the same {@code what} and
   * {@code step}, each with its own body (empty on the ranks that only wait); a body may itself run
   * collectives. Meanwhile this rank sends a heartbeat to the next rank every quarter of the
   * timeout (at most every {@code MAX_HEARTBEAT_NANOS}), until the closing barrier has passed here;
   * each heartbeat restarts the next rank's wait for a frame. Since a rank that is done keeps
   * sending heartbeats while it waits in the barrier, ranks that do not receive from the busy rank
   * directly keep waiting too. The phase itself has no time limit: a body that never returns holds
   * the others until the task is killed. If the body throws, the heartbeats stop and the exception
   * propagates; the others then time out as usual.
   */
  public synchronized void longPhase(String what, long step, Runnable body) {
    if (n == 1) {
      body.run();
      return;
    }
    ensureOpen();
    long interval =
        Math.max(
            TimeUnit.MILLISECONDS.toNanos(10), Math.min(timeoutNanos / 4, MAX_HEARTBEAT_NANOS));
    ScheduledFuture<?> beats =
        sender.scheduleWithFixedDelay(
            () -> sendHeartbeat(what, step), 0, interval, TimeUnit.NANOSECONDS);
    Beat outer = beat;
    beat = new Beat(what, step, interval); // for the sender's waits inside a collective
    try {
      body.run();
      allReduceSum(new double[0], "end of " + what, step);
    } finally {
      beats.cancel(false);
      beat = outer;
    }
  }

  /** One heartbeat frame to the next rank; runs on the sender thread, between whole frames. */
  private void sendHeartbeat(String what, long step) {
    if (closed) {
      return;
    }
    sendHeader.clear();
    sendHeader
        .putInt(FRAME_MAGIC)
        .put(HEARTBEAT)
        .put(F32)
        .putShort((short) 0)
        .putInt(0)
        .putInt(0)
        .putLong(0)
        .putLong(step)
        .putInt(0)
        .putInt(0)
        .flip();
    try {
      out.writeFully(sendHeader, System.nanoTime() + timeoutNanos);
      heartbeatsSent.incrementAndGet();
    } catch (IOException | RuntimeException e) {
      if (!closed) { // a heartbeat cut short would desynchronise the stream: the ring is broken
        int next = (rank + 1) % n;
        String why =
            e instanceof IOException io ? ioFailure(io, true, next, 0, 0, 0, 0) : e.toString();
        failure.compareAndSet(null, error(HEARTBEAT, what, step, 0, next, why, e));
        close();
      }
    }
  }

  /**
   * Chunk boundaries: n+1 increasing offsets splitting [from, to) into n contiguous chunks of ceil
   * size (the last ones may be shorter or empty).
   */
  public static int[] evenBounds(int from, int to, int n) {
    if (n < 1 || from < 0 || to < from) {
      throw new IllegalArgumentException("evenBounds(" + from + ", " + to + ", " + n + ")");
    }
    long chunk = ((long) to - from + n - 1) / n;
    int[] b = new int[n + 1];
    for (int i = 0; i <= n; i++) {
      b[i] = (int) Math.min(to, from + chunk * i);
    }
    return b;
  }

  /**
   * Sum over ranks; afterwards data[bounds[r], bounds[r+1]) on rank r holds the global sum of that
   * chunk; elsewhere undefined. With the fp32 wire the chunks are sent straight from {@code data}'s
   * memory, and only the received pieces are added from a receive buffer.
   */
  public synchronized void reduceScatter(DirectFloats data, int[] bounds, String op, long step) {
    checkBounds(data.length(), bounds);
    if (n > 1) {
      ringPass(RS, data, bounds, op, step);
    }
  }

  /**
   * Afterwards every rank's data holds, in every chunk c, rank c's values of that chunk. With the
   * fp16 wire, each rank first rounds its own chunk to fp16 in place, so that all ranks end with
   * bit-identical data; with the fp32 wire, pieces are sent from and received into {@code data}'s
   * memory without a copy.
   */
  public synchronized void allGather(DirectFloats data, int[] bounds, String op, long step) {
    allGather(data, bounds, op, step, null);
  }

  /** Told which ranges of the data an all-gather has finished writing, as it goes. */
  public interface Progress {
    /** {@code [from, to)} of the data holds its gathered values and will not change again. */
    void written(int from, int to);
  }

  /**
   * {@link #allGather(DirectFloats, int[], String, long)}, telling {@code progress} (unless null)
   * of every range as it is final, on the calling thread: this rank's own chunk first (after its
   * fp16 rounding), then each received piece once it is in {@code data}. The ranges reported cover
   * the bounds once, so a reader can use a range of the data before the whole gather has ended.
   */
  public synchronized void allGather(
      DirectFloats data, int[] bounds, String op, long step, Progress progress) {
    checkBounds(data.length(), bounds);
    if (n > 1) {
      if (halfWire) {
        float[] f = recvSum; // the receiver's scratch: no collective is running
        for (int at = bounds[rank]; at < bounds[rank + 1]; at += f.length) {
          int count = Math.min(f.length, bounds[rank + 1] - at);
          data.get(at, f, 0, count);
          for (int i = 0; i < count; i++) {
            f[i] = HalfFloats.round(f[i]);
          }
          data.put(at, f, 0, count);
        }
      }
      if (progress != null) {
        progress.written(bounds[rank], bounds[rank + 1]);
      }
      gathered = progress;
      try {
        ringPass(AG, data, bounds, op, step);
      } finally {
        gathered = null;
      }
    } else if (progress != null) {
      progress.written(bounds[0], bounds[1]);
    }
  }

  /**
   * reduceScatter then allGather over the same bounds: every rank ends with the identical global
   * sum.
   */
  public synchronized void allReduce(DirectFloats data, int[] bounds, String op, long step) {
    checkBounds(data.length(), bounds);
    if (n > 1) {
      // one pipeline: the first all-gather step sends this rank's chunk piece by piece as the last
      // reduce-scatter step completes it (with the fp16 wire rounded as allGather rounds it)
      ringPasses(new byte[] {RS, AG}, data, bounds, op, step);
    }
  }

  /**
   * {@link #reduceScatter(DirectFloats, int[], String, long)} of a heap array (copied in and out).
   */
  public synchronized void reduceScatter(float[] data, int[] bounds, String op, long step) {
    DirectFloats d = DirectFloats.of(data);
    reduceScatter(d, bounds, op, step);
    d.get(0, data, 0, data.length);
  }

  /** {@link #allGather(DirectFloats, int[], String, long)} of a heap array (copied in and out). */
  public synchronized void allGather(float[] data, int[] bounds, String op, long step) {
    DirectFloats d = DirectFloats.of(data);
    allGather(d, bounds, op, step);
    d.get(0, data, 0, data.length);
  }

  /** {@link #allReduce(DirectFloats, int[], String, long)} of a heap array (copied in and out). */
  public synchronized void allReduce(float[] data, int[] bounds, String op, long step) {
    DirectFloats d = DirectFloats.of(data);
    allReduce(d, bounds, op, step);
    d.get(0, data, 0, data.length);
  }

  /**
   * Small sums (flags, norms, counts): every rank gets bit-identical results, the sum in rank order
   * of every rank's values (gathered around the ring in fp64). At most {@code PIECE_BYTES / 8}
   * values.
   */
  public synchronized double[] allReduceSum(double[] values, String op, long step) {
    int k = values.length;
    if (k > PIECE_BYTES / 8) {
      throw new IllegalArgumentException(
          "allReduceSum of " + k + " values: at most " + PIECE_BYTES / 8);
    }
    if (n == 1) {
      return values.clone();
    }
    ensureOpen();
    double[][] blocks = new double[n][];
    blocks[rank] = values.clone();
    long id = ++seq;
    for (int s = 0; s < n - 1; s++) {
      int sendBlock = Math.floorMod(rank - s, n);
      int recvBlock = Math.floorMod(rank - s - 1, n);
      int ringStep = s;
      double[] toSend = blocks[sendBlock];
      Future<?> f =
          sender.submit(
              () -> {
                sendDoubleFrame(id, step, ringStep, sendBlock, toSend, op);
                return null;
              });
      double[] got = new double[k];
      try {
        receiveFrame(SUM, F64, id, step, ringStep, recvBlock, 0, k, null, op);
        recvDoubles.get(0, got, 0, k);
      } catch (CollectiveException e) {
        throw failed(e, f);
      }
      blocks[recvBlock] = got;
      awaitSend(f, SUM, op, step, ringStep);
    }
    double[] sum = blocks[0].clone();
    for (int r = 1; r < n; r++) {
      for (int i = 0; i < k; i++) {
        sum[i] += blocks[r][i];
      }
    }
    return sum;
  }

  /**
   * All-gather of variable-length blocks: {@code blocks[r]} is rank r's block. Every rank passes
   * blocks of the same lengths (agreed beforehand, e.g. through {@link #allReduceSum}) with its own
   * block filled; afterwards every rank holds every rank's block, bit for bit. The blocks travel as
   * raw 32-bit words — never rounded to the fp16 wire — so a block may hold ints (row ids, see
   * {@link DirectFloats#putInt}) as well as floats. As {@link #allGather}, n-1 ring steps: at step
   * s rank r sends block r-s and receives block r-s-1, in pieces of at most {@value #PIECE_BYTES}
   * bytes (an empty block is one empty frame), each frame checked against the expected block,
   * offset and length, with the ring's timeout and failure handling: a rank that passes another
   * length for a block fails the collective as a desynchronised frame.
   */
  public synchronized void allGatherBlocks(DirectFloats[] blocks, String op, long step) {
    if (blocks.length != n) {
      throw new IllegalArgumentException(blocks.length + " blocks for a ring of " + n);
    }
    if (n == 1) {
      return;
    }
    ensureOpen();
    long id = ++seq;
    for (int s = 0; s < n - 1; s++) {
      int sendBlock = Math.floorMod(rank - s, n);
      int recvBlock = Math.floorMod(rank - s - 1, n);
      int ringStep = s;
      DirectFloats toSend = blocks[sendBlock];
      DirectFloats into = blocks[recvBlock];
      Future<?> f =
          sender.submit(
              () -> {
                sendChunk(
                    BLOCKS, F32, id, step, ringStep, sendBlock, toSend, 0, toSend.length(), op, -1);
                return null;
              });
      try {
        receiveChunk(BLOCKS, F32, id, step, ringStep, recvBlock, into, 0, into.length(), op, false);
      } catch (CollectiveException e) {
        throw failed(e, f);
      }
      awaitSend(f, BLOCKS, op, step, ringStep);
    }
  }

  // ---------------------------------------------------------------------------------------------

  private void ringPass(byte kind, DirectFloats data, int[] bounds, String op, long step) {
    ringPasses(new byte[] {kind}, data, bounds, op, step);
  }

  /**
   * Runs the passes {@code kinds} (reduce-scatter, all-gather, or both in turn) as one pipeline of
   * n-1 ring steps each. The chunk a step sends is the one the step before it received (also from
   * the last reduce-scatter step, which completes this rank's own chunk, to the first all-gather
   * step, which sends it), so the sender does not wait for whole steps: it sends piece k of a step
   * as soon as the calling thread has received piece k of the step before (and added it), as gloo's
   * ring pipelines its segments. One task on the sender thread sends the whole pipeline while the
   * calling thread receives; the frames are the same as step by step. With the fp16 wire and both
   * passes, the last reduce-scatter step rounds this rank's own chunk to fp16 as it adds it, which
   * is what {@link #allGather} does before it sends.
   */
  private void ringPasses(byte[] kinds, DirectFloats data, int[] bounds, String op, long step) {
    ensureOpen();
    byte dtype = halfWire ? F16 : F32;
    int perPiece = PIECE_BYTES / (dtype == F16 ? 2 : 4);
    int steps = kinds.length * (n - 1);
    byte[] kind = new byte[steps];
    long[] ids = new long[steps];
    int[] sendChunks = new int[steps];
    int[] recvChunks = new int[steps];
    long[] receivedBefore = new long[steps + 1]; // pieces received before step j
    for (int p = 0; p < kinds.length; p++) {
      long id = ++seq;
      boolean rs = kinds[p] == RS;
      for (int s = 0; s < n - 1; s++) {
        int j = p * (n - 1) + s;
        kind[j] = kinds[p];
        ids[j] = id;
        sendChunks[j] = rs ? Math.floorMod(rank - s - 1, n) : Math.floorMod(rank - s, n);
        recvChunks[j] = rs ? Math.floorMod(rank - s - 2, n) : Math.floorMod(rank - s - 1, n);
        int len = bounds[recvChunks[j] + 1] - bounds[recvChunks[j]];
        receivedBefore[j + 1] = receivedBefore[j] + Math.max(1, (len + perPiece - 1) / perPiece);
      }
    }
    int roundAt = dtype == F16 && kinds.length == 2 ? n - 2 : -1;
    synchronized (progress) {
      piecesReceived = 0;
    }
    Future<?> f =
        sender.submit(
            () -> {
              for (int j = 0; j < steps; j++) {
                int c = sendChunks[j];
                sendChunk(
                    kind[j],
                    dtype,
                    ids[j],
                    step,
                    j % (n - 1),
                    c,
                    data,
                    bounds[c],
                    bounds[c + 1],
                    op,
                    j == 0 ? -1 : receivedBefore[j - 1]);
              }
              return null;
            });
    for (int j = 0; j < steps; j++) {
      int ringStep = j % (n - 1);
      int c = recvChunks[j];
      try {
        receiveChunk(
            kind[j],
            dtype,
            ids[j],
            step,
            ringStep,
            c,
            data,
            bounds[c],
            bounds[c + 1],
            op,
            j == roundAt);
      } catch (CollectiveException e) {
        throw failed(e, f);
      } catch (RuntimeException | Error e) {
        close(); // the sender may be waiting for pieces that will not come
        throw e;
      }
      if (f.isDone()) { // a failed send fails the collective at the step it failed in
        awaitSend(f, kind[j], op, step, ringStep);
      }
    }
    awaitSend(f, kind[steps - 1], op, step, n - 2);
  }

  /**
   * Sender side of {@link #ringPasses}: waits until the calling thread has received {@code pieces}
   * pieces of the pipeline, sending the long phase's heartbeats meanwhile if one runs (the
   * scheduled ones cannot: this task holds the sender thread). The receiver's own timeout bounds
   * the wait: when it gives up, it closes the ring, which ends this wait.
   */
  private void awaitReceived(long pieces, byte kind, String op, long step, int ringStep) {
    long lastBeat = System.nanoTime();
    while (true) {
      Beat b = beat;
      long slice = b != null ? b.intervalNanos() : MAX_HEARTBEAT_NANOS;
      synchronized (progress) {
        if (piecesReceived >= pieces) {
          return;
        }
        if (closed) {
          int next = (rank + 1) % n;
          throw error(
              kind,
              op,
              step,
              ringStep,
              next,
              "ring closed"
                  + (failure.get() != null ? " after a failure" : "")
                  + " while waiting to send to"
                  + where(next, ringStep),
              null);
        }
        try {
          progress.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(slice)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          int next = (rank + 1) % n;
          throw error(kind, op, step, ringStep, next, "interrupted", e);
        }
      }
      if (b != null && System.nanoTime() - lastBeat >= b.intervalNanos()) {
        sendHeartbeat(b.what(), b.step());
        lastBeat = System.nanoTime();
      }
    }
  }

  /** Receiver side of {@link #ringPasses}: one more piece is in data. */
  private void pieceReceived() {
    synchronized (progress) {
      piecesReceived++;
      progress.notifyAll();
    }
  }

  /**
   * Sends chunk [from, to) of data in pieces; runs on the sender thread. fp32 pieces go straight
   * from data's memory; fp16 pieces are converted into the send buffer. Unless {@code
   * receivedBefore} is negative, piece k waits until the receiver has received {@code
   * receivedBefore} + k + 1 pieces of the pipeline: the step before this one received this chunk.
   */
  private void sendChunk(
      byte kind,
      byte dtype,
      long id,
      long step,
      int ringStep,
      int chunk,
      DirectFloats data,
      int from,
      int to,
      String op,
      long receivedBefore) {
    int wireBytes = dtype == F16 ? 2 : 4;
    int perPiece = PIECE_BYTES / wireBytes;
    int off = from;
    long piece = 0;
    do {
      if (receivedBefore >= 0) {
        awaitReceived(receivedBefore + ++piece, kind, op, step, ringStep);
      }
      int count = Math.min(perPiece, to - off);
      ByteBuffer payload;
      if (dtype == F16) {
        // block by block as the receiver adds: a bulk copy, then an array loop (element-wise
        // buffer reads are slow), with scratch arrays that stay in the cache
        float[] f = sendScratch;
        for (int b = 0; b < count; b += ADD_BLOCK) {
          int m = Math.min(ADD_BLOCK, count - b);
          data.get(off + b, f, 0, m);
          for (int i = 0; i < m; i++) {
            sendHalf[i] = HalfFloats.fromFloat(f[i]);
          }
          sendShorts.put(b, sendHalf, 0, m);
        }
        payload = sendPayload.clear().limit(count * 2);
      } else {
        payload = data.bytes(off, count);
      }
      sendFrame(kind, dtype, id, step, ringStep, chunk, off, count, payload, op);
      off += count;
    } while (off < to);
  }

  private void sendDoubleFrame(
      long id, long step, int ringStep, int block, double[] values, String op) {
    sendDoubles.put(0, values, 0, values.length);
    sendFrame(
        SUM,
        F64,
        id,
        step,
        ringStep,
        block,
        0,
        values.length,
        sendPayload.clear().limit(values.length * 8),
        op);
  }

  private void sendFrame(
      byte kind,
      byte dtype,
      long id,
      long step,
      int ringStep,
      int chunk,
      int offset,
      int count,
      ByteBuffer payload,
      String op) {
    SendStall s = stall;
    if (s != null && framesSent >= s.afterFrames()) {
      stall = null;
      pause(s.duration());
    }
    framesSent++;
    int bytes = payload.remaining();
    sendHeader.clear();
    sendHeader
        .putInt(FRAME_MAGIC)
        .put(kind)
        .put(dtype)
        .putShort((short) 0)
        .putInt(ringStep)
        .putInt(chunk)
        .putLong(id)
        .putLong(step)
        .putInt(offset)
        .putInt(count)
        .flip();
    sendFrame[1] = payload;
    long deadline = System.nanoTime() + timeoutNanos;
    try {
      out.writeFully(sendFrame, deadline);
    } catch (IOException e) {
      int next = (rank + 1) % n;
      throw error(
          kind,
          op,
          step,
          ringStep,
          next,
          ioFailure(e, true, next, ringStep, chunk, offset, count),
          e);
    } finally {
      sendFrame[1] = null; // do not keep a view of the caller's memory
    }
    bytesSent.addAndGet(bytes);
    frameBytesSent.addAndGet(HEADER + bytes);
  }

  /**
   * Receives chunk [from, to) piece by piece, adding (reduce-scatter) or copying (all-gather). An
   * fp32 all-gather piece is read straight into data's memory; a reduce-scatter piece is read into
   * the receive buffer and added, in bulk through heap scratch arrays (a plain array loop the JIT
   * vectorises; element-wise buffer access it does not). {@code roundHalf}: round the sums to fp16
   * as they are stored (this rank's own chunk, before the all-gather sends it on the fp16 wire).
   */
  private void receiveChunk(
      byte kind,
      byte dtype,
      long id,
      long step,
      int ringStep,
      int chunk,
      DirectFloats data,
      int from,
      int to,
      String op,
      boolean roundHalf) {
    int wireBytes = dtype == F16 ? 2 : 4;
    int perPiece = PIECE_BYTES / wireBytes;
    boolean add = kind == RS;
    int off = from;
    do {
      int count = Math.min(perPiece, to - off);
      if (dtype == F32 && !add) {
        receiveFrame(
            kind, dtype, id, step, ringStep, chunk, off, count, data.bytes(off, count), op);
        if (gathered != null) {
          gathered.written(off, off + count);
        }
        off += count;
        pieceReceived();
        continue;
      }
      receiveFrame(kind, dtype, id, step, ringStep, chunk, off, count, null, op);
      float[] sum = recvSum;
      // block by block, so that the scratch arrays stay in the CPU cache between the copy in, the
      // addition and the copy out: each byte then crosses memory once in, once out
      for (int b = 0; b < count; b += ADD_BLOCK) {
        int m = Math.min(ADD_BLOCK, count - b);
        if (dtype == F16) {
          recvShorts.get(b, recvHalf, 0, m);
          short[] h = recvHalf;
          if (add) {
            data.get(off + b, sum, 0, m);
            for (int i = 0; i < m; i++) {
              sum[i] += HalfFloats.toFloat(h[i]);
            }
          } else {
            for (int i = 0; i < m; i++) {
              sum[i] = HalfFloats.toFloat(h[i]);
            }
          }
        } else {
          float[] s = recvScratch;
          recvFloats.get(b, s, 0, m);
          data.get(off + b, sum, 0, m);
          for (int i = 0; i < m; i++) {
            sum[i] += s[i];
          }
        }
        if (roundHalf) {
          for (int i = 0; i < m; i++) {
            sum[i] = HalfFloats.round(sum[i]);
          }
        }
        data.put(off + b, sum, 0, m);
      }
      if (!add && gathered != null) {
        gathered.written(off, off + count);
      }
      off += count;
      pieceReceived();
    } while (off < to);
  }

  /**
   * Reads one frame, its payload into {@code target} (the receive buffer when null), and checks its
   * header against what this rank expects.
   */
  private void receiveFrame(
      byte kind,
      byte dtype,
      long id,
      long step,
      int ringStep,
      int chunk,
      int offset,
      int count,
      ByteBuffer target,
      String op) {
    int prev = (rank - 1 + n) % n;
    int bytes = count * (dtype == F16 ? 2 : dtype == F64 ? 8 : 4);
    long deadline = System.nanoTime() + timeoutNanos;
    try {
      while (true) {
        recvHeader.clear();
        in.readFully(recvHeader, deadline);
        recvHeader.flip();
        if (recvHeader.getInt(0) != FRAME_MAGIC || recvHeader.get(4) != HEARTBEAT) {
          break;
        }
        heartbeatsReceived.incrementAndGet(); // the peer is alive, in a long phase: wait anew
        deadline = System.nanoTime() + timeoutNanos;
      }
      int magic = recvHeader.getInt();
      byte k = recvHeader.get();
      byte d = recvHeader.get();
      recvHeader.getShort();
      int rs = recvHeader.getInt();
      int c = recvHeader.getInt();
      long i = recvHeader.getLong();
      long st = recvHeader.getLong();
      int o = recvHeader.getInt();
      int cnt = recvHeader.getInt();
      if (magic != FRAME_MAGIC
          || k != kind
          || d != dtype
          || rs != ringStep
          || c != chunk
          || i != id
          || st != step
          || o != offset
          || cnt != count) {
        throw error(
            kind,
            op,
            step,
            ringStep,
            prev,
            "desynchronised frame from"
                + where(prev, ringStep)
                + ": expected "
                + frame(kind, dtype, id, step, ringStep, chunk, offset, count)
                + ", got "
                + (magic != FRAME_MAGIC
                    ? "a bad frame magic " + Integer.toHexString(magic)
                    : frame(k, d, i, st, rs, c, o, cnt))
                + " (do all ranks run the same collectives in the same order, with the same bounds"
                + " and the same fp16 wire setting?)",
            null);
      }
      frameBytesReceived.addAndGet(HEADER);
      ByteBuffer payload = target != null ? target : recvPayload.clear().limit(bytes);
      if (payload.remaining() != bytes) {
        throw new IllegalStateException(
            payload.remaining() + " bytes of room for a " + bytes + "-byte payload");
      }
      in.readFully(payload, deadline);
    } catch (IOException e) {
      throw error(
          kind,
          op,
          step,
          ringStep,
          prev,
          ioFailure(e, false, prev, ringStep, chunk, offset, count),
          e);
    }
    bytesReceived.addAndGet(bytes);
    frameBytesReceived.addAndGet(bytes);
  }

  private String where(int peer, int ringStep) {
    return " rank "
        + peer
        + " ("
        + addresses.get(peer)
        + ") at ring step "
        + ringStep
        + " of "
        + (n - 1);
  }

  private static String frame(
      byte kind, byte dtype, long id, long step, int ringStep, int chunk, int offset, int count) {
    return collective(kind)
        + "/"
        + (dtype == F16 ? "fp16" : dtype == F64 ? "fp64" : "fp32")
        + " #"
        + id
        + " step "
        + step
        + " ring step "
        + ringStep
        + " chunk "
        + chunk
        + " ["
        + offset
        + ", "
        + (offset + count)
        + ")";
  }

  /**
   * "timed out after 2000 ms receiving from rank 2 (host:port) at ring step 0 of 2 (chunk 2, ...)".
   */
  private String ioFailure(
      IOException e, boolean sending, int peer, int ringStep, int chunk, int offset, int count) {
    String dir = sending ? "sending to" : "receiving from";
    String head;
    String detail;
    if (e instanceof FrameChannel.TimeoutException) {
      head = "timed out after " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms " + dir;
      detail = e.getMessage();
    } else if (e instanceof EOFException) {
      head = "connection closed by the peer while " + dir;
      detail = e.getMessage();
    } else if (e instanceof AsynchronousCloseException || e instanceof ClosedChannelException) {
      head = "ring closed" + (failure.get() != null ? " after a failure" : "") + " while " + dir;
      detail = null;
    } else {
      head = "connection failed while " + dir;
      detail = e.toString();
    }
    return head
        + where(peer, ringStep)
        + " (chunk "
        + chunk
        + ", elements "
        + offset
        + ".."
        + (offset + count)
        + (detail == null ? "" : "; " + detail)
        + ")";
  }

  private CollectiveException error(
      byte kind, String op, long step, int ringStep, int peer, String what, Throwable cause) {
    String operation = operation(kind, op);
    return new CollectiveException(
        "rank "
            + rank
            + " of "
            + n
            + " ("
            + addresses.get(rank)
            + "): "
            + operation
            + ", training step "
            + step
            + ": "
            + what,
        rank,
        peer,
        addresses.get(peer),
        operation,
        ringStep,
        step,
        cause);
  }

  private static String operation(byte kind, String op) {
    return op == null || op.isEmpty() ? collective(kind) : collective(kind) + " of " + op;
  }

  private static String collective(byte kind) {
    if (kind == BLOCKS) {
      return "all-gather of blocks";
    }
    return kind == RS
        ? "reduce-scatter"
        : kind == AG ? "all-gather" : kind == SUM ? "all-reduce-sum" : "heartbeat";
  }

  /** Records the first failure, closes the ring, and returns the exception to throw. */
  private CollectiveException failed(CollectiveException e, Future<?> pendingSend) {
    failure.compareAndSet(null, e);
    close();
    if (pendingSend != null) {
      try {
        pendingSend.get(1, TimeUnit.SECONDS); // the closed channel makes it fail at once
      } catch (ExecutionException x) {
        if (x.getCause() instanceof CollectiveException ce && ce != failure.get()) {
          failure.get().addSuppressed(ce);
        }
      } catch (Exception ignored) {
        // it failed or was cancelled: the first failure is what counts
      }
    }
    return failure.get();
  }

  private void awaitSend(Future<?> f, byte kind, String op, long step, int ringStep) {
    try {
      f.get();
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      CollectiveException ce =
          c instanceof CollectiveException x
              ? x
              : error(kind, op, step, ringStep, (rank + 1) % n, "sender failed: " + c, c);
      throw failed(ce, null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw failed(error(kind, op, step, ringStep, (rank + 1) % n, "interrupted", e), null);
    }
  }

  private void ensureOpen() {
    if (closed) {
      CollectiveException first = failure.get();
      if (first != null) {
        throw new CollectiveException(
            "rank " + rank + " of " + n + ": the ring failed earlier: " + first.getMessage(),
            rank,
            first.peerRank(),
            first.peerAddress(),
            first.operation(),
            first.ringStep(),
            first.trainingStep(),
            first);
      }
      throw new IllegalStateException("rank " + rank + ": the ring is closed");
    }
  }

  private void checkBounds(int length, int[] bounds) {
    if (bounds.length != n + 1) {
      throw new IllegalArgumentException(
          bounds.length + " bounds for a ring of " + n + " (want n+1)");
    }
    if (bounds[0] < 0 || bounds[n] > length) {
      throw new IllegalArgumentException(
          "bounds [" + bounds[0] + ", " + bounds[n] + ") outside data of length " + length);
    }
    for (int i = 0; i < n; i++) {
      if (bounds[i] > bounds[i + 1]) {
        throw new IllegalArgumentException(
            "bounds decrease at " + i + ": " + java.util.Arrays.toString(bounds));
      }
    }
  }

  /**
   * Simulates {@code fault} from now on, for tests and demos of failure handling: the sender stalls
   * before the first frame once the ring has sent {@code afterFrames} frames in all.
   */
  public void simulate(SendStall fault) {
    this.stall = fault;
  }

  /** The simulated stall: sleeps, or returns early when {@link #close} interrupts the sender. */
  private static void pause(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    synchronized (progress) {
      progress.notifyAll(); // a sender waiting for pieces gives up
    }
    if (out != null) {
      out.close();
    }
    if (in != null) {
      in.close();
    }
    if (sender != null) {
      sender.shutdownNow();
    }
  }
}

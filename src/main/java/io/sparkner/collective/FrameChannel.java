package io.sparkner.collective;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

/**
 * A non-blocking {@link SocketChannel} with its own {@link Selector}, read and written "fully"
 * under a deadline: java.nio's blocking mode has no read timeout, so every wait for readiness here
 * is a bounded {@code select}, and running out of time throws {@link TimeoutException}. One thread
 * reads and one thread writes at a time; {@link #close} from any thread wakes a waiting one, which
 * then throws {@link AsynchronousCloseException}.
 */
final class FrameChannel implements AutoCloseable {
  /** Socket send and receive buffer size (the kernel caps it at net.core.[rw]mem_max). */
  static final int SOCKET_BUFFER = 4 << 20;

  /** Thrown when a deadline passes; says how far the transfer got. */
  static final class TimeoutException extends IOException {
    private static final long serialVersionUID = 1L;

    TimeoutException(String message) {
      super(message);
    }
  }

  private final SocketChannel channel;
  private final Selector selector;
  private final SelectionKey key;
  private final String remote;
  private int interest;

  /** Wraps a connected (accepted) channel. */
  FrameChannel(SocketChannel channel) throws IOException {
    this(channel, describe(channel));
  }

  private FrameChannel(SocketChannel channel, String remote) throws IOException {
    this.channel = channel;
    this.remote = remote;
    channel.configureBlocking(false);
    this.selector = Selector.open();
    try {
      this.key = channel.register(selector, 0);
    } catch (IOException | RuntimeException e) {
      selector.close();
      throw e;
    }
  }

  /** Socket options of every ring connection: no Nagle, large buffers. */
  static void configure(SocketChannel ch) throws IOException {
    ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
    ch.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER);
    ch.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER);
    ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
  }

  /**
   * Opens a connection to {@code address} by the deadline (a refused connection is an IOException
   * at once, for the caller to retry).
   */
  static FrameChannel connect(InetSocketAddress address, long deadlineNanos) throws IOException {
    SocketChannel ch = SocketChannel.open();
    try {
      configure(ch);
      FrameChannel fc = new FrameChannel(ch, hostPort(address));
      try {
        if (!ch.connect(address)) {
          while (!ch.finishConnect()) {
            fc.await(SelectionKey.OP_CONNECT, deadlineNanos, () -> "connecting to " + address);
          }
        }
        return fc;
      } catch (IOException | RuntimeException e) {
        fc.close();
        throw e;
      }
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  String remote() {
    return remote;
  }

  boolean isOpen() {
    return channel.isOpen();
  }

  /** Reads until {@code buf} is full; EOFException if the peer closes first. */
  void readFully(ByteBuffer buf, long deadlineNanos) throws IOException {
    int start = buf.position();
    while (buf.hasRemaining()) {
      int r = channel.read(buf);
      if (r < 0) {
        throw new EOFException(
            "after " + (buf.position() - start) + " of " + (buf.limit() - start) + " bytes");
      }
      if (r == 0) {
        int want = buf.limit() - start;
        await(
            SelectionKey.OP_READ,
            deadlineNanos,
            () -> (buf.position() - start) + " of " + want + " bytes received");
      }
    }
  }

  /** Writes all remaining bytes of {@code bufs}. */
  void writeFully(ByteBuffer[] bufs, long deadlineNanos) throws IOException {
    long total = 0;
    for (ByteBuffer b : bufs) {
      total += b.remaining();
    }
    long done = 0;
    while (done < total) {
      long w = channel.write(bufs);
      done += w;
      if (w == 0) {
        long doneNow = done;
        long want = total;
        await(SelectionKey.OP_WRITE, deadlineNanos, () -> doneNow + " of " + want + " bytes sent");
      }
    }
  }

  void writeFully(ByteBuffer buf, long deadlineNanos) throws IOException {
    writeFully(new ByteBuffer[] {buf}, deadlineNanos);
  }

  interface What {
    String get();
  }

  private void await(int ops, long deadlineNanos, What what) throws IOException {
    long remaining = deadlineNanos - System.nanoTime();
    if (remaining <= 0) {
      throw new TimeoutException(what.get());
    }
    try {
      if (interest != ops) { // each channel mostly waits for one thing: avoid an epoll_ctl per wait
        key.interestOps(ops);
        interest = ops;
      }
      selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(remaining + 999_999)));
      selector.selectedKeys().clear();
    } catch (CancelledKeyException | ClosedSelectorException e) {
      AsynchronousCloseException ace = new AsynchronousCloseException();
      ace.initCause(e);
      throw ace;
    }
    if (!channel.isOpen()) {
      throw new AsynchronousCloseException();
    }
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing: nothing to do
    }
    try {
      selector.close(); // wakes a thread blocked in select
    } catch (IOException ignored) {
      // closing: nothing to do
    }
  }

  private static String describe(SocketChannel ch) {
    try {
      SocketAddress a = ch.getRemoteAddress();
      if (a instanceof InetSocketAddress isa) {
        return hostPort(isa);
      }
      return a == null ? "?" : a.toString();
    } catch (IOException e) {
      return "?";
    }
  }

  static String hostPort(InetSocketAddress isa) {
    String host =
        isa.getAddress() != null ? isa.getAddress().getHostAddress() : isa.getHostString();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + isa.getPort();
  }
}

package io.sparkner.collective;

import io.sparkner.lang.Causes;
import java.io.EOFException;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This rank's listening socket, opened before the ranks know each other's addresses: open it,
 * publish {@link #address()} (e.g. through {@code BarrierTaskContext.allGather}), then {@link
 * #join} the ring with everyone's addresses in rank order. {@link #join} closes the listening
 * socket when it returns (the ring formed or the join failed), so that nobody can connect to the
 * port afterwards; {@link #close} it yourself if the task ends before joining. Closing the endpoint
 * does not close a ring it formed.
 */
public final class RingEndpoint implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RingEndpoint.class);

  /**
   * Accepted connections still in their handshake at once; a new one beyond this closes the oldest
   * of them, so that strangers that connect and say nothing cannot keep the real neighbour out.
   */
  static final int MAX_PENDING = 16;

  /**
   * How long an accepted connection has to complete its handshake (capped by the join's deadline).
   */
  static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(5);

  private final ServerSocketChannel server;
  private final String host;
  private final int port;
  private volatile boolean joined;
  private volatile Duration handshakeTimeout = HANDSHAKE_TIMEOUT;

  private RingEndpoint(ServerSocketChannel server, String host, int port) {
    this.server = server;
    this.host = host;
    this.port = port;
  }

  /**
   * Binds host on the first free port in [portFrom, portTo]; portFrom = portTo = 0 means an
   * ephemeral port.
   */
  public static RingEndpoint open(String host, int portFrom, int portTo) throws IOException {
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("host is empty");
    }
    if (portFrom < 0 || portTo > 65535 || portFrom > portTo || (portFrom == 0 && portTo != 0)) {
      throw new IllegalArgumentException(
          "port range ["
              + portFrom
              + ", "
              + portTo
              + "]: want 0 <= from <= to <= 65535, or 0, 0 for an ephemeral port");
    }
    IOException last = null;
    for (int p = portFrom; p <= portTo; p++) {
      ServerSocketChannel ch = ServerSocketChannel.open();
      try {
        // before bind: accepted sockets inherit it, and the window scale is negotiated in the SYN
        ch.setOption(StandardSocketOptions.SO_RCVBUF, FrameChannel.SOCKET_BUFFER);
        ch.bind(new InetSocketAddress(host, p), 64);
        int bound = ((InetSocketAddress) ch.getLocalAddress()).getPort();
        return new RingEndpoint(ch, host, bound);
      } catch (BindException e) {
        ch.close();
        last = e;
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    }
    BindException e =
        new BindException("no free port in [" + portFrom + ", " + portTo + "] on " + host);
    if (last != null) {
      e.initCause(last);
    }
    throw e;
  }

  /** "host:port" to publish to the other ranks. */
  public String address() {
    return (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
  }

  public int port() {
    return port;
  }

  /**
   * How long an accepted connection has to complete its handshake (default {@link
   * #HANDSHAKE_TIMEOUT}).
   */
  void setHandshakeTimeout(Duration timeout) {
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("handshake timeout " + timeout);
    }
    this.handshakeTimeout = timeout;
  }

  /**
   * Joins the ring: connects to rank (rank+1)%n and accepts the connection of rank (rank-1+n)%n,
   * each authenticated with an HMAC-SHA256 challenge over the shared secret in both directions (see
   * {@link Handshake}). A connection that fails the challenge, or comes from a rank other than the
   * expected neighbour, is closed and logged (WARN, naming the remote address, never the secret)
   * and the endpoint keeps waiting for the right peer until the timeout, which then throws {@link
   * CollectiveException} (its message gives the last refusal). An accepted connection must complete
   * its handshake within {@link #HANDSHAKE_TIMEOUT}, and at most {@link #MAX_PENDING} may be in
   * their handshake at once (a new one closes the oldest), so connections that say nothing cannot
   * hold the port until the timeout. The same timeout is the ring's per-frame timeout afterwards
   * ({@link Ring#setTimeout}). n == 1 returns a ring that needs no sockets. An endpoint joins once;
   * the listening socket is closed when join returns.
   */
  public Ring join(int rank, List<String> addresses, byte[] secret, Duration timeout)
      throws IOException {
    int n = addresses.size();
    if (n < 1 || rank < 0 || rank >= n) {
      throw new IllegalArgumentException("rank " + rank + " of " + n + " addresses");
    }
    if (secret == null || secret.length == 0) {
      throw new IllegalArgumentException("the ring secret is empty");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout " + timeout);
    }
    if (joined) {
      throw new IllegalStateException("this endpoint already joined a ring");
    }
    joined = true;
    List<String> addrs = List.copyOf(addresses);
    if (n == 1) {
      close();
      return new Ring(0, 1, addrs, null, null, timeout);
    }
    byte[] key = secret.clone();
    int next = (rank + 1) % n;
    int prev = (rank - 1 + n) % n;
    long deadline = System.nanoTime() + timeout.toNanos();
    Join join = new Join(rank, n, addrs, key, deadline, timeout, handshakeTimeout);
    try {
      join.start(next);
      FrameChannel in = join.acceptFrom(prev);
      FrameChannel out = join.awaitConnected(next);
      join.finish(in, out);
      LOG.debug("rank {} of {}: joined the ring ({} -> {} -> {})", rank, n, prev, rank, next);
      return new Ring(rank, n, addrs, out, in, timeout);
    } catch (IOException | RuntimeException | Error e) {
      join.abort();
      throw e;
    } finally {
      close(); // the ring is formed (or will not be): nobody is to connect to this port any more
      java.util.Arrays.fill(key, (byte) 0);
    }
  }

  /** One join in progress: the connect thread, the accept loop, the handshakes under way. */
  private final class Join {
    final int rank;
    final int n;
    final List<String> addrs;
    final byte[] secret;
    final long deadline;
    final Duration timeout;
    final Duration handshakeTimeout;

    /**
     * Connections in their handshake, oldest first: accepted ones, and this rank's own outgoing
     * one.
     */
    final LinkedHashSet<FrameChannel> pending = new LinkedHashSet<>();

    /** The accepted ones among {@link #pending} (only these count against {@link #MAX_PENDING}). */
    final Set<FrameChannel> incoming = new HashSet<>();

    final CompletableFuture<FrameChannel> accepted = new CompletableFuture<>();
    final CompletableFuture<FrameChannel> connected = new CompletableFuture<>();
    final AtomicReference<String> lastAcceptRefusal = new AtomicReference<>();
    final AtomicReference<String> lastConnectRefusal = new AtomicReference<>();
    volatile boolean over;

    Join(
        int rank,
        int n,
        List<String> addrs,
        byte[] secret,
        long deadline,
        Duration timeout,
        Duration handshakeTimeout) {
      this.rank = rank;
      this.n = n;
      this.addrs = addrs;
      this.secret = secret;
      this.deadline = deadline;
      this.timeout = timeout;
      this.handshakeTimeout = handshakeTimeout;
    }

    String me() {
      return "rank " + rank + " of " + n + " (" + address() + ")";
    }

    /** Tracks this rank's own outgoing connection; false once the join is over. */
    boolean track(FrameChannel ch) {
      synchronized (pending) {
        if (over) {
          return false;
        }
        pending.add(ch);
        return true;
      }
    }

    /**
     * Tracks an accepted connection; when {@link #MAX_PENDING} accepted ones are already in their
     * handshake, the oldest of them is closed to make room (a real neighbour completes its
     * handshake in milliseconds, so the oldest is a stranger's). False once the join is over.
     */
    boolean trackIncoming(FrameChannel ch) {
      FrameChannel evicted = null;
      synchronized (pending) {
        if (over) {
          return false;
        }
        if (incoming.size() >= MAX_PENDING) {
          for (Iterator<FrameChannel> it = pending.iterator(); it.hasNext(); ) {
            FrameChannel old = it.next();
            if (incoming.remove(old)) {
              it.remove();
              evicted = old;
              break;
            }
          }
        }
        pending.add(ch);
        incoming.add(ch);
      }
      if (evicted != null) {
        String reason =
            "still no handshake when "
                + MAX_PENDING
                + " newer connections were waiting; closed the oldest"
                + " (to make room for "
                + ch.remote()
                + ")";
        refuse(evicted.remote(), reason);
        evicted.close();
      }
      return true;
    }

    void untrack(FrameChannel ch) {
      synchronized (pending) {
        pending.remove(ch);
        incoming.remove(ch);
      }
    }

    /**
     * The deadline of a handshake starting now: the handshake timeout, at most the join's deadline.
     */
    long handshakeDeadline() {
      long own = System.nanoTime() + handshakeTimeout.toNanos();
      return own - deadline < 0 ? own : deadline;
    }

    void start(int next) {
      Thread t =
          new Thread(
              () -> {
                try {
                  connected.complete(connectTo(next));
                } catch (Throwable e) {
                  connected.completeExceptionally(e);
                }
              },
              "sparkner-ring-" + rank + "-connect");
      t.setDaemon(true);
      t.start();
    }

    /** Connects to the next rank and authenticates, retrying refusals until the deadline. */
    FrameChannel connectTo(int next) throws IOException {
      String address = addrs.get(next);
      InetSocketAddress target = parse(address);
      long backoffMs = 50;
      while (true) {
        if (over) {
          throw new java.nio.channels.ClosedChannelException();
        }
        if (System.nanoTime() - deadline >= 0) {
          throw timedOut(null);
        }
        FrameChannel ch = null;
        try {
          ch = FrameChannel.connect(target, deadline);
          if (!track(ch)) {
            ch.close();
            throw new java.nio.channels.ClosedChannelException();
          }
          Handshake.connect(ch, secret, rank, n, next, deadline);
          untrack(ch);
          return ch;
        } catch (Handshake.Refused e) {
          LOG.warn(
              "{}: connection to rank {} at {} refused: {}", me(), next, address, e.getMessage());
          lastConnectRefusal.set(e.getMessage());
        } catch (ConnectException | EOFException e) {
          lastConnectRefusal.set(e.getMessage()); // not listening yet, or closed on us: retry
        } catch (FrameChannel.TimeoutException e) {
          // an attempt cut short by the deadline says less than an earlier refusal: keep that one
          lastConnectRefusal.compareAndSet(null, "no handshake (" + e.getMessage() + ")");
          throw timedOut(e);
        } catch (IOException e) {
          if (over) {
            throw e;
          }
          lastConnectRefusal.set(e.toString());
        }
        if (ch != null) {
          untrack(ch);
          ch.close();
        }
        long sleepMs =
            Math.min(backoffMs, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        if (sleepMs > 0) {
          try {
            Thread.sleep(sleepMs);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while joining the ring");
          }
        }
        backoffMs = Math.min(2000, backoffMs * 2);
      }
    }

    /**
     * Accepts connections until one authenticates as rank {@code prev}; each handshake runs on its
     * own thread.
     */
    FrameChannel acceptFrom(int prev) throws IOException {
      try (Selector selector = Selector.open()) {
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
        while (!accepted.isDone()) {
          if (connected.isCompletedExceptionally()) {
            return null; // awaitConnected reports it
          }
          long remaining = deadline - System.nanoTime();
          if (remaining <= 0) {
            throw timedOut(null);
          }
          selector.select(Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(remaining))));
          selector.selectedKeys().clear();
          SocketChannel sc;
          while ((sc = server.accept()) != null) {
            handle(sc, prev);
          }
        }
      }
      try {
        return accepted.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while joining the ring");
      } catch (ExecutionException e) {
        throw Causes.rethrow(e.getCause(), IOException.class, IOException::new);
      }
    }

    private void handle(SocketChannel sc, int prev) {
      FrameChannel ch;
      try {
        FrameChannel.configure(sc);
        ch = new FrameChannel(sc);
      } catch (IOException e) {
        closeQuietly(sc);
        return;
      }
      String remote = ch.remote();
      if (!trackIncoming(ch)) {
        ch.close();
        return;
      }
      long handshakeDeadline = handshakeDeadline();
      Thread t =
          new Thread(
              () -> {
                try {
                  Handshake.accept(ch, secret, rank, n, prev, handshakeDeadline);
                  untrack(ch);
                  if (!accepted.complete(ch)) {
                    ch.close();
                  }
                  return;
                } catch (Handshake.Refused e) {
                  refuse(remote, e.getMessage());
                } catch (FrameChannel.TimeoutException e) {
                  boolean joinDeadline = handshakeDeadline == deadline;
                  refuse(
                      remote,
                      "no handshake within "
                          + (joinDeadline
                              ? "the join timeout"
                              : handshakeTimeout.toMillis() + " ms")
                          + " ("
                          + e.getMessage()
                          + ")");
                } catch (IOException e) {
                  if (!over
                      && ch.isOpen()) { // closed by us: evicted (and logged then) or the join ended
                    refuse(remote, "handshake failed: " + e.getMessage());
                  }
                } catch (RuntimeException e) {
                  refuse(remote, "handshake failed: " + e);
                }
                untrack(ch);
                ch.close();
              },
              "sparkner-ring-" + rank + "-handshake");
      t.setDaemon(true);
      t.start();
    }

    private void refuse(String remote, String reason) {
      LOG.warn("{}: refused connection from {}: {}", me(), remote, reason);
      lastAcceptRefusal.set(remote + ": " + reason);
    }

    FrameChannel awaitConnected(int next) throws IOException {
      try {
        long remaining = deadline - System.nanoTime();
        return connected.get(
            Math.max(0, remaining) + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
      } catch (ExecutionException e) {
        throw Causes.rethrow(e.getCause(), IOException.class, IOException::new);
      } catch (java.util.concurrent.TimeoutException e) {
        throw timedOut(null);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while joining the ring");
      }
    }

    /** Closes the connections that are still in their handshake (strangers that said nothing). */
    void finish(FrameChannel in, FrameChannel out) {
      List<FrameChannel> rest;
      synchronized (pending) {
        over = true;
        rest = new ArrayList<>(pending);
        pending.clear();
      }
      for (FrameChannel ch : rest) {
        if (ch != in && ch != out) {
          LOG.warn(
              "{}: refused connection from {}: no handshake before the ring formed",
              me(),
              ch.remote());
          ch.close();
        }
      }
    }

    void abort() {
      List<FrameChannel> rest;
      synchronized (pending) {
        over = true;
        rest = new ArrayList<>(pending);
        pending.clear();
      }
      rest.forEach(FrameChannel::close);
      accepted.thenAccept(FrameChannel::close);
      connected.thenAccept(FrameChannel::close);
    }

    /**
     * The join's timeout, saying what is missing on both sides: the previous rank's connection, the
     * next rank.
     */
    CollectiveException timedOut(Throwable cause) {
      int prev = (rank - 1 + n) % n;
      int next = (rank + 1) % n;
      boolean in = accepted.isDone() && !accepted.isCompletedExceptionally();
      boolean outDone = connected.isDone() && !connected.isCompletedExceptionally();
      List<String> missing = new ArrayList<>();
      if (!in) {
        String refusal = lastAcceptRefusal.get();
        missing.add(
            "waiting for the connection of rank "
                + prev
                + " ("
                + addrs.get(prev)
                + ")"
                + (refusal == null
                    ? " (no connection came)"
                    : " (last refused connection: " + refusal + ")"));
      }
      if (!outDone) {
        String refusal = lastConnectRefusal.get();
        missing.add(
            "connecting to rank "
                + next
                + " ("
                + addrs.get(next)
                + ")"
                + (refusal == null ? "" : " (last attempt: " + refusal + ")"));
      }
      int peer = in ? next : prev;
      return new CollectiveException(
          me()
              + ": join: timed out after "
              + timeout.toMillis()
              + " ms "
              + String.join("; and ", missing),
          rank,
          peer,
          addrs.get(peer),
          "join",
          -1,
          -1,
          cause);
    }
  }

  static InetSocketAddress parse(String address) {
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      throw new IllegalArgumentException("not host:port: " + address);
    }
    String host = address.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not host:port: " + address, e);
    }
    return new InetSocketAddress(host, port);
  }

  private static void closeQuietly(SocketChannel sc) {
    try {
      sc.close();
    } catch (IOException ignored) {
      // closing: nothing to do
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException ignored) {
      // closing: nothing to do
    }
  }
}

package io.sparkner.collective;

import static io.sparkner.collective.RingTestSupport.SECRET;
import static io.sparkner.collective.RingTestSupport.all;
import static io.sparkner.collective.RingTestSupport.closeAll;
import static io.sparkner.collective.RingTestSupport.outcomes;
import static io.sparkner.collective.RingTestSupport.waitUntil;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Authentication of ring connections: wrong secrets, strangers, impostors. */
class RingSecurityTest {

  @Test
  void aRankWithTheWrongSecretCannotJoinAndIsLoggedWithoutTheSecret() throws Exception {
    byte[] wrong = "not-the-ring-secret-123".getBytes(StandardCharsets.UTF_8);
    Duration timeout = Duration.ofMillis(1500);
    try (RingTestSupport.LogCapture log = new RingTestSupport.LogCapture(RingEndpoint.class)) {
      List<RingEndpoint> eps = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        eps.add(RingEndpoint.open("127.0.0.1", 0, 0));
      }
      List<String> addrs = eps.stream().map(RingEndpoint::address).toList();
      long t0 = System.nanoTime();
      var results =
          outcomes(
              3,
              Duration.ofSeconds(10),
              r -> eps.get(r).join(r, addrs, r == 1 ? wrong : SECRET, timeout));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      eps.forEach(RingEndpoint::close);
      for (var o : results) {
        if (o.value() != null) {
          o.value().close();
        }
      }
      // rank 1 can neither reach rank 2 nor accept rank 0, so no rank completes its ring
      for (int r = 0; r < 3; r++) {
        Throwable e = results.get(r).error();
        if (r == 0 || r == 1) {
          assertInstanceOf(CollectiveException.class, e, "rank " + r);
        }
        if (e instanceof CollectiveException ce) {
          assertTrue(ce.getMessage().contains("rank " + r + " of 3"), ce.getMessage());
          assertTrue(ce.getMessage().contains("join: timed out"), ce.getMessage());
          assertEquals("join", ce.operation());
        }
      }
      CollectiveException e1 = (CollectiveException) results.get(1).error();
      assertTrue(e1.getMessage().contains(addrs.get(e1.peerRank())), e1.getMessage());
      assertTrue(ms < timeout.toMillis() + 3000, "joins gave up after " + ms + " ms");
      // rank 2 refused rank 1's proof; rank 1 refused rank 0's; both name the remote address
      assertTrue(
          log.any(
              "WARN", "rank 2 of 3", "refused connection from 127.0.0.1:", "failed authentication"),
          String.join("\n", log.snapshot()));
      assertTrue(
          log.any(
              "WARN", "rank 1 of 3", "refused connection from 127.0.0.1:", "failed authentication"),
          String.join("\n", log.snapshot()));
      String hexRight = HexFormat.of().formatHex(SECRET);
      String hexWrong = HexFormat.of().formatHex(wrong);
      for (String line : log.snapshot()) {
        for (String secret :
            List.of(
                new String(SECRET, StandardCharsets.UTF_8),
                new String(wrong, StandardCharsets.UTF_8),
                hexRight,
                hexWrong)) {
          assertFalse(
              line.toLowerCase().contains(secret.toLowerCase()), "the log shows a secret: " + line);
        }
      }
    }
  }

  @Test
  void strangersAreRefusedAndTheRealRingStillForms() throws Exception {
    assertTimeoutPreemptively(
        Duration.ofSeconds(30),
        () -> {
          try (RingTestSupport.LogCapture log =
              new RingTestSupport.LogCapture(RingEndpoint.class)) {
            List<RingEndpoint> eps = new ArrayList<>();
            for (int r = 0; r < 3; r++) {
              eps.add(RingEndpoint.open("127.0.0.1", 0, 0));
            }
            List<String> addrs = eps.stream().map(RingEndpoint::address).toList();
            // the silent stranger is to be dropped when the ring forms, not by its own handshake
            // timeout
            eps.get(1).setHandshakeTimeout(Duration.ofSeconds(25));
            InetSocketAddress rank1 = new InetSocketAddress("127.0.0.1", eps.get(1).port());
            List<Socket> strangers = new ArrayList<>();
            try {
              Socket garbage = new Socket();
              garbage.connect(rank1);
              byte[] junk = new byte[200];
              new Random(1).nextBytes(junk);
              garbage.getOutputStream().write(junk);
              Socket silent = new Socket();
              silent.connect(rank1);
              Socket forger = new Socket(); // a well-formed proof as rank 0, without the secret
              forger.connect(rank1);
              Socket impostor =
                  new Socket(); // knows the secret but claims to be rank 2, not rank 0
              impostor.connect(rank1);
              strangers.addAll(List.of(garbage, silent, forger, impostor));
              forger.setSoTimeout(5000);
              impostor.setSoTimeout(5000);

              // rank 1 starts joining first: it meets the strangers before its real neighbour
              CompletableFuture<Ring> r1 =
                  CompletableFuture.supplyAsync(
                      () -> {
                        try {
                          return eps.get(1).join(1, addrs, SECRET, Duration.ofSeconds(10));
                        } catch (Exception e) {
                          throw new RuntimeException(e);
                        }
                      });
              sendProof(forger, 0, 3, "guessed-secret".getBytes(StandardCharsets.UTF_8));
              sendProof(impostor, 2, 3, SECRET);
              waitUntil(
                  Duration.ofSeconds(8),
                  () ->
                      log.any("bad greeting")
                          && log.count("failed authentication") >= 1
                          && log.any("expected rank 0"));
              assertEquals(-1, forger.getInputStream().read(), "the forger's connection is closed");
              assertEquals(
                  -1, impostor.getInputStream().read(), "the impostor's connection is closed");

              List<Ring> others =
                  all(
                      2,
                      Duration.ofSeconds(20),
                      i -> {
                        int r = i == 0 ? 0 : 2;
                        return eps.get(r).join(r, addrs, SECRET, Duration.ofSeconds(10));
                      });
              List<Ring> rings =
                  List.of(others.get(0), r1.get(15, TimeUnit.SECONDS), others.get(1));
              try {
                List<float[]> out =
                    all(
                        3,
                        Duration.ofSeconds(20),
                        r -> {
                          float[] d = {r, 10 * r, 100};
                          rings.get(r).allReduce(d, Ring.evenBounds(0, 3, 3), "gradients", 0);
                          return d;
                        });
                out.forEach(d -> assertArrayEquals(new float[] {3, 30, 300}, d));
              } finally {
                closeAll(rings);
              }
              waitUntil(
                  Duration.ofSeconds(5), () -> log.any("no handshake before the ring formed"));
              silent.setSoTimeout(5000);
              InputStream in = silent.getInputStream();
              assertEquals(40, in.readNBytes(40).length, "the silent stranger got the greeting");
              assertEquals(-1, in.read(), "then its connection was closed");
              List<String> lines = log.snapshot();
              String remoteGarbage = "127.0.0.1:" + garbage.getLocalPort();
              assertTrue(
                  lines.stream()
                      .anyMatch(
                          l ->
                              l.startsWith("WARN")
                                  && l.contains(remoteGarbage)
                                  && l.contains("bad greeting")),
                  String.join("\n", lines));
              String remoteSilent = "127.0.0.1:" + silent.getLocalPort();
              assertTrue(
                  lines.stream().anyMatch(l -> l.startsWith("WARN") && l.contains(remoteSilent)),
                  String.join("\n", lines));
            } finally {
              for (Socket s : strangers) {
                s.close();
              }
              eps.forEach(RingEndpoint::close);
            }
          }
        });
  }

  @Test
  void sixteenIdleConnectionsToEveryRankDoNotHoldUpTheJoin() throws Exception {
    assertTimeoutPreemptively(
        Duration.ofSeconds(45),
        () -> {
          try (RingTestSupport.LogCapture log =
              new RingTestSupport.LogCapture(RingEndpoint.class)) {
            List<RingEndpoint> eps = new ArrayList<>();
            for (int r = 0; r < 3; r++) {
              eps.add(RingEndpoint.open("127.0.0.1", 0, 0));
            }
            List<String> addrs = eps.stream().map(RingEndpoint::address).toList();
            List<Socket> idle = new ArrayList<>();
            List<CompletableFuture<Ring>> joins = new ArrayList<>();
            try {
              // ranks 1 and 2 start; rank 1 connects to rank 2 and then waits for rank 0, which is
              // late
              for (int r = 1; r < 3; r++) {
                int rank = r;
                joins.add(
                    CompletableFuture.supplyAsync(
                        () -> {
                          try {
                            return eps.get(rank).join(rank, addrs, SECRET, Duration.ofSeconds(20));
                          } catch (Exception e) {
                            throw new RuntimeException(e);
                          }
                        }));
              }
              Thread.sleep(1000);
              // meanwhile anyone who can reach the ports opens 16 connections to each rank and says
              // nothing
              for (RingEndpoint ep : eps) {
                for (int i = 0; i < 16; i++) {
                  Socket s = new Socket();
                  s.connect(new InetSocketAddress("127.0.0.1", ep.port()));
                  idle.add(s);
                }
              }
              Thread.sleep(300);
              long t0 = System.nanoTime();
              Ring ring0 = eps.get(0).join(0, addrs, SECRET, Duration.ofSeconds(20));
              List<Ring> rings = new ArrayList<>(List.of(ring0));
              try {
                for (CompletableFuture<Ring> j : joins) {
                  rings.add(j.get(25, TimeUnit.SECONDS));
                }
                long ms = (System.nanoTime() - t0) / 1_000_000;
                // well below the 5 s handshake timeout: the idle connections made room for the
                // neighbours
                assertTrue(ms < 4000, "the ring took " + ms + " ms to form once rank 0 arrived");
                all(
                        3,
                        Duration.ofSeconds(10),
                        r -> rings.get(r).allReduceSum(new double[] {r}, "check", 0))
                    .forEach(v -> assertArrayEquals(new double[] {3}, v));
              } finally {
                closeAll(rings);
              }
              for (Socket s : idle) {
                assertClosedByThePeer(s);
              }
              assertTrue(
                  log.any(
                      "WARN",
                      "rank 1 of 3",
                      "refused connection from 127.0.0.1:",
                      "closed the oldest"),
                  String.join("\n", log.snapshot()));
            } finally {
              for (Socket s : idle) {
                s.close();
              }
              eps.forEach(RingEndpoint::close);
            }
          }
        });
  }

  @Test
  void aSilentConnectionIsDroppedAfterTheHandshakeTimeoutWhileTheJoinGoesOn() throws Exception {
    assertTimeoutPreemptively(
        Duration.ofSeconds(40),
        () -> {
          try (RingTestSupport.LogCapture log = new RingTestSupport.LogCapture(RingEndpoint.class);
              RingEndpoint ep0 = RingEndpoint.open("127.0.0.1", 0, 0);
              RingEndpoint ep1 = RingEndpoint.open("127.0.0.1", 0, 0);
              Socket silent = new Socket()) {
            List<String> addrs = List.of(ep0.address(), ep1.address());
            CompletableFuture<Ring> r1 =
                CompletableFuture.supplyAsync(
                    () -> {
                      try {
                        return ep1.join(1, addrs, SECRET, Duration.ofSeconds(30));
                      } catch (Exception e) {
                        throw new RuntimeException(e);
                      }
                    });
            silent.connect(new InetSocketAddress("127.0.0.1", ep1.port()));
            silent.setSoTimeout(12_000);
            long t0 = System.nanoTime();
            InputStream in = silent.getInputStream();
            assertEquals(40, in.readNBytes(40).length, "the greeting");
            assertEquals(-1, in.read(), "the silent connection is closed");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            long limit = RingEndpoint.HANDSHAKE_TIMEOUT.toMillis();
            assertTrue(ms >= limit - 200 && ms < limit + 2500, "closed after " + ms + " ms");
            assertFalse(r1.isDone(), "rank 1 is still joining");
            assertTrue(
                log.any(
                    "WARN",
                    "refused connection from 127.0.0.1:" + silent.getLocalPort(),
                    "no handshake within " + limit + " ms"),
                String.join("\n", log.snapshot()));
            Ring ring0 = ep0.join(0, addrs, SECRET, Duration.ofSeconds(10));
            try (Ring ring1 = r1.get(10, TimeUnit.SECONDS)) {
              List<Ring> rings = List.of(ring0, ring1);
              all(
                      2,
                      Duration.ofSeconds(10),
                      r -> rings.get(r).allReduceSum(new double[] {1}, "check", 0))
                  .forEach(v -> assertArrayEquals(new double[] {2}, v));
            } finally {
              ring0.close();
            }
          }
        });
  }

  @Test
  void theListeningSocketIsClosedOnceTheJoinReturns() throws Exception {
    assertTimeoutPreemptively(
        Duration.ofSeconds(30),
        () -> {
          List<RingEndpoint> eps = new ArrayList<>();
          List<Ring> rings = null;
          try {
            for (int r = 0; r < 3; r++) {
              eps.add(RingEndpoint.open("127.0.0.1", 0, 0));
            }
            List<String> addrs = eps.stream().map(RingEndpoint::address).toList();
            rings =
                all(
                    3,
                    Duration.ofSeconds(20),
                    r -> eps.get(r).join(r, addrs, SECRET, Duration.ofSeconds(10)));
            for (RingEndpoint ep :
                eps) { // endpoints not closed by the caller: the join closed them
              assertThrows(
                  java.net.ConnectException.class,
                  () -> new Socket("127.0.0.1", ep.port()).close(),
                  "a connection to port " + ep.port() + " after the ring formed");
            }
            List<Ring> formed = rings;
            all(
                    3,
                    Duration.ofSeconds(10),
                    r -> formed.get(r).allReduceSum(new double[] {1}, "check", 0))
                .forEach(v -> assertArrayEquals(new double[] {3}, v));
            // one rank, and a join that failed
            try (RingEndpoint alone = RingEndpoint.open("127.0.0.1", 0, 0);
                Ring one = alone.join(0, List.of(alone.address()), SECRET, Duration.ofSeconds(1))) {
              assertEquals(1, one.size());
              assertThrows(
                  java.net.ConnectException.class,
                  () -> new Socket("127.0.0.1", alone.port()).close());
            }
            try (RingEndpoint failing = RingEndpoint.open("127.0.0.1", 0, 0)) {
              int closedPort;
              try (ServerSocket gone =
                  new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
                closedPort = gone.getLocalPort();
              }
              assertThrows(
                  CollectiveException.class,
                  () ->
                      failing.join(
                          0,
                          List.of(failing.address(), "127.0.0.1:" + closedPort),
                          SECRET,
                          Duration.ofMillis(500)));
              assertThrows(
                  java.net.ConnectException.class,
                  () -> new Socket("127.0.0.1", failing.port()).close());
            }
          } finally {
            closeAll(rings);
            eps.forEach(RingEndpoint::close);
          }
        });
  }

  @Test
  void ringKeysDifferByStageAndAttemptAndNeverEqualTheSecret() {
    byte[] k = Handshake.ringKey(SECRET, 7, 0);
    assertEquals(32, k.length);
    assertArrayEquals(k, Handshake.ringKey(SECRET, 7, 0), "the same for every task of one attempt");
    List<byte[]> others =
        List.of(
            Handshake.ringKey(SECRET, 7, 1),
            Handshake.ringKey(SECRET, 8, 0),
            Handshake.ringKey(SECRET, 0, 7),
            Handshake.ringKey("another-job-secret".getBytes(StandardCharsets.UTF_8), 7, 0),
            SECRET);
    for (byte[] o : others) {
      assertFalse(java.util.Arrays.equals(k, o), HexFormat.of().formatHex(o));
    }
  }

  @Test
  void aRankLeftOverFromTheFailedAttemptCannotJoinTheNextAttempt() throws Exception {
    byte[] attempt0 = Handshake.ringKey(SECRET, 7, 0);
    byte[] attempt1 = Handshake.ringKey(SECRET, 7, 1);
    assertTimeoutPreemptively(
        Duration.ofSeconds(40),
        () -> {
          try (RingTestSupport.LogCapture log = new RingTestSupport.LogCapture(RingEndpoint.class);
              RingEndpoint ep0 = RingEndpoint.open("127.0.0.1", 0, 0);
              RingEndpoint ep1 = RingEndpoint.open("127.0.0.1", 0, 0);
              RingEndpoint stale = RingEndpoint.open("127.0.0.1", 0, 0)) {
            List<String> addrs = List.of(ep0.address(), ep1.address());
            // attempt 1's rank 1 waits for its rank 0; attempt 0's rank 0, still retrying, reaches
            // the same address first (a fixed --port-range gives the new attempt the ports of the
            // old one)
            CompletableFuture<Ring> r1 =
                CompletableFuture.supplyAsync(
                    () -> {
                      try {
                        return ep1.join(1, addrs, attempt1, Duration.ofSeconds(20));
                      } catch (Exception e) {
                        throw new RuntimeException(e);
                      }
                    });
            CompletableFuture<Ring> leftover =
                CompletableFuture.supplyAsync(
                    () -> {
                      try {
                        return stale.join(
                            0,
                            List.of(stale.address(), ep1.address()),
                            attempt0,
                            Duration.ofSeconds(3));
                      } catch (Exception e) {
                        throw new RuntimeException(e);
                      }
                    });
            waitUntil(
                Duration.ofSeconds(10),
                () ->
                    log.any(
                        "WARN", "rank 1 of 2", "refused connection from", "failed authentication"));
            assertFalse(
                r1.isDone(), "attempt 1's rank 1 did not take the left-over rank as its neighbour");
            Ring ring0 = ep0.join(0, addrs, attempt1, Duration.ofSeconds(10));
            try (Ring ring1 = r1.get(10, TimeUnit.SECONDS)) {
              List<Ring> rings = List.of(ring0, ring1);
              all(
                      2,
                      Duration.ofSeconds(10),
                      r -> rings.get(r).allReduceSum(new double[] {r + 1}, "check", 0))
                  .forEach(v -> assertArrayEquals(new double[] {3}, v));
            } finally {
              ring0.close();
            }
            ExecutionException e =
                assertThrows(ExecutionException.class, () -> leftover.get(15, TimeUnit.SECONDS));
            CollectiveException ce =
                assertInstanceOf(CollectiveException.class, e.getCause().getCause());
            assertTrue(ce.getMessage().contains("join: timed out"), ce.getMessage());
          }
        });
  }

  /**
   * The rank closed the connection: end of stream after the greeting (it was accepted), or a reset
   * (it was still in the accept queue when the listening socket closed); a read timeout fails.
   */
  private static void assertClosedByThePeer(Socket s) throws Exception {
    s.setSoTimeout(5000);
    try {
      InputStream in = s.getInputStream();
      in.readNBytes(40);
      assertEquals(-1, in.read(), "idle connection from port " + s.getLocalPort() + " is closed");
    } catch (java.net.SocketException e) {
      assertTrue(
          String.valueOf(e.getMessage()).contains("reset"),
          "idle connection from port " + s.getLocalPort() + ": " + e);
    }
  }

  /** Plays the connector's side of the handshake with the given secret and claimed rank. */
  private static void sendProof(Socket s, int rank, int n, byte[] secret) throws Exception {
    InputStream in = s.getInputStream();
    OutputStream out = s.getOutputStream();
    ByteBuffer hello = ByteBuffer.wrap(in.readNBytes(40)).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(Handshake.MAGIC, hello.getInt());
    assertEquals(Handshake.VERSION, hello.getInt());
    byte[] nonceA = new byte[32];
    hello.get(nonceA);
    byte[] nonceC = new byte[32];
    new Random(rank).nextBytes(nonceC);
    ByteBuffer proof =
        ByteBuffer.allocate(80)
            .order(ByteOrder.LITTLE_ENDIAN)
            .putInt(Handshake.MAGIC)
            .putInt(Handshake.VERSION)
            .putInt(rank)
            .putInt(n)
            .put(nonceC)
            .put(
                Handshake.hmac(
                    secret,
                    "sparkner-ring/1 connect".getBytes(StandardCharsets.US_ASCII),
                    nonceA,
                    rank,
                    n,
                    nonceC));
    out.write(proof.array());
    out.flush();
  }

  @Test
  void aNeighbourThatNeverAnswersTheHandshakeTimesOutNamingIt() throws Exception {
    assertTimeoutPreemptively(
        Duration.ofSeconds(15),
        () -> {
          try (ServerSocket fake =
                  new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
              RingEndpoint ep = RingEndpoint.open("127.0.0.1", 0, 0)) {
            // the fake "rank 1" accepts connections (the kernel does) and never says anything
            List<String> addrs = List.of(ep.address(), "127.0.0.1:" + fake.getLocalPort());
            long t0 = System.nanoTime();
            CollectiveException e =
                assertThrows(
                    CollectiveException.class,
                    () -> ep.join(0, addrs, SECRET, Duration.ofMillis(1200)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 1100 && ms < 4000, ms + " ms");
            assertEquals(1, e.peerRank());
            assertEquals(addrs.get(1), e.peerAddress());
            assertTrue(
                e.getMessage().contains("rank 0 of 2")
                    && e.getMessage().contains("rank 1 (" + addrs.get(1) + ")"),
                e.getMessage());
          }
        });
  }

  @Test
  void aWellFormedPeerThatFailsToProveTheSecretIsNotTrusted() throws Exception {
    // the connector's view: a server that greets properly but cannot answer with the right MAC
    assertTimeoutPreemptively(
        Duration.ofSeconds(15),
        () -> {
          try (RingTestSupport.LogCapture log = new RingTestSupport.LogCapture(RingEndpoint.class);
              ServerSocket fake =
                  new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
              RingEndpoint ep = RingEndpoint.open("127.0.0.1", 0, 0)) {
            Thread server =
                new Thread(
                    () -> {
                      while (!fake.isClosed()) {
                        try (Socket s = fake.accept()) {
                          s.setSoTimeout(3000);
                          byte[] nonce = new byte[32];
                          s.getOutputStream()
                              .write(
                                  ByteBuffer.allocate(40)
                                      .order(ByteOrder.LITTLE_ENDIAN)
                                      .putInt(Handshake.MAGIC)
                                      .putInt(Handshake.VERSION)
                                      .put(nonce)
                                      .array());
                          s.getInputStream().readNBytes(80);
                          byte[] answer =
                              ByteBuffer.allocate(40)
                                  .order(ByteOrder.LITTLE_ENDIAN)
                                  .putInt(Handshake.MAGIC)
                                  .putInt(1)
                                  .put(new byte[32])
                                  .array();
                          s.getOutputStream().write(answer);
                          s.getInputStream().read();
                        } catch (Exception ignored) {
                          // next attempt
                        }
                      }
                    });
            server.setDaemon(true);
            server.start();
            List<String> addrs = List.of(ep.address(), "127.0.0.1:" + fake.getLocalPort());
            CollectiveException e =
                assertThrows(
                    CollectiveException.class,
                    () -> ep.join(0, addrs, SECRET, Duration.ofMillis(4000)));
            assertTrue(e.getMessage().contains("the peer failed authentication"), e.getMessage());
            assertTrue(
                log.any(
                    "WARN",
                    "connection to rank 1 at " + addrs.get(1) + " refused",
                    "failed authentication"),
                String.join("\n", log.snapshot()));
          }
        });
  }
}

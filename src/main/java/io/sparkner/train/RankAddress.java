package io.sparkner.train;

import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The host a rank listens on and publishes to the others. In order: the explicit host (the
 * distribution's host setting); 127.0.0.1 on a local master (every rank is in this JVM); the
 * address Spark knows for the task's executor (the barrier task infos, {@code host:port} of the
 * executor's RPC endpoint, which the driver and the other executors already reach); only when that
 * is empty or unusable, the host's own lookup ({@code InetAddress.getLocalHost()}), with a warning,
 * because that lookup is 127.0.1.1 on Debian-family hosts and may be the wrong interface on a
 * multi-homed one: the other ranks would time out joining the ring.
 */
public final class RankAddress {
  private RankAddress() {}

  /**
   * @param explicitHost the configured host, or null
   * @param localMaster whether the master is {@code local...}
   * @param taskInfoAddress {@code BarrierTaskContext.getTaskInfos()[partition].address()}, or null
   * @param fallbackLookup the host's own address lookup, called only when nothing above applies
   * @param warn receives the warning when the fallback is used
   */
  public static String choose(
      String explicitHost,
      boolean localMaster,
      String taskInfoAddress,
      Supplier<String> fallbackLookup,
      Consumer<String> warn) {
    if (explicitHost != null && !explicitHost.isBlank()) {
      return explicitHost.trim();
    }
    if (localMaster) {
      return "127.0.0.1";
    }
    String host = hostOf(taskInfoAddress);
    if (host != null) {
      return host;
    }
    String fallback = fallbackLookup.get();
    warn.accept(
        "Spark gave this barrier task no usable executor address (task info address: "
            + (taskInfoAddress == null ? "none" : "\"" + taskInfoAddress + "\"")
            + "); publishing this host's own lookup "
            + fallback
            + " instead, which other hosts may not reach (127.0.1.1 on Debian-family hosts, or the"
            + " wrong interface on a multi-homed one); if the ring does not form, set the ring host"
            + " explicitly");
    return fallback;
  }

  /**
   * The host part of a task info address: {@code host:port}, {@code [v6]:port}, a bare IPv6 address
   * with a port appended ({@code fe80::1:40123}, as Spark 3.5 prints one) or a bare host; null when
   * there is no usable host (empty, a wildcard address). A loopback address is kept: Spark reached
   * the executor there, so every executor is on this host (a cluster of one machine).
   */
  static String hostOf(String address) {
    if (address == null) {
      return null;
    }
    String a = address.trim();
    String host;
    if (a.startsWith("[")) {
      int close = a.indexOf(']');
      host = close < 0 ? null : a.substring(1, close);
    } else {
      int first = a.indexOf(':');
      int last = a.lastIndexOf(':');
      if (first < 0) {
        host = a; // just a host
      } else if (isPort(a.substring(last + 1))) {
        host = a.substring(0, last); // host:port, or an IPv6 address with its port appended
      } else {
        host = first == last ? null : a; // a bare IPv6 address; "host:junk" is not usable
      }
    }
    if (host == null || host.isEmpty() || !usable(host)) {
      return null;
    }
    return host;
  }

  private static boolean isPort(String s) {
    if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(Character::isDigit)) {
      return false;
    }
    int p = Integer.parseInt(s);
    return p > 0 && p <= 65535;
  }

  /** Not a wildcard address, which names no host another rank could connect to. */
  private static boolean usable(String host) {
    return !(host.equals("0.0.0.0") || host.equals("::") || host.equals("0:0:0:0:0:0:0:0"));
  }
}

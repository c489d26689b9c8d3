package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Which address a rank publishes. The host's own lookup is stubbed with what {@code
 * InetAddress.getLocalHost()} returns on a Debian-family host (127.0.1.1), and counts its calls.
 */
class RankAddressTest {
  private final List<String> warnings = new ArrayList<>();
  private int lookups;
  private final Supplier<String> debianLookup =
      () -> {
        lookups++;
        return "127.0.1.1";
      };

  private String choose(String explicit, boolean local, String taskInfo) {
    return RankAddress.choose(explicit, local, taskInfo, debianLookup, warnings::add);
  }

  @Test
  void theExecutorAddressSparkKnowsWinsOverTheHostsOwnLookup() {
    assertEquals("10.0.3.17", choose(null, false, "10.0.3.17:39521"));
    assertEquals(
        "worker-2.cluster.internal", choose(null, false, "worker-2.cluster.internal:40111"));
    assertEquals("10.0.3.17", choose(null, false, "10.0.3.17")); // just a host
    // a cluster of one machine: Spark reached its executors on loopback, so the ranks can too
    assertEquals("127.0.0.1", choose(null, false, "127.0.0.1:41000"));
    assertEquals(
        0, lookups, "getLocalHost must not even be asked when Spark knows the executor's address");
    assertTrue(warnings.isEmpty(), warnings.toString());
  }

  @Test
  void ipv6AddressesWithPortsAreSplitRight() {
    assertEquals(
        "fe80::1ff:fe23:4567:890a", choose(null, false, "[fe80::1ff:fe23:4567:890a]:7077"));
    assertEquals("2001:db8::17", choose(null, false, "[2001:db8::17]:40123"));
    // Spark 3.5 appends the port to an IPv6 host without brackets
    assertEquals("2001:db8::17", choose(null, false, "2001:db8::17:40123"));
    assertEquals("fe80::1", choose(null, false, "fe80::1:7077"));
    assertEquals(0, lookups);
  }

  @Test
  void theExplicitHostComesFirstThenLoopbackOnALocalMaster() {
    assertEquals("192.168.7.2", choose("192.168.7.2", false, "10.0.3.17:39521"));
    assertEquals("192.168.7.2", choose("192.168.7.2", true, "10.0.3.17:39521"));
    assertEquals("127.0.0.1", choose(null, true, "10.0.3.17:39521"));
    assertEquals("127.0.0.1", choose(null, true, null));
    assertEquals(0, lookups);
    assertTrue(warnings.isEmpty(), warnings.toString());
  }

  @Test
  void anEmptyOrUnusableTaskInfoFallsBackToTheLookupWithAWarning() {
    for (String unusable :
        new String[] {null, "", "  ", "0.0.0.0:7077", "[::]:7077", ":7077", "[fe80::1"}) {
      warnings.clear();
      assertEquals("127.0.1.1", choose(null, false, unusable), "task info " + unusable);
      assertEquals(1, warnings.size(), "one warning for " + unusable);
      String w = warnings.get(0);
      assertTrue(w.contains("127.0.1.1") && w.contains("set the ring host explicitly"), w);
      assertTrue(w.contains(unusable == null ? "none" : "\"" + unusable + "\""), w);
    }
    assertEquals(7, lookups);
  }

  @Test
  void hostOfKeepsNothingThatIsNotAHost() {
    assertNull(RankAddress.hostOf("host:notaport"));
    assertNull(RankAddress.hostOf("0.0.0.0"));
    assertEquals("h", RankAddress.hostOf(" h:1 "));
  }
}

package io.sparkner.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Leases, eviction by version and per-key loading, with real threads. */
class VersionedCacheTest {
  /** A resource that knows whether it was closed, and how often. */
  static final class Handle implements AutoCloseable {
    final String name;
    final AtomicInteger closes = new AtomicInteger();

    Handle(String name) {
      this.name = name;
    }

    @Override
    public void close() {
      closes.incrementAndGet();
    }
  }

  private static VersionedCache.Key key(String path, String version) {
    return new VersionedCache.Key(path, version, "cpu");
  }

  @Test
  void aNewVersionEvictsTheOldOneWhichIsClosedOnceAfterItsLastLease() {
    VersionedCache<Handle> cache = new VersionedCache<>("test");
    VersionedCache.Lease<Handle> a1 = cache.acquire(key("/m", "1"), () -> new Handle("v1"));
    VersionedCache.Lease<Handle> a2 = cache.acquire(key("/m", "1"), () -> new Handle("v1 again"));
    assertSame(a1.get(), a2.get(), "one load per version");
    Handle v1 = a1.get();
    VersionedCache.Lease<Handle> other =
        cache.acquire(key("/other", "1"), () -> new Handle("other"));
    VersionedCache.Lease<Handle> b = cache.acquire(key("/m", "2"), () -> new Handle("v2"));
    assertEquals(
        List.of("other", "v2"), cache.values().stream().map(h -> h.name).sorted().toList());
    assertEquals(0, v1.closes.get(), "two leases still hold version 1");
    a1.close();
    a1.close(); // a lease closes once
    assertEquals(0, v1.closes.get());
    a2.close();
    assertEquals(1, v1.closes.get(), "closed when the last lease is");
    Handle v2 = b.get();
    b.close();
    other.close();
    assertEquals(0, v2.closes.get(), "the current version stays loaded, unleased");
  }

  @Test
  void aLeaseCannotBeUsedAfterItIsClosedAndUnleasedCurrentValuesStayCached() {
    VersionedCache<Handle> cache = new VersionedCache<>("test");
    VersionedCache.Lease<Handle> a = cache.acquire(key("/m", "1"), () -> new Handle("v1"));
    Handle v1 = a.get();
    a.close();
    assertThrows(IllegalStateException.class, a::get);
    assertEquals(0, v1.closes.get(), "the current version stays loaded for the next task");
    try (VersionedCache.Lease<Handle> again =
        cache.acquire(key("/m", "1"), () -> new Handle("reloaded"))) {
      assertSame(v1, again.get());
    }
    cache.closeAll();
    assertEquals(1, v1.closes.get());
    assertEquals(0, cache.size());
  }

  @Test
  void aFailedLoadIsNotCached() {
    VersionedCache<Handle> cache = new VersionedCache<>("test");
    assertThrows(
        IllegalArgumentException.class,
        () ->
            cache.acquire(
                key("/m", "1"),
                () -> {
                  throw new IllegalArgumentException("damaged");
                }));
    assertEquals(0, cache.size());
    try (VersionedCache.Lease<Handle> ok =
        cache.acquire(key("/m", "1"), () -> new Handle("fixed"))) {
      assertEquals("fixed", ok.get().name);
    }
  }

  @Test
  void loadingOneKeyBlocksNeitherOtherKeysNorLoadsTwice() throws Exception {
    VersionedCache<Handle> cache = new VersionedCache<>("test");
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger loads = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Handle>> slow = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        slow.add(
            pool.submit(
                () -> {
                  try (VersionedCache.Lease<Handle> l =
                      cache.acquire(
                          key("/slow", "1"),
                          () -> {
                            loads.incrementAndGet();
                            loading.countDown();
                            try {
                              assertTrue(release.await(30, TimeUnit.SECONDS));
                            } catch (InterruptedException e) {
                              throw new IllegalStateException(e);
                            }
                            return new Handle("slow");
                          })) {
                    return l.get();
                  }
                }));
      }
      assertTrue(loading.await(30, TimeUnit.SECONDS));
      // while /slow loads, another model loads and is used without waiting for it
      Future<Handle> fast =
          pool.submit(
              () -> {
                try (VersionedCache.Lease<Handle> l =
                    cache.acquire(key("/fast", "1"), () -> new Handle("fast"))) {
                  return l.get();
                }
              });
      assertEquals("fast", fast.get(10, TimeUnit.SECONDS).name);
      for (Future<Handle> f : slow) {
        assertFalse(f.isDone(), "the tasks asking for /slow wait for its one load");
      }
      release.countDown();
      Handle first = slow.get(0).get(30, TimeUnit.SECONDS);
      for (Future<Handle> f : slow) {
        assertSame(first, f.get(30, TimeUnit.SECONDS));
      }
      assertEquals(1, loads.get());
    } finally {
      release.countDown();
      pool.shutdownNow();
    }
  }
}

package io.sparkner.cache;

import io.sparkner.lang.Causes;
import io.sparkner.storage.Redaction;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Native resources loaded once per executor JVM and shared by its tasks (a model, a tokenizer),
 * keyed by path, version and variant (the device, for a model). For executors that live as long as
 * a notebook's cluster:
 *
 * <ul>
 *   <li>the version (sizes and modification times of the files) makes a file rewritten at the same
 *       path load anew, and loading a version <em>evicts</em> every other version of that path;
 *   <li>an evicted value is closed once no task holds a {@link Lease} on it any more (a task of an
 *       earlier job may still be scoring with it), never under a running task;
 *   <li>loading happens outside the map's lock, once per key: tasks asking for the key being loaded
 *       wait for it, tasks asking for other keys do not.
 * </ul>
 */
public final class VersionedCache<V extends AutoCloseable> {
  private static final Logger LOG = LoggerFactory.getLogger(VersionedCache.class);

  /** What is cached: the path, the version of its files, and a variant (device, dtype) or "". */
  public record Key(String path, String version, String variant) {}

  private final String what;
  private final ConcurrentHashMap<Key, Entry<V>> entries = new ConcurrentHashMap<>();

  /**
   * @param what what the values are, for log lines ("model", "tokenizer")
   */
  public VersionedCache(String what) {
    this.what = what;
  }

  /**
   * The value for {@code key}, loaded by {@code loader} if no task has it yet, leased until the
   * lease is closed. Retires every other version of the same path. A failed load is not cached: the
   * next call tries again.
   */
  public Lease<V> acquire(Key key, Supplier<V> loader) {
    while (true) {
      Entry<V> e = entries.computeIfAbsent(key, Entry::new);
      if (!e.lease()) {
        entries.remove(key, e); // retired between the lookup and the lease: look again
        continue;
      }
      retireOtherVersions(key);
      V value;
      try {
        value = e.await(loader);
      } catch (RuntimeException | Error failure) {
        entries.remove(key, e);
        e.release();
        throw failure;
      }
      return new Lease<>(e, value);
    }
  }

  private void retireOtherVersions(Key key) {
    for (Entry<V> other : entries.values()) {
      Key k = other.key;
      if (k.path().equals(key.path())
          && !k.version().equals(key.version())
          && entries.remove(k, other)) {
        LOG.info(
            "{} {} version {}: replaced by version {}; closed once no task uses it",
            what,
            Redaction.uri(k.path()),
            k.version(),
            key.version());
        other.retire();
      }
    }
  }

  /** How many values the cache holds (retired ones still leased by a task are not counted). */
  public int size() {
    return entries.size();
  }

  /** The values held now, loaded ones only (for tests: which handles are live). */
  public List<V> values() {
    List<V> out = new ArrayList<>();
    for (Entry<V> e : entries.values()) {
      V v = e.valueNow();
      if (v != null) {
        out.add(v);
      }
    }
    return out;
  }

  /** Retires everything: each value is closed now, or when its last lease is closed. */
  public void closeAll() {
    for (Entry<V> e : entries.values()) {
      if (entries.remove(e.key, e)) {
        e.retire();
      }
    }
  }

  /** A task's hold on a value: close it when the task is done with the value (idempotent). */
  public static final class Lease<V extends AutoCloseable> implements AutoCloseable {
    private final Entry<V> entry;
    private final V value;
    private final AtomicBoolean released = new AtomicBoolean();

    private Lease(Entry<V> entry, V value) {
      this.entry = entry;
      this.value = value;
    }

    public V get() {
      if (released.get()) {
        throw new IllegalStateException("the lease on " + entry.key.path() + " was closed");
      }
      return value;
    }

    @Override
    public void close() {
      if (released.compareAndSet(false, true)) {
        entry.release();
      }
    }
  }

  private static final class Entry<V extends AutoCloseable> {
    final Key key;
    private final CompletableFuture<V> value = new CompletableFuture<>();
    private final AtomicBoolean claimed = new AtomicBoolean();
    private int leases;
    private boolean retired;
    private boolean closed;

    Entry(Key key) {
      this.key = key;
    }

    synchronized boolean lease() {
      if (retired) {
        return false;
      }
      leases++;
      return true;
    }

    synchronized void release() {
      leases--;
      closeIfUnused();
    }

    synchronized void retire() {
      retired = true;
      closeIfUnused();
    }

    private void closeIfUnused() {
      if (retired && leases == 0 && !closed) {
        closed = true;
        V v = valueNow();
        if (v != null) {
          try {
            v.close();
          } catch (Exception e) {
            LOG.warn(
                "closing {} version {} failed: {}",
                Redaction.uri(key.path()),
                key.version(),
                e.toString());
          }
        }
      }
    }

    V valueNow() {
      return value.isDone() && !value.isCompletedExceptionally() ? value.join() : null;
    }

    /**
     * The value: loaded by the first caller (outside any lock but this key's), awaited by the
     * others.
     */
    V await(Supplier<V> loader) {
      if (claimed.compareAndSet(false, true)) {
        try {
          value.complete(loader.get());
        } catch (RuntimeException | Error e) {
          value.completeExceptionally(e);
        }
      }
      try {
        return value.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(
            "interrupted while waiting for " + Redaction.uri(key.path()) + " to load", e);
      } catch (ExecutionException e) {
        throw Causes.rethrow(e.getCause());
      }
    }
  }
}

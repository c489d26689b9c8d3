package io.sparkner.retrain;

import java.io.IOException;
import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiPredicate;
import java.util.function.Predicate;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

/**
 * Hadoop's local file system under the scheme {@code failfs:} (local files, {@code failfs:/tmp/x}
 * is {@code /tmp/x}), with failures injected for tests: once a rename onto a path matching {@link
 * #trigger} succeeded, every create, rename (of its source: "rename", of its target: "rename onto")
 * and delete of a path that {@link #failing} accepts with the operation's name throws, {@link
 * #failures} times (negative: always). Its rename refuses to overwrite a file, as HDFS's and the
 * object stores' do. Like any scheme without an {@code fs.AbstractFileSystem.*.impl}, it has no
 * {@code FileContext}, so code takes its FileSystem paths.
 */
public class FailingFs extends LocalFileSystem {
  public static final String SCHEME = "failfs";

  static volatile Predicate<Path> trigger = p -> false;
  static volatile BiPredicate<String, Path> failing = (op, p) -> false;
  static final AtomicInteger failures = new AtomicInteger();
  static volatile boolean armed;

  /**
   * A configuration that maps {@code failfs:} to this class (not cached: each test arms it anew).
   */
  static Configuration conf() {
    Configuration c = new Configuration();
    c.set("fs." + SCHEME + ".impl", FailingFs.class.getName());
    c.setBoolean("fs." + SCHEME + ".impl.disable.cache", true);
    return c;
  }

  /**
   * Fails {@code times} operations on {@code failing} paths once a rename onto a {@code trigger}
   * path succeeded.
   */
  static void arm(Predicate<Path> trigger, BiPredicate<String, Path> failing, int times) {
    FailingFs.armed = false;
    FailingFs.trigger = trigger;
    FailingFs.failing = failing;
    FailingFs.failures.set(times);
  }

  static void disarm() {
    arm(p -> false, (op, p) -> false, 0);
  }

  public FailingFs() {
    super(new Raw());
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  static final class Raw extends RawLocalFileSystem {
    @Override
    public URI getUri() {
      return URI.create(SCHEME + ":///");
    }

    @Override
    public String getScheme() {
      return SCHEME;
    }
  }

  private static void check(String op, Path p) throws IOException {
    if (armed && failing.test(op, p) && take()) {
      throw new IOException("injected failure: " + op + " " + p);
    }
  }

  /**
   * Whether one more failure is due: always while {@link #failures} is negative, else while it
   * counts down.
   */
  private static boolean take() {
    for (int n = failures.get(); ; n = failures.get()) {
      if (n <= 0) {
        return n < 0;
      }
      if (failures.compareAndSet(n, n - 1)) {
        return true;
      }
    }
  }

  @Override
  public FSDataOutputStream create(
      Path f,
      FsPermission permission,
      boolean overwrite,
      int bufferSize,
      short replication,
      long blockSize,
      Progressable progress)
      throws IOException {
    check("create", f);
    return super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress);
  }

  /**
   * As on HDFS and object stores (and unlike Hadoop's local file system), rename does not overwrite
   * a file.
   */
  @Override
  public boolean rename(Path src, Path dst) throws IOException {
    if (exists(dst) && getFileStatus(dst).isFile()) {
      return false;
    }
    check("rename", src);
    check("rename onto", dst);
    boolean done = super.rename(src, dst);
    if (done && trigger.test(dst)) {
      armed = true;
    }
    return done;
  }

  @Override
  public boolean delete(Path f, boolean recursive) throws IOException {
    check("delete", f);
    return super.delete(f, recursive);
  }
}

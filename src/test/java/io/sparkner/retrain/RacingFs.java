package io.sparkner.retrain;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

/**
 * Hadoop's {@code file:} file system that makes threads meet before they write: each thread's first
 * file creation waits at {@link #gate} until every party arrived. Two drivers that read the
 * registry and then write are thereby interleaved as read, read, write, write.
 */
public class RacingFs extends LocalFileSystem {
  static volatile CyclicBarrier gate;
  static final Set<Thread> passed = ConcurrentHashMap.newKeySet();

  /**
   * A configuration whose {@code file:} is this class (not cached, so that it is used whatever ran
   * before).
   */
  static Configuration conf() {
    Configuration c = new Configuration();
    c.set("fs.file.impl", RacingFs.class.getName());
    c.setBoolean("fs.file.impl.disable.cache", true);
    return c;
  }

  static void gate(int parties) {
    passed.clear();
    gate = new CyclicBarrier(parties);
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
    CyclicBarrier g = gate;
    if (g != null && passed.add(Thread.currentThread())) {
      try {
        g.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
        throw new IOException("the other writer did not arrive: " + e, e);
      }
    }
    return super.create(f, permission, overwrite, bufferSize, replication, blockSize, progress);
  }
}

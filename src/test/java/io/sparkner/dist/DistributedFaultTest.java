package io.sparkner.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.train.RankTraining;
import io.sparkner.train.TrainJob;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A task killed at step K: Spark relaunches the barrier stage, the ranks resume from the checkpoint and reach the uninterrupted weights.
 *
 * <p>One training scenario per test class, each in a JVM of its own (see pom.xml): trainings run
 * one after the other in one JVM have diverged (see {@link ReplicaEquivalenceTest}).
 */
class DistributedFaultTest {
  @TempDir static Path dir;

  @BeforeAll
  static void prepareAndInit() throws IOException {
    DistributedTrainingTest.dir = dir;
    DistributedTrainingTest.prepareAndInit();
  }

  @Test
  void aKilledTaskIsRelaunchedAndReachesTheUninterruptedWeights() throws IOException {
    float[] uninterrupted = DistributedTrainingTest.weights(DistributedTrainingTest.train("uninterrupted-n2", 2, 1, -1, List.of()));
    TrainJob.Result r = DistributedTrainingTest.train("killed-n2", 2, 1, 12, List.of());
    assertEquals(20, r.steps());
    double d = DistributedTrainingTest.maxDiff(uninterrupted, DistributedTrainingTest.weights(r));
    assertEquals(0.0, d, 1e-6, "after relaunch from step 10: " + d);
  }

}

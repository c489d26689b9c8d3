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
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * fp16: an injected overflow makes every rank skip the same steps and halve the scale.
 *
 * <p>One training scenario per test class, each in a JVM of its own (see pom.xml): trainings run
 * one after the other in one JVM have diverged (see {@link ReplicaEquivalenceTest}).
 */
// Excluded from mvn verify by default: intermittent divergence of the fp16 skip counts under investigation
// (see the issue note); run with  mvn verify -Dsparkner.excludedGroups=none
@Tag("nondeterministic")
class DistributedFp16Test {
  @TempDir static Path dir;

  @BeforeAll
  static void prepareAndInit() throws IOException {
    DistributedTrainingTest.dir = dir;
    DistributedTrainingTest.prepareAndInit();
  }

  @Test
  void anInjectedOverflowIsSkippedByEveryRankAndHalvesTheScale() {
    // two overflows: DeepSpeed's hysteresis 2 absorbs the first, the second halves the scale
    TrainJob.Result r = DistributedTrainingTest.train("fp16", 2, 2, -1, List.of(3L, 4L), "fp16=true", "max_steps=8");
    for (RankTraining.Outcome o : r.ranks()) {
      assertEquals(2, o.skippedSteps(), "rank " + o.rank());
      assertEquals(32768.0, o.lossScale(), "rank " + o.rank());
    }
  }

}

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
 * A checkpoint written by 3 replicas resumes with 2 (optimizer shards re-cut).
 *
 * <p>One training scenario per test class, each in a JVM of its own (see pom.xml): trainings run
 * one after the other in one JVM have diverged (see {@link ReplicaEquivalenceTest}).
 */
// Excluded from mvn verify by default: intermittent divergence of the weights after resuming with another N under investigation
// (see the issue note); run with  mvn verify -Dsparkner.excludedGroups=none
@Tag("nondeterministic")
class DistributedReshardTest {
  @TempDir static Path dir;

  @BeforeAll
  static void prepareAndInit() throws IOException {
    DistributedTrainingTest.dir = dir;
    DistributedTrainingTest.prepareAndInit();
  }

  @Test
  void aCheckpointWrittenByThreeReplicasResumesWithTwo() throws IOException {
    TrainJob.Result three = DistributedTrainingTest.train("written-by-3", 3, 2, -1, List.of());
    // a new run that finds only the 3-replica checkpoint of step 10 (three optimizer shards)
    Path from = Path.of(java.net.URI.create(three.output())).resolve("checkpoints/checkpoint-10");
    Path to = DistributedTrainingTest.dir.resolve("resumed-by-2/checkpoints/checkpoint-10");
    Files.createDirectories(to);
    try (var files = Files.list(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
    assertEquals(3, Files.list(to).filter(f -> f.getFileName().toString().startsWith("optimizer-rank")).count());
    TrainJob.Result two = DistributedTrainingTest.train("resumed-by-2", 2, 2, -1, List.of());
    assertEquals(20, two.steps());
    double d = DistributedTrainingTest.maxDiff(DistributedTrainingTest.weights(three), DistributedTrainingTest.weights(two));
    assertTrue(d <= 1e-5, "resumed with N=2 from N=3's step 10 differs by " + d);
  }

}

package io.sparkner.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import io.sparkner.TestSpark;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.junit.jupiter.api.Test;

class TaskComputeTest {
  /** 24 short tasks on the test session's 3 slots, so that several executor threads take them. */
  private static List<String> onExecutorThreads(FlatMapFunction<Iterator<Integer>, String> task) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(TestSpark.session().sparkContext());
    return jsc.parallelize(IntStream.range(0, 24).boxed().toList(), 24)
        .mapPartitions(task)
        .collect();
  }

  @Test
  void everyTaskThreadGetsSparkTaskCpusLibtorchThreads() {
    // libtorch keeps its intra-op thread count per thread: executor threads that ran libtorch
    // before (here: with 2 threads) keep that count until their own thread changes it
    onExecutorThreads(
        it -> {
          Engine.getInstance();
          JniUtils.setNumThreads(2);
          Thread.sleep(20);
          return List.of("").iterator();
        });
    List<String> seen =
        onExecutorThreads(
            it -> {
              TaskCompute.limitCpuThreads();
              Thread.sleep(20);
              return List.of(
                      "thread " + Thread.currentThread().getId() + "=" + JniUtils.getNumThreads())
                  .iterator();
            });
    Map<String, Integer> tasksByThreadAndCount = new TreeMap<>();
    seen.forEach(s -> tasksByThreadAndCount.merge(s, 1, Integer::sum));
    assertTrue(
        tasksByThreadAndCount.size() > 1,
        "the tasks ran on one thread only: " + tasksByThreadAndCount);
    // spark.task.cpus is 1 in the test session
    assertTrue(
        seen.size() == 24 && seen.stream().allMatch(s -> s.endsWith("=1")),
        "libtorch threads per task thread: " + tasksByThreadAndCount);
  }
}

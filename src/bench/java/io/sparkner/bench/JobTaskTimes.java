package io.sparkner.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Task time per Spark job description (what {@code setJobDescription} named the job): wall time of
 * the tasks, their CPU time and their GC time, summed over tasks. Tells a benchmark which of a
 * job's Spark jobs its time goes to. Register with {@code sparkContext().addSparkListener}; {@link
 * #take} returns what was collected since the last call (after the listener bus has drained).
 */
final class JobTaskTimes extends SparkListener {
  private final Map<Integer, String> stageJob = new ConcurrentHashMap<>();
  private final Map<String, double[]> byJob = new LinkedHashMap<>();

  @Override
  public void onStageSubmitted(SparkListenerStageSubmitted e) {
    String d = e.properties() == null ? null : e.properties().getProperty("spark.job.description");
    stageJob.put(e.stageInfo().stageId(), d == null ? "(no description)" : d);
  }

  @Override
  public synchronized void onTaskEnd(SparkListenerTaskEnd e) {
    TaskMetrics m = e.taskMetrics();
    if (m == null) {
      return;
    }
    double[] t = byJob.computeIfAbsent(stageJob.getOrDefault(e.stageId(), "?"), k -> new double[4]);
    t[0] += m.executorRunTime() / 1e3;
    t[1] += m.executorCpuTime() / 1e9;
    t[2] += m.jvmGCTime() / 1e3;
    t[3] += 1;
  }

  /** {description: {task_s, task_cpu_s, gc_s, tasks}} since the last call. */
  synchronized ObjectNode take() {
    ObjectNode out = BenchEnv.JSON.createObjectNode();
    for (Map.Entry<String, double[]> e : byJob.entrySet()) {
      double[] t = e.getValue();
      ObjectNode j = out.putObject(e.getKey());
      j.put("task_s", BenchEnv.round(t[0]));
      j.put("task_cpu_s", BenchEnv.round(t[1]));
      j.put("gc_s", BenchEnv.round(t[2]));
      j.put("tasks", (long) t[3]);
    }
    byJob.clear();
    return out;
  }
}

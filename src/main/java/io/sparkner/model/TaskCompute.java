package io.sparkner.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Map;
import org.apache.spark.SparkEnv;
import org.apache.spark.resource.ResourceInformation;

/**
 * What a Spark task may run libtorch on: the GPU Spark assigned it, and its CPU threads. Shared by
 * training replicas and scoring tasks.
 */
public final class TaskCompute {
  private TaskCompute() {}

  /** The GPU Spark assigned the task ({@code spark.task.resource.gpu.amount}), or null. */
  public static Device assignedGpu(Map<String, ResourceInformation> resources) {
    ResourceInformation gpu = resources == null ? null : resources.get("gpu");
    if (gpu == null || gpu.addresses().length == 0) {
      return null;
    }
    return Device.gpu(Integer.parseInt(gpu.addresses()[0].trim()));
  }

  /**
   * Gives libtorch {@code spark.task.cpus} intra-op threads on the calling task's thread. libtorch
   * keeps this setting per thread (OpenMP's thread count is per thread: a thread takes the last
   * value set in the process when it first uses libtorch, then keeps its own), and an executor runs
   * its tasks on many threads, so every task sets it; otherwise each of an executor's concurrent
   * tasks could use every core. Does nothing outside a Spark task.
   */
  public static void limitCpuThreads() {
    SparkEnv env = SparkEnv.get();
    if (env == null) {
      return;
    }
    int cpus = Math.max(1, env.conf().getInt("spark.task.cpus", 1));
    Engine.getInstance(); // loads the native library before configuring it
    if (JniUtils.getNumThreads() != cpus) {
      JniUtils.setNumThreads(cpus);
    }
  }
}

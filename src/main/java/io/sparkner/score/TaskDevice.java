package io.sparkner.score;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Map;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/** The device and precision a scoring task runs on, and the CPU threads libtorch may use. */
final class TaskDevice {
  private TaskDevice() {}

  /**
   * @param setting {@code auto}: the GPU Spark assigned this task ({@code
   *     spark.task.resource.gpu.amount}), else the CPU; {@code cpu}; {@code gpu}: the assigned GPU,
   *     else the first GPU libtorch sees, else an error
   */
  static Device resolve(String setting) {
    TaskContext ctx = TaskContext.get();
    Device assigned = ctx == null ? null : assignedGpu(ctx.resourcesJMap());
    switch (setting) {
      case "cpu":
        return Device.cpu();
      case "gpu":
        if (assigned != null) {
          return assigned;
        }
        if (Engine.getInstance().getGpuCount() > 0) {
          return Device.gpu(0);
        }
        throw new IllegalStateException(
            "NerTagger device=gpu, but this task has no GPU: Spark assigned none (spark.task.resource.gpu.amount)"
                + " and libtorch sees none (the bundled PyTorch is the CPU build)");
      default:
        return assigned != null ? assigned : Device.cpu();
    }
  }

  private static Device assignedGpu(Map<String, ResourceInformation> resources) {
    ResourceInformation gpu = resources == null ? null : resources.get("gpu");
    if (gpu == null || gpu.addresses().length == 0) {
      return null;
    }
    return Device.gpu(Integer.parseInt(gpu.addresses()[0].trim()));
  }

  /** fp16 where the device computes it natively (GPU); fp32 on CPU, where fp16 matmuls are slow or missing. */
  static DataType dtype(Device device) {
    return device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
  }

  /**
   * Gives libtorch {@code spark.task.cpus} intra-op threads on the calling task's thread. libtorch
   * keeps this setting per thread (OpenMP's thread count is per thread: a thread that never set it
   * uses one thread per core), and an executor runs its tasks on many threads, so every task sets
   * it; otherwise each of an executor's concurrent tasks would use every core.
   */
  static void limitCpuThreads() {
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

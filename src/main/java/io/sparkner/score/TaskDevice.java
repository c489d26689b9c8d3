package io.sparkner.score;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import io.sparkner.model.TaskCompute;
import org.apache.spark.TaskContext;

/** The device and precision a scoring task runs on ({@link TaskCompute} for the threads). */
final class TaskDevice {
  private TaskDevice() {}

  /**
   * @param setting {@code auto}: the GPU Spark assigned this task ({@code
   *     spark.task.resource.gpu.amount}), else the CPU; {@code cpu}; {@code gpu}: the assigned GPU,
   *     else the first GPU libtorch sees, else an error
   */
  static Device resolve(String setting) {
    TaskContext ctx = TaskContext.get();
    Device assigned = ctx == null ? null : TaskCompute.assignedGpu(ctx.resourcesJMap());
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


  /** fp16 where the device computes it natively (GPU); fp32 on CPU, where fp16 matmuls are slow or missing. */
  static DataType dtype(Device device) {
    return device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
  }


}

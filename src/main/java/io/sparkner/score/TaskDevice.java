package io.sparkner.score;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.sparkner.model.TaskCompute;

/** The device and precision a scoring task runs on ({@link TaskCompute} for the threads). */
final class TaskDevice {
  private TaskDevice() {}

  /**
   * @param setting {@code auto}: the GPU Spark assigned this task ({@code
   *     spark.task.resource.gpu.amount}), else the CPU; {@code cpu}, also with a GPU assigned;
   *     {@code gpu}: the assigned GPU, else the first GPU libtorch sees, else an error. A GPU
   *     assigned to a JVM whose libtorch is the CPU build is an error ({@link TaskCompute#choose}).
   */
  static Device resolve(String setting) {
    return TaskCompute.forTask(setting, "--device");
  }

  /** fp16 where the device computes it natively (GPU); fp32 on CPU, where fp16 matmuls are slow or missing. */
  static DataType dtype(Device device) {
    return device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
  }


}

package io.sparkner.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The device decision of {@link TaskCompute#choose}, for libtorch builds this machine does not
 * have.
 */
class DeviceChoiceTest {
  static final TaskCompute.Libtorch CPU_BUILD =
      new TaskCompute.Libtorch(
          "2.7.1", "cpu", "/opt/libtorch-cpu", false, 0, Set.of("MKL", "OPENMP"));
  static final TaskCompute.Libtorch CUDA_BUILD =
      new TaskCompute.Libtorch(
          "2.7.1", "cu128", "/opt/libtorch-cu128", true, 2, Set.of("CUDA", "CUDNN"));
  static final String TASK = "stage 3 (attempt 0), partition 1, task attempt 0 (TID 7)";

  @Test
  void anAssignedGpuIsUsedWithCudaAndRefusedWithTheCpuBuild() {
    assertEquals(
        Device.gpu(1),
        TaskCompute.choose("auto", "--device", List.of("1"), true, CUDA_BUILD, TASK));
    assertEquals(
        Device.gpu(1), TaskCompute.choose("gpu", "--device", List.of("1"), true, CUDA_BUILD, TASK));
    for (String setting : List.of("auto", "gpu")) {
      DeviceUnavailable e =
          assertThrows(
              DeviceUnavailable.class,
              () -> TaskCompute.choose(setting, "--device", List.of("1"), true, CPU_BUILD, TASK));
      assertTrue(e.getMessage().startsWith(TASK + ": Spark assigned GPU 1 "), e.getMessage());
      assertTrue(
          e.getMessage().contains("flavour cpu") && e.getMessage().contains("/opt/libtorch-cpu"),
          e.getMessage());
      assertTrue(
          e.getMessage().contains("PYTORCH_LIBRARY_PATH")
              && e.getMessage().contains("--device cpu"),
          e.getMessage());
    }
    assertEquals(
        Device.cpu(), TaskCompute.choose("cpu", "--device", List.of("1"), true, CPU_BUILD, TASK));
  }

  @Test
  void noAssignmentIsTheCpuInATaskAndGpuAsksForOne() {
    assertEquals(
        Device.cpu(), TaskCompute.choose("auto", "--device", List.of(), true, CUDA_BUILD, TASK));
    assertEquals(
        Device.gpu(0),
        TaskCompute.choose("auto", "--device", List.of(), false, CUDA_BUILD, "the driver"));
    assertEquals(
        Device.cpu(),
        TaskCompute.choose("auto", "--device", List.of(), false, CPU_BUILD, "the driver"));
    assertEquals(
        Device.gpu(0), TaskCompute.choose("gpu", "--device", List.of(), true, CUDA_BUILD, TASK));
    DeviceUnavailable e =
        assertThrows(
            DeviceUnavailable.class,
            () -> TaskCompute.choose("gpu", "--device", List.of(), true, CPU_BUILD, TASK));
    assertTrue(e.getMessage().contains("--device=gpu, but there is no GPU"), e.getMessage());
  }

  @Test
  void anAddressThatIsNoCudaIndexOrBeyondTheGpusIsAnError() {
    DeviceUnavailable uuid =
        assertThrows(
            DeviceUnavailable.class,
            () ->
                TaskCompute.choose(
                    "auto", "--device", List.of("GPU-5f1c"), true, CUDA_BUILD, TASK));
    assertTrue(
        uuid.getMessage().contains("\"GPU-5f1c\"")
            && uuid.getMessage().contains("not a CUDA device index"),
        uuid.getMessage());
    DeviceUnavailable beyond =
        assertThrows(
            DeviceUnavailable.class,
            () -> TaskCompute.choose("auto", "--device", List.of("5"), true, CUDA_BUILD, TASK));
    assertTrue(beyond.getMessage().contains("GPU 5 but libtorch sees 2"), beyond.getMessage());
  }

  @Test
  void theTasksErrorIsFoundInTheTextOfAnAbortedBarrierStage() {
    // Spark aborts a barrier stage with the tasks' failure as text only, no cause
    RuntimeException aborted =
        new RuntimeException(
            "Job aborted due to stage failure: ShuffleMapStage 31 has failed the maximum allowable"
                + " number of times: 4.\n"
                + DeviceUnavailable.class.getName()
                + ": "
                + TASK
                + ": Spark assigned GPU 0 (...)\n\tat x.y(Z.java:1)");
    DeviceUnavailable d = DeviceUnavailable.in(new IllegalStateException("wrapped", aborted));
    assertEquals(TASK + ": Spark assigned GPU 0 (...)", d.getMessage());
    assertEquals(null, DeviceUnavailable.in(new RuntimeException("something else")));
  }
}

package io.sparkner.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.pytorch.jni.LibUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * What a Spark task may run libtorch on: the GPU Spark assigned it, and its CPU threads. Shared by
 * training replicas and scoring tasks.
 */
public final class TaskCompute {
  private TaskCompute() {}

  /** The values of the {@code --device} setting. */
  public static final List<String> DEVICE_SETTINGS = List.of("auto", "cpu", "gpu");

  /**
   * The option that sets the device, as messages name it (the {@code NerTagger}'s device param
   * included).
   */
  public static final String DEVICE_OPTION = "--device";

  /**
   * The device the caller computes on, for every caller that runs a model (a training replica on
   * the driver or in a barrier task, a scoring task): {@link #forTask} chooses it from the {@code
   * --device} setting and the GPU Spark assigned; in a Spark task on the CPU, libtorch's threads on
   * this thread are limited to {@code spark.task.cpus} ({@link #limitCpuThreads}). The driver keeps
   * its threads.
   *
   * @throws DeviceUnavailable when a GPU is assigned or asked for and libtorch cannot drive one
   */
  public static Device use(String setting) {
    Device device = forTask(setting);
    if (!device.isGpu() && TaskContext.get() != null) {
      limitCpuThreads();
    }
    return device;
  }

  /**
   * The GPU addresses Spark assigned the task ({@code spark.task.resource.gpu.amount}); empty if
   * none.
   */
  public static List<String> assignedGpus(Map<String, ResourceInformation> resources) {
    ResourceInformation gpu = resources == null ? null : resources.get("gpu");
    if (gpu == null) {
      return List.of();
    }
    return Arrays.stream(gpu.addresses()).map(String::trim).toList();
  }

  /**
   * The libtorch this JVM loaded.
   *
   * @param flavour what it was built for ({@code cpu}, {@code cu128}, ...), from {@code
   *     PYTORCH_FLAVOR} if set, else the name of its directory
   * @param cuda whether libtorch can drive a GPU here (it lists CUDA among its features)
   * @param gpus the GPUs libtorch sees (0 without CUDA)
   */
  public record Libtorch(
      String version, String flavour, String path, boolean cuda, int gpus, Set<String> features) {
    /** Loads libtorch if needed and describes it. */
    public static Libtorch loaded() {
      Engine engine = Engine.getEngine("PyTorch");
      Set<String> features = new TreeSet<>(JniUtils.getFeatures());
      boolean cuda = features.contains("CUDA");
      String path = LibUtils.getLibtorchPath();
      String flavour = ai.djl.util.Utils.getEnvOrSystemProperty("PYTORCH_FLAVOR");
      if (flavour == null || flavour.isBlank()) {
        flavour = flavourOf(path);
      }
      return new Libtorch(
          engine.getVersion(), flavour, path, cuda, cuda ? engine.getGpuCount() : 0, features);
    }

    /**
     * The flavour in a DJL cache directory name (2.7.1-20250812-cpu-linux-x86_64), else what its
     * files say.
     */
    static String flavourOf(String path) {
      if (path == null) {
        return "unknown";
      }
      for (String part : Path.of(path).getFileName().toString().split("-")) {
        if (part.equals("cpu") || part.matches("cu\\d+")) {
          return part;
        }
      }
      return Files.exists(Path.of(path, "libtorch_cuda.so"))
          ? "cuda (libtorch_cuda.so present)"
          : "cpu (no libtorch_cuda.so)";
    }

    public String describe() {
      return "PyTorch "
          + version
          + ", flavour "
          + flavour
          + ", from "
          + path
          + "; features "
          + features
          + (cuda ? ", " + gpus + " GPU(s) visible" : ", no CUDA");
    }
  }

  /**
   * The current Spark task as "stage S (attempt A), partition P, task attempt T (TID n)", or "the
   * driver".
   */
  public static String describeTask(TaskContext ctx) {
    if (ctx == null) {
      return "the driver";
    }
    return "stage "
        + ctx.stageId()
        + " (attempt "
        + ctx.stageAttemptNumber()
        + "), partition "
        + ctx.partitionId()
        + ", task attempt "
        + ctx.attemptNumber()
        + " (TID "
        + ctx.taskAttemptId()
        + ")";
  }

  /**
   * The device for the calling Spark task (or the driver), from the {@code --device} setting and
   * the GPU Spark assigned the task.
   *
   * @throws DeviceUnavailable when a GPU is assigned or asked for and libtorch cannot drive one
   */
  private static Device forTask(String setting) {
    TaskContext ctx = TaskContext.get();
    List<String> assigned = ctx == null ? List.of() : assignedGpus(ctx.resourcesJMap());
    if ("cpu".equals(setting)) {
      if (!assigned.isEmpty()) {
        org.slf4j.LoggerFactory.getLogger(TaskCompute.class)
            .info(
                "{}: Spark assigned GPU {} but {} cpu: running on the CPU on purpose",
                describeTask(ctx),
                assigned,
                DEVICE_OPTION);
      }
      return Device.cpu(); // libtorch need not even be asked
    }
    return choose(
        setting, DEVICE_OPTION, assigned, ctx != null, Libtorch.loaded(), describeTask(ctx));
  }

  /**
   * The device decision, without Spark or libtorch: {@code cpu} is the CPU; {@code auto} is the GPU
   * Spark assigned, else (in a task) the CPU, else (on the driver) the first GPU libtorch sees;
   * {@code gpu} is the assigned GPU, else the first GPU libtorch sees, else an error. A GPU that
   * libtorch cannot drive (a CPU build) is always an error, never a silent fallback to the CPU.
   *
   * @param inTask whether this runs in a Spark task (where a GPU is one Spark assigned)
   * @param task the task, for messages
   */
  public static Device choose(
      String setting,
      String option,
      List<String> assigned,
      boolean inTask,
      Libtorch libtorch,
      String task) {
    if (!DEVICE_SETTINGS.contains(setting)) {
      throw new IllegalArgumentException(
          option + " must be one of " + DEVICE_SETTINGS + ", got \"" + setting + "\"");
    }
    if (setting.equals("cpu")) {
      return Device.cpu();
    }
    if (!assigned.isEmpty()) {
      if (!libtorch.cuda()) {
        throw new DeviceUnavailable(
            task
                + ": Spark assigned GPU "
                + String.join(",", assigned)
                + " (spark.task.resource.gpu.amount), but the libtorch this"
                + " executor loaded cannot use a GPU ("
                + libtorch.describe()
                + "). Make the executors load a CUDA libtorch"
                + " (PYTORCH_LIBRARY_PATH=<libtorch dir>, PYTORCH_VERSION="
                + libtorch.version()
                + ", PYTORCH_FLAVOR=cu128 or the cluster's CUDA flavour, with the jar built without"
                + " bundled CPU natives), or pass "
                + option
                + " cpu to run on the CPU on purpose (or give the tasks no GPU).");
      }
      String first = assigned.get(0);
      if (!first.matches("\\d{1,4}")) {
        throw new DeviceUnavailable(
            task
                + ": Spark assigned GPU address \""
                + first
                + "\", which is not a CUDA device index;"
                + " make the GPU discovery script print indices (0, 1, ...)");
      }
      int index = Integer.parseInt(first);
      if (index >= libtorch.gpus()) {
        throw new DeviceUnavailable(
            task
                + ": Spark assigned GPU "
                + first
                + " but libtorch sees "
                + libtorch.gpus()
                + " GPU(s) ("
                + libtorch.describe()
                + "); check the GPU discovery script and CUDA_VISIBLE_DEVICES");
      }
      return Device.gpu(index);
    }
    if (setting.equals("gpu") || !inTask) {
      if (libtorch.cuda() && libtorch.gpus() > 0) {
        return Device.gpu(0);
      }
      if (setting.equals("gpu")) {
        throw new DeviceUnavailable(
            task
                + ": "
                + option
                + "=gpu, but there is no GPU: Spark assigned none (spark.task.resource.gpu.amount)"
                + " and libtorch sees none ("
                + libtorch.describe()
                + "). Load a CUDA libtorch (PYTORCH_LIBRARY_PATH, PYTORCH_VERSION,"
                + " PYTORCH_FLAVOR) on a GPU node, or use "
                + option
                + " auto or cpu.");
      }
    }
    return Device.cpu();
  }

  /**
   * Gives libtorch {@code spark.task.cpus} intra-op threads on the calling task's thread. libtorch
   * keeps this setting per thread (OpenMP's thread count is per thread: a thread takes the last
   * value set in the process when it first uses libtorch, then keeps its own), and an executor runs
   * its tasks on many threads, so every task sets it; otherwise each of an executor's concurrent
   * tasks could use every core. Does nothing outside a Spark task.
   */
  /**
   * How many CPU threads the calling thread may use: libtorch's intra-op thread count on it ({@code
   * spark.task.cpus} in a Spark task once {@link #limitCpuThreads} ran, libtorch's default on the
   * driver). Java-side loops that split their work (AdamW, dropout masks) take no more threads than
   * this, so a task never uses more cores than Spark gave it.
   */
  public static int cpuThreads() {
    Engine.getInstance(); // loads the native library before asking it
    return Math.max(1, JniUtils.getNumThreads());
  }

  /** The work of one range {@code [from, to)} of a loop split by {@link #forRanges}. */
  @FunctionalInterface
  public interface RangeBody {
    void run(int from, int to);
  }

  /**
   * Splits {@code [0, n)} into at most {@code ranges} contiguous ranges of about equal length and
   * runs {@code body} on each: at once on the common pool, or on the calling thread when there is
   * one range. For work whose every index is independent of the others (AdamW's elements, the rows
   * of a dropout mask): the result is that of the loop in order. Callers pass at most {@link
   * #cpuThreads} ranges, so a task uses no more cores than Spark gave it.
   */
  public static void forRanges(int n, int ranges, RangeBody body) {
    int k = Math.min(n, Math.max(1, ranges));
    if (k <= 1) {
      body.run(0, n);
      return;
    }
    java.util.stream.IntStream.range(0, k)
        .parallel()
        .forEach(r -> body.run((int) ((long) n * r / k), (int) ((long) n * (r + 1) / k)));
  }

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

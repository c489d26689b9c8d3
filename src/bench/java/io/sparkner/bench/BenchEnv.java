package io.sparkner.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What every benchmark records next to its figures (commit, machine, JVM, date), and the small
 * statistics it reports (median and spread of repeated timings). Benchmarks are plain {@code main}
 * programs run by {@code bench/run}; they are not tests.
 */
public final class BenchEnv {
  public static final ObjectMapper JSON = new ObjectMapper();

  private BenchEnv() {}

  /** The repository root: {@code -Dsparkner.home}, else the working directory. */
  public static Path root() {
    return Path.of(System.getProperty("sparkner.home", ".")).toAbsolutePath().normalize();
  }

  /** commit, dirty flag, machine, cores, CPU model, memory, JVM, date. */
  public static ObjectNode describe() {
    ObjectNode env = JSON.createObjectNode();
    env.put("commit", run("git", "rev-parse", "--short", "HEAD"));
    env.put(
        "worktree_dirty", !run("git", "status", "--porcelain", "--untracked-files=no").isEmpty());
    env.put("arch", run("uname", "-m"));
    env.put("nproc", run("nproc"));
    env.put("cpu_model", cpuModel());
    env.put("mem_total", memTotal());
    env.put(
        "jvm",
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    env.put("jvm_max_heap_mib", Runtime.getRuntime().maxMemory() >> 20);
    env.put("available_processors", Runtime.getRuntime().availableProcessors());
    env.put(
        "date", OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    return env;
  }

  /** "x86_64, 2 cores, AMD EPYC" — the machine column of BENCHMARKS.md. */
  public static String machine(ObjectNode env) {
    return env.path("arch").asText()
        + ", "
        + env.path("nproc").asText()
        + " cores, "
        + env.path("cpu_model").asText()
        + ", "
        + env.path("mem_total").asText();
  }

  /** median, min, max, spread (max-min)/median of some timings or rates. */
  public static ObjectNode stats(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    ObjectNode s = JSON.createObjectNode();
    double med = median(v);
    s.put("median", round(med));
    s.put("min", round(v[0]));
    s.put("max", round(v[v.length - 1]));
    s.put("spread_pct", round(100 * (v[v.length - 1] - v[0]) / med));
    ArrayNode all = s.putArray("all");
    values.forEach(x -> all.add(round(x)));
    return s;
  }

  public static double median(List<Double> values) {
    return median(values.stream().mapToDouble(Double::doubleValue).sorted().toArray());
  }

  private static double median(double[] sorted) {
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  public static double round(double x) {
    return Math.round(x * 1000) / 1000.0;
  }

  public static void writeJson(Path file, ObjectNode root) {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(
          file,
          JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n",
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * CPU accounting around a timed run: this JVM's CPU time, and the whole machine's busy and stolen
   * time from {@code /proc/stat}, so a result says whether the cores were really ours (the machines
   * are shared: another process on one of the two cores halves what Spark can do).
   */
  public record Cpu(long nanos, long processCpuNanos, long machineBusyTicks, long stealTicks) {
    static final double TICK = 0.01; // USER_HZ = 100 on Linux

    public static Cpu now() {
      long busy = -1;
      long steal = -1;
      try {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        // cpu user nice system idle iowait irq softirq steal ...
        busy =
            Long.parseLong(f[1])
                + Long.parseLong(f[2])
                + Long.parseLong(f[3])
                + Long.parseLong(f[6])
                + Long.parseLong(f[7]);
        steal = f.length > 8 ? Long.parseLong(f[8]) : 0;
      } catch (IOException | RuntimeException ignored) {
        // not Linux: machine figures stay unknown
      }
      long cpu = -1;
      if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
          instanceof com.sun.management.OperatingSystemMXBean os) {
        cpu = os.getProcessCpuTime();
      }
      return new Cpu(System.nanoTime(), cpu, busy, steal);
    }

    public double secondsSince(Cpu start) {
      return (nanos - start.nanos) / 1e9;
    }

    /** seconds, this JVM's CPU seconds and cores used, other processes' CPU seconds, steal. */
    public ObjectNode since(Cpu start) {
      ObjectNode n = JSON.createObjectNode();
      double wall = secondsSince(start);
      double ours = (processCpuNanos - start.processCpuNanos) / 1e9;
      n.put("seconds", round(wall));
      n.put("jvm_cpu_s", round(ours));
      n.put("jvm_cores_used", round(ours / wall));
      if (machineBusyTicks >= 0 && start.machineBusyTicks >= 0) {
        double busy = (machineBusyTicks - start.machineBusyTicks) * TICK;
        n.put("other_processes_cpu_s", round(Math.max(0, busy - ours)));
        n.put("steal_s", round((stealTicks - start.stealTicks) * TICK));
      }
      return n;
    }
  }

  /** The result of {@link #measure}: what the work returned and its run record. */
  public record Measured<T>(T value, double seconds, ObjectNode run) {}

  /**
   * Runs {@code work} and records it: wall seconds, this JVM's and the other processes' CPU ({@link
   * Cpu#since}), and the CPU of this JVM's threads by group ({@code threads_cpu_s}).
   */
  public static <T> Measured<T> measure(java.util.function.Supplier<T> work) {
    ThreadCpu t0 = ThreadCpu.now();
    Cpu c0 = Cpu.now();
    T value = work.get();
    Cpu c1 = Cpu.now();
    ThreadCpu t1 = ThreadCpu.now();
    ObjectNode run = c1.since(c0);
    run.set("threads_cpu_s", t1.since(t0));
    return new Measured<>(value, c1.secondsSince(c0), run);
  }

  /**
   * CPU ticks of every thread of this process, native ones included (JIT compilers, GC workers),
   * from {@code /proc/self/task/TID/stat}; empty where there is no procfs. Threads that end between
   * two snapshots take their ticks with them.
   */
  public record ThreadCpu(Map<Long, String> names, Map<Long, Long> ticks) {
    public static ThreadCpu now() {
      Map<Long, String> names = new java.util.HashMap<>();
      Map<Long, Long> ticks = new java.util.HashMap<>();
      try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
        for (Path t : tasks.toList()) {
          try {
            String stat = Files.readString(t.resolve("stat"));
            // pid (comm) state ppid ... utime(14) stime(15); comm may hold spaces and parentheses
            int open = stat.indexOf('(');
            int close = stat.lastIndexOf(')');
            String[] f = stat.substring(close + 2).split(" ");
            long tid = Long.parseLong(t.getFileName().toString());
            names.put(tid, stat.substring(open + 1, close));
            ticks.put(tid, Long.parseLong(f[11]) + Long.parseLong(f[12]));
          } catch (IOException | RuntimeException gone) {
            // the thread ended while we listed
          }
        }
      } catch (IOException | RuntimeException noProcfs) {
        // not Linux
      }
      return new ThreadCpu(names, ticks);
    }

    /**
     * CPU seconds per thread group since {@code start}, largest first; a group is the thread name
     * with its numbers taken out ("Executor task launch worker for task 12.0 in stage 3.0 (TID 40)"
     * and "C2 CompilerThread1" each become one group).
     */
    public ObjectNode since(ThreadCpu start) {
      Map<String, Long> byGroup = new java.util.HashMap<>();
      ticks.forEach(
          (tid, t) -> {
            long delta = t - start.ticks.getOrDefault(tid, 0L);
            if (delta > 0) {
              byGroup.merge(names.get(tid).replaceAll("[0-9]+", "#"), delta, Long::sum);
            }
          });
      ObjectNode n = JSON.createObjectNode();
      byGroup.entrySet().stream()
          .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
          .forEach(e -> n.put(e.getKey(), round(e.getValue() * Cpu.TICK)));
      return n;
    }
  }

  /**
   * Records the commit of another checkout ({@code --git-dir}) in {@code env}: the benchmark may
   * run from a copy without {@code .git}. Nothing changes when {@code gitDir} is null.
   */
  public static void commitOf(ObjectNode env, String gitDir) {
    if (gitDir == null) {
      return;
    }
    env.put("commit", run("git", "-C", gitDir, "rev-parse", "--short", "HEAD"));
    env.put(
        "worktree_dirty",
        !run("git", "-C", gitDir, "status", "--porcelain", "--untracked-files=no").isEmpty());
    env.put("commit_of", gitDir);
  }

  private static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException | UncheckedIOException ignored) {
      // not Linux
    }
    return System.getProperty("os.arch");
  }

  private static String memTotal() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
          return Math.round(kib / 1024.0 / 1024.0) + " GiB";
        }
      }
    } catch (IOException | UncheckedIOException | NumberFormatException ignored) {
      // not Linux
    }
    return "?";
  }

  private static String run(String... cmd) {
    try {
      Process p =
          new ProcessBuilder(cmd).directory(root().toFile()).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      p.waitFor(10, TimeUnit.SECONDS);
      return p.exitValue() == 0 ? out : "?";
    } catch (IOException | InterruptedException | IllegalThreadStateException e) {
      return "? (" + Arrays.toString(cmd) + ": " + e.getMessage() + ")";
    }
  }
}

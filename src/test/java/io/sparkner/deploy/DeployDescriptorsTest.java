package io.sparkner.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkner.cli.Main;
import io.sparkner.retrain.RetrainConfig;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;

/**
 * The deployment descriptors at schema level, since no Databricks workspace or HDInsight cluster is
 * reachable from here: they parse, carry the fields their services require, name the jar the build
 * makes and a main class that exists, and every command line they hold is one sparkner's own parser
 * accepts (subcommand, options, types); the barrier and GPU settings are there; every configuration
 * file they reference exists in the repository and reads as what it claims to be.
 */
class DeployDescriptorsTest {
  static final Path ROOT = Path.of("").toAbsolutePath();
  static final ObjectMapper JSON = new ObjectMapper();
  static final String MAIN = "io.sparkner.cli.Main";

  /**
   * Subcommands written in parallel on other branches (score/): allowed to be missing here, checked
   * like every other once they exist.
   */
  static final Set<String> PENDING_SUBCOMMANDS = Set.of();

  static String version() throws IOException {
    String pom = Files.readString(ROOT.resolve("pom.xml"));
    Matcher m =
        Pattern.compile("<artifactId>sparkner</artifactId>\\s*<version>([^<]+)</version>")
            .matcher(pom);
    assertTrue(m.find(), "pom.xml: no sparkner version");
    return m.group(1);
  }

  static String jarName() throws IOException {
    return "sparkner-" + version() + ".jar";
  }

  /** The jar without bundled CPU libtorch, for clusters that supply a CUDA libtorch. */
  static String gpuJarName() throws IOException {
    return "sparkner-" + version() + "-gpu.jar";
  }

  /** Parses a sparkner command line as the jar's Main would, without running it. */
  static void checkCommandLine(List<String> args, String where) {
    assertFalse(args.isEmpty(), where + ": no arguments");
    CommandLine cl = Main.commandLine();
    String sub = args.get(0);
    if (!cl.getSubcommands().containsKey(sub)) {
      assertTrue(
          PENDING_SUBCOMMANDS.contains(sub),
          where
              + ": sparkner has no subcommand "
              + sub
              + " (has "
              + cl.getSubcommands().keySet()
              + ")");
      return;
    }
    try {
      cl.parseArgs(args.toArray(String[]::new));
    } catch (CommandLine.ParameterException e) {
      fail(where + ": sparkner rejects " + args + ": " + e.getMessage());
    }
  }

  static void checkMainClass(String className, String where) {
    assertEquals(MAIN, className, where);
    try {
      Method main = Class.forName(className).getMethod("main", String[].class);
      assertTrue(Modifier.isStatic(main.getModifiers()), where + ": main is not static");
    } catch (ReflectiveOperationException e) {
      fail(where + ": " + className + " has no main(String[]): " + e);
    }
  }

  /**
   * A repository file named by a deployed path ({@code .../conf/x.json}, {@code
   * .../deploy/databricks/y.json}).
   */
  static Path repoFile(String deployedPath) {
    Matcher m =
        Pattern.compile("((?:deploy/(?:databricks|hdinsight)/)?[\\w.-]+\\.(?:json|ya?ml))$")
            .matcher(deployedPath);
    assertTrue(m.find(), deployedPath);
    String name = m.group(1);
    for (String dir : List.of("", "conf/", "deploy/databricks/", "deploy/hdinsight/")) {
      Path p = ROOT.resolve(dir + name);
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    fail(deployedPath + " names " + name + ", which is not in the repository (conf/, deploy/)");
    return null;
  }

  static RetrainConfig retrainConfig(Path file) throws IOException {
    return RetrainConfig.parse(Files.readString(file), file.toString());
  }

  // ------------------------------------------------------------------ Databricks

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o, String where) {
    assertTrue(o instanceof Map, where + " must be a mapping, is " + o);
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object o, String where) {
    assertTrue(o instanceof List, where + " must be a list, is " + o);
    return (List<Object>) o;
  }

  @Test
  void databricksBundle() throws IOException {
    Path file = ROOT.resolve("deploy/databricks/databricks.yml");
    String text = Files.readString(file);
    Map<String, Object> bundle =
        map(new Yaml().load(text), "databricks.yml"); // SnakeYAML resolves the anchors
    assertEquals("sparkner", map(bundle.get("bundle"), "bundle").get("name"));

    // variables: every reference is defined; their defaults stand in for them below
    Map<String, String> vars = new HashMap<>();
    map(bundle.get("variables"), "variables")
        .forEach((k, v) -> vars.put(k, String.valueOf(map(v, "variables." + k).get("default"))));
    Matcher refs = Pattern.compile("\\$\\{var\\.([\\w-]+)}").matcher(text);
    while (refs.find()) {
      assertTrue(
          vars.containsKey(refs.group(1)),
          "databricks.yml uses ${var." + refs.group(1) + "}, which is not defined");
    }
    int replicas = Integer.parseInt(vars.get("replicas"));

    // the jar the build makes, uploaded as the artifact and attached to every task
    String jar = "../../target/" + jarName();
    Map<String, Object> artifact =
        map(
            map(bundle.get("artifacts"), "artifacts").get("sparkner_jar"),
            "artifacts.sparkner_jar");
    assertEquals("jar", artifact.get("type"));
    assertTrue(
        String.valueOf(artifact.get("build")).contains("mvn"), "the artifact is built by Maven");
    assertEquals(jar, map(list(artifact.get("files"), "files").get(0), "files[0]").get("source"));
    assertEquals(
        ROOT.resolve("target").resolve(jarName()), file.getParent().resolve(jar).normalize());
    // and the GPU jar of the same build, for the tasks on GPU clusters
    String gpuJar = "../../target/" + gpuJarName();
    assertTrue(
        list(artifact.get("files"), "files").stream()
            .anyMatch(f -> gpuJar.equals(map(f, "files[]").get("source"))),
        "the GPU jar is uploaded too: " + artifact.get("files"));
    assertEquals(
        ROOT.resolve("target").resolve(gpuJarName()), file.getParent().resolve(gpuJar).normalize());

    Map<String, Object> jobs =
        map(map(bundle.get("resources"), "resources").get("jobs"), "resources.jobs");
    assertTrue(
        jobs.containsKey("sparkner_pipeline") && jobs.containsKey("sparkner_retrain"),
        jobs.keySet().toString());
    Set<String> subcommandsRun = new HashSet<>();
    for (Map.Entry<String, Object> job : jobs.entrySet()) {
      String where = "jobs." + job.getKey();
      Map<String, Object> j = map(job.getValue(), where);
      assertNotNull(j.get("name"), where + ".name");
      Map<String, Map<String, Object>> clusters = new HashMap<>();
      for (Object c : list(j.get("job_clusters"), where + ".job_clusters")) {
        Map<String, Object> cm = map(c, where + ".job_clusters[]");
        clusters.put(
            (String) cm.get("job_cluster_key"), map(cm.get("new_cluster"), where + ".new_cluster"));
      }
      Set<String> taskKeys = new HashSet<>();
      for (Object t : list(j.get("tasks"), where + ".tasks")) {
        Map<String, Object> task = map(t, where + ".tasks[]");
        String tw = where + "." + task.get("task_key");
        assertTrue(taskKeys.add((String) task.get("task_key")), tw + ": duplicate task_key");
        if (task.containsKey("depends_on")) {
          for (Object d : list(task.get("depends_on"), tw + ".depends_on")) {
            assertTrue(
                taskKeys.contains(map(d, tw).get("task_key")),
                tw + " depends on an unknown or later task " + d);
          }
        }
        Map<String, Object> cluster = clusters.get((String) task.get("job_cluster_key"));
        assertNotNull(
            cluster,
            tw
                + ": job_cluster_key "
                + task.get("job_cluster_key")
                + " is not a job cluster of "
                + where);
        checkCluster(cluster, tw, vars);
        boolean gpuCluster =
            map(cluster.get("spark_conf"), tw + ".spark_conf")
                .containsKey("spark.task.resource.gpu.amount");
        // a GPU cluster runs the GPU jar on the CUDA libtorch its init script provides; the others
        // the default jar
        assertEquals(
            List.of(Map.of("jar", gpuCluster ? gpuJar : jar)),
            task.get("libraries"),
            tw + ".libraries");
        if (gpuCluster) {
          checkClusterLibtorch(cluster, tw);
        }
        Map<String, Object> jarTask = map(task.get("spark_jar_task"), tw + ".spark_jar_task");
        checkMainClass((String) jarTask.get("main_class_name"), tw);
        List<String> args = new ArrayList<>();
        for (Object a : list(jarTask.get("parameters"), tw + ".parameters")) {
          args.add(resolve(String.valueOf(a), vars));
        }
        checkCommandLine(args, tw);
        subcommandsRun.add(args.get(0));
        for (String a : args) {
          if (a.startsWith("/Workspace/files/")) {
            Path p = ROOT.resolve(a.substring("/Workspace/files/".length()));
            assertTrue(
                Files.isRegularFile(p),
                tw + ": " + a + " is synced from " + p + ", which does not exist");
          }
        }
        boolean barrier = args.get(0).equals("train") || args.get(0).equals("retrain");
        if (barrier) {
          checkGpuCluster(cluster, tw, replicas);
        }
        if (args.get(0).equals("train")) {
          assertEquals(
              String.valueOf(replicas),
              args.get(args.indexOf("--replicas") + 1),
              tw + ": --replicas = the GPU workers");
        }
        if (args.get(0).equals("retrain")) {
          String conf = args.get(args.indexOf("--conf") + 1);
          RetrainConfig rc = retrainConfig(repoFile(conf));
          assertEquals(
              replicas, rc.train().replicas(), conf + ": train.replicas = the GPU workers");
          assertTrue(
              rc.train().args().path("fp16").asBoolean(), conf + ": a GPU retrain trains in fp16");
        }
      }
    }
    assertTrue(
        subcommandsRun.containsAll(List.of("prepare", "train", "evaluate", "score", "retrain")),
        subcommandsRun.toString());

    Map<String, Object> retrain = map(jobs.get("sparkner_retrain"), "sparkner_retrain");
    assertEquals(1, retrain.get("max_concurrent_runs"), "one retrain at a time per registry");
    Map<String, Object> schedule = map(retrain.get("schedule"), "sparkner_retrain.schedule");
    checkQuartzCron((String) schedule.get("quartz_cron_expression"));
    ZoneId.of((String) schedule.get("timezone_id"));
  }

  static String resolve(String s, Map<String, String> vars) {
    Matcher m = Pattern.compile("\\$\\{var\\.([\\w-]+)}").matcher(s);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(sb, Matcher.quoteReplacement(vars.get(m.group(1))));
    }
    m.appendTail(sb);
    return sb.toString()
        .replace("${workspace.file_path}", "/Workspace/files")
        .replace("{{job.run_id}}", "123");
  }

  static void checkCluster(Map<String, Object> c, String where, Map<String, String> vars) {
    for (String k : List.of("spark_version", "node_type_id")) {
      assertTrue(
          c.get(k) instanceof String s && !s.isBlank(),
          where + ": new_cluster." + k + " is required");
    }
    assertTrue(
        c.containsKey("num_workers") || c.containsKey("autoscale"),
        where + ": num_workers or autoscale");
    Map<String, Object> env = map(c.get("spark_env_vars"), where + ".spark_env_vars");
    assertEquals("zulu17-ca-amd64", env.get("JNAME"), where + ": the jar needs Java 17");
    assertEquals("databricks", env.get("MLFLOW_TRACKING_URI"), where);
    Map<String, Object> conf = map(c.get("spark_conf"), where + ".spark_conf");
    for (String side : List.of("driver", "executor")) {
      assertTrue(
          String.valueOf(conf.get("spark." + side + ".extraJavaOptions"))
              .contains("-Dai.djl.offline=true"),
          where + ": " + side + " options");
    }
    String version = resolve(String.valueOf(c.get("spark_version")), vars);
    assertTrue(
        version.matches("1[5-9]\\.\\d+\\.x-(gpu-ml-|cpu-ml-)?scala2\\.12"),
        where + ": a Spark 3.5 / Scala 2.12 runtime, not " + version);
  }

  static void checkGpuCluster(Map<String, Object> c, String where, int replicas) {
    assertTrue(
        String.valueOf(c.get("spark_version")).contains("gpu")
            || String.valueOf(c.get("spark_version")).contains("var.gpu"),
        where);
    assertEquals(
        replicas,
        Integer.parseInt(
            String.valueOf(c.get("num_workers"))
                .replace("${var.replicas}", String.valueOf(replicas))),
        where + ": one worker per replica");
    assertFalse(c.containsKey("autoscale"), where + ": a barrier stage cannot autoscale");
    Map<String, Object> conf = map(c.get("spark_conf"), where + ".spark_conf");
    assertEquals("1", conf.get("spark.task.resource.gpu.amount"), where);
    assertEquals("1", conf.get("spark.executor.resource.gpu.amount"), where);
    assertEquals("false", conf.get("spark.dynamicAllocation.enabled"), where);
    assertNotNull(conf.get("spark.task.maxFailures"), where);
  }

  /**
   * A GPU cluster's libtorch: the init script exists in the repository (synced with this
   * directory), and the PYTORCH_* variables name the directory it unpacks to, the libtorch version
   * the bundled pytorch-jni was built for, and a flavour whose JNI binding that jar carries (else
   * DJL would try to download one, which offline mode refuses).
   */
  static void checkClusterLibtorch(Map<String, Object> c, String where) throws IOException {
    List<Object> scripts = list(c.get("init_scripts"), where + ".init_scripts");
    Path script = null;
    for (Object s : scripts) {
      String dest =
          String.valueOf(
              map(
                      map(s, where + ".init_scripts[]").get("workspace"),
                      where + ".init_scripts[].workspace")
                  .get("destination"));
      assertTrue(
          dest.startsWith("${workspace.file_path}/deploy/databricks/"),
          where + ": init script " + dest + " is not synced by the bundle");
      Path p = ROOT.resolve(dest.substring("${workspace.file_path}/".length()));
      assertTrue(
          Files.isRegularFile(p),
          where + ": init script " + dest + " is synced from " + p + ", which does not exist");
      if (p.getFileName().toString().startsWith("libtorch")) {
        script = p;
      }
    }
    assertNotNull(script, where + ": no libtorch init script in " + scripts);
    String text = Files.readString(script);
    Map<String, Object> env = map(c.get("spark_env_vars"), where + ".spark_env_vars");
    String version = String.valueOf(env.get("PYTORCH_VERSION"));
    String flavor = String.valueOf(env.get("PYTORCH_FLAVOR"));
    String path = String.valueOf(env.get("PYTORCH_LIBRARY_PATH"));
    java.util.Properties jni = new java.util.Properties();
    try (java.io.InputStream in =
        DeployDescriptorsTest.class.getResourceAsStream("/jnilib/pytorch.properties")) {
      assertNotNull(in, "pytorch-jni is not on the test classpath");
      jni.load(in);
    }
    assertTrue(
        jni.getProperty("jni_version", "").startsWith(version + "-"),
        where + ": PYTORCH_VERSION " + version + ", pytorch-jni is " + jni);
    assertNotNull(
        DeployDescriptorsTest.class.getResource(
            "/jnilib/linux-x86_64/" + flavor + "/libdjl_torch.so"),
        where + ": PYTORCH_FLAVOR " + flavor + " has no JNI binding in pytorch-jni");
    assertTrue(
        flavor.startsWith("cu"),
        where + ": a GPU cluster's libtorch is a CUDA build, not " + flavor);
    assertTrue(
        text.contains("VERSION=\"" + version + "+" + flavor + "\""),
        script + " installs libtorch " + version + "+" + flavor);
    Matcher home = Pattern.compile("LIBTORCH_HOME:-([^}]+)}").matcher(text);
    assertTrue(home.find(), script + ": no default LIBTORCH_HOME");
    assertEquals(
        home.group(1) + "/lib",
        path,
        where + ": PYTORCH_LIBRARY_PATH is where " + script.getFileName() + " unpacks");
  }

  /**
   * The init script run for real against a local zip laid out as download.pytorch.org's: it
   * unpacks, keeps an installed copy, refuses a libtorch of another version or flavour and a wrong
   * checksum, and leaves no half-installed directory behind.
   */
  @Test
  void databricksLibtorchInitScriptInstallsCheckedLibtorchOnce(
      @org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    Path script = ROOT.resolve("deploy/databricks/init/libtorch-cu128.sh");
    bashSyntax(script);
    assertTrue(Files.isExecutable(script), script + " is executable");
    Assumptions.assumeTrue(
        Files.isExecutable(Path.of("/usr/bin/curl"))
            && Files.isExecutable(Path.of("/usr/bin/unzip")),
        "curl and unzip needed");
    Path good = libtorchZip(tmp.resolve("good.zip"), "2.7.1+cu128", true);
    Path home = tmp.resolve("nodes/libtorch");

    Result first =
        exec(
            List.of("bash", script.toString()),
            ROOT,
            Map.of("LIBTORCH_URL", good.toUri().toString(), "LIBTORCH_HOME", home.toString()));
    assertEquals(0, first.code(), first.out());
    assertTrue(Files.isRegularFile(home.resolve("lib/libtorch_cuda.so")), first.out());
    assertEquals("2.7.1+cu128", Files.readString(home.resolve("build-version")).trim());
    // a restart of the node finds it installed: nothing is downloaded (the URL would fail)
    Result again =
        exec(
            List.of("bash", script.toString()),
            ROOT,
            Map.of(
                "LIBTORCH_URL",
                tmp.resolve("gone.zip").toUri().toString(),
                "LIBTORCH_HOME",
                home.toString()));
    assertEquals(0, again.code(), again.out());
    assertTrue(again.out().contains("already"), again.out());

    Path otherHome = tmp.resolve("other/libtorch");
    Result cu126 =
        exec(
            List.of("bash", script.toString()),
            ROOT,
            Map.of(
                "LIBTORCH_URL",
                libtorchZip(tmp.resolve("cu126.zip"), "2.7.1+cu126", true).toUri().toString(),
                "LIBTORCH_HOME",
                otherHome.toString()));
    assertEquals(1, cu126.code(), cu126.out());
    assertTrue(
        cu126.out().contains("2.7.1+cu126") && cu126.out().contains("needs 2.7.1+cu128"),
        cu126.out());
    assertFalse(Files.exists(otherHome), "nothing installed");
    Result noCuda =
        exec(
            List.of("bash", script.toString()),
            ROOT,
            Map.of(
                "LIBTORCH_URL",
                libtorchZip(tmp.resolve("nocuda.zip"), "2.7.1+cu128", false).toUri().toString(),
                "LIBTORCH_HOME",
                otherHome.toString()));
    assertEquals(1, noCuda.code(), noCuda.out());
    assertTrue(noCuda.out().contains("lib/libtorch_cuda.so"), noCuda.out());
    assertFalse(Files.exists(otherHome), "nothing installed");
    Result badSum =
        exec(
            List.of("bash", script.toString()),
            ROOT,
            Map.of(
                "LIBTORCH_URL",
                good.toUri().toString(),
                "LIBTORCH_HOME",
                otherHome.toString(),
                "LIBTORCH_SHA256",
                "0".repeat(64)));
    assertTrue(badSum.code() != 0, badSum.out());
    assertFalse(Files.exists(otherHome), "nothing installed");
    assertFalse(Files.exists(tmp.resolve("other/libtorch.new")), "no half-installed directory");
  }

  /**
   * A zip laid out as libtorch's: libtorch/build-version and libtorch/lib/*.so (placeholder bytes).
   */
  static Path libtorchZip(Path zip, String buildVersion, boolean cuda) throws IOException {
    List<String> libs = new ArrayList<>(List.of("libtorch.so", "libtorch_cpu.so", "libc10.so"));
    if (cuda) {
      libs.addAll(List.of("libtorch_cuda.so", "libc10_cuda.so"));
    }
    try (java.util.zip.ZipOutputStream out =
        new java.util.zip.ZipOutputStream(Files.newOutputStream(zip))) {
      out.putNextEntry(new java.util.zip.ZipEntry("libtorch/build-version"));
      out.write((buildVersion + "\n").getBytes(StandardCharsets.UTF_8));
      for (String lib : libs) {
        out.putNextEntry(new java.util.zip.ZipEntry("libtorch/lib/" + lib));
        out.write(lib.getBytes(StandardCharsets.UTF_8));
      }
    }
    return zip;
  }

  /**
   * Quartz: seconds minutes hours day-of-month month day-of-week [year], one of the two days '?'.
   */
  static void checkQuartzCron(String cron) {
    assertNotNull(cron, "quartz_cron_expression");
    String[] f = cron.trim().split("\\s+");
    assertTrue(f.length == 6 || f.length == 7, cron + ": 6 or 7 fields");
    assertTrue(
        f[3].equals("?") ^ f[5].equals("?"),
        cron + ": exactly one of day-of-month and day-of-week is '?'");
    assertTrue(f[0].matches("[0-5]?\\d"), cron + ": seconds");
    assertTrue(f[1].matches("[0-5]?\\d|\\*|\\*/\\d+|[0-5]?\\d/\\d+"), cron + ": minutes");
    assertTrue(f[2].matches("(1?\\d|2[0-3])(,(1?\\d|2[0-3]))*|\\*|\\*/\\d+"), cron + ": hours");
    assertTrue(
        f[5].matches(
            "\\?|\\*|[1-7](-[1-7])?|(MON|TUE|WED|THU|FRI|SAT|SUN)(-(MON|TUE|WED|THU|FRI|SAT|SUN))?(,(MON|TUE|WED|THU|FRI|SAT|SUN))*"),
        cron + ": day of week");
  }

  // ------------------------------------------------------------------ HDInsight

  static final Set<String> LIVY_BATCH_FIELDS =
      Set.of(
          "file",
          "proxyUser",
          "className",
          "args",
          "jars",
          "pyFiles",
          "files",
          "driverMemory",
          "driverCores",
          "executorMemory",
          "executorCores",
          "numExecutors",
          "archives",
          "queue",
          "name",
          "conf");

  @Test
  void hdinsightLivyBatches() throws Exception {
    String jdk = jdkOfScriptAction();
    Set<String> jobs = new HashSet<>();
    try (Stream<Path> s = Files.list(ROOT.resolve("deploy/hdinsight/livy"))) {
      for (Path p : s.sorted().toList()) {
        String where = ROOT.relativize(p).toString();
        JsonNode b = JSON.readTree(p.toFile());
        b.fieldNames()
            .forEachRemaining(
                k ->
                    assertTrue(
                        LIVY_BATCH_FIELDS.contains(k),
                        where + ": \"" + k + "\" is not a Livy batch field"));
        assertTrue(
            b.path("file").asText().endsWith("/jars/" + jarName()),
            where + ": file is the built jar " + jarName());
        checkMainClass(b.path("className").asText(), where);
        List<String> args = new ArrayList<>();
        b.path("args").forEach(a -> args.add(a.asText()));
        checkCommandLine(args, where);
        jobs.add(args.get(0));
        assertEquals(
            p.getFileName().toString(),
            args.get(0) + ".json",
            where + ": one file per subcommand, named after it");
        JsonNode conf = b.path("conf");
        assertEquals(
            jdk,
            conf.path("spark.yarn.appMasterEnv.JAVA_HOME").asText(),
            where + ": the driver runs on the script action's JDK");
        assertEquals(
            jdk, conf.path("spark.executorEnv.JAVA_HOME").asText(), where + ": executors too");
        assertTrue(
            conf.path("spark.executor.extraJavaOptions").asText().contains("-Dai.djl.offline=true"),
            where);
        for (int i = 1; i < args.size(); i++) {
          if (List.of("--conf", "--deepspeed").contains(args.get(i - 1))) {
            Path f = repoFile(args.get(i));
            if (args.get(0).equals("retrain")) {
              RetrainConfig rc = retrainConfig(f);
              assertTrue(
                  b.path("numExecutors").asInt() >= rc.train().replicas(),
                  where + ": an executor per replica");
              assertTrue(
                  rc.registry().startsWith("abfss://"),
                  where + ": the registry is on the cluster's storage");
            }
          }
        }
        if (args.get(0).equals("train") || args.get(0).equals("retrain")) {
          assertEquals("false", conf.path("spark.dynamicAllocation.enabled").asText(), where);
          assertEquals(
              b.path("executorCores").asText(),
              conf.path("spark.task.cpus").asText(),
              where + ": one replica per executor");
          assertTrue(conf.has("spark.task.maxFailures"), where);
        }
        if (args.get(0).equals("train")) {
          assertEquals(
              args.get(args.indexOf("--replicas") + 1),
              b.path("numExecutors").asText(),
              where + ": an executor per replica");
        }
      }
    }
    assertEquals(Set.of("prepare", "train", "evaluate", "score", "retrain"), jobs);
    for (String script :
        List.of("deploy/hdinsight/install-jdk17.sh", "deploy/hdinsight/submit.sh")) {
      bashSyntax(ROOT.resolve(script));
    }
  }

  static String jdkOfScriptAction() throws IOException {
    Matcher m =
        Pattern.compile("(?m)^JDK_HOME=(\\S+)$")
            .matcher(Files.readString(ROOT.resolve("deploy/hdinsight/install-jdk17.sh")));
    assertTrue(m.find(), "install-jdk17.sh sets JDK_HOME");
    return m.group(1);
  }

  // ------------------------------------------------------------------ jobs/ and conf/

  @Test
  void retrainConfigurationsReadAndNameExistingFiles() throws IOException {
    for (String f :
        List.of(
            "conf/retrain.json",
            "conf/retrain-sample.json",
            "deploy/databricks/retrain.json",
            "deploy/hdinsight/retrain-hdinsight.json")) {
      RetrainConfig rc = retrainConfig(ROOT.resolve(f));
      assertFalse(rc.inputs().isEmpty(), f);
      if (rc.train().conf() != null && !rc.train().conf().contains("://")) {
        assertTrue(
            Files.isRegularFile(ROOT.resolve(rc.train().conf())),
            f + ": train.conf " + rc.train().conf());
      }
      if (rc.base().init() != null) {
        assertTrue(
            Files.isRegularFile(ROOT.resolve(rc.base().init().config())),
            f + ": base_model.init.config");
      }
    }
    RetrainConfig sample = retrainConfig(ROOT.resolve("conf/retrain-sample.json"));
    for (var in : sample.inputs()) {
      assertTrue(
          Files.exists(ROOT.resolve(in.path())),
          "conf/retrain-sample.json: the bundled sample " + in.path());
    }
    assertEquals(List.of("ja", "ko", "zh"), sample.evaluate().languages());
  }

  static final Path SHELLCHECK =
      Stream.of("/usr/bin/shellcheck", "/usr/local/bin/shellcheck")
          .map(Path::of)
          .filter(Files::isExecutable)
          .findFirst()
          .orElse(null);

  @Test
  void jobScriptsAreCleanAndSubmitWhatSparknerAccepts() throws Exception {
    List<Path> scripts;
    try (Stream<Path> s = Files.list(ROOT.resolve("jobs"))) {
      scripts = s.filter(p -> p.toString().endsWith(".sh")).sorted().toList();
    }
    assertEquals(6, scripts.size(), scripts.toString());
    for (Path p : scripts) {
      bashSyntax(p);
    }
    if (SHELLCHECK != null) {
      List<String> cmd = new ArrayList<>(List.of(SHELLCHECK.toString(), "-x"));
      scripts.forEach(p -> cmd.add(p.getFileName().toString()));
      Result r = exec(cmd, ROOT.resolve("jobs"), Map.of());
      assertEquals(0, r.code(), "shellcheck: " + r.out());
    }

    List<String> train =
        dryRun(
            "train.sh",
            Map.of("SPARKNER_GPUS_PER_EXECUTOR", "1", "SPARKNER_JAVA_HOME", "/usr/lib/jvm/java-17"),
            "--data",
            "abfss://c@a.dfs.core.windows.net/prepared",
            "--model",
            "hdfs:///models/bge",
            "--output",
            "hdfs:///out/m",
            "--conf",
            "conf/train-stockmark.json",
            "--deepspeed",
            "conf/ds_config_zero2.json",
            "--replicas",
            "3");
    List<String> sparkner = checkSubmit(train, "train");
    assertTrue(train.contains("spark.dynamicAllocation.enabled=false"), train.toString());
    assertTrue(train.contains("spark.executor.instances=3"), "an executor per replica: " + train);
    assertTrue(train.contains("spark.task.resource.gpu.amount=1"), train.toString());
    assertTrue(train.contains("spark.executor.resource.gpu.amount=1"), train.toString());
    assertTrue(
        train.stream().anyMatch(a -> a.startsWith("spark.executor.resource.gpu.discoveryScript=")),
        train.toString());
    assertTrue(
        train.stream().anyMatch(a -> a.startsWith("spark.task.maxFailures=")), train.toString());
    assertTrue(
        train.contains("spark.executorEnv.JAVA_HOME=/usr/lib/jvm/java-17"), train.toString());
    assertTrue(
        train.contains("spark.yarn.appMasterEnv.JAVA_HOME=/usr/lib/jvm/java-17"), train.toString());
    String files = train.get(train.indexOf("--files") + 1);
    assertTrue(
        files.contains("/conf/train-stockmark.json")
            && files.contains("/conf/ds_config_zero2.json"),
        "cluster mode ships local files: " + files);
    assertEquals("train-stockmark.json", sparkner.get(sparkner.indexOf("--conf") + 1));
    assertEquals(
        1,
        sparkner.stream().filter("--replicas"::equals).count(),
        "--replicas given once: " + sparkner);

    List<String> cpuTrain =
        dryRun(
            "train.sh",
            Map.of("SPARKNER_MASTER", "spark://master:7077", "SPARKNER_DEPLOY_MODE", "client"),
            "--data",
            "d",
            "--model",
            "m",
            "--output",
            "o");
    checkSubmit(cpuTrain, "train");
    assertTrue(
        cpuTrain.contains("spark.task.cpus=4") && cpuTrain.contains("spark.cores.max=8"),
        "standalone, CPU: " + cpuTrain);
    assertFalse(cpuTrain.contains("--files"), "client mode reads local files itself");

    checkSubmit(
        dryRun(
            "prepare.sh",
            Map.of(),
            "--input",
            "stockmark:hdfs:///d/ner.json",
            "--tokenizer",
            "hdfs:///m",
            "--output",
            "hdfs:///p"),
        "prepare");
    checkSubmit(
        dryRun(
            "evaluate.sh",
            Map.of(),
            "--model",
            "hdfs:///m",
            "--data",
            "hdfs:///p",
            "--report",
            "hdfs:///r"),
        "evaluate");
    checkSubmit(
        dryRun(
            "score.sh",
            Map.of(),
            "--model",
            "hdfs:///m",
            "--input",
            "hdfs:///t",
            "--output",
            "hdfs:///s"),
        "score");
    List<String> retrain =
        dryRun("retrain.sh", Map.of(), "conf/retrain.json", "--run-id", "nightly-1");
    List<String> r = checkSubmit(retrain, "retrain");
    assertEquals(List.of("retrain", "--conf", "retrain.json", "--run-id", "nightly-1"), r);
    assertTrue(retrain.contains("spark.dynamicAllocation.enabled=false"), retrain.toString());
  }

  /** The spark-submit options, the jar, and sparkner's own arguments (returned), checked. */
  static List<String> checkSubmit(List<String> argv, String subcommand) throws IOException {
    assertEquals("spark-submit", argv.get(0), argv.toString());
    assertEquals(MAIN, argv.get(argv.indexOf("--class") + 1));
    assertTrue(
        argv.stream()
            .anyMatch(
                a ->
                    a.startsWith("spark.driver.extraJavaOptions=")
                        && a.contains("-Dai.djl.offline=true")),
        argv.toString());
    assertTrue(
        argv.stream()
            .anyMatch(
                a ->
                    a.startsWith("spark.executor.extraJavaOptions=")
                        && a.contains("-Dai.djl.offline=true")),
        argv.toString());
    int jar = -1;
    for (int i = 0; i < argv.size(); i++) {
      if (argv.get(i).endsWith("/target/" + jarName())) {
        jar = i;
      }
    }
    assertTrue(jar > 0, "the built jar " + jarName() + " is submitted: " + argv);
    List<String> sparkner = argv.subList(jar + 1, argv.size());
    assertEquals(subcommand, sparkner.get(0));
    checkCommandLine(sparkner, "jobs/" + subcommand + ".sh");
    return sparkner;
  }

  static List<String> dryRun(String script, Map<String, String> env, String... args)
      throws Exception {
    List<String> cmd =
        new ArrayList<>(List.of("bash", ROOT.resolve("jobs").resolve(script).toString()));
    cmd.addAll(List.of(args));
    Map<String, String> e = new HashMap<>(env);
    e.put("SPARKNER_DRY_RUN", "lines");
    e.put("SPARK_SUBMIT", "spark-submit");
    Result r = exec(cmd, ROOT, e);
    assertEquals(0, r.code(), script + ": " + r.out());
    return List.of(r.out().split("\n"));
  }

  static void bashSyntax(Path script) throws Exception {
    Result r = exec(List.of("bash", "-n", script.toString()), ROOT, Map.of());
    assertEquals(0, r.code(), script + ": " + r.out());
  }

  record Result(int code, String out) {}

  static Result exec(List<String> cmd, Path dir, Map<String, String> env) throws Exception {
    Assumptions.assumeTrue(
        Files.isExecutable(Path.of("/bin/bash")) || Files.isExecutable(Path.of("/usr/bin/bash")),
        "no bash here");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
    pb.environment().keySet().removeIf(k -> k.startsWith("SPARKNER_") || k.equals("SPARK_HOME"));
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), cmd + " did not finish");
    return new Result(p.exitValue(), out);
  }
}

package io.sparkner.retrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.Labels;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.corpus.ReadOptions;
import io.sparkner.corpus.TypeMap;
import io.sparkner.eval.EvaluateJob;
import io.sparkner.fault.FaultPlan;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.ModelConfig;
import io.sparkner.pipeline.Bootstrap;
import io.sparkner.pipeline.Pipeline;
import io.sparkner.pipeline.Steps;
import io.sparkner.prepare.PrepareSummary;
import io.sparkner.storage.HadoopFiles;
import io.sparkner.storage.Redaction;
import io.sparkner.train.DeepSpeedConfig;
import io.sparkner.train.TrainJob;
import io.sparkner.train.TrainingArguments;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * {@code sparkner retrain}: prepare the configured corpora → train a challenger (from the champion
 * or the base) → evaluate champion and challenger on the same held-out split → promote the
 * challenger when it beats the champion ({@link Decision}) → record everything in the registry
 * ({@link Registry}). The stages are the steps of a {@link Pipeline}, as in the {@code
 * crosslingual} job; the prepare and train steps are the shared {@link Steps}, and a base made from
 * {@code base_model.init} is built by {@link Bootstrap}, as {@code tokenizer build} and {@code
 * init} do.
 *
 * <p>The champion moves only at the very end, after every stage succeeded, by a new generation
 * created against the generation the run started from ({@link Registry#promote(Registry.Champion,
 * long)}); any exception before that leaves it as it was and records the run as {@code failed} with
 * the stage and the error, any exception after it records the run as promoted ({@link RunRecord}).
 * {@code run.json} is rewritten at each stage, so a run killed outright (a lost driver) stays
 * visible as {@code running} at the stage it reached.
 */
public final class RetrainJob {
  private static final ObjectMapper JSON = new ObjectMapper();

  private RetrainJob() {}

  /** The stages of a run, in order. */
  public enum Stage {
    PREPARE,
    TRAIN,
    EVALUATE,
    DECIDE,
    PROMOTE;

    String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * @param runId the run's id, or null for a new one (UTC time + random suffix)
   * @param faults fault injection for tests and demos: {@link FaultPlan#withFailAfter} a stage
   *     fails the run right after it ({@link FaultPlan#none()} otherwise)
   */
  public record Options(String runId, FaultPlan faults) {
    public Options {
      faults = faults == null ? FaultPlan.none() : faults;
    }

    public static Options defaults() {
      return new Options(null, FaultPlan.none());
    }
  }

  /** What a run did. */
  public record Outcome(
      String runId,
      String runDir,
      boolean promoted,
      Decision decision,
      Scores challenger,
      Scores champion) {}

  /** Thrown by {@code --fail-after}. */
  public static final class InjectedFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    InjectedFailure(String message) {
      super(message);
    }
  }

  /** Where the challenger starts. */
  private record Start(String from, String model, String tokenizer, boolean initAfterPrepare) {}

  public static Outcome run(SparkSession spark, RetrainConfig cfg, Options o, PrintStream console) {
    Configuration hc = spark.sparkContext().hadoopConfiguration();
    Registry reg = new Registry(cfg.registry(), hc);
    String runId =
        o.runId() != null ? Registry.checkRunId(o.runId()) : Registry.newRunId(Instant.now());
    String runDir = reg.runDir(runId);
    if (HadoopFiles.exists(runDir, hc)) {
      throw new IllegalArgumentException(
          "run " + runId + " already exists (" + runDir + "); choose another --run-id");
    }
    RunRecord run = new RunRecord(reg, runId, cfg, spark);
    run.save();
    console.println("retrain run " + runId + ": " + runDir);
    try {
      return stages(spark, cfg, o, console, hc, reg, runId, runDir, run);
    } catch (RuntimeException | Error e) {
      boolean champion = run.failed(e);
      console.println(
          "retrain run "
              + runId
              + " failed at stage "
              + (run.stage() == null ? "start" : run.stage().label())
              + ": "
              + Redaction.text(e.getMessage(), hc));
      if (champion) {
        console.println(
            "the run was promoted before the failure: it is the champion ("
                + run.root().path("promotion").path("file").asText()
                + "); the run is recorded in "
                + runDir
                + "/run.json");
      } else {
        console.println(
            "the champion is unchanged; the run is recorded in " + runDir + "/run.json");
      }
      throw e;
    }
  }

  private static Outcome stages(
      SparkSession spark,
      RetrainConfig cfg,
      Options o,
      PrintStream console,
      Configuration hc,
      Registry reg,
      String runId,
      String runDir,
      RunRecord run) {
    Stages s = new Stages(spark, cfg, console, hc, reg, runId, runDir, run);
    new Pipeline<Stage>()
        .then(
            Stage.PREPARE,
            "prepare: inputs, where training starts, the prepared corpus",
            s::prepare)
        .then(Stage.TRAIN, "train the challenger", s::train)
        .then(Stage.EVALUATE, "evaluate both on the same held-out documents", s::evaluate)
        .then(Stage.DECIDE, "decide", s::decide)
        .then(Stage.PROMOTE, "promote: the only step that moves the champion", s::promote)
        .run(
            new Pipeline.Listener<>() {
              @Override
              public void starting(Stage stage, int index, int total, String what) {
                run.stage(stage);
              }

              @Override
              public void finished(Stage stage) {
                if (stage != Stage.PROMOTE) {
                  failAfter(o, stage);
                }
              }
            });
    return s.outcome;
  }

  /** The stages of one run and what they hand each other. */
  private static final class Stages {
    private final SparkSession spark;
    private final RetrainConfig cfg;
    private final PrintStream console;
    private final Configuration hc;
    private final Registry reg;
    private final String runId;
    private final String runDir;
    private final RunRecord run;
    private Optional<Registry.Champion> champion;
    private long championGeneration;
    private String trainConf;
    private String deepspeed;
    private TrainingArguments trainArgs;
    private Start start;
    private String prepared;
    private String championData;
    private String model;
    private Scores challenger;
    private Scores championScores;
    private Decision decision;
    private Outcome outcome;

    Stages(
        SparkSession spark,
        RetrainConfig cfg,
        PrintStream console,
        Configuration hc,
        Registry reg,
        String runId,
        String runDir,
        RunRecord run) {
      this.spark = spark;
      this.cfg = cfg;
      this.console = console;
      this.hc = hc;
      this.reg = reg;
      this.runId = runId;
      this.runDir = runDir;
      this.run = run;
    }

    /**
     * Inputs, where training starts, the prepared corpus (and the champion's, when its tokenizer
     * differs).
     */
    void prepare() {
      try {
        reg.refreshPointer(); // a copy left stale by an earlier run that stopped after its
        // promotion
      } catch (RuntimeException e) {
        run.root()
            .withArray("warnings")
            .add("the copy " + reg.pointer() + " could not be refreshed: " + e.getMessage());
      }
      Optional<Registry.Generation> generation = reg.newest();
      champion = generation.map(reg::checked);
      championGeneration = generation.map(Registry.Generation::number).orElse(0L);
      run.root()
          .set("champion", generation.map(g -> (JsonNode) g.toJson()).orElse(JSON.nullNode()));
      console.println(
          "champion: " + champion.map(c -> c.runId() + " (" + c.model() + ")").orElse("none yet"));
      List<CorpusInput> inputs = new ArrayList<>();
      for (CorpusInput in : cfg.inputs()) {
        inputs.add(new CorpusInput(in.kind(), in.lang(), HadoopFiles.qualify(in.path(), hc)));
      }
      run.root().set("inputs", fingerprint(inputs, hc));
      trainConf = cfg.train().conf() == null ? null : HadoopFiles.qualify(cfg.train().conf(), hc);
      deepspeed =
          cfg.train().deepspeed() == null ? null : HadoopFiles.qualify(cfg.train().deepspeed(), hc);
      trainArgs = checkTraining(trainConf, deepspeed, cfg.train().overrides(), hc);
      start = start(cfg, reg, champion, inputs, runDir, hc);
      run.save();

      prepared = runDir + "/prepared";
      ReadOptions read =
          new ReadOptions(
              cfg.prepare().seed(),
              TypeMap.parse(cfg.prepare().typeMap(), cfg.prepare().types()),
              false);
      PrepareSummary summary =
          Steps.prepare(
              spark,
              inputs,
              start.tokenizer(),
              prepared,
              read,
              cfg.prepare().scheme(),
              cfg.prepare().align());
      console.print(summary.toTable());
      List<String> labels =
          Labels.fromJson(HadoopFiles.readString(prepared + "/labels.json", hc)).labels();
      run.root().set("prepared", preparedRecord(prepared, summary));
      if (start.initAfterPrepare()) {
        start = publishBase(cfg.base().init(), start.tokenizer(), labels, reg, runId, hc, console);
      }
      ObjectNode ws = run.root().putObject("warm_start");
      ws.put("from", start.from());
      ws.put("model", start.model());
      champion.ifPresent(c -> ws.put("champion_run", c.runId()));

      championData = prepared;
      if (champion.isPresent()) {
        Registry.Champion c = champion.get();
        String cc = c.model() + "/" + Checkpoints.CONFIG;
        List<String> championLabels = ModelConfig.parse(HadoopFiles.readString(cc, hc), cc).labels;
        if (!championLabels.equals(labels)) {
          throw new IllegalStateException(
              "the prepared labels "
                  + labels
                  + " differ from the champion's "
                  + championLabels
                  + " (run "
                  + c.runId()
                  + "): the champion cannot be scored on this data, so no fair comparison is"
                  + " possible. Restore the corpora/type_map the champion was trained with, or, to"
                  + " change the label space on purpose, point \"registry\" at a new registry (or"
                  + " promote a run by hand with --promote RUN_ID)");
        }
        if (!sameBytes(c.model() + "/" + Checkpoints.TOKENIZER, start.tokenizer(), hc)) {
          // a new base with its own tokenizer: the champion reads its own token ids of the same
          // documents
          championData = runDir + "/prepared-champion";
          console.println(
              "the champion's tokenizer differs from the challenger's: preparing the held-out data"
                  + " for it too");
          Steps.prepare(
              spark,
              inputs,
              c.model() + "/" + Checkpoints.TOKENIZER,
              championData,
              read,
              cfg.prepare().scheme(),
              cfg.prepare().align());
          ((ObjectNode) run.root().get("prepared")).put("champion_path", championData);
        }
      }
    }

    /** The challenger, from where {@link #prepare} found training starts. */
    void train() {
      model = runDir + "/model";
      List<String> overrides = new ArrayList<>(cfg.train().overrides());
      if (trainArgs.runName() == null) {
        overrides.add(
            "run_name=sparkner retrain " + runId); // names the MLflow run, when MLflow tracks
      }
      TrainJob.Result trained =
          Steps.train(
              spark,
              prepared,
              start.model(),
              model,
              trainConf,
              deepspeed,
              overrides,
              cfg.train().replicas(),
              console);
      if (!cfg.train().keepCheckpoints()) {
        HadoopFiles.delete(model + "/checkpoints", hc);
      }
      ObjectNode ch = run.root().putObject("challenger");
      ch.put("model", model);
      ch.put("steps", trained.steps());
      if (Double.isNaN(trained.validationF1())) {
        ch.putNull("validation_f1"); // no validation ran (eval_strategy no, or no validation split)
      } else {
        ch.put("validation_f1", trained.validationF1());
      }
      ch.set("train_config", JSON.valueToTree(trained.config().toMap()));
    }

    /** Champion and challenger on the same held-out documents. */
    void evaluate() {
      String split = cfg.evaluate().split();
      ObjectNode metrics = run.root().putObject("metrics");
      metrics.put("split", split);
      challenger =
          Scores.of(
              EvaluateJob.run(
                  spark,
                  new EvaluateJob.Options(
                      model,
                      prepared,
                      split,
                      runDir + "/eval/challenger",
                      cfg.evaluate().batchSize())));
      metrics.set(
          "challenger", challenger.toJson().put("report", runDir + "/eval/challenger/report.json"));
      if (champion.isPresent()) {
        championScores =
            Scores.of(
                EvaluateJob.run(
                    spark,
                    new EvaluateJob.Options(
                        champion.get().model(),
                        championData,
                        split,
                        runDir + "/eval/champion",
                        cfg.evaluate().batchSize())));
        metrics.set(
            "champion",
            championScores.toJson().put("report", runDir + "/eval/champion/report.json"));
      }
      for (String lang : cfg.evaluate().languages()) {
        Scores.Language l = challenger.byLang().get(lang);
        if (l == null) {
          throw new IllegalArgumentException(
              "evaluate.languages names "
                  + lang
                  + ", but the "
                  + split
                  + " split has no documents in it (languages there: "
                  + challenger.byLang().keySet()
                  + "); check the corpora and their languages");
        }
      }
      console.printf(
          Locale.ROOT,
          "challenger micro F1 %.4f%s%n",
          challenger.microF1(),
          championScores == null
              ? ""
              : String.format(Locale.ROOT, ", champion %.4f", championScores.microF1()));
    }

    void decide() {
      decision =
          Decision.decide(championScores, challenger, cfg.promotion(), cfg.evaluate().languages());
      run.root().set("decision", decision.toJson());
      decision.reasons().forEach(r -> console.println("  " + r));
    }

    /** The only stage that moves the champion. */
    void promote() {
      boolean promoted = false;
      Registry.Promotion p = null;
      if (decision.promote()) {
        p =
            RetrainJob.promote(
                reg,
                run,
                new Registry.Champion(
                    runId, model, Registry.now(), challenger.microF1(), "retrain"),
                championGeneration,
                champion.map(Registry.Champion::runId).orElse(null));
        promoted = p.promoted();
        if (!promoted) {
          ((ArrayNode) run.root().get("decision").get("reasons"))
              .add(
                  "not promoted: the champion changed while this run ran (generation "
                      + p.generation()
                      + " is "
                      + p.holder()
                      + "); run again to compare with it");
        }
      }
      run.succeeded(promoted);
      if (p != null && p.copyWarning() != null) {
        console.println("warning: " + p.copyWarning());
      }
      console.println(
          promoted
              ? "promoted: "
                  + runId
                  + " is the champion ("
                  + reg.generationFile(p.generation())
                  + ")"
              : "kept the champion "
                  + (p != null
                      ? p.holder()
                      : champion.map(Registry.Champion::runId).orElse("(none)")));
      outcome = new Outcome(runId, runDir, promoted, decision, challenger, championScores);
    }
  }

  /**
   * The promotion of a run: its record saved as pending on generation {@code expectedGeneration +
   * 1}, then the generation created (create-only), then the result put in the record (saved by the
   * caller). A failure after the creation leaves a pending record that readers settle as promoted.
   */
  static Registry.Promotion promote(
      Registry reg,
      RunRecord run,
      Registry.Champion next,
      long expectedGeneration,
      String expectedRun) {
    run.promotionPending(expectedGeneration, expectedRun);
    Registry.Promotion p = reg.promote(next, expectedGeneration);
    run.promotionResult(p);
    return p;
  }

  private static void failAfter(Options o, Stage stage) {
    if (o.faults().failsAfter(stage)) {
      throw new InjectedFailure(
          "injected failure after stage " + stage.label() + " (--fail-after)");
    }
  }

  /**
   * The champion (when asked for and present), the configured checkpoint, or the registry's base.
   */
  private static Start start(
      RetrainConfig cfg,
      Registry reg,
      Optional<Registry.Champion> champion,
      List<CorpusInput> inputs,
      String runDir,
      Configuration hc) {
    if (cfg.warmStart() == RetrainConfig.WarmStart.CHAMPION && champion.isPresent()) {
      String m = champion.get().model();
      return new Start("champion", m, requireTokenizer(m, hc), false);
    }
    RetrainConfig.Base base = cfg.base();
    if (base.model() != null) {
      String m = HadoopFiles.qualify(base.model(), hc);
      if (!HadoopFiles.exists(m + "/" + Checkpoints.CONFIG, hc)) {
        throw new IllegalArgumentException(
            "base_model "
                + m
                + " has no "
                + Checkpoints.CONFIG
                + " (a Hugging Face checkpoint directory is expected)");
      }
      return new Start("base", m, requireTokenizer(m, hc), false);
    }
    RetrainConfig.Init init = base.init();
    String baseDir = reg.baseDir();
    if (HadoopFiles.exists(baseDir + "/base.json", hc)) {
      JsonNode made = readJson(baseDir + "/base.json", hc);
      JsonNode wanted = cfg.json().path("base_model").path("init");
      if (!made.path("init").equals(wanted)) {
        throw new IllegalArgumentException(
            "the registry's base "
                + baseDir
                + " was made from base_model.init "
                + made.path("init")
                + ", the configuration now says "
                + wanted
                + "; remove "
                + baseDir
                + " to make a new base (the champion keeps its own weights), or restore the"
                + " setting");
      }
      return new Start("base", baseDir, baseDir + "/" + Checkpoints.TOKENIZER, false);
    }
    String tokenizer;
    if (init.tokenizer() != null) {
      String t = HadoopFiles.qualify(init.tokenizer(), hc);
      tokenizer = t.endsWith(".json") ? t : t + "/" + Checkpoints.TOKENIZER;
      if (!HadoopFiles.exists(tokenizer, hc)) {
        throw new IllegalArgumentException(
            "base_model.init.tokenizer: " + tokenizer + " does not exist");
      }
    } else {
      tokenizer =
          Bootstrap.buildTokenizer(
                  inputs, init.tokenizerKind(), init.vocabSize(), runDir + "/base-tokenizer", hc)
              .file();
    }
    return new Start("base", null, tokenizer, true);
  }

  /** Initialises the base beside the registry's base/ and renames it into place. */
  private static Start publishBase(
      RetrainConfig.Init init,
      String tokenizer,
      List<String> labels,
      Registry reg,
      String runId,
      Configuration hc,
      PrintStream console) {
    String tmp = reg.root() + "/.base-" + runId + ".tmp";
    try {
      Bootstrap.initModel(
          HadoopFiles.qualify(init.config(), hc), tokenizer, labels, tmp, init.seed(), hc);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot initialise a base model in " + tmp + ": " + e.getMessage(), e);
    }
    ObjectNode made = JSON.createObjectNode();
    made.put("made_by_run", runId);
    made.put("made_at", Registry.now());
    made.set("init", JSON.valueToTree(initJson(init)));
    made.put("labels", String.join(",", labels));
    HadoopFiles.writeString(tmp + "/base.json", Registry.json(made), hc);
    try {
      Path src = new Path(tmp);
      Path dst = new Path(reg.baseDir());
      if (!src.getFileSystem(hc).rename(src, dst)) {
        throw new IOException("rename returned false (does " + dst + " exist already?)");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot move the new base " + tmp + " to " + reg.baseDir() + ": " + e.getMessage(), e);
    }
    console.println("base: initialised " + reg.baseDir() + " (" + labels.size() + " labels)");
    return new Start("base", reg.baseDir(), reg.baseDir() + "/" + Checkpoints.TOKENIZER, false);
  }

  private static java.util.Map<String, Object> initJson(RetrainConfig.Init init) {
    java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("config", init.config());
    if (init.tokenizer() != null) {
      m.put("tokenizer", init.tokenizer());
    } else {
      m.put("tokenizer_kind", init.tokenizerKind());
      m.put("vocab_size", init.vocabSize());
    }
    m.put("seed", init.seed());
    return m;
  }

  private static String requireTokenizer(String model, Configuration hc) {
    String t = model + "/" + Checkpoints.TOKENIZER;
    if (!HadoopFiles.exists(t, hc)) {
      throw new IllegalArgumentException(
          model
              + " has no "
              + Checkpoints.TOKENIZER
              + ": retrain prepares the corpora with the model's own tokenizer");
    }
    return t;
  }

  /**
   * Reads the training arguments and the DeepSpeed file now, so that a typo fails before any Spark
   * work.
   */
  private static TrainingArguments checkTraining(
      String conf, String deepspeed, List<String> overrides, Configuration hc) {
    TrainingArguments args =
        conf == null
            ? TrainingArguments.defaults()
            : TrainingArguments.parse(readFile(conf, "train.conf", hc), conf);
    if (deepspeed != null) {
      DeepSpeedConfig.parse(readFile(deepspeed, "train.deepspeed", hc), deepspeed);
    }
    return args.withOverrides(overrides);
  }

  private static String readFile(String path, String key, Configuration hc) {
    if (!HadoopFiles.exists(path, hc)) {
      throw new IllegalArgumentException(key + ": " + path + " does not exist");
    }
    return HadoopFiles.readString(path, hc);
  }

  /** Each input's files with size and modification time: which data this run saw. */
  static ArrayNode fingerprint(List<CorpusInput> inputs, Configuration hc) {
    ArrayNode out = JSON.createArrayNode();
    for (CorpusInput in : inputs) {
      ObjectNode o = out.addObject();
      o.put("kind", in.kind());
      o.put("lang", in.lang());
      o.put("path", in.path());
      List<String> files;
      try {
        files = HadoopFiles.listFiles(in.path(), hc);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "corpus "
                + in.kind()
                + (in.lang() == null ? "" : ":" + in.lang())
                + " "
                + in.path()
                + ": "
                + e.getMessage(),
            e);
      }
      long bytes = 0;
      long latest = 0;
      ArrayNode fs = o.putArray("files");
      for (String f : files) {
        try {
          Path p = new Path(f);
          FileStatus st = p.getFileSystem(hc).getFileStatus(p);
          bytes += st.getLen();
          latest = Math.max(latest, st.getModificationTime());
          if (fs.size() < 1000) {
            fs.addObject()
                .put("path", f)
                .put("bytes", st.getLen())
                .put("modified", Instant.ofEpochMilli(st.getModificationTime()).toString());
          }
        } catch (IOException e) {
          throw new UncheckedIOException(
              "cannot read the status of " + f + ": " + e.getMessage(), e);
        }
      }
      o.put("file_count", files.size());
      o.put("bytes", bytes);
      o.put("latest_modified", Instant.ofEpochMilli(latest).toString());
    }
    return out;
  }

  private static ObjectNode preparedRecord(String prepared, PrepareSummary s) {
    ObjectNode p = JSON.createObjectNode();
    p.put("path", prepared);
    for (String k :
        List.of("records_in", "documents", "quarantined_total", "windows", "entities")) {
      p.set(k, s.json().path(k));
    }
    p.set("by_split", s.json().path("by_split"));
    p.set("by_lang", s.json().path("by_lang"));
    p.set("labels", s.json().path("labels"));
    return p;
  }

  private static boolean sameBytes(String a, String b, Configuration hc) {
    return digest(a, hc).equals(digest(b, hc));
  }

  private static String digest(String path, Configuration hc) {
    try (InputStream in = HadoopFiles.open(path, hc)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode readJson(String path, Configuration hc) {
    try {
      return JSON.readTree(HadoopFiles.readString(path, hc));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * Manual promotion (or rollback) of a run that succeeded: {@code sparkner retrain --promote
   * RUN_ID}.
   */
  public static Registry.Champion promote(Registry reg, String runId, PrintStream console) {
    JsonNode run = reg.readRun(runId);
    if (!"succeeded".equals(run.path("status").asText())) {
      throw new IllegalArgumentException(
          "run "
              + runId
              + " did not succeed (status "
              + run.path("status").asText("?")
              + "); only a trained and evaluated run can be promoted");
    }
    String model = run.path("challenger").path("model").asText(null);
    if (model == null || !HadoopFiles.exists(model + "/" + Checkpoints.CONFIG, reg.conf())) {
      throw new IllegalArgumentException(
          "run " + runId + " has no model to promote (" + model + ")");
    }
    Optional<Registry.Generation> current = reg.newest();
    Registry.Champion next =
        new Registry.Champion(
            runId,
            model,
            Registry.now(),
            run.path("metrics").path("challenger").path("micro_f1").asDouble(Double.NaN),
            "manual");
    Registry.Promotion p = reg.promote(next, current.map(Registry.Generation::number).orElse(0L));
    if (!p.promoted()) {
      throw new IllegalStateException(
          "the champion changed while promoting (generation "
              + p.generation()
              + " is "
              + p.holder()
              + "); try again");
    }
    if (p.copyWarning() != null) {
      console.println("warning: " + p.copyWarning());
    }
    console.println(
        "promoted by hand: "
            + runId
            + " (generation "
            + p.generation()
            + ", was "
            + current.map(g -> g.champion().runId()).orElse("none")
            + ")");
    return next;
  }
}

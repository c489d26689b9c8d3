// Databricks notebook source
// MAGIC %md
// MAGIC # sparkner on Databricks: prepare → train → evaluate → score
// MAGIC
// MAGIC Runs the sparkner jobs interactively on this cluster's Spark session. Attach the sparkner jar
// MAGIC (`target/sparkner-0.1.0-SNAPSHOT.jar` on DBR 14.3-16.x, `target/spark4/sparkner-0.1.0-SNAPSHOT-spark4.jar`
// MAGIC on DBR 17+, e.g. uploaded to a volume) as a cluster library; the
// MAGIC cluster needs Java 17 (`JNAME=zulu17-ca-amd64` in its environment before DBR 16) and
// MAGIC single-user access mode. Each step is the `sparkner` subcommand of the same name, with the same
// MAGIC options as on the command line (`--help` prints them). Paths are any Hadoop path: `/Volumes/...`,
// MAGIC `dbfs:/...`, `abfss://...`, `s3a://...`.

// COMMAND ----------

dbutils.widgets.text("root", "/Volumes/main/sparkner/files", "Volume with data/, models/, work/")
dbutils.widgets.text("replicas", "2", "Training replicas (one GPU each on a GPU cluster)")
dbutils.widgets.text("table", "main.news.articles", "Table to score (a text column)")

val root = dbutils.widgets.get("root")
val replicas = dbutils.widgets.get("replicas")
val table = dbutils.widgets.get("table")
val prepared = s"$root/work/prepared"
val model = s"$root/work/models/bge-ner"
val report = s"$root/work/reports/bge-ner"

/** Runs one sparkner subcommand on this notebook's Spark session; fails the cell when it fails. */
def sparkner(args: String*): Unit = {
  val code = io.sparkner.cli.Main.commandLine().execute(args: _*)
  require(code == 0, s"sparkner ${args.head} failed (exit code $code); the error is printed above")
}

// COMMAND ----------

// MAGIC %md ## 1. prepare: corpora → documents, features, quarantine

// COMMAND ----------

sparkner(
  "prepare",
  "--input", s"stockmark:ja:$root/data/stockmark/ner.json",
  "--input", s"panx:ja:$root/data/panx/ja",
  "--input", s"panx:ko:$root/data/panx/ko",
  "--input", s"panx:zh:$root/data/panx/zh",
  "--type-map", "ORG-P=ORG,ORG-O=ORG",
  "--tokenizer", s"$root/models/bge-small-zh-v1.5",
  "--output", prepared,
  "--overwrite")

// COMMAND ----------

// what was rejected, and why
display(spark.read.parquet(s"$prepared/quarantine").groupBy("source", "reason").count())

// COMMAND ----------

// MAGIC %md ## 2. train: fine-tune in one barrier stage (one replica per GPU)

// COMMAND ----------

sparkner(
  "train",
  "--data", prepared,
  "--model", s"$root/models/bge-small-zh-v1.5",
  "--output", model,
  "--conf", "/Workspace/Shared/sparkner/conf/train-stockmark.json",
  "--replicas", replicas)

// COMMAND ----------

// the loss curve and the validation F1 after each epoch (also in MLflow when MLFLOW_TRACKING_URI is set)
display(spark.read.json(s"$model/metrics.jsonl"))

// COMMAND ----------

// MAGIC %md ## 3. evaluate: seqeval P/R/F1 per type and language, with the HTML report

// COMMAND ----------

sparkner("evaluate", "--model", model, "--data", prepared, "--split", "test", "--report", report)

// COMMAND ----------

displayHTML(spark.read.option("wholetext", "true").text(s"$report/report.html").head.getString(0))

// COMMAND ----------

// MAGIC %md ## 4. score a table: NerTagger is a Spark ML Transformer

// COMMAND ----------

import io.sparkner.score.NerTagger

val tagger = new NerTagger()
  .setInputCol("text")
  .setOutputCol("entities")
  .setModelPath(model)
  .setBatchSize(32)
  .setMaxLength(256)
  .setStride(64)
  .setDevice("cpu")

val scored = tagger.transform(spark.table(table))
display(scored.select("text", "entities"))

// COMMAND ----------

scored.write.mode("overwrite").saveAsTable(s"${table}_ner")

// COMMAND ----------

// MAGIC %md
// MAGIC ## Retraining
// MAGIC `sparkner retrain` runs prepare → train → evaluate → promote with a registry: see the
// MAGIC `sparkner_retrain` job of `deploy/databricks/databricks.yml`, or run it here:

// COMMAND ----------

// sparkner("retrain", "--conf", "/Workspace/Shared/sparkner/deploy/databricks/retrain.json")
// the champion: the newest promotion (registry/champion is a copy of it, which can lag if a driver
// stopped right after promoting)
display(spark.read.option("multiLine", "true").json(s"$root/registry/promotions").orderBy(org.apache.spark.sql.functions.desc("generation")).limit(1))

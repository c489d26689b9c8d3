# Databricks notebook source
# MAGIC %md
# MAGIC # sparkner on Databricks from Python: prepare → train → evaluate → score
# MAGIC
# MAGIC The sparkner jar (attached as a cluster library) is called through the JVM of this Spark
# MAGIC session (py4j). The cluster needs Java 17 (`JNAME=zulu17-ca-amd64` before DBR 16) and
# MAGIC single-user access mode (shared clusters do not expose `spark._jvm`).

# COMMAND ----------

dbutils.widgets.text("root", "/Volumes/main/sparkner/files", "Volume with data/, models/, work/")
dbutils.widgets.text("replicas", "2", "Training replicas (one GPU each on a GPU cluster)")
dbutils.widgets.text("table", "main.news.articles", "Table to score (a text column)")

root = dbutils.widgets.get("root")
replicas = dbutils.widgets.get("replicas")
table = dbutils.widgets.get("table")
prepared = f"{root}/work/prepared"
model = f"{root}/work/models/bge-ner"
report = f"{root}/work/reports/bge-ner"

from pyspark.sql import DataFrame


def sparkner(*args):
    """Runs one sparkner subcommand on this session's Spark; raises when it fails."""
    jvm = spark.sparkContext._jvm
    jargs = spark.sparkContext._gateway.new_array(jvm.java.lang.String, len(args))
    for i, a in enumerate(args):
        jargs[i] = str(a)
    code = jvm.io.sparkner.cli.Main.commandLine().execute(jargs)
    if code != 0:
        raise RuntimeError(f"sparkner {args[0]} failed (exit code {code}); see the driver log")

# COMMAND ----------

sparkner(
    "prepare",
    "--input", f"stockmark:ja:{root}/data/stockmark/ner.json",
    "--input", f"panx:ja:{root}/data/panx/ja",
    "--input", f"panx:ko:{root}/data/panx/ko",
    "--input", f"panx:zh:{root}/data/panx/zh",
    "--type-map", "ORG-P=ORG,ORG-O=ORG",
    "--tokenizer", f"{root}/models/bge-small-zh-v1.5",
    "--output", prepared,
    "--overwrite",
)
display(spark.read.option("multiLine", "true").json(f"{prepared}/summary.json"))

# COMMAND ----------

sparkner(
    "train",
    "--data", prepared,
    "--model", f"{root}/models/bge-small-zh-v1.5",
    "--output", model,
    "--conf", "/Workspace/Shared/sparkner/conf/train-stockmark.json",
    "--replicas", replicas,
)
display(spark.read.json(f"{model}/metrics.jsonl"))

# COMMAND ----------

sparkner("evaluate", "--model", model, "--data", prepared, "--split", "test", "--report", report)
displayHTML(spark.read.option("wholetext", "true").text(f"{report}/report.html").head()[0])

# COMMAND ----------

# NerTagger, the Spark ML Transformer of the jar, used from Python through its Java object
jvm = spark.sparkContext._jvm
tagger = (
    jvm.io.sparkner.score.NerTagger()
    .setInputCol("text")
    .setOutputCol("entities")
    .setModelPath(model)
    .setBatchSize(32)
    .setMaxLength(256)
    .setStride(64)
    .setDevice("cpu")
)
scored = DataFrame(tagger.transform(spark.table(table)._jdf), spark)
display(scored.select("text", "entities"))

# COMMAND ----------

scored.write.mode("overwrite").saveAsTable(f"{table}_ner")

# COMMAND ----------

# the champion of sparkner retrain (deploy/databricks/databricks.yml schedules it): the newest
# promotion (registry/champion is a copy of it, which can lag if a driver stopped right after promoting)
promotions = spark.read.option("multiLine", "true").json(f"{root}/registry/promotions")
display(promotions.orderBy(promotions.generation.desc()).limit(1))

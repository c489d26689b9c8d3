"""PySpark wrapper of io.sparkner.score.NerTagger, a Spark ML Transformer that tags a text column
with a fine-tuned Hugging Face token-classification checkpoint. All work happens in the JVM: put the
sparkner jar on the classpath (spark-submit --jars, or a cluster library on Databricks).

    from sparkner import NerTagger
    tagger = NerTagger(modelPath="abfss://models@acct.dfs.core.windows.net/ner", inputCol="body")
    tagged = tagger.transform(df)   # + entities array<struct<text,type,start,end,score>>
"""

import sys

from pyspark import keyword_only
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import JavaMLReadable, JavaMLReader, JavaMLWritable
from pyspark.ml.wrapper import JavaTransformer

_JAVA_CLASS = "io.sparkner.score.NerTagger"


class _NerTaggerReader(JavaMLReader):
    """JavaMLReader derives the JVM class from the Python module name (pyspark.ml.x -> org.apache.spark.ml.x);
    ours lives elsewhere."""

    @classmethod
    def _java_loader_class(cls, clazz):
        return _JAVA_CLASS


class NerTagger(JavaTransformer, JavaMLReadable, JavaMLWritable):
    """Named-entity tagging of a string column; see io.sparkner.score.NerTagger for the semantics.

    Adds ``outputCol`` = array<struct<text:string,type:string,start:int,end:int,score:float>>, spans in
    code points of the original text (as Python indexes str). Null/empty text gives an empty array; a
    text longer than ``maxChars`` code points gives null.
    """

    inputCol = Param(Params._dummy(), "inputCol", "the text column to tag (string)", TypeConverters.toString)
    outputCol = Param(Params._dummy(), "outputCol", "the entities column to add (must not exist yet)", TypeConverters.toString)
    modelPath = Param(
        Params._dummy(),
        "modelPath",
        "Hugging Face token-classification checkpoint directory (config.json with id2label, model.safetensors,"
        " tokenizer.json) on any Hadoop path",
        TypeConverters.toString,
    )
    batchSize = Param(Params._dummy(), "batchSize", "windows per forward pass (> 0)", TypeConverters.toInt)
    maxLength = Param(
        Params._dummy(),
        "maxLength",
        "tokens per model input, special tokens included; longer texts are scored in overlapping windows (> 0)",
        TypeConverters.toInt,
    )
    stride = Param(Params._dummy(), "stride", "tokens shared by consecutive windows of a long text", TypeConverters.toInt)
    device = Param(Params._dummy(), "device", "auto (the GPU Spark assigned the task, else CPU), cpu, or gpu", TypeConverters.toString)
    maxChars = Param(
        Params._dummy(),
        "maxChars",
        "texts of more code points are not scored: null entities, counted as text_longer_than_max_chars",
        TypeConverters.toInt,
    )
    sortByLength = Param(
        Params._dummy(),
        "sortByLength",
        "expert: sort the windows read ahead by length before batching; false batches them in arrival order",
        TypeConverters.toBoolean,
    )

    @keyword_only
    def __init__(self, *, inputCol="text", outputCol="entities", modelPath=None, batchSize=32, maxLength=256,
                 stride=64, device="auto", maxChars=1000000, sortByLength=True):
        super().__init__()
        self._java_obj = self._new_java_obj(_JAVA_CLASS, self.uid)
        # the same defaults as the JVM class
        self._setDefault(inputCol="text", outputCol="entities", batchSize=32, maxLength=256, stride=64,
                         device="auto", maxChars=1000000, sortByLength=True)
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCol="text", outputCol="entities", modelPath=None, batchSize=32, maxLength=256,
                  stride=64, device="auto", maxChars=1000000, sortByLength=True):
        return self._set(**self._input_kwargs)

    @classmethod
    def read(cls):
        return _NerTaggerReader(cls)

    def setInputCol(self, value):
        return self._set(inputCol=value)

    def setOutputCol(self, value):
        return self._set(outputCol=value)

    def setModelPath(self, value):
        return self._set(modelPath=value)

    def setBatchSize(self, value):
        return self._set(batchSize=value)

    def setMaxLength(self, value):
        return self._set(maxLength=value)

    def setStride(self, value):
        return self._set(stride=value)

    def setDevice(self, value):
        return self._set(device=value)

    def setMaxChars(self, value):
        return self._set(maxChars=value)

    def setSortByLength(self, value):
        return self._set(sortByLength=value)

    def getInputCol(self):
        return self.getOrDefault(self.inputCol)

    def getOutputCol(self):
        return self.getOrDefault(self.outputCol)

    def getModelPath(self):
        return self.getOrDefault(self.modelPath)


# PipelineModel.load (and any JavaParams._from_java) finds the Python class of a JVM stage by turning
# its class name into a module path: io.sparkner.score.NerTagger -> module "io.sparkner.score". Python's
# own "io" module is in the way of a real package of that name, so the module is registered under it.
sys.modules.setdefault("io.sparkner", sys.modules[__name__])
sys.modules.setdefault("io.sparkner.score", sys.modules[__name__])

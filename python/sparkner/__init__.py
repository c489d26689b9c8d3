"""PySpark wrappers of sparkner's Spark ML stages (the JVM classes come with the sparkner jar)."""

from sparkner.ner_tagger import NerTagger

__all__ = ["NerTagger"]

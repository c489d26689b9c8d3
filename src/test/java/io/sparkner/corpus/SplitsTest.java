package io.sparkner.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class SplitsTest {

  /**
   * Expected values from Python: int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:8], 16)
   * % 100
   */
  @Test
  void bucketMatchesThePythonFormula() {
    assertEquals(72, Splits.bucket("sparkner", "2470626")); // 36204ebc
    assertEquals(94, Splits.bucket("sparkner", "3572156")); // 91f42896
    assertEquals(25, Splits.bucket("abc", "x")); // 68a170c1
    assertEquals(42, Splits.bucket("sparkner", "𠮷")); // c99332ea: UTF-8 of a non-BMP key
  }

  @Test
  void bucketsMapToSplitsAt80And90() {
    assertEquals(Splits.TRAIN, Splits.of("sparkner", "2470626")); // 72
    assertEquals(Splits.TEST, Splits.of("sparkner", "3572156")); // 94
  }

  @Test
  void splitNamesComeFromFileNames() {
    assertEquals(Splits.TRAIN, Splits.fromFileName("train"));
    assertEquals(Splits.VALIDATION, Splits.fromFileName("dev"));
    assertEquals(Splits.VALIDATION, Splits.fromFileName("dev-ja.tsv"));
    assertEquals(Splits.TEST, Splits.fromFileName("test.conll"));
    assertEquals(Splits.TRAIN, Splits.fromFileName("train-ja.tsv"));
    assertNull(Splits.fromFileName("ner.json"));
    assertNull(Splits.fromFileName("contest.txt"));
  }
}

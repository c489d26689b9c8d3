package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The driver's warning when the ring's secret would cross an unencrypted cluster network. */
class RingSecretWarningTest {
  @Test
  void aClusterMasterWithoutNetworkEncryptionIsWarnedAbout() {
    org.apache.spark.SparkConf local =
        new org.apache.spark.SparkConf().set("spark.master", "local[3,4]");
    assertEquals(null, BarrierTraining.unencryptedSecretWarning(local));
    org.apache.spark.SparkConf cluster =
        new org.apache.spark.SparkConf().set("spark.master", "spark://head:7077");
    String w = BarrierTraining.unencryptedSecretWarning(cluster);
    assertTrue(
        w != null && w.contains("spark.network.crypto.enabled") && w.contains("task closure"), w);
    assertEquals(
        null,
        BarrierTraining.unencryptedSecretWarning(
            cluster.clone().set("spark.network.crypto.enabled", "true")));
    assertTrue(
        BarrierTraining.unencryptedSecretWarning(
                new org.apache.spark.SparkConf().set("spark.master", "yarn"))
            != null);
  }
}

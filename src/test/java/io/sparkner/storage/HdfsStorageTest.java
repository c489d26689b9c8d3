package io.sparkner.storage;

import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * The pipeline on {@code hdfs://} against an in-process HDFS (a NameNode and a DataNode on
 * loopback).
 */
class HdfsStorageTest extends StoragePipeline {
  private static final String CLOSE_RETRY_DELAY =
      "dfs.client.block.write.locateFollowingBlock.initial.delay.ms";
  private MiniDFSCluster cluster;

  @Override
  String start(Path work, Configuration conf) throws Exception {
    Configuration c = new Configuration();
    c.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, work.resolve("hdfs").toString());
    // the client asks the NameNode again after 10 ms, not 400, when a file it closes is not
    // complete
    // yet (the DataNode's report of the last block still on its way): most closes here (a
    // checkpoint
    // is eight files) would otherwise sleep the full 400 ms, doubling on every retry
    conf.setInt(CLOSE_RETRY_DELAY, 10);
    cluster = new MiniDFSCluster.Builder(c).numDataNodes(1).build();
    cluster.waitActive();
    return cluster.getURI().toString().replaceAll("/$", "");
  }

  /**
   * HDFS decides a create-only write in the NameNode: one of many racing writers creates the file.
   */
  @org.junit.jupiter.api.Test
  void createNewWritesOnceHoweverManyWritersRace() throws Exception {
    String f = root + "/registry/promotions/0000000001.json";
    java.util.List<Boolean> won = CreateNewRace.race(f, 8, conf);
    org.junit.jupiter.api.Assertions.assertEquals(
        1, won.stream().filter(w -> w).count(), won.toString());
    org.junit.jupiter.api.Assertions.assertEquals(
        "writer " + won.indexOf(true), HadoopFiles.readString(f, conf));
    org.junit.jupiter.api.Assertions.assertFalse(HadoopFiles.createNew(f, "late", conf));
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(root + "/registry/promotions");
    org.junit.jupiter.api.Assertions.assertEquals(
        java.util.List.of("0000000001.json"),
        java.util.Arrays.stream(dir.getFileSystem(conf).listStatus(dir))
            .map(s -> s.getPath().getName())
            .toList(),
        "no temporary file is left");
  }

  @Override
  String freshRoot() {
    return root + "/models";
  }

  @Override
  void stop() {
    if (cluster != null) {
      cluster.shutdown();
    }
    conf.unset(CLOSE_RETRY_DELAY);
  }
}

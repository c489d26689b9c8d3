package io.sparkner.storage;

import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/** The pipeline on {@code hdfs://} against an in-process HDFS (a NameNode and a DataNode on loopback). */
class HdfsStorageTest extends StoragePipeline {
  private MiniDFSCluster cluster;

  @Override
  String start(Path work, Configuration conf) throws Exception {
    Configuration c = new Configuration();
    c.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, work.resolve("hdfs").toString());
    cluster = new MiniDFSCluster.Builder(c).numDataNodes(1).build();
    cluster.waitActive();
    return cluster.getURI().toString().replaceAll("/$", "");
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
  }
}

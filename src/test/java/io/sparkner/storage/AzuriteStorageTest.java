package io.sparkner.storage;

import java.net.URI;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * The pipeline on {@code wasb://} against Azurite's Blob service, through hadoop-azure's emulator
 * mode ({@code wasb://CONTAINER@storageemulator/}). Skipped, saying why, where Azurite is not
 * installed. {@code abfss://} is not covered: Azurite has no ADLS Gen2 (DFS) API.
 */
class AzuriteStorageTest extends StoragePipeline {
  private AzuriteServer azurite;

  @Override
  String start(Path work, Configuration conf) throws Exception {
    azurite = AzuriteServer.start(work);
    return "wasb://sparkner@storageemulator";
  }

  @Override
  String freshRoot() {
    return "wasb://models@storageemulator"; // a container that does not exist yet
  }

  @Override
  void stop() throws Exception {
    if (azurite != null) {
      FileSystem.get(URI.create(root + "/"), conf).close();
      FileSystem.get(URI.create(freshRoot() + "/"), conf).close();
      azurite.close();
    }
  }
}

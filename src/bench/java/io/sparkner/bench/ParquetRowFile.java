package io.sparkner.bench;

import io.sparkner.corpus.Document;
import io.sparkner.corpus.Entity;
import io.sparkner.corpus.Quarantined;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.api.WriteSupport;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.util.GenericArrayData;
import org.apache.spark.sql.execution.datasources.parquet.ParquetWriteSupport;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * One Parquet file of Catalyst rows written from a plain thread, with no Spark job: Spark's own
 * {@link ParquetWriteSupport} (the encoder Spark's Parquet writer uses, so the same column layout)
 * under parquet-hadoop's {@link ParquetWriter}, snappy as Spark's default. What the
 * prepare-throughput benchmark's writing loop uses to produce the job's output single-threaded.
 */
final class ParquetRowFile implements Closeable {
  private final ParquetWriter<InternalRow> writer;

  ParquetRowFile(java.nio.file.Path file, StructType schema) {
    Configuration conf = new Configuration(false);
    ParquetWriteSupport.setSchema(schema, conf);
    // the SQL settings Spark's ParquetFileFormat.prepareWrite passes on to the write support
    // (defaults)
    conf.set("spark.sql.parquet.writeLegacyFormat", "false");
    conf.set("spark.sql.parquet.outputTimestampType", "INT96");
    conf.set("spark.sql.parquet.fieldId.write.enabled", "true");
    try {
      writer =
          new Builder(new Path(file.toUri()))
              .withConf(conf)
              .withCompressionCodec(CompressionCodecName.SNAPPY)
              .withWriteMode(ParquetFileWriter.Mode.OVERWRITE)
              .build();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + file, e);
    }
  }

  void write(InternalRow row) {
    try {
      writer.write(row);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws IOException {
    writer.close();
  }

  /** A documents row (CorpusTables.DOCUMENTS) as Catalyst values. */
  static InternalRow document(Document d) {
    Object[] ents = new Object[d.entities().size()];
    for (int i = 0; i < ents.length; i++) {
      Entity e = d.entities().get(i);
      ents[i] =
          new GenericInternalRow(
              new Object[] {e.start(), e.end(), UTF8String.fromString(e.type())});
    }
    return new GenericInternalRow(
        new Object[] {
          utf8(d.id()),
          utf8(d.lang()),
          utf8(d.source()),
          utf8(d.split()),
          utf8(d.text()),
          new GenericArrayData(ents)
        });
  }

  /** A quarantine row (CorpusTables.QUARANTINE). */
  static InternalRow quarantined(Quarantined q) {
    return new GenericInternalRow(
        new Object[] {
          utf8(q.id()), utf8(q.source()), utf8(q.raw()), utf8(q.reason()), utf8(q.detail())
        });
  }

  private static UTF8String utf8(String s) {
    return s == null ? null : UTF8String.fromString(s);
  }

  private static final class Builder extends ParquetWriter.Builder<InternalRow, Builder> {
    Builder(Path path) {
      super(path);
    }

    @Override
    protected Builder self() {
      return this;
    }

    @Override
    @SuppressWarnings(
        "deprecation") // Parquet 1.15 (Spark 4) deprecates it for a ParquetConfiguration variant
    protected WriteSupport<InternalRow> getWriteSupport(Configuration conf) {
      return new ParquetWriteSupport();
    }
  }
}

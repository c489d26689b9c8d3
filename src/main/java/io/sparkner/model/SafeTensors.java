package io.sparkner.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code safetensors} format: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data. Reads F32, F16 and BF16
 * (as float32) and writes F32.
 */
public final class SafeTensors {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SafeTensors() {}

  /** A tensor as float32 values in row-major order. */
  public record Tensor(long[] shape, float[] data, String storedDtype) {
    public long size() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

  /** Reads every tensor of a local file, in the file's order. */
  public static Map<String, Tensor> read(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, len, 0);
      long headerLen = len.flip().getLong();
      if (headerLen <= 0 || headerLen > 100_000_000L || 8 + headerLen > ch.size()) {
        throw new IOException(file + ": not a safetensors file (header length " + headerLen + ")");
      }
      ByteBuffer header = ByteBuffer.allocate((int) headerLen);
      readFully(ch, header, 8);
      JsonNode root = JSON.readTree(new String(header.array(), StandardCharsets.UTF_8));
      long dataStart = 8 + headerLen;
      Map<String, Tensor> out = new LinkedHashMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equals("__metadata__")) {
          continue;
        }
        JsonNode t = e.getValue();
        String dtype = t.path("dtype").asText();
        long[] shape = new long[t.path("shape").size()];
        for (int i = 0; i < shape.length; i++) {
          shape[i] = t.path("shape").get(i).asLong();
        }
        long begin = t.path("data_offsets").get(0).asLong();
        long end = t.path("data_offsets").get(1).asLong();
        long count = 1;
        for (long d : shape) {
          count *= d;
        }
        int width = switch (dtype) {
          case "F32" -> 4;
          case "F16", "BF16" -> 2;
          default -> throw new IOException(file + ": tensor " + e.getKey() + " has dtype " + dtype + " (only F32, F16, BF16 are read)");
        };
        if (end - begin != count * width || dataStart + end > ch.size()) {
          throw new IOException(file + ": tensor " + e.getKey() + " has a byte range that does not match its shape");
        }
        ByteBuffer raw = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + begin, end - begin).order(ByteOrder.LITTLE_ENDIAN);
        float[] data = new float[Math.toIntExact(count)];
        switch (dtype) {
          case "F32" -> raw.asFloatBuffer().get(data);
          case "F16" -> {
            for (int i = 0; i < data.length; i++) {
              data[i] = Half.toFloat(raw.getShort(i * 2));
            }
          }
          default -> {
            for (int i = 0; i < data.length; i++) {
              data[i] = Float.intBitsToFloat((raw.getShort(i * 2) & 0xFFFF) << 16);
            }
          }
        }
        out.put(e.getKey(), new Tensor(shape, data, dtype));
      }
      return out;
    }
  }

  /** Writes F32 tensors, sorted by name as Hugging Face does, header padded to 8 bytes. */
  public static void write(Map<String, Tensor> tensors, OutputStream out) throws IOException {
    Map<String, Tensor> sorted = new TreeMap<>(tensors);
    ObjectNode header = JSON.createObjectNode();
    header.putObject("__metadata__").put("format", "pt");
    long offset = 0;
    for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
      ObjectNode t = header.putObject(e.getKey());
      t.put("dtype", "F32");
      var shape = t.putArray("shape");
      for (long d : e.getValue().shape()) {
        shape.add(d);
      }
      long bytes = e.getValue().size() * 4;
      t.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] h = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    int padded = (h.length + 7) / 8 * 8;
    ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(padded).put(h);
    while (head.hasRemaining()) {
      head.put((byte) ' ');
    }
    out.write(head.array());
    ByteBuffer chunk = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    FloatBuffer floats = chunk.asFloatBuffer();
    for (Tensor t : sorted.values()) {
      float[] d = t.data();
      for (int i = 0; i < d.length; ) {
        int n = Math.min(floats.capacity(), d.length - i);
        floats.clear();
        floats.put(d, i, n);
        out.write(chunk.array(), 0, n * 4);
        i += n;
      }
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
    long p = position;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, p);
      if (n < 0) {
        throw new IOException("unexpected end of file");
      }
      p += n;
    }
  }
}

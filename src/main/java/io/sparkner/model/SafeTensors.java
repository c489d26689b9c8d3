package io.sparkner.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code safetensors} format: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw little-endian data. Reads F32, F16 and BF16
 * (as float32) and writes F32.
 */
public final class SafeTensors {
  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

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

  /**
   * Reads every tensor of a local file, in the file's order. A damaged or malformed file is an
   * {@link IOException} naming the file (and the tensor, where one is at fault), never another
   * exception and never a tensor read from the wrong bytes: the header length must fit the file,
   * the header must be a JSON object without duplicate keys, and each tensor needs a known dtype, a
   * shape of non-negative dimensions whose product does not overflow, and {@code data_offsets} of
   * exactly two integers {@code begin <= end} inside the data section whose length is the shape's
   * size times the dtype's width; no two tensors may share a byte.
   */
  public static Map<String, Tensor> read(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      Header h =
          header(
              file.toString(),
              size,
              (position, into) -> readFully(ch, ByteBuffer.wrap(into), position, file));
      List<Entry> entries = h.entries();
      long dataStart = h.dataStart();
      Map<String, Tensor> out = new LinkedHashMap<>();
      for (Entry e : entries) {
        float[] data = new float[(int) e.count()];
        if (e.count() > 0) {
          ByteBuffer raw =
              ch.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), e.end() - e.begin())
                  .order(ByteOrder.LITTLE_ENDIAN);
          switch (e.dtype()) {
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
        }
        out.put(e.name(), new Tensor(e.shape(), data, e.dtype()));
      }
      return out;
    }
  }

  /** Reads {@code into.length} bytes at {@code position} of a file, or fails. */
  @FunctionalInterface
  public interface RangeReader {
    void readFully(long position, byte[] into) throws IOException;
  }

  /**
   * Names and shapes of the tensors of a safetensors file from its header only, checked as {@link
   * #read} checks it; for files on any storage ({@code in} reads byte ranges of it).
   */
  public static Map<String, long[]> shapes(String file, long size, RangeReader in)
      throws IOException {
    Map<String, long[]> out = new LinkedHashMap<>();
    for (Entry e : header(file, size, in).entries()) {
      out.put(e.name(), e.shape());
    }
    return out;
  }

  /**
   * The checked entries of a header, their offsets counted from {@code dataStart}, the byte after
   * the header.
   */
  private record Header(List<Entry> entries, long dataStart) {}

  private static Header header(String file, long size, RangeReader in) throws IOException {
    if (size < 8) {
      throw new IOException(
          file
              + ": not a safetensors file ("
              + size
              + " bytes, shorter than the 8-byte header length)");
    }
    byte[] len = new byte[8];
    in.readFully(0, len);
    long headerLen = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
    if (headerLen <= 0 || headerLen > MAX_HEADER || headerLen > size - 8) {
      throw new IOException(
          file
              + ": not a safetensors file or truncated (header length "
              + headerLen
              + ", file of "
              + size
              + " bytes)");
    }
    byte[] header = new byte[(int) headerLen];
    in.readFully(8, header);
    JsonNode root;
    try {
      root = JSON.readTree(header);
    } catch (IOException e) {
      throw new IOException(
          file
              + ": the safetensors header is not valid JSON: "
              + (e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()),
          e);
    }
    if (root == null || !root.isObject()) {
      throw new IOException(file + ": the safetensors header is not a JSON object");
    }
    long dataLen = size - 8 - headerLen;
    List<Entry> entries = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals("__metadata__")) {
        if (!e.getValue().isObject()) {
          throw new IOException(file + ": __metadata__ is not a JSON object");
        }
        continue;
      }
      entries.add(entry(file, e.getKey(), e.getValue(), dataLen));
    }
    List<Entry> byOffset = new ArrayList<>(entries);
    byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
    Entry furthest = null; // of the non-empty ranges so far, the one that ends last
    for (Entry b : byOffset) {
      if (b.end() == b.begin()) {
        continue; // an empty tensor owns no byte
      }
      if (furthest != null && b.begin() < furthest.end()) {
        throw new IOException(
            file
                + ": tensors '"
                + furthest.name()
                + "' ["
                + furthest.begin()
                + ", "
                + furthest.end()
                + ") and '"
                + b.name()
                + "' ["
                + b.begin()
                + ", "
                + b.end()
                + ") overlap in the data section");
      }
      if (furthest == null || b.end() > furthest.end()) {
        furthest = b;
      }
    }
    return new Header(entries, 8 + headerLen);
  }

  /** The largest header read (the format's own limit is 100 MB). */
  private static final long MAX_HEADER = 100_000_000L;

  /**
   * A tensor's header entry, checked: {@code count} elements in bytes [begin, end) of the data
   * section.
   */
  private record Entry(String name, String dtype, long[] shape, long count, long begin, long end) {}

  private static Entry entry(String file, String name, JsonNode t, long dataLen)
      throws IOException {
    String at = file + ": tensor '" + name + "'";
    if (!t.isObject()) {
      throw new IOException(at + ": the header entry is not a JSON object");
    }
    JsonNode dtypeNode = t.get("dtype");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw new IOException(at + " has no dtype");
    }
    String dtype = dtypeNode.asText();
    int width =
        switch (dtype) {
          case "F32" -> 4;
          case "F16", "BF16" -> 2;
          default ->
              throw new IOException(at + " has dtype " + dtype + " (only F32, F16, BF16 are read)");
        };
    JsonNode shapeNode = t.get("shape");
    if (shapeNode == null || !shapeNode.isArray()) {
      throw new IOException(at + " has no shape (an array of dimensions)");
    }
    long[] shape = new long[shapeNode.size()];
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
        throw new IOException(
            at + " has shape " + shapeNode + ": dimension " + i + " is not a non-negative integer");
      }
      shape[i] = d.asLong();
      try {
        count = Math.multiplyExact(count, shape[i]);
      } catch (ArithmeticException overflow) {
        throw new IOException(at + " has shape " + shapeNode + ", whose element count overflows");
      }
    }
    JsonNode offsets = t.get("data_offsets");
    if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
      throw new IOException(at + " has data_offsets " + offsets + " (needs [begin, end])");
    }
    for (JsonNode o : offsets) {
      if (!o.isIntegralNumber() || !o.canConvertToLong() || o.asLong() < 0) {
        throw new IOException(
            at + " has data_offsets " + offsets + " (needs two non-negative integers)");
      }
    }
    long begin = offsets.get(0).asLong();
    long end = offsets.get(1).asLong();
    if (begin > end || end > dataLen) {
      throw new IOException(
          at
              + " has data_offsets "
              + offsets
              + " outside the data section of "
              + dataLen
              + " bytes (truncated file?)");
    }
    long bytes;
    try {
      bytes = Math.multiplyExact(count, width);
    } catch (ArithmeticException overflow) {
      bytes = -1;
    }
    if (end - begin != bytes) {
      throw new IOException(
          at
              + " has "
              + (end - begin)
              + " bytes in data_offsets "
              + offsets
              + " but its shape "
              + shapeNode
              + " of "
              + dtype
              + " needs "
              + (bytes < 0 ? "more than 2^63" : Long.toString(bytes)));
    }
    if (count > Integer.MAX_VALUE - 8) {
      throw new IOException(at + " has " + count + " elements, more than one Java array holds");
    }
    return new Entry(name, dtype, shape, count, begin, end);
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

  private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path file)
      throws IOException {
    long p = position;
    while (buf.hasRemaining()) {
      int n = ch.read(buf, p);
      if (n < 0) {
        throw new IOException(file + ": unexpected end of file");
      }
      p += n;
    }
  }
}

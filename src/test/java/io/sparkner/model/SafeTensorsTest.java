package io.sparkner.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged and malformed safetensors files: every one is an IOException naming the file (and the
 * tensor at fault), and whatever loads is exactly what the header describes.
 */
class SafeTensorsTest {
  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  @TempDir Path dir;

  /**
   * A file of {@code header} (padded, with its length) and {@code dataBytes} bytes of data 0, 1, 2,
   * ...
   */
  private Path file(String name, String header, int dataBytes) throws IOException {
    byte[] data = new byte[dataBytes];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) i;
    }
    Path f = dir.resolve(name);
    Files.write(f, assemble(header.getBytes(StandardCharsets.UTF_8), data, 0));
    return f;
  }

  private static byte[] assemble(byte[] header, byte[] data, long lengthDelta) {
    int padded = (header.length + 7) / 8 * 8;
    ByteBuffer b = ByteBuffer.allocate(8 + padded + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(padded + lengthDelta).put(header);
    while (b.position() < 8 + padded) {
      b.put((byte) ' ');
    }
    b.put(data);
    return b.array();
  }

  private IOException rejected(Path f, String... named) {
    IOException e = assertThrows(IOException.class, () -> SafeTensors.read(f));
    assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    for (String n : named) {
      assertTrue(e.getMessage().contains(n), "should name " + n + ": " + e.getMessage());
    }
    return e;
  }

  // --- each check, once ---

  @Test
  void aNegativeBeginIsRejectedNamingTheTensor() throws IOException {
    rejected(
        file(
            "neg.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}",
            8),
        "'w'");
  }

  @Test
  void missingOrMisshapenDataOffsetsAreRejected() throws IOException {
    rejected(
        file("none.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4),
        "'w'",
        "data_offsets");
    rejected(
        file(
            "three.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}",
            8),
        "'w'");
    rejected(
        file(
            "one.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", 8),
        "'w'");
    rejected(
        file(
            "text.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[\"0\",\"4\"]}}",
            8),
        "'w'");
    rejected(
        file(
            "frac.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4.5]}}",
            8),
        "'w'");
    rejected(
        file(
            "reversed.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}",
            8),
        "'w'");
  }

  @Test
  void aShapeWhoseElementCountOverflowsIsRejected() throws IOException {
    // 2^32 * 2^32 wraps to 0 in a long: an empty range "matched" it, and a tensor of that shape had
    // no data
    rejected(
        file(
            "overflow.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}",
            0),
        "'w'",
        "overflow");
    // 2^62 elements * 4 bytes wraps to 0 as well
    rejected(
        file(
            "bytes.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}",
            0),
        "'w'");
    rejected(
        file(
            "huge.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1e30],\"data_offsets\":[0,4]}}",
            4),
        "'w'");
  }

  @Test
  void negativeDimensionsAreRejected() throws IOException {
    // (-1) * (-1) = 1 element: the old reader loaded one float with the shape [-1, -1]
    rejected(
        file(
            "negdim.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1,-1],\"data_offsets\":[0,4]}}",
            4),
        "'w'",
        "dimension 0");
  }

  @Test
  void overlappingTensorsAreRejectedNamingBoth() throws IOException {
    rejected(
        file(
            "overlap.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            12),
        "'a'",
        "'b'",
        "overlap");
    // a range inside another, behind an empty tensor that sorts between them
    rejected(
        file(
            "inside.safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[2,2]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
            16),
        "'a'",
        "'b'");
  }

  @Test
  void aDuplicateTensorNameIsRejected() throws IOException {
    // the old reader kept the last entry silently
    rejected(
        file(
            "dup.safetensors",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
            8),
        "'w'");
  }

  @Test
  void headerLengthDtypeAndTruncationAreChecked() throws IOException {
    String ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    rejected(file("short-data.safetensors", ok, 7), "'w'", "outside the data section");
    rejected(file("dtype.safetensors", ok.replace("F32", "I64"), 8), "'w'", "I64");
    rejected(
        file("nodtype.safetensors", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
        "'w'",
        "dtype");
    rejected(
        file("noshape.safetensors", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8),
        "'w'",
        "shape");
    rejected(file("size.safetensors", ok.replace("[2]", "[3]"), 12), "'w'", "needs 12");
    rejected(file("array.safetensors", "[1,2]", 0));
    rejected(file("json.safetensors", "{\"w\":", 0), "JSON");
    Path longHeader = dir.resolve("len.safetensors");
    Files.write(longHeader, assemble(ok.getBytes(StandardCharsets.UTF_8), new byte[8], 1000));
    rejected(longHeader, "header length");
    Path tiny = dir.resolve("tiny.safetensors");
    Files.write(tiny, new byte[] {1, 2, 3});
    rejected(tiny);
    Path empty =
        file(
            "empty-ok.safetensors",
            "{\"__metadata__\":{\"format\":\"pt\"},\"e\":{\"dtype\":\"F16\",\"shape\":[0,3],\"data_offsets\":[0,0]}}",
            0);
    assertArrayEquals(new long[] {0, 3}, SafeTensors.read(empty).get("e").shape());
  }

  // --- the fuzz: random damage to a valid file ---

  /** A valid file: F32, F16 and BF16 tensors, an empty one, and metadata. */
  private static byte[] base() throws IOException {
    ObjectNode h = NODES.objectNode();
    h.putObject("__metadata__").put("format", "pt");
    int offset = 0;
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    Object[][] tensors = {
      {"emb.weight", "F32", new long[] {3, 4}},
      {"layer.0.bias", "F16", new long[] {5}},
      {"layer.0.weight", "BF16", new long[] {2, 2, 2}},
      {"empty", "F32", new long[] {0, 7}},
      {"classifier.bias", "F32", new long[] {3}},
    };
    Random r = new Random(1);
    for (Object[] t : tensors) {
      long n = 1;
      for (long d : (long[]) t[2]) {
        n *= d;
      }
      int width = t[1].equals("F32") ? 4 : 2;
      byte[] bytes = new byte[(int) n * width];
      r.nextBytes(bytes);
      data.write(bytes);
      ObjectNode e = h.putObject((String) t[0]);
      e.put("dtype", (String) t[1]);
      ArrayNode shape = e.putArray("shape");
      for (long d : (long[]) t[2]) {
        shape.add(d);
      }
      e.putArray("data_offsets").add(offset).add(offset + bytes.length);
      offset += bytes.length;
    }
    return assemble(JSON.writeValueAsBytes(h), data.toByteArray(), 0);
  }

  @Test
  void randomDamageIsEitherAnIOExceptionNamingTheFileOrExactlyWhatTheHeaderSays()
      throws IOException {
    byte[] base = base();
    int headerEnd = 8 + (int) ByteBuffer.wrap(base, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    Path f = dir.resolve("fuzz.safetensors");
    Random random = new Random(20261206L);
    int loaded = 0;
    int refused = 0;
    int cases = 3000;
    for (int c = 0; c < cases; c++) {
      int kind = c % 3;
      byte[] bytes;
      String what;
      if (kind == 0) {
        bytes = base.clone();
        int flips = 1 + random.nextInt(4);
        StringBuilder sb = new StringBuilder("flips");
        for (int i = 0; i < flips; i++) {
          // mostly in the length field and the header, where damage changes meaning
          int at =
              random.nextInt(10) < 6 ? random.nextInt(headerEnd) : random.nextInt(bytes.length);
          bytes[at] =
              random.nextBoolean()
                  ? (byte) (bytes[at] ^ (1 << random.nextInt(8)))
                  : (byte) random.nextInt(256);
          sb.append(' ').append(at);
        }
        what = sb.toString();
      } else if (kind == 1) {
        int len = random.nextInt(base.length);
        bytes = Arrays.copyOf(base, len);
        what = "truncated to " + len;
      } else {
        String[] edit = new String[1];
        bytes = edited(base, headerEnd, random, edit);
        what = "edit " + edit[0];
      }
      Files.write(f, bytes);
      Map<String, SafeTensors.Tensor> got;
      try {
        got = SafeTensors.read(f);
      } catch (IOException e) {
        assertNotNull(e.getMessage(), what);
        assertTrue(
            e.getMessage().contains(f.toString()),
            "case " + c + " (" + what + "): " + e.getMessage());
        refused++;
        continue;
      } catch (Throwable t) {
        throw new AssertionError("case " + c + " (" + what + "): " + t, t);
      }
      assertExactly(bytes, got, "case " + c + " (" + what + ")");
      loaded++;
    }
    // both outcomes are exercised, not one of them trivially
    assertTrue(loaded > 50, "loaded " + loaded);
    assertTrue(refused > 1000, "refused " + refused);
  }

  /** Edits one field of the header's JSON (or the length field) and reassembles the file. */
  private static byte[] edited(byte[] base, int headerEnd, Random random, String[] what)
      throws IOException {
    ObjectNode h = (ObjectNode) JSON.readTree(Arrays.copyOfRange(base, 8, headerEnd));
    byte[] data = Arrays.copyOfRange(base, headerEnd, base.length);
    List<String> names = new ArrayList<>();
    h.fieldNames()
        .forEachRemaining(
            n -> {
              if (!n.equals("__metadata__")) {
                names.add(n);
              }
            });
    String name = names.get(random.nextInt(names.size()));
    ObjectNode t = (ObjectNode) h.get(name);
    ArrayNode offsets = (ArrayNode) t.get("data_offsets");
    long begin = offsets.get(0).asLong();
    long end = offsets.get(1).asLong();
    long[] odd = {
      -1,
      -8,
      0,
      1,
      2,
      3,
      4,
      7,
      8,
      1L << 31,
      1L << 32,
      1L << 62,
      Long.MAX_VALUE,
      Long.MIN_VALUE,
      data.length,
      data.length + 4
    };
    long v = odd[random.nextInt(odd.length)];
    int e = random.nextInt(16);
    what[0] = e + " on " + name + " value " + v;
    long lengthDelta = 0;
    String duplicate = null;
    switch (e) {
      case 0 -> t.remove("data_offsets");
      case 1 -> t.remove("shape");
      case 2 -> t.remove("dtype");
      case 3 ->
          t.put(
              "dtype",
              new String[] {"F32", "F16", "BF16", "I64", "F64", "f32", ""}[random.nextInt(7)]);
      case 4 -> t.put("dtype", 32);
      case 5 -> ((ArrayNode) t.get("shape")).set(0, NODES.numberNode(v));
      case 6 -> ((ArrayNode) t.get("shape")).add(v);
      case 7 -> t.putArray("shape").add(v).add(v);
      case 8 -> offsets.set(random.nextInt(2), NODES.numberNode(v));
      case 9 -> { // shifted: may overlap a neighbour
        offsets.set(0, NODES.numberNode(begin + v));
        offsets.set(1, NODES.numberNode(end + v));
      }
      case 10 -> offsets.add(v);
      case 11 -> offsets.remove(random.nextInt(2));
      case 12 ->
          t.set(new String[] {"shape", "data_offsets"}[random.nextInt(2)], NODES.textNode("1"));
      case 13 -> h.set(name, NODES.numberNode(v));
      case 14 -> lengthDelta = v;
      default -> duplicate = name;
    }
    byte[] header = JSON.writeValueAsBytes(h);
    if (duplicate != null) {
      String s = new String(header, StandardCharsets.UTF_8);
      String entry = JSON.writeValueAsString(NODES.objectNode().set(duplicate, t));
      header =
          ("{" + entry.substring(1, entry.length() - 1) + "," + s.substring(1))
              .getBytes(StandardCharsets.UTF_8);
    }
    return assemble(header, data, lengthDelta);
  }

  /**
   * What a loaded file must be: every tensor of the header, decoded from its own bytes, none
   * sharing one.
   */
  private static void assertExactly(byte[] file, Map<String, SafeTensors.Tensor> got, String what)
      throws IOException {
    long headerLen = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    JsonNode h = JSON.readTree(Arrays.copyOfRange(file, 8, (int) (8 + headerLen)));
    int dataStart = (int) (8 + headerLen);
    Set<String> names = new TreeSet<>();
    h.fieldNames().forEachRemaining(names::add);
    names.remove("__metadata__");
    assertEquals(names, new TreeSet<>(got.keySet()), what);
    List<long[]> ranges = new ArrayList<>();
    for (Iterator<Map.Entry<String, SafeTensors.Tensor>> it = got.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<String, SafeTensors.Tensor> e = it.next();
      JsonNode t = h.get(e.getKey());
      SafeTensors.Tensor x = e.getValue();
      String dtype = t.get("dtype").textValue();
      assertEquals(dtype, x.storedDtype(), what);
      long[] shape = new long[t.get("shape").size()];
      long n = 1;
      for (int i = 0; i < shape.length; i++) {
        shape[i] = t.get("shape").get(i).longValue();
        assertTrue(shape[i] >= 0, what);
        n = Math.multiplyExact(n, shape[i]);
      }
      assertArrayEquals(shape, x.shape(), what);
      assertEquals(n, x.data().length, what);
      long begin = t.get("data_offsets").get(0).longValue();
      long end = t.get("data_offsets").get(1).longValue();
      int width = dtype.equals("F32") ? 4 : 2;
      assertTrue(begin >= 0 && end - begin == n * width && dataStart + end <= file.length, what);
      ByteBuffer raw =
          ByteBuffer.wrap(file, (int) (dataStart + begin), (int) (end - begin))
              .slice()
              .order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < n; i++) {
        float expected =
            switch (dtype) {
              case "F32" -> raw.getFloat(i * 4);
              case "F16" -> Half.toFloat(raw.getShort(i * 2));
              default -> Float.intBitsToFloat((raw.getShort(i * 2) & 0xFFFF) << 16);
            };
        assertEquals(
            Float.floatToIntBits(expected),
            Float.floatToIntBits(x.data()[i]),
            what + " " + e.getKey() + "[" + i + "]");
      }
      if (end > begin) {
        for (long[] r : ranges) {
          assertTrue(
              end <= r[0] || begin >= r[1], what + ": " + e.getKey() + " overlaps another tensor");
        }
        ranges.add(new long[] {begin, end});
      }
    }
  }

  @Test
  void theUndamagedFileLoadsEveryTensor() throws IOException {
    Path f = dir.resolve("base.safetensors");
    byte[] base = base();
    Files.write(f, base);
    Map<String, SafeTensors.Tensor> got = SafeTensors.read(f);
    assertEquals(
        List.of("emb.weight", "layer.0.bias", "layer.0.weight", "empty", "classifier.bias"),
        new ArrayList<>(got.keySet()));
    assertExactly(base, got, "base");
    Map<String, SafeTensors.Tensor> copy = new LinkedHashMap<>(got);
    copy.replaceAll((k, t) -> new SafeTensors.Tensor(t.shape(), t.data(), "F32"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    SafeTensors.write(copy, out);
    Path g = dir.resolve("rewritten.safetensors");
    Files.write(g, out.toByteArray());
    for (Map.Entry<String, SafeTensors.Tensor> e : SafeTensors.read(g).entrySet()) {
      assertArrayEquals(got.get(e.getKey()).data(), e.getValue().data(), 0f, e.getKey());
    }
  }
}

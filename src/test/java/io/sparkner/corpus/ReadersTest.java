package io.sparkner.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The readers on real files, without Spark: text rebuilt, spans right, ids and splits as designed.
 */
class ReadersTest {
  @TempDir Path dir;

  private List<ReadResult> read(
      String kind, String lang, String fileName, String content, ReadOptions o) throws IOException {
    Path f = dir.resolve(fileName);
    Files.createDirectories(f.getParent());
    Files.writeString(f, content, StandardCharsets.UTF_8);
    Iterator<ReadResult> it =
        CorpusReaders.read(
            new SourceFile(kind, lang, f.toUri().toString(), f.getFileName().toString()),
            new Configuration(),
            o);
    List<ReadResult> out = new ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }

  private List<ReadResult> read(String kind, String lang, String fileName, String content)
      throws IOException {
    return read(kind, lang, fileName, content, ReadOptions.defaults());
  }

  private static Document doc(ReadResult r) {
    return assertInstanceOf(Document.class, r, () -> "expected a document, got " + r);
  }

  private static String at(Document d, Entity e) {
    return new CodePoints(d.text()).substring(e.start(), e.end());
  }

  @Test
  void stockmarkIdsCountCuridOccurrencesAndTypesMapToCodes() throws IOException {
    String json =
        "[{\"curid\":\"10\",\"text\":\"松友美佐紀は、日本のバドミントン選手。\",\"entities\":[{\"name\":\"松友美佐紀\",\"span\":[0,5],\"type\":\"人名\"},{\"name\":\"日本\",\"span\":[7,9],\"type\":\"地名\"}]},\n"
            + "{\"curid\":\"10\",\"text\":\"😀のあと東京。\",\"entities\":[{\"name\":\"東京\",\"span\":[4,6],\"type\":\"地名\"}]},\n"
            + "{\"curid\":\"11\",\"text\":\"x\",\"entities\":[]}]";
    List<ReadResult> rs = read("stockmark", null, "ner.json", json);
    assertEquals(3, rs.size());
    Document a = doc(rs.get(0));
    Document b = doc(rs.get(1));
    assertEquals("10-0", a.id());
    assertEquals("10-1", b.id());
    assertEquals("11-0", doc(rs.get(2)).id());
    assertEquals("ja", a.lang());
    assertEquals(List.of(new Entity(0, 5, "PER"), new Entity(7, 9, "LOC")), a.entities());
    assertEquals("東京", at(b, b.entities().get(0))); // code points: 😀 counts one
    // sentences of one article share the article's split
    assertEquals(Splits.of("sparkner", "10"), a.split());
    assertEquals(a.split(), b.split());
  }

  @Test
  void panxCharacterTokenisedRestoresSpacesAndRepairsIAfterO() throws IOException {
    String conll =
        "#\tO\n"
            + "#\tO\n"
            + "ユ\tB-PER\n"
            + "リ\tI-PER\n"
            + "#\tO\n"
            + "1\tO\n"
            + "9\tO\n\n"
            + "ル\tB-ORG\n"
            + "ノ\tI-ORG\n"
            + "、\tO\n"
            + "日\tI-ORG\n"
            + "産\tI-ORG\n"
            + "#\tO\n"
            + "パ\tB-LOC\n"
            + "リ\tI-LOC\n"
            + "#\tI-LOC\n"
            + "市\tI-LOC\n";
    List<ReadResult> rs = read("panx", "ja", "ja/train", conll);
    Document s0 = doc(rs.get(0));
    assertEquals("ユリ 19", s0.text()); // leading # spaces trimmed, inner # restored
    assertEquals(List.of(new Entity(0, 2, "PER")), s0.entities());
    assertEquals("panx-ja-train-0", s0.id());
    assertEquals(Splits.TRAIN, s0.split());
    Document s1 = doc(rs.get(1));
    assertEquals("ルノー、日産 パリ 市".replace("ー", ""), s1.text());
    assertEquals(
        List.of(new Entity(0, 2, "ORG"), new Entity(3, 5, "ORG"), new Entity(6, 10, "LOC")),
        s1.entities());
    assertEquals("パリ 市", at(s1, s1.entities().get(2)));
    assertEquals(1, s1.iobRepairs()); // 日 I-ORG after O starts an entity, as in conlleval
  }

  @Test
  void wordTokenisedJoinsWithSpacesAndStripsWikiannLanguagePrefix() throws IOException {
    String conll =
        "en:Anders\tB-PER\nen:Lindström\tI-PER\nen:lives\tO\nen:in\tO\nen:Berlin\tB-LOC\n";
    Document d = doc(read("panx", "en", "en/dev", conll).get(0));
    assertEquals("Anders Lindström lives in Berlin", d.text());
    assertEquals(List.of(new Entity(0, 16, "PER"), new Entity(26, 32, "LOC")), d.entities());
    assertEquals(Splits.VALIDATION, d.split());
  }

  @Test
  void conllSpaceSeparatedWithAnyTypeAndDocstart() throws IOException {
    String conll = "-DOCSTART- O\n\nEU B-ORG\nrejects O\nGerman B-MISC\ncall O\n";
    List<ReadResult> rs = read("conll", "en", "test.txt", conll);
    assertEquals(1, rs.size());
    Document d = doc(rs.get(0));
    assertEquals("EU rejects German call", d.text());
    assertEquals(List.of(new Entity(0, 2, "ORG"), new Entity(11, 17, "MISC")), d.entities());
  }

  @Test
  void panxRejectsTypesOutsidePerOrgLoc() throws IOException {
    ReadResult r = read("panx", "en", "en/train", "German\tB-MISC\n").get(0);
    Quarantined q = assertInstanceOf(Quarantined.class, r);
    assertEquals("unknown_type", q.reason());
  }

  @Test
  void jsonLinesWithOptionalLangAndSplit() throws IOException {
    String jsonl =
        "{\"id\":\"a\",\"text\":\"Berlin is"
            + " big\",\"entities\":[{\"start\":0,\"end\":6,\"type\":\"LOC\"}],\"lang\":\"en\"}\n"
            + "\n"
            + "{\"id\":7,\"text\":\"東京\",\"entities\":[],\"split\":\"dev\"}\n";
    List<ReadResult> rs = read("jsonl", "ja", "x.jsonl", jsonl);
    assertEquals(2, rs.size());
    Document a = doc(rs.get(0));
    assertEquals("en", a.lang());
    assertEquals(Splits.of("sparkner", "a"), a.split());
    Document b = doc(rs.get(1));
    assertEquals("7", b.id());
    assertEquals("ja", b.lang());
    assertEquals(Splits.VALIDATION, b.split());
  }

  @Test
  void typeMapRemapsAndDropsWithCount() throws IOException {
    String json =
        "[{\"curid\":\"1\",\"text\":\"自民党と東京駅\",\"entities\":["
            + "{\"name\":\"自民党\",\"span\":[0,3],\"type\":\"政治的組織名\"},{\"name\":\"東京駅\",\"span\":[4,7],\"type\":\"施設名\"}]}]";
    ReadOptions o = new ReadOptions("sparkner", TypeMap.parse("ORG-P=ORG,INS=O", List.of()), false);
    Document d = doc(read("stockmark", null, "ner.json", json, o).get(0));
    assertEquals(List.of(new Entity(0, 3, "ORG")), d.entities());
    assertEquals(1, d.droppedEntities());
  }

  @Test
  void failFastNamesFileAndRecord() throws IOException {
    String json =
        "[{\"curid\":\"1\",\"text\":\"abc\",\"entities\":[{\"name\":\"ab\",\"span\":[0,3],\"type\":\"人名\"}]}]";
    ReadOptions o = new ReadOptions("sparkner", TypeMap.identity(), true);
    BadRecordException e =
        assertThrows(BadRecordException.class, () -> read("stockmark", null, "bad.json", json, o));
    assertTrue(e.getMessage().contains("bad.json"), e.getMessage());
    assertTrue(e.getMessage().contains("record 1-0"), e.getMessage());
    assertTrue(e.getMessage().contains("name_mismatch"), e.getMessage());
  }

  private List<ReadResult> readBytes(String kind, String lang, String fileName, byte[] content)
      throws IOException {
    Path f = dir.resolve(fileName);
    Files.createDirectories(f.getParent());
    Files.write(f, content);
    Iterator<ReadResult> it =
        CorpusReaders.read(
            new SourceFile(kind, lang, f.toUri().toString(), f.getFileName().toString()),
            new Configuration(),
            ReadOptions.defaults());
    List<ReadResult> out = new ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }

  /** {@code before}, then the bytes, then {@code after}, all UTF-8 apart from the bytes. */
  private static byte[] withBytes(String before, byte[] bad, String after) {
    byte[] a = before.getBytes(StandardCharsets.UTF_8);
    byte[] c = after.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[a.length + bad.length + c.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(bad, 0, out, a.length, bad.length);
    System.arraycopy(c, 0, out, a.length + bad.length, c.length);
    return out;
  }

  private static Quarantined invalid(ReadResult r) {
    Quarantined q = assertInstanceOf(Quarantined.class, r, () -> "expected quarantine, got " + r);
    assertEquals("invalid_utf8", q.reason(), q.toString());
    return q;
  }

  @Test
  void invalidUtf8IsQuarantinedPerRecordNamingFileLineAndBytesNotReplacedSilently()
      throws IOException {
    // Stockmark, pretty-printed: the second record (line 3) holds a lone 0xFF and a truncated
    // 3-byte sequence
    byte[] stockmark =
        withBytes(
            "[\n{\"curid\":\"1\",\"text\":\"東京\",\"entities\":[]},\n{\"curid\":\"1\",\"text\":\"大",
            new byte[] {(byte) 0xFF, (byte) 0xE6, (byte) 0x9D},
            "阪\",\"entities\":[]},\n{\"curid\":\"1\",\"text\":\"😀京都\",\"entities\":[]}\n]\n");
    List<ReadResult> rs = readBytes("stockmark", null, "ner.json", stockmark);
    assertEquals(3, rs.size());
    assertEquals("1-0", doc(rs.get(0)).id());
    Quarantined q = invalid(rs.get(1));
    assertEquals(
        "1-1", q.id(), "the curid still counts, so later ids do not move once the file is fixed");
    assertTrue(
        q.detail().contains("ner.json")
            && q.detail().contains("line 3")
            && q.detail().contains("0xFF 0xE6 0x9D"),
        q.detail());
    assertTrue(q.raw().contains("大\uFFFD") && q.raw().contains("阪"), q.raw());
    Document after = doc(rs.get(2));
    assertEquals("1-2", after.id());
    assertEquals("😀京都", after.text());

    // PAN-X: the sentence with the bad line goes, named by its line; the others stay
    byte[] panx =
        withBytes(
            "東\tB-LOC\n京\tI-LOC\n\n大\tB-LOC\n", new byte[] {(byte) 0xC3}, "\tI-LOC\n\nパ\tB-LOC\n");
    rs = readBytes("panx", "ja", "ja/train", panx);
    assertEquals(3, rs.size());
    doc(rs.get(0));
    q = invalid(rs.get(1));
    assertEquals("panx-ja-train-1", q.id());
    assertTrue(q.detail().contains("train line 5") && q.detail().contains("0xC3"), q.detail());
    doc(rs.get(2));

    // JSON lines: the id when the line still parses, else file:line
    byte[] jsonl =
        withBytes(
            "{\"id\":\"a\",\"text\":\"Berlin\",\"entities\":[]}\n{\"id\":\"b\",\"text\":\"Ber",
            new byte[] {
              (byte) 0xED, (byte) 0xA0, (byte) 0x80
            }, // an encoded surrogate is not UTF-8 either
            "lin\",\"entities\":[]}\n{\"id\":\"c\",\"text\":\"ok\",\"entities\":[]}\n");
    rs = readBytes("jsonl", "de", "x.jsonl", jsonl);
    assertEquals(3, rs.size());
    q = invalid(rs.get(1));
    assertEquals("b", q.id());
    assertTrue(q.detail().contains("x.jsonl line 2"), q.detail());
    assertEquals("ok", doc(rs.get(2)).text());

    // a valid supplementary character whose low surrogate is in the marks' range is no error
    String u10080 = new String(Character.toChars(0x10080));
    assertEquals(-1, Utf8.firstInvalid(u10080 + "x"));
    assertEquals(
        u10080,
        doc(read(
                    "jsonl",
                    "de",
                    "ok.jsonl",
                    "{\"id\":\"s\",\"text\":\"" + u10080 + "\",\"entities\":[]}\n")
                .get(0))
            .text());
  }
}

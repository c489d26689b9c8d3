package io.sparkner.prepare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.align.Aligner;
import io.sparkner.align.Labels;
import io.sparkner.corpus.CorpusInput;
import io.sparkner.storage.Redaction;
import io.sparkner.track.JobSummary;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code summary.json} of a prepare run, and the same figures as a table for the console. */
public final class PrepareSummary extends JobSummary {
  PrepareSummary(
      PrepareOptions options,
      CorpusStats corpus,
      FeatureStats features,
      Labels labels,
      String tokenizerFingerprint,
      double seconds) {
    root.put("records_in", corpus.records);
    root.put("documents", corpus.documents);
    root.put("quarantined_total", corpus.quarantinedTotal());
    ObjectNode q = root.putObject("quarantined");
    corpus.quarantined.forEach(q::put);
    root.put("windows", features.windows);
    root.put("documents_windowed", features.documentsWindowed);
    root.put("tokens", features.tokens);
    root.put("entities", corpus.entities);
    ObjectNode byType = root.putObject("entities_by_type");
    corpus.entitiesByType.forEach(byType::put);
    root.put("entities_misaligned", features.entitiesMisaligned);
    ArrayNode ex = root.putArray("misaligned_examples");
    List<Aligner.Misaligned> examples = new ArrayList<>(features.examples);
    examples.sort(
        Comparator.comparing(Aligner.Misaligned::id).thenComparingInt(m -> m.entity().start()));
    for (Aligner.Misaligned m : examples) {
      ObjectNode e = ex.addObject();
      e.put("id", m.id());
      e.put("start", m.entity().start());
      e.put("end", m.entity().end());
      e.put("type", m.entity().type());
      e.put("text", m.text());
      e.put("problem", m.problem());
    }
    root.put("entities_dropped_by_type_map", corpus.droppedEntities);
    root.put("iob_repairs", corpus.iobRepairs);
    ObjectNode split = root.putObject("by_split");
    corpus.bySplit.forEach(split::put);
    ObjectNode lang = root.putObject("by_lang");
    corpus.byLang.forEach((l, m) -> m.forEach(lang.putObject(l)::put));
    ObjectNode source = root.putObject("by_source");
    corpus.bySource.forEach(source::put);
    root.put("scheme", labels.scheme().name());
    ArrayNode l = root.putArray("labels");
    labels.labels().forEach(l::add);
    // paths as they may be shown (prepare refuses credentials inside paths; this is the second
    // line)
    root.put("output", Redaction.uri(options.output()));
    root.put("tokenizer", Redaction.uri(options.tokenizer()));
    // evaluate compares it with the model's tokenizer.json: ids from another vocabulary are noise
    root.put("tokenizer_fingerprint", tokenizerFingerprint);
    root.put("max_length", options.align().maxLength());
    root.put("stride", options.align().stride());
    root.put("label_all_subwords", options.align().labelAllSubwords());
    root.put("seed", options.read().seed());
    ObjectNode tm = root.putObject("type_map");
    options.read().typeMap().remapping().forEach(tm::put);
    ArrayNode in = root.putArray("inputs");
    for (CorpusInput c : options.inputs()) {
      ObjectNode o = in.addObject();
      o.put("kind", c.kind());
      o.put("lang", c.lang());
      o.put("path", Redaction.uri(c.path()));
    }
    root.put("seconds", Math.round(seconds * 10) / 10.0);
  }

  @Override
  public String toTable() {
    StringBuilder sb = new StringBuilder();
    row(sb, "records in", root.path("records_in").asLong());
    row(sb, "documents", root.path("documents").asLong());
    row(sb, "quarantined", root.path("quarantined_total").asLong());
    root.path("quarantined")
        .fields()
        .forEachRemaining(e -> row(sb, "  " + e.getKey(), e.getValue().asLong()));
    row(sb, "entities", root.path("entities").asLong());
    root.path("entities_by_type")
        .fields()
        .forEachRemaining(e -> row(sb, "  " + e.getKey(), e.getValue().asLong()));
    row(sb, "entities misaligned", root.path("entities_misaligned").asLong());
    row(sb, "entities dropped by type map", root.path("entities_dropped_by_type_map").asLong());
    row(sb, "IOB repairs (I- starting an entity)", root.path("iob_repairs").asLong());
    row(sb, "windows", root.path("windows").asLong());
    row(sb, "documents split into windows", root.path("documents_windowed").asLong());
    row(sb, "tokens", root.path("tokens").asLong());
    sb.append(
        String.format(
            Locale.ROOT, "%-38s %10s %10s %10s%n", "by language", "train", "validation", "test"));
    for (Map.Entry<String, JsonNode> e : iterable(root.path("by_lang"))) {
      JsonNode m = e.getValue();
      sb.append(
          String.format(
              Locale.ROOT,
              "  %-36s %10d %10d %10d%n",
              e.getKey(),
              m.path("train").asLong(),
              m.path("validation").asLong(),
              m.path("test").asLong()));
    }
    JsonNode ex = root.path("misaligned_examples");
    if (ex.size() > 0) {
      sb.append("misaligned entities (first ").append(ex.size()).append("):\n");
      for (JsonNode m : ex) {
        sb.append(
            String.format(
                Locale.ROOT,
                "  %s [%d,%d) %s '%s': %s%n",
                m.path("id").asText(),
                m.path("start").asInt(),
                m.path("end").asInt(),
                m.path("type").asText(),
                m.path("text").asText(),
                m.path("problem").asText()));
      }
    }
    sb.append(
        String.format(
            Locale.ROOT, "labels (%s): %s%n", root.path("scheme").asText(), root.path("labels")));
    return sb.toString();
  }

  private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode n) {
    return n::fields;
  }
}

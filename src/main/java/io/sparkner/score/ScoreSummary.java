package io.sparkner.score;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkner.track.JobSummary;
import java.util.Locale;

/**
 * What a {@code sparkner score} run did: {@code _summary.json} in the output directory (the leading
 * underscore keeps Spark, Delta and Hive readers of the table from reading it as data) and the same
 * figures as a console table. {@code rows = scored + empty + unscorable} always.
 */
public final class ScoreSummary extends JobSummary {
  public static final String FILE = "_summary.json";

  ScoreSummary(
      ScoreJob.Options o,
      String input,
      String output,
      int partitions,
      TaggingCounts counts,
      double seconds) {
    long rows = counts.get(TaggingCounts.ROWS);
    root.put("rows", rows);
    root.put("scored", counts.get(TaggingCounts.SCORED));
    root.put("empty", counts.get(TaggingCounts.EMPTY));
    root.put("unscorable_total", counts.unscorableTotal());
    ObjectNode reasons = root.putObject("unscorable");
    counts.unscorable().forEach(reasons::put);
    root.put("entities", counts.get(TaggingCounts.ENTITIES));
    ObjectNode types = root.putObject("entities_by_type");
    counts.entitiesByType().forEach(types::put);
    root.put("windows", counts.get(TaggingCounts.WINDOWS));
    root.put("tokens", counts.get(TaggingCounts.TOKENS));
    root.put("seconds", Math.round(seconds * 100) / 100.0);
    root.put("rows_per_s", Math.round(rows / seconds));
    root.put("tokens_per_s", Math.round(counts.get(TaggingCounts.TOKENS) / seconds));
    root.put("model", o.model());
    root.put("input", input);
    root.put("format", o.format().id());
    root.put("text_col", o.textCol());
    root.put("output", output);
    root.put("output_format", o.outputFormat().id());
    root.put("output_col", o.outputCol());
    root.put("partitions", partitions);
    root.put("batch_size", o.batchSize());
    root.put("max_length", o.maxLength());
    root.put("stride", o.stride());
    root.put("max_chars", o.maxChars());
    root.put("device", o.device());
    root.put("sort_by_length", o.sortByLength());
  }

  @Override
  public String toTable() {
    StringBuilder sb = new StringBuilder();
    row(sb, "rows", get("rows"));
    row(sb, "scored", get("scored"));
    row(sb, "empty (null, empty or no token)", get("empty"));
    row(sb, "unscorable (null entities)", get("unscorable_total"));
    root.path("unscorable")
        .fields()
        .forEachRemaining(e -> row(sb, "  " + e.getKey(), e.getValue().asLong()));
    row(sb, "entities", get("entities"));
    root.path("entities_by_type")
        .fields()
        .forEachRemaining(e -> row(sb, "  " + e.getKey(), e.getValue().asLong()));
    row(sb, "windows", get("windows"));
    row(sb, "tokens", get("tokens"));
    sb.append(
        String.format(
            Locale.ROOT,
            "%-38s %10.1f%n%-38s %10d%n%-38s %10d%n",
            "seconds",
            root.path("seconds").asDouble(),
            "rows/s",
            get("rows_per_s"),
            "tokens/s",
            get("tokens_per_s")));
    return sb.toString();
  }
}

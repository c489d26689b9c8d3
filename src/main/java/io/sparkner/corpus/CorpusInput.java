package io.sparkner.corpus;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One {@code --input KIND[:LANG]:PATH}: which reader, which language, which Hadoop path (file,
 * directory or glob; {@code file:}, {@code hdfs:}, {@code s3a:}, {@code abfss:} ...).
 */
public record CorpusInput(String kind, String lang, String path) implements Serializable {

  public static final List<String> KINDS = List.of("stockmark", "panx", "conll", "jsonl");

  // a language code, not a URI scheme: "ja:", "zh-Hans:"; "s3a://", "gs://" have two slashes after
  // the colon
  private static final Pattern LANG = Pattern.compile("([a-z]{2,3}(?:-[A-Za-z0-9]+)?):(?!//)(.+)");

  public static CorpusInput parse(String spec) {
    int colon = spec.indexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(
          "--input '" + spec + "': expected KIND[:LANG]:PATH with KIND one of " + KINDS);
    }
    String kind = spec.substring(0, colon).toLowerCase(Locale.ROOT);
    if (!KINDS.contains(kind)) {
      throw new IllegalArgumentException(
          "--input '" + spec + "': unknown kind '" + kind + "', expected one of " + KINDS);
    }
    String rest = spec.substring(colon + 1);
    String lang = null;
    Matcher m = LANG.matcher(rest);
    if (m.matches() && !isScheme(m.group(1))) {
      lang = m.group(1);
      rest = m.group(2);
    }
    if (rest.isBlank()) {
      throw new IllegalArgumentException("--input '" + spec + "': the path is empty");
    }
    return new CorpusInput(kind, lang, rest);
  }

  private static boolean isScheme(String s) {
    return s.equals("s3")
        || s.equals("s3a")
        || s.equals("s3n")
        || s.equals("gs")
        || s.equals("wasb");
  }

  /**
   * The language of one of this input's files: the given one, else an ISO 639 code read from the
   * path ({@code panx/ko/train}, {@code train-ja.tsv}), else null.
   */
  public String langOf(String filePath) {
    if (lang != null) {
      return lang;
    }
    String[] parts = filePath.split("/");
    if (parts.length >= 2 && ISO_LANGUAGES.contains(parts[parts.length - 2])) {
      return parts[parts.length - 2];
    }
    Matcher m = LANG_SUFFIX.matcher(parts[parts.length - 1]);
    return m.find() && ISO_LANGUAGES.contains(m.group(1)) ? m.group(1) : null;
  }

  private static final Pattern LANG_SUFFIX = Pattern.compile("[-_]([a-z]{2,3})(?:\\.[a-z0-9]+)?$");
  private static final java.util.Set<String> ISO_LANGUAGES =
      java.util.Set.of(java.util.Locale.getISOLanguages());
}

package io.sparkner.corpus;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads token-per-line IOB files: PAN-X/WikiANN ({@code ja:東京<TAB>B-LOC}), PAN-X as processed by
 * XTREME ({@code token<TAB>TAG}) and CoNLL-style {@code token TAG}; sentences are separated by
 * blank lines. Rebuilds each sentence's text and turns the tags into code-point spans.
 *
 * <p>Character-tokenised files (XTREME's ja and zh: one character per line) are joined without
 * spaces, and their {@code #} token, which stands where the source had a space, becomes a space
 * again; word-tokenised files are joined with spaces. Which applies is detected from the file's
 * first sentences. An {@code I-X} after {@code O} or after another type starts a new entity, as
 * conlleval reads it; each such repair is counted.
 */
public final class ConllReader {
  private static final Pattern TAG = Pattern.compile("([BI])-(\\S+)");

  /** Share of one-character tokens above which a file counts as character-tokenised. */
  static final double CHAR_TOKENISED_SHARE = 0.9;

  private static final int DETECTION_SENTENCES = 200;

  private final DocumentValidator validator;
  private final String seed;
  private final Map<String, String> corpusTypes;

  /**
   * @param corpusTypes the accepted types (PAN-X: PER, ORG, LOC), or null to accept any type
   */
  public ConllReader(DocumentValidator validator, String seed, Map<String, String> corpusTypes) {
    this.validator = validator;
    this.seed = seed;
    this.corpusTypes = corpusTypes;
  }

  public Iterator<ReadResult> read(Reader in, SourceFile file) {
    BufferedReader lines = in instanceof BufferedReader b ? b : new BufferedReader(in, 1 << 16);
    Deque<List<Line>> lookahead = new ArrayDeque<>();
    int[] lineNo = {0};
    for (int i = 0; i < DETECTION_SENTENCES; i++) {
      List<Line> s = nextSentence(lines, lineNo);
      if (s == null) {
        break;
      }
      lookahead.add(s);
    }
    boolean charTokenised = isCharTokenised(lookahead);
    String split = Splits.fromFileName(file.name());
    String lang = file.lang() == null ? "und" : file.lang();
    String idPrefix =
        file.kind() + "-" + lang + "-" + (split != null ? split : stem(file.name())) + "-";
    return new Iterator<>() {
      private List<Line> next = advance();
      private int index;

      private List<Line> advance() {
        return lookahead.isEmpty() ? nextSentence(lines, lineNo) : lookahead.poll();
      }

      @Override
      public boolean hasNext() {
        return next != null;
      }

      @Override
      public ReadResult next() {
        if (next == null) {
          throw new NoSuchElementException();
        }
        List<Line> sentence = next;
        String id = idPrefix + index++;
        ReadResult r =
            toDocument(
                sentence,
                id,
                lang,
                split != null ? split : Splits.of(seed, id),
                file,
                charTokenised);
        next = advance();
        return r;
      }
    };
  }

  private record Line(int number, String text) {}

  private static List<Line> nextSentence(BufferedReader in, int[] lineNo) {
    List<Line> out = new ArrayList<>();
    try {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        lineNo[0]++;
        if (line.isBlank() || line.startsWith("-DOCSTART-")) {
          if (!out.isEmpty()) {
            return out;
          }
          continue;
        }
        out.add(new Line(lineNo[0], line));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.isEmpty() ? null : out;
  }

  private static boolean isCharTokenised(Iterable<List<Line>> sentences) {
    long tokens = 0;
    long single = 0;
    for (List<Line> s : sentences) {
      for (Line l : s) {
        String[] tt = splitLine(l.text());
        if (tt == null) {
          continue;
        }
        tokens++;
        if (tt[0].codePointCount(0, tt[0].length()) == 1) {
          single++;
        }
      }
    }
    return tokens > 0 && single >= CHAR_TOKENISED_SHARE * tokens;
  }

  /** {@code [token, tag]}, split at the last tab, else at the last space; null if neither. */
  private static String[] splitLine(String line) {
    String l = line.strip();
    int cut = line.lastIndexOf('\t');
    if (cut > 0) {
      String token = line.substring(0, cut);
      String tag = line.substring(cut + 1).strip();
      return token.isEmpty() || tag.isEmpty() ? null : new String[] {token, tag};
    }
    cut = l.lastIndexOf(' ');
    if (cut <= 0) {
      return null;
    }
    return new String[] {l.substring(0, cut).strip(), l.substring(cut + 1)};
  }

  private ReadResult toDocument(
      List<Line> sentence,
      String id,
      String lang,
      String split,
      SourceFile file,
      boolean charTokenised) {
    StringBuilder raw = new StringBuilder();
    for (Line l : sentence) {
      if (raw.length() > 0) {
        raw.append('\n');
      }
      raw.append(l.text());
    }
    String rawText = raw.toString();
    for (Line l : sentence) {
      if (Utf8.firstInvalid(l.text()) >= 0) {
        return Quarantined.of(
            id,
            file.label(),
            Utf8.visible(rawText),
            Reason.INVALID_UTF8,
            Utf8.describe(l.text(), file.name() + " line " + l.number()));
      }
    }
    String langPrefix = file.lang() == null ? null : file.lang() + ":";
    StringBuilder text = new StringBuilder();
    int[] tokStart = new int[sentence.size()];
    int[] tokEnd = new int[sentence.size()];
    String[] tags = new String[sentence.size()];
    int cp = 0;
    for (int i = 0; i < sentence.size(); i++) {
      Line l = sentence.get(i);
      String[] tt = splitLine(l.text());
      if (tt == null) {
        return Quarantined.of(
            id,
            file.label(),
            rawText,
            Reason.BAD_CONLL_LINE,
            "line " + l.number() + ": expected 'token<TAB>TAG' or 'token TAG'");
      }
      String token = tt[0];
      if (langPrefix != null
          && token.length() > langPrefix.length()
          && token.startsWith(langPrefix)) {
        token = token.substring(langPrefix.length());
      }
      String tag = tt[1];
      if (!tag.equals("O") && !TAG.matcher(tag).matches()) {
        return Quarantined.of(
            id,
            file.label(),
            rawText,
            Reason.BAD_CONLL_LINE,
            "line " + l.number() + ": tag '" + tag + "' is not O, B-TYPE or I-TYPE");
      }
      if (charTokenised && token.equals("#")) {
        token = " ";
      } else if (!charTokenised && i > 0) {
        text.append(' ');
        cp++;
      }
      tokStart[i] = cp;
      text.append(token);
      cp += token.codePointCount(0, token.length());
      tokEnd[i] = cp;
      tags[i] = tag;
    }

    List<RawEntity> entities = new ArrayList<>();
    int repairs = 0;
    String curType = null;
    int curStart = -1;
    int curEnd = -1;
    for (int i = 0; i < tags.length; i++) {
      String tag = tags[i];
      if (tag.equals("O")) {
        if (curType != null) {
          entities.add(new RawEntity(curStart, curEnd, curType, null));
          curType = null;
        }
        continue;
      }
      Matcher m = TAG.matcher(tag);
      if (!m.matches()) {
        throw new IllegalStateException("tag checked above: " + tag);
      }
      String type = m.group(2);
      boolean begin = m.group(1).equals("B");
      if (!begin && type.equals(curType)) {
        curEnd = tokEnd[i];
        continue;
      }
      if (!begin) {
        repairs++;
      }
      if (curType != null) {
        entities.add(new RawEntity(curStart, curEnd, curType, null));
      }
      curType = type;
      curStart = tokStart[i];
      curEnd = tokEnd[i];
    }
    if (curType != null) {
      entities.add(new RawEntity(curStart, curEnd, curType, null));
    }
    return trimmed(id, lang, split, file, text.toString(), entities, rawText, repairs);
  }

  /**
   * Drops the spaces that {@code #} tokens leave at the start and end of a sentence (and around an
   * entity), shifting the spans with them.
   */
  private ReadResult trimmed(
      String id,
      String lang,
      String split,
      SourceFile file,
      String text,
      List<RawEntity> entities,
      String rawText,
      int repairs) {
    CodePoints cps = new CodePoints(text);
    int lead = 0;
    while (lead < cps.length() && Character.isWhitespace(cps.codePointAt(lead))) {
      lead++;
    }
    int end = cps.length();
    while (end > lead && Character.isWhitespace(cps.codePointAt(end - 1))) {
      end--;
    }
    List<RawEntity> shifted = new ArrayList<>(entities.size());
    for (RawEntity e : entities) {
      int s = e.start();
      int t = e.end();
      while (s < t && Character.isWhitespace(cps.codePointAt(s))) {
        s++;
      }
      while (t > s && Character.isWhitespace(cps.codePointAt(t - 1))) {
        t--;
      }
      if (s == t) {
        return Quarantined.of(
            id,
            file.label(),
            rawText,
            Reason.BAD_CONLL_LINE,
            "entity " + e.type() + " at [" + e.start() + "," + e.end() + ") covers only spaces");
      }
      shifted.add(new RawEntity(s - lead, t - lead, e.type(), null));
    }
    return validator.validate(
        id, lang, file, split, cps.substring(lead, end), shifted, corpusTypes, rawText, repairs);
  }

  private static String stem(String name) {
    int dot = name.indexOf('.');
    return dot > 0 ? name.substring(0, dot) : name;
  }
}

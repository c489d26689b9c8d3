package io.sparkner.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import io.sparkner.align.Windowing;
import io.sparkner.corpus.CodePoints;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * A checkpoint's own {@code tokenizer.json} loaded through DJL's Hugging Face tokenizers. Encodes
 * without special tokens and without truncation (windows are cut by {@link Windowing}, never
 * silently), and knows which special tokens the post-processor puts before and after a sequence, so
 * that windows get exactly the framing the model was trained with ({@code <s> X </s>}, {@code [CLS]
 * X [SEP]}). Thread-safe: the native tokenizer is immutable once loaded.
 */
public final class TokenizerHandle implements AutoCloseable {
  private static final Map<String, String> OPTIONS =
      Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false");

  private final HuggingFaceTokenizer tokenizer;
  private final int[] prefixIds;
  private final int[] suffixIds;
  private boolean closed;

  private TokenizerHandle(HuggingFaceTokenizer tokenizer) {
    this.tokenizer = tokenizer;
    // find the framing by encoding a probe with and without special tokens
    long[] bare = tokenizer.encode("a", false, false).getIds();
    long[] framed = tokenizer.encode("a", true, false).getIds();
    int at = indexOf(framed, bare);
    if (at < 0) {
      throw new IllegalStateException("cannot locate the sequence inside its special tokens");
    }
    prefixIds = toInts(Arrays.copyOfRange(framed, 0, at));
    suffixIds = toInts(Arrays.copyOfRange(framed, at + bare.length, framed.length));
  }

  /** Loads a local {@code tokenizer.json} file, or the one inside a local directory. */
  public static TokenizerHandle load(Path tokenizerJsonOrDir) {
    try {
      return new TokenizerHandle(HuggingFaceTokenizer.newInstance(tokenizerJsonOrDir, OPTIONS));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load tokenizer " + tokenizerJsonOrDir, e);
    }
  }

  /** Special-token ids put before a sequence. */
  public int[] prefixIds() {
    return prefixIds.clone();
  }

  /** Special-token ids put after a sequence. */
  public int[] suffixIds() {
    return suffixIds.clone();
  }

  public int specialTokenCount() {
    return prefixIds.length + suffixIds.length;
  }

  /** Tokenizes a text; spans are code points into {@code text}, trimmed of whitespace. */
  public Tokenized tokenize(String text) {
    Encoding enc = tokenizer.encode(text, false, false);
    long[] ids = enc.getIds();
    long[] words = enc.getWordIds();
    CharSpan[] spans = enc.getCharTokenSpans();
    String[] pieces = enc.getTokens();
    int n = ids.length;
    int[] starts = new int[n];
    int[] ends = new int[n];
    int[] wordIds = new int[n];
    CodePoints cps = null;
    for (int i = 0; i < n; i++) {
      wordIds[i] = (int) words[i];
      CharSpan s = spans[i];
      if (s == null) {
        starts[i] = ends[i] = -1;
        continue;
      }
      int a = s.getStart();
      int b = s.getEnd();
      if (isBareMetaspace(pieces[i])) {
        // Metaspace gives a lone "▁" the span of the character after it ([0,1) before 松 in
        // 「松友美佐紀は…」, as the real XLM-R tokenizer does): it covers no character of its own
        b = a;
      } else if (a < b) {
        if (cps == null) {
          cps = new CodePoints(text);
        }
        while (a < b && Character.isWhitespace(cps.codePointAt(a))) {
          a++;
        }
        while (b > a && Character.isWhitespace(cps.codePointAt(b - 1))) {
          b--;
        }
      }
      starts[i] = a;
      ends[i] = a == b ? a : b;
    }
    return new Tokenized(toInts(ids), starts, ends, wordIds);
  }

  private static boolean isBareMetaspace(String piece) {
    if (piece.isEmpty()) {
      return false;
    }
    for (int i = 0; i < piece.length(); i++) {
      if (piece.charAt(i) != '\u2581') {
        return false;
      }
    }
    return true;
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      tokenizer.close();
    }
  }

  /** Whether {@link #close} freed the native tokenizer. */
  public synchronized boolean isClosed() {
    return closed;
  }

  private static int indexOf(long[] haystack, long[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static int[] toInts(long[] a) {
    int[] out = new int[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = Math.toIntExact(a[i]);
    }
    return out;
  }
}

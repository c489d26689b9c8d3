package io.sparkner.retrain;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * Whether a challenger replaces the champion, and every reason: the challenger's micro F1 must beat
 * the champion's (ΔF1 > 0) by at least {@code margin}, and no checked language may lose more than
 * {@code tolerance} F1. Without a champion, a challenger that trained and evaluated becomes the
 * first one. Both are measured on the same held-out documents in the same run.
 */
public record Decision(boolean promote, List<String> reasons) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Float noise below this never decides: a margin of 0.01 is met by ΔF1 = 0.00999999999. */
  static final double EPS = 1e-9;

  public Decision {
    reasons = List.copyOf(reasons);
  }

  /**
   * @param champion the champion's scores, or null when there is none
   * @param languages the languages to check one by one; empty = every language either model was
   *     scored on
   */
  public static Decision decide(
      Scores champion, Scores challenger, RetrainConfig.Promotion rule, List<String> languages) {
    List<String> reasons = new ArrayList<>();
    if (champion == null) {
      reasons.add(
          String.format(
              Locale.ROOT,
              "no champion yet: the challenger (micro F1 %.4f) becomes the first champion",
              challenger.microF1()));
      return new Decision(true, reasons);
    }
    double delta = challenger.microF1() - champion.microF1();
    boolean beats = delta > EPS && delta >= rule.margin() - EPS;
    reasons.add(
        String.format(
            Locale.ROOT,
            "micro F1 %.4f vs champion %.4f: %+.4f, %s",
            challenger.microF1(),
            champion.microF1(),
            delta,
            beats
                ? "beats it by at least the margin " + fmt(rule.margin())
                : delta > EPS
                    ? "below the margin " + fmt(rule.margin())
                    : "does not beat the champion"));
    boolean languagesHold = true;
    TreeSet<String> check = new TreeSet<>(languages);
    if (check.isEmpty()) {
      check.addAll(champion.byLang().keySet());
      check.addAll(challenger.byLang().keySet());
    }
    for (String lang : check) {
      Scores.Language c = challenger.byLang().get(lang);
      Scores.Language k = champion.byLang().get(lang);
      if (c == null || k == null) {
        languagesHold = false;
        reasons.add(
            lang
                + ": not scored for the "
                + (c == null ? "challenger" : "champion")
                + " (no held-out documents in this language)");
        continue;
      }
      double d = c.f1() - k.f1();
      boolean holds = d >= -rule.tolerance() - EPS;
      languagesHold &= holds;
      reasons.add(
          String.format(
              Locale.ROOT,
              "%s: F1 %.4f vs %.4f (%+.4f, %d entities), %s %s",
              lang,
              c.f1(),
              k.f1(),
              d,
              c.support(),
              holds ? "within the tolerance" : "drops by more than the tolerance",
              fmt(rule.tolerance())));
    }
    boolean promote = beats && languagesHold;
    reasons.add(promote ? "promote: the challenger becomes the champion" : "keep the champion");
    return new Decision(promote, reasons);
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.4f", v);
  }

  public ObjectNode toJson() {
    ObjectNode o = JSON.createObjectNode();
    o.put("promote", promote);
    reasons.forEach(o.putArray("reasons")::add);
    return o;
  }
}

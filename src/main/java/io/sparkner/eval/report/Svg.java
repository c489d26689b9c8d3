package io.sparkner.eval.report;

import java.util.List;
import java.util.Locale;
import java.util.function.DoubleFunction;

/**
 * The report's charts as inline SVG, written through {@link Markup}: a line chart, grouped bars and
 * a heat-map. Plain shapes and text, no script; each data point carries a {@code <title>} (the
 * browser's tooltip) with its exact value.
 */
final class Svg {
  private static final int WIDTH = 440;
  private static final int HEIGHT = 240;
  private static final int LEFT = 64;
  private static final int RIGHT = 16;
  private static final int TOP = 28;
  private static final int BOTTOM = 40;
  static final List<String> SERIES_COLOURS = List.of("#3b6fb6", "#e08a2c", "#5a9e4b", "#b04a7d");

  private Svg() {}

  /**
   * A line chart of one series; with at most 60 points each is also drawn as a circle with a
   * tooltip {@code "<xName> <x>: <value>"}, the value written by {@code format}.
   */
  static void line(
      Markup m,
      String id,
      String title,
      String xName,
      String yName,
      double[] xs,
      double[] ys,
      DoubleFunction<String> format) {
    if (xs.length != ys.length) {
      throw new IllegalArgumentException(
          id + ": " + xs.length + " x values, " + ys.length + " y values");
    }
    m.startRoot(
        "svg",
        Markup.SVG,
        "id",
        id,
        "class",
        "chart",
        "width",
        str(WIDTH),
        "height",
        str(HEIGHT),
        "viewBox",
        "0 0 " + WIDTH + " " + HEIGHT,
        "role",
        "img");
    m.element("title", title);
    m.element("text", title, "x", str(LEFT), "y", "16", "class", "chart-title");
    double[] xr = range(xs);
    double[] yr = range(ys);
    axes(m, xr, yr, xName, yName);
    StringBuilder points = new StringBuilder();
    for (int i = 0; i < xs.length; i++) {
      points
          .append(i == 0 ? "" : " ")
          .append(num(sx(xs[i], xr)))
          .append(',')
          .append(num(sy(ys[i], yr)));
    }
    m.empty(
        "polyline",
        "class",
        "series",
        "fill",
        "none",
        "stroke",
        SERIES_COLOURS.get(0),
        "stroke-width",
        "1.5",
        "points",
        points.toString());
    if (xs.length <= 60) {
      for (int i = 0; i < xs.length; i++) {
        m.start(
            "circle",
            "cx",
            num(sx(xs[i], xr)),
            "cy",
            num(sy(ys[i], yr)),
            "r",
            "3",
            "fill",
            SERIES_COLOURS.get(0));
        m.element("title", xName + " " + tick(xs[i]) + ": " + format.apply(ys[i]));
        m.end();
      }
    }
    m.end();
  }

  /**
   * Grouped bars of values in [0, 1]: one group per category, one bar per series ({@code
   * values[series][category]}), each with a tooltip {@code "<category> <series>: <value>"}.
   */
  static void bars(
      Markup m,
      String id,
      String title,
      List<String> categories,
      List<String> series,
      double[][] values) {
    int width = Math.max(WIDTH, LEFT + RIGHT + categories.size() * (series.size() * 14 + 18));
    m.startRoot(
        "svg",
        Markup.SVG,
        "id",
        id,
        "class",
        "chart",
        "width",
        str(width),
        "height",
        str(HEIGHT),
        "viewBox",
        "0 0 " + width + " " + HEIGHT,
        "role",
        "img");
    m.element("title", title);
    m.element("text", title, "x", str(LEFT), "y", "16", "class", "chart-title");
    double[] yr = {0, 1};
    double plotHeight = HEIGHT - TOP - BOTTOM;
    m.empty(
        "line",
        "x1",
        str(LEFT),
        "y1",
        str(HEIGHT - BOTTOM),
        "x2",
        str(width - RIGHT),
        "y2",
        str(HEIGHT - BOTTOM),
        "class",
        "axis");
    m.empty(
        "line",
        "x1",
        str(LEFT),
        "y1",
        str(TOP),
        "x2",
        str(LEFT),
        "y2",
        str(HEIGHT - BOTTOM),
        "class",
        "axis");
    for (int t = 0; t <= 4; t++) {
      double v = t / 4.0;
      m.element(
          "text",
          tick(v),
          "x",
          str(LEFT - 6),
          "y",
          num(sy(v, yr) + 4),
          "text-anchor",
          "end",
          "class",
          "tick");
    }
    double group = (double) (width - LEFT - RIGHT) / Math.max(1, categories.size());
    double bar = Math.min(14, (group - 8) / Math.max(1, series.size()));
    for (int c = 0; c < categories.size(); c++) {
      double x0 = LEFT + c * group + (group - bar * series.size()) / 2;
      for (int s = 0; s < series.size(); s++) {
        double v = values[s][c];
        double h = plotHeight * Math.max(0, Math.min(1, v));
        m.start(
            "rect",
            "x",
            num(x0 + s * bar),
            "y",
            num(HEIGHT - BOTTOM - h),
            "width",
            num(bar - 1),
            "height",
            num(h),
            "fill",
            SERIES_COLOURS.get(s % SERIES_COLOURS.size()));
        m.element("title", categories.get(c) + " " + series.get(s) + ": " + ReportHtml.number(v));
        m.end();
      }
      m.element(
          "text",
          categories.get(c),
          "x",
          num(LEFT + c * group + group / 2),
          "y",
          str(HEIGHT - BOTTOM + 14),
          "text-anchor",
          "middle",
          "class",
          "tick");
    }
    for (int s = 0; s < series.size(); s++) {
      int x = LEFT + s * 110;
      m.empty(
          "rect",
          "x",
          str(x),
          "y",
          str(HEIGHT - 14),
          "width",
          "10",
          "height",
          "10",
          "fill",
          SERIES_COLOURS.get(s % SERIES_COLOURS.size()));
      m.element("text", series.get(s), "x", str(x + 14), "y", str(HEIGHT - 5), "class", "tick");
    }
    m.end();
  }

  /**
   * A heat-map: cell {@code [r][c]} shaded by {@code shade[r][c]} in [0, 1] (darker = more),
   * showing {@code labels[r][c]}, with the tooltip {@code tooltips[r][c]}.
   */
  static void heatMap(
      Markup m,
      String id,
      String title,
      String rowAxis,
      String colAxis,
      List<String> rows,
      List<String> cols,
      double[][] shade,
      String[][] labels,
      String[][] tooltips) {
    int cell = 46;
    int left = 24 + 8 * Math.max(4, longest(rows));
    int top = 48;
    int width = left + cols.size() * cell + RIGHT;
    int height = top + rows.size() * cell + 24;
    m.startRoot(
        "svg",
        Markup.SVG,
        "id",
        id,
        "class",
        "chart heatmap",
        "width",
        str(width),
        "height",
        str(height),
        "viewBox",
        "0 0 " + width + " " + height,
        "role",
        "img");
    m.element("title", title);
    m.element("text", colAxis + " \u2192", "x", str(left), "y", "14", "class", "tick");
    m.element("text", rowAxis + " \u2193", "x", "4", "y", str(top - 6), "class", "tick");
    for (int c = 0; c < cols.size(); c++) {
      m.element(
          "text",
          cols.get(c),
          "x",
          str(left + c * cell + cell / 2),
          "y",
          str(top - 8),
          "text-anchor",
          "middle",
          "class",
          "tick");
    }
    for (int r = 0; r < rows.size(); r++) {
      int y = top + r * cell;
      m.element(
          "text",
          rows.get(r),
          "x",
          str(left - 6),
          "y",
          str(y + cell / 2 + 4),
          "text-anchor",
          "end",
          "class",
          "tick");
      for (int c = 0; c < cols.size(); c++) {
        double s = Math.max(0, Math.min(1, shade[r][c]));
        int x = left + c * cell;
        m.start(
            "rect",
            "x",
            str(x),
            "y",
            str(y),
            "width",
            str(cell - 2),
            "height",
            str(cell - 2),
            "fill",
            heat(s),
            "class",
            "cell",
            "data-row",
            rows.get(r),
            "data-col",
            cols.get(c));
        m.element("title", tooltips[r][c]);
        m.end();
        m.element(
            "text",
            labels[r][c],
            "x",
            str(x + cell / 2 - 1),
            "y",
            str(y + cell / 2 + 3),
            "text-anchor",
            "middle",
            "class",
            s > 0.55 ? "cell-label light" : "cell-label");
      }
    }
    m.end();
  }

  private static void axes(Markup m, double[] xr, double[] yr, String xName, String yName) {
    m.empty(
        "line",
        "x1",
        str(LEFT),
        "y1",
        str(HEIGHT - BOTTOM),
        "x2",
        str(WIDTH - RIGHT),
        "y2",
        str(HEIGHT - BOTTOM),
        "class",
        "axis");
    m.empty(
        "line",
        "x1",
        str(LEFT),
        "y1",
        str(TOP),
        "x2",
        str(LEFT),
        "y2",
        str(HEIGHT - BOTTOM),
        "class",
        "axis");
    double xStep = niceStep(xr[0], xr[1]);
    for (double x : ticks(xr[0], xr[1], xStep)) {
      m.element(
          "text",
          axisLabel(x, xStep),
          "x",
          num(sx(x, xr)),
          "y",
          str(HEIGHT - BOTTOM + 14),
          "text-anchor",
          "middle",
          "class",
          "tick");
    }
    double yStep = niceStep(yr[0], yr[1]);
    for (double y : ticks(yr[0], yr[1], yStep)) {
      m.element(
          "text",
          axisLabel(y, yStep),
          "x",
          str(LEFT - 6),
          "y",
          num(sy(y, yr) + 4),
          "text-anchor",
          "end",
          "class",
          "tick");
    }
    m.element(
        "text",
        xName,
        "x",
        str((LEFT + WIDTH - RIGHT) / 2),
        "y",
        str(HEIGHT - 6),
        "text-anchor",
        "middle",
        "class",
        "axis-name");
    int mid = (TOP + HEIGHT - BOTTOM) / 2;
    m.element(
        "text",
        yName,
        "x",
        "12",
        "y",
        str(mid),
        "text-anchor",
        "middle",
        "transform",
        "rotate(-90 12 " + mid + ")",
        "class",
        "axis-name");
  }

  /** A step of 1, 2 or 5 times a power of ten giving at most five ticks over [lo, hi]. */
  static double niceStep(double lo, double hi) {
    double raw = (hi - lo) / 4;
    double power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (double f : new double[] {1, 2, 5, 10}) {
      if (f * power >= raw) {
        return f * power;
      }
    }
    return 10 * power;
  }

  /** The multiples of {@code step} within [lo, hi]. */
  static double[] ticks(double lo, double hi, double step) {
    long first = (long) Math.ceil(lo / step - 1e-9);
    long last = (long) Math.floor(hi / step + 1e-9);
    double[] out = new double[(int) Math.max(0, last - first + 1)];
    for (int i = 0; i < out.length; i++) {
      out[i] = (first + i) * step;
    }
    return out;
  }

  /**
   * An axis label with as many decimals as the tick step needs; tiny steps in scientific notation.
   */
  static String axisLabel(double v, double step) {
    if (step < 1e-3) {
      return String.format(Locale.ROOT, "%.1e", v);
    }
    int decimals = step >= 1 ? 0 : (int) Math.ceil(-Math.log10(step) - 1e-9);
    return String.format(Locale.ROOT, "%." + decimals + "f", v);
  }

  /** [min, max] of the values, widened when flat so a constant series is drawn mid-height. */
  static double[] range(double[] v) {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (double d : v) {
      if (Double.isFinite(d)) {
        lo = Math.min(lo, d);
        hi = Math.max(hi, d);
      }
    }
    if (lo > hi) {
      return new double[] {0, 1};
    }
    if (lo == hi) {
      double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
      return new double[] {lo - pad, hi + pad};
    }
    return new double[] {lo, hi};
  }

  private static double sx(double x, double[] r) {
    return LEFT + (x - r[0]) / (r[1] - r[0]) * (WIDTH - LEFT - RIGHT);
  }

  private static double sy(double y, double[] r) {
    double v = Double.isFinite(y) ? y : r[0];
    return HEIGHT - BOTTOM - (v - r[0]) / (r[1] - r[0]) * (HEIGHT - TOP - BOTTOM);
  }

  /** White to dark blue. */
  static String heat(double s) {
    int r = (int) Math.round(247 + (8 - 247) * s);
    int g = (int) Math.round(251 + (48 - 251) * s);
    int b = (int) Math.round(255 + (107 - 255) * s);
    return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, b);
  }

  private static int longest(List<String> names) {
    int n = 0;
    for (String s : names) {
      n = Math.max(n, s.length());
    }
    return n;
  }

  private static String str(int v) {
    return Integer.toString(v);
  }

  private static String num(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  /** An axis label: integers as such, else three significant digits. */
  static String tick(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e9) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    return String.format(Locale.ROOT, "%.3g", v);
  }
}

package io.sparkner.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The linear-chain CRF against a brute-force reference in double precision that enumerates every
 * tag path of small chains: log-likelihood, its gradients (marginals minus gold indicators),
 * Viterbi with and without IOB2 constraints; float16 emissions, seeded initialisation, bad input.
 */
class CrfTest {
  static final int X = Crf.IGNORE;

  /**
   * Chains of lengths 3, 5, 0, 1, 2, 4 over 6 positions: ignored positions at the ends, inside,
   * everywhere; 1 marks a labelled position.
   */
  static final int[][] LAYOUT = {
    {0, 1, 0, 1, 1, 0},
    {1, 1, 1, 1, 1, 0},
    {0, 0, 0, 0, 0, 0},
    {0, 0, 1, 0, 0, 0},
    {1, 0, 0, 0, 0, 1},
    {1, 1, 0, 1, 1, 0},
  };

  /** A CRF's parameters and a batch, as doubles for the reference. */
  record Case(int l, double[] start, double[] end, double[][] trans, float[][][] em, int[][] y) {}

  static Case randomCase(int l, int[][] layout, long seed) {
    Random r = new Random(seed);
    double[] start = new double[l];
    double[] end = new double[l];
    double[][] trans = new double[l][l];
    for (int i = 0; i < l; i++) {
      start[i] = (float) (r.nextDouble() * 2 - 1);
      end[i] = (float) (r.nextDouble() * 2 - 1);
      for (int j = 0; j < l; j++) {
        trans[i][j] = (float) (r.nextDouble() * 2 - 1);
      }
    }
    int b = layout.length;
    int t = layout[0].length;
    float[][][] em = new float[b][t][l];
    int[][] y = new int[b][t];
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < t; j++) {
        for (int k = 0; k < l; k++) {
          em[i][j][k] = (float) (r.nextGaussian() * 2);
        }
        y[i][j] = layout[i][j] == 1 ? r.nextInt(l) : X;
      }
    }
    return new Case(l, start, end, trans, em, y);
  }

  /** {@link #crfOf} in float32, its parameters recording gradients. */
  static Crf trainableCrfOf(Case c, NDManager m) {
    Crf crf = crfOf(c, m, DataType.FLOAT32);
    for (ai.djl.nn.Parameter p : crf.parameters("").values()) {
      p.getArray().setRequiresGradient(true);
    }
    return crf;
  }

  static Crf crfOf(Case c, NDManager m, DataType dtype) {
    Crf crf = new Crf(c.l);
    Map<String, ai.djl.nn.Parameter> p = crf.parameters("");
    float[] trans = new float[c.l * c.l];
    for (int i = 0; i < c.l; i++) {
      for (int j = 0; j < c.l; j++) {
        trans[i * c.l + j] = (float) c.trans[i][j];
      }
    }
    p.get("start_transitions").setArray(array(m, floats(c.start), new Shape(c.l), dtype));
    p.get("end_transitions").setArray(array(m, floats(c.end), new Shape(c.l), dtype));
    p.get("transitions").setArray(array(m, trans, new Shape(c.l, c.l), dtype));
    return crf;
  }

  static float[] floats(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }

  static NDArray array(NDManager m, float[] v, Shape shape, DataType dtype) {
    try (NDArray javaBacked = m.create(v, shape)) {
      return dtype == DataType.FLOAT32 ? javaBacked.duplicate() : javaBacked.toType(dtype, false);
    }
  }

  static NDArray emissions(NDManager m, float[][][] em, DataType dtype) {
    int b = em.length;
    int t = em[0].length;
    int l = em[0][0].length;
    float[] flat = new float[b * t * l];
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < t; j++) {
        System.arraycopy(em[i][j], 0, flat, (i * t + j) * l, l);
      }
    }
    return array(m, flat, new Shape(b, t, l), dtype);
  }

  // ---- the brute-force reference ----

  /** The expected NLL of one sequence and its gradients, by enumerating all tag paths. */
  static final class Reference {
    double nll;
    final double[][] dEm;
    final double[] dStart;
    final double[] dEnd;
    final double[][] dTrans;

    Reference(int t, int l) {
      dEm = new double[t][l];
      dStart = new double[l];
      dEnd = new double[l];
      dTrans = new double[l][l];
    }
  }

  static int[] chainPositions(int[] labels) {
    return IntStream.range(0, labels.length).filter(j -> labels[j] != X).toArray();
  }

  static double pathScore(Case c, int seq, int[] pos, int[] path) {
    double s = c.start[path[0]] + c.em[seq][pos[0]][path[0]];
    for (int k = 1; k < path.length; k++) {
      // in the decoder's order of additions, so that equal paths have bit-equal scores
      s += c.trans[path[k - 1]][path[k]];
      s += c.em[seq][pos[k]][path[k]];
    }
    return s + c.end[path[path.length - 1]];
  }

  /** All L^n paths of length n. */
  static List<int[]> allPaths(int l, int n) {
    List<int[]> out = new ArrayList<>();
    int total = (int) Math.pow(l, n);
    for (int code = 0; code < total; code++) {
      int[] p = new int[n];
      int c = code;
      for (int k = n - 1; k >= 0; k--) {
        p[k] = c % l;
        c /= l;
      }
      out.add(p);
    }
    return out;
  }

  static Reference reference(Case c, int seq) {
    int t = c.y[seq].length;
    Reference r = new Reference(t, c.l);
    int[] pos = chainPositions(c.y[seq]);
    int n = pos.length;
    if (n == 0) {
      return r;
    }
    int[] gold = new int[n];
    for (int k = 0; k < n; k++) {
      gold[k] = c.y[seq][pos[k]];
    }
    List<int[]> paths = allPaths(c.l, n);
    double[] scores = new double[paths.size()];
    double max = Double.NEGATIVE_INFINITY;
    for (int p = 0; p < scores.length; p++) {
      scores[p] = pathScore(c, seq, pos, paths.get(p));
      max = Math.max(max, scores[p]);
    }
    double z = 0;
    for (double s : scores) {
      z += Math.exp(s - max);
    }
    double logZ = max + Math.log(z);
    r.nll = logZ - pathScore(c, seq, pos, gold);
    // gradient of log Z: expected indicators under p(path); minus the gold indicators
    for (int p = 0; p < scores.length; p++) {
      double prob = Math.exp(scores[p] - logZ);
      int[] path = paths.get(p);
      r.dStart[path[0]] += prob;
      r.dEnd[path[n - 1]] += prob;
      for (int k = 0; k < n; k++) {
        r.dEm[pos[k]][path[k]] += prob;
        if (k > 0) {
          r.dTrans[path[k - 1]][path[k]] += prob;
        }
      }
    }
    r.dStart[gold[0]] -= 1;
    r.dEnd[gold[n - 1]] -= 1;
    for (int k = 0; k < n; k++) {
      r.dEm[pos[k]][gold[k]] -= 1;
      if (k > 0) {
        r.dTrans[gold[k - 1]][gold[k]] -= 1;
      }
    }
    return r;
  }

  static void assertClose(double expected, double actual, double tolerance, String what) {
    assertTrue(
        Math.abs(expected - actual) <= tolerance * Math.max(1, Math.abs(expected)),
        what + ": expected " + expected + ", got " + actual);
  }

  // ---- likelihood and gradients ----

  /** Chains of one length (3), each at other positions: every step of the recursion is shared. */
  static final int[][] EVEN = {
    {1, 1, 0, 1},
    {0, 1, 1, 1},
    {1, 0, 1, 1},
  };

  @ParameterizedTest
  @ValueSource(ints = {3, 4, 5})
  void negLogLikelihoodAndGradientsMatchEnumerationOfAllPaths(int l) {
    checkAgainstEnumeration(randomCase(l, LAYOUT, 100 + l));
    checkAgainstEnumeration(randomCase(l, EVEN, 200 + l));
  }

  static void checkAgainstEnumeration(Case c) {
    int l = c.l;
    int b = c.y.length;
    int t = c.y[0].length;
    try (NDManager m = NDManager.newBaseManager()) {
      Crf crf = trainableCrfOf(c, m);
      NDArray em = emissions(m, c.em, DataType.FLOAT32);
      em.setRequiresGradient(true);
      float[] perSequence;
      float sum;
      try (Autograd.Scope rec = Autograd.recording()) {
        NDArray nll = crf.negLogLikelihoods(em, c.y);
        assertEquals(new Shape(b), nll.getShape());
        assertEquals(DataType.FLOAT32, nll.getDataType());
        perSequence = nll.toFloatArray();
        NDArray total = crf.negLogLikelihoodSum(em, c.y);
        sum = total.getFloat();
        Autograd.backward(total);
      }
      double expectedSum = 0;
      double[] dStart = new double[l];
      double[] dEnd = new double[l];
      double[][] dTrans = new double[l][l];
      float[] gEm = em.getGradient().toFloatArray();
      for (int i = 0; i < b; i++) {
        Reference r = reference(c, i);
        expectedSum += r.nll;
        assertClose(r.nll, perSequence[i], 1e-5, "NLL of sequence " + i + " (L=" + l + ")");
        for (int j = 0; j < t; j++) {
          for (int k = 0; k < l; k++) {
            assertClose(
                r.dEm[j][k],
                gEm[(i * t + j) * l + k],
                2e-5,
                "dNLL/demissions[" + i + "][" + j + "][" + k + "]");
          }
        }
        for (int k = 0; k < l; k++) {
          dStart[k] += r.dStart[k];
          dEnd[k] += r.dEnd[k];
          for (int k2 = 0; k2 < l; k2++) {
            dTrans[k][k2] += r.dTrans[k][k2];
          }
        }
      }
      for (int i = 0; i < b; i++) {
        if (chainPositions(c.y[i]).length == 0) {
          assertEquals(0f, perSequence[i], "a sequence without labelled position contributes 0");
        }
      }
      assertClose(expectedSum, sum, 1e-5, "NLL sum");
      Map<String, ai.djl.nn.Parameter> p = crf.parameters("");
      float[] gStart = p.get("start_transitions").getArray().getGradient().toFloatArray();
      float[] gEnd = p.get("end_transitions").getArray().getGradient().toFloatArray();
      float[] gTrans = p.get("transitions").getArray().getGradient().toFloatArray();
      for (int k = 0; k < l; k++) {
        assertClose(dStart[k], gStart[k], 2e-5, "dNLL/dstart[" + k + "]");
        assertClose(dEnd[k], gEnd[k], 2e-5, "dNLL/dend[" + k + "]");
        for (int k2 = 0; k2 < l; k2++) {
          assertClose(
              dTrans[k][k2], gTrans[k * l + k2], 2e-5, "dNLL/dtransitions[" + k + "][" + k2 + "]");
        }
      }
    }
  }

  @Test
  void labelsAsAnInt64ArrayGiveTheSameLikelihood() {
    Case c = randomCase(4, LAYOUT, 7);
    try (NDManager m = NDManager.newBaseManager()) {
      Crf crf = crfOf(c, m, DataType.FLOAT32);
      NDArray em = emissions(m, c.em, DataType.FLOAT32);
      long[] flat = Arrays.stream(c.y).flatMapToInt(Arrays::stream).asLongStream().toArray();
      NDArray labels = m.create(flat, new Shape(c.y.length, c.y[0].length));
      assertArrayEquals(
          crf.negLogLikelihoods(em, c.y).toFloatArray(),
          crf.negLogLikelihoods(em, labels).toFloatArray());
      assertEquals(
          crf.negLogLikelihoodSum(em, c.y).getFloat(),
          crf.negLogLikelihoodSum(em, labels).getFloat());
    }
  }

  @Test
  void aBatchWithoutAnyLabelledPositionHasZeroLossAndZeroGradients() {
    Case c = randomCase(3, new int[][] {{0, 0, 0}, {0, 0, 0}}, 3);
    try (NDManager m = NDManager.newBaseManager()) {
      Crf crf = trainableCrfOf(c, m);
      NDArray em = emissions(m, c.em, DataType.FLOAT32);
      em.setRequiresGradient(true);
      try (Autograd.Scope rec = Autograd.recording()) {
        NDArray total = crf.negLogLikelihoodSum(em, c.y);
        assertEquals(0f, total.getFloat());
        Autograd.backward(total);
      }
      for (float g : em.getGradient().toFloatArray()) {
        assertEquals(0f, g);
      }
      for (ai.djl.nn.Parameter p : crf.parameters("").values()) {
        for (float g : p.getArray().getGradient().toFloatArray()) {
          assertEquals(0f, g, p.getName());
        }
      }
    }
  }

  @Test
  void goldPathsThatBreakIob2HaveAFiniteLoss() {
    // a window that starts inside an entity, and an I-PER after O: allowed in training
    List<String> names = List.of("O", "B-PER", "I-PER");
    int[][] y = {{2, 2, 0}, {0, 2, 1}};
    Case c = randomCase(3, new int[][] {{1, 1, 1}, {1, 1, 1}}, 9);
    c = new Case(c.l, c.start, c.end, c.trans, c.em, y);
    assertFalse(TagConstraints.iob2(names).allowsPath(y[0]));
    assertFalse(TagConstraints.iob2(names).allowsPath(y[1]));
    try (NDManager m = NDManager.newBaseManager()) {
      Crf crf = crfOf(c, m, DataType.FLOAT32);
      float[] nll = crf.negLogLikelihoods(emissions(m, c.em, DataType.FLOAT32), y).toFloatArray();
      for (int i = 0; i < 2; i++) {
        assertTrue(Float.isFinite(nll[i]), "NLL " + nll[i]);
        assertClose(reference(c, i).nll, nll[i], 1e-5, "NLL of sequence " + i);
      }
    }
  }

  @Test
  void float16EmissionsAndParametersComputeInFloat32() {
    Case c = randomCase(5, LAYOUT, 11);
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray em16 = emissions(m, c.em, DataType.FLOAT16);
      // the float32 values of the float16 emissions
      NDArray em32 = em16.toType(DataType.FLOAT32, false);
      Crf crf = crfOf(c, m, DataType.FLOAT32);
      em16.setRequiresGradient(true);
      em32.setRequiresGradient(true);
      float[] from16;
      float[] from32;
      try (Autograd.Scope rec = Autograd.recording()) {
        NDArray nll16 = crf.negLogLikelihoods(em16, c.y);
        assertEquals(DataType.FLOAT32, nll16.getDataType());
        from16 = nll16.toFloatArray();
        from32 = crf.negLogLikelihoods(em32, c.y).toFloatArray();
        Autograd.backward(nll16.sum());
        Autograd.backward(crf.negLogLikelihoodSum(em32, c.y));
      }
      for (int i = 0; i < from16.length; i++) {
        assertClose(from32[i], from16[i], 1e-6, "NLL of sequence " + i + " from float16");
      }
      NDArray g16 = em16.getGradient();
      assertEquals(DataType.FLOAT16, g16.getDataType(), "the gradient flows back to float16");
      float[] a = g16.toType(DataType.FLOAT32, false).toFloatArray();
      float[] b = em32.getGradient().toFloatArray();
      for (int i = 0; i < a.length; i++) {
        assertEquals(b[i], a[i], 1e-3, "gradient " + i); // float16 rounding of the gradient
      }
      // float16 parameters: the same float32 computation over their float32 values
      Case rounded = roundedToHalf(c);
      Crf crf16 = crfOf(c, m, DataType.FLOAT16);
      Crf crf32 = crfOf(rounded, m, DataType.FLOAT32);
      float[] p16 = crf16.negLogLikelihoods(em32, c.y).toFloatArray();
      float[] p32 = crf32.negLogLikelihoods(em32, c.y).toFloatArray();
      for (int i = 0; i < p16.length; i++) {
        assertClose(p32[i], p16[i], 1e-6, "NLL of sequence " + i + " with float16 parameters");
      }
    }
  }

  static Case roundedToHalf(Case c) {
    try (NDManager m = NDManager.newBaseManager()) {
      double[] start = half(m, c.start);
      double[] end = half(m, c.end);
      double[][] trans = new double[c.l][];
      for (int i = 0; i < c.l; i++) {
        trans[i] = half(m, c.trans[i]);
      }
      return new Case(c.l, start, end, trans, c.em, c.y);
    }
  }

  static double[] half(NDManager m, double[] v) {
    float[] f =
        m.create(floats(v))
            .toType(DataType.FLOAT16, false)
            .toType(DataType.FLOAT32, false)
            .toFloatArray();
    double[] out = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      out[i] = f[i];
    }
    return out;
  }

  // ---- Viterbi ----

  static final List<String> IOB2 = List.of("O", "B-LOC", "I-LOC", "B-PER", "I-PER");

  /** IOB2 by the label names: an I-X only after B-X or I-X. */
  static boolean validIob2(List<String> names, int[] path) {
    String previous = "O";
    for (int tag : path) {
      String name = names.get(tag);
      if (name.startsWith("I-")
          && !(previous.equals("B-" + name.substring(2)) || previous.equals(name))) {
        return false;
      }
      previous = name;
    }
    return true;
  }

  static int[] bestPath(Case c, int seq, List<String> constrainedBy) {
    int[] pos = chainPositions(c.y[seq]);
    int[] best = null;
    double bestScore = Double.NEGATIVE_INFINITY;
    for (int[] path : allPaths(c.l, pos.length)) {
      if (constrainedBy != null && !validIob2(constrainedBy, path)) {
        continue;
      }
      double s = pathScore(c, seq, pos, path);
      if (s > bestScore) {
        bestScore = s;
        best = path;
      }
    }
    return best;
  }

  static boolean[][] chainOf(int[][] y) {
    boolean[][] chain = new boolean[y.length][y[0].length];
    for (int i = 0; i < y.length; i++) {
      for (int j = 0; j < y[i].length; j++) {
        chain[i][j] = y[i][j] != X;
      }
    }
    return chain;
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void viterbiFindsTheBestPathOfAllPaths(boolean constrained) {
    int l = IOB2.size();
    TagConstraints constraints = constrained ? TagConstraints.iob2(IOB2) : null;
    int violations = 0;
    try (NDManager m = NDManager.newBaseManager()) {
      for (long seed = 0; seed < 20; seed++) {
        Case c = randomCase(l, LAYOUT, seed);
        Crf crf = crfOf(c, m, DataType.FLOAT32);
        int[][] decoded =
            crf.viterbi(emissions(m, c.em, DataType.FLOAT32), chainOf(c.y), constraints);
        for (int i = 0; i < LAYOUT.length; i++) {
          int[] pos = chainPositions(c.y[i]);
          int[] path = new int[pos.length];
          for (int k = 0; k < pos.length; k++) {
            path[k] = decoded[i][pos[k]];
          }
          for (int j = 0; j < LAYOUT[i].length; j++) {
            if (c.y[i][j] == X) {
              assertEquals(X, decoded[i][j], "outside the chain: sequence " + i + " position " + j);
            }
          }
          if (pos.length == 0) {
            continue;
          }
          int[] expected = bestPath(c, i, constrained ? IOB2 : null);
          assertArrayEquals(expected, path, "seed " + seed + " sequence " + i);
          if (constrained) {
            assertTrue(validIob2(IOB2, path), Arrays.toString(path));
            assertTrue(constraints.allowsPath(path));
          } else if (!validIob2(IOB2, path)) {
            violations++;
          }
        }
      }
    }
    if (!constrained) {
      // the random scores make the unconstrained best path break IOB2 now and then: the
      // constrained run above is a real restriction
      assertTrue(violations > 0, "no unconstrained path broke IOB2");
    }
  }

  @Test
  void constraintsForbidALeadingIAndIAfterOOrAnotherType() {
    TagConstraints c = TagConstraints.iob2(IOB2);
    assertFalse(c.allowsStart(2)); // I-LOC
    assertFalse(c.allowsStart(4)); // I-PER
    assertTrue(c.allowsStart(0) && c.allowsStart(1) && c.allowsStart(3));
    assertFalse(c.allows(0, 2)); // O -> I-LOC
    assertFalse(c.allows(3, 2)); // B-PER -> I-LOC
    assertFalse(c.allows(4, 2)); // I-PER -> I-LOC
    assertTrue(c.allows(1, 2) && c.allows(2, 2)); // B-LOC, I-LOC -> I-LOC
    assertTrue(c.allows(2, 3) && c.allows(4, 0) && c.allows(0, 1)); // anything -> O or B-X
    assertFalse(c.isUnconstrained());
    assertTrue(TagConstraints.forLabels(List.of("O", "I-LOC", "I-PER")).isUnconstrained());
    assertFalse(TagConstraints.forLabels(IOB2).isUnconstrained());
    // emissions that want I-PER first and I-PER after O
    try (NDManager m = NDManager.newBaseManager()) {
      Crf crf = new Crf(5);
      crf.initialize(m, DataType.FLOAT32, new Random(1));
      float[][][] em = new float[1][3][5];
      em[0][0][4] = 5; // I-PER
      em[0][1][0] = 6; // O: above B-PER I-PER I-PER (5) whatever the small transitions
      em[0][2][4] = 5; // I-PER
      NDArray e = emissions(m, em, DataType.FLOAT32);
      boolean[][] chain = {{true, true, true}};
      assertArrayEquals(new int[] {4, 0, 4}, crf.viterbi(e, chain, null)[0]);
      int[] constrained = crf.viterbi(e, chain, c)[0];
      assertTrue(validIob2(IOB2, constrained), Arrays.toString(constrained));
      assertEquals(0, constrained[1]);
    }
  }

  @Test
  void viterbiTakesTheChainAsAnArray() {
    Case c = randomCase(5, LAYOUT, 5);
    try (NDManager m = NDManager.newBaseManager()) {
      Crf crf = crfOf(c, m, DataType.FLOAT32);
      long[] flat = Arrays.stream(c.y).flatMapToInt(Arrays::stream).asLongStream().toArray();
      NDArray labels = m.create(flat, new Shape(c.y.length, c.y[0].length));
      NDArray em = emissions(m, c.em, DataType.FLOAT32);
      TagConstraints iob2 = TagConstraints.iob2(IOB2);
      int[][] fromBooleans = crf.viterbi(em, chainOf(c.y), iob2);
      assertArrayEquals(fromBooleans, crf.viterbi(em, labels.gte(0), iob2));
      assertArrayEquals(
          fromBooleans, crf.viterbi(em, labels.gte(0).toType(DataType.INT64, false), iob2));
      // float16 emissions decode as their float32 values
      NDArray em16 = em.toType(DataType.FLOAT16, false);
      assertArrayEquals(
          crf.viterbi(em16.toType(DataType.FLOAT32, false), chainOf(c.y), iob2),
          crf.viterbi(em16, chainOf(c.y), iob2));
    }
  }

  // ---- parameters ----

  @Test
  void parametersAreNamedAsPytorchCrfAndInitialisedFromTheSeed() {
    try (NDManager m = NDManager.newBaseManager()) {
      Crf a = new Crf(4);
      Crf b = new Crf(4);
      Crf other = new Crf(4);
      a.initialize(m, DataType.FLOAT32, new Random(42));
      b.initialize(m, DataType.FLOAT32, new Random(42));
      other.initialize(m, DataType.FLOAT32, new Random(43));
      List<String> names =
          List.of("crf.start_transitions", "crf.end_transitions", "crf.transitions");
      assertEquals(names, new ArrayList<>(a.parameters("crf.").keySet()));
      Map<String, long[]> shapes = Crf.parameterShapes("crf.", 4);
      assertEquals(names, new ArrayList<>(shapes.keySet()));
      Random expected = new Random(42);
      for (String name : names) {
        NDArray x = a.parameters("crf.").get(name).getArray();
        assertArrayEquals(shapes.get(name), x.getShape().getShape(), name);
        float[] v = x.toFloatArray();
        assertArrayEquals(v, b.parameters("crf.").get(name).getArray().toFloatArray(), name);
        assertArrayEquals(Crf.initial(shapes.get(name), expected), v, name);
        assertFalse(
            Arrays.equals(v, other.parameters("crf.").get(name).getArray().toFloatArray()), name);
        for (float f : v) {
          assertTrue(f >= -0.1f && f <= 0.1f, name + " " + f);
        }
        assertNotEquals(0f, v[0]);
      }
      Crf half = new Crf(4);
      half.initialize(m, DataType.FLOAT16, new Random(42));
      assertEquals(
          DataType.FLOAT16, half.parameters("").get("transitions").getArray().getDataType());
    }
  }

  // ---- bad input ----

  @Test
  void badInputIsRejectedNamingWhatIsWrong() {
    Case c = randomCase(3, LAYOUT, 1);
    try (NDManager m = NDManager.newBaseManager()) {
      Crf crf = crfOf(c, m, DataType.FLOAT32);
      NDArray em = emissions(m, c.em, DataType.FLOAT32);
      int[][] y = Arrays.stream(c.y).map(int[]::clone).toArray(int[][]::new);
      y[1][2] = 3;
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> crf.negLogLikelihoodSum(em, y));
      assertTrue(e.getMessage().contains("label 3 at sequence 1, position 2"), e.getMessage());
      y[1][2] = -1;
      e = assertThrows(IllegalArgumentException.class, () -> crf.negLogLikelihoodSum(em, y));
      assertTrue(e.getMessage().contains("label -1 at sequence 1, position 2"), e.getMessage());
      long[] flat = Arrays.stream(y).flatMapToInt(Arrays::stream).asLongStream().toArray();
      NDArray labels = m.create(flat, new Shape(y.length, y[0].length));
      e = assertThrows(IllegalArgumentException.class, () -> crf.negLogLikelihoodSum(em, labels));
      assertTrue(e.getMessage().contains("label -1 at sequence 1, position 2"), e.getMessage());

      NDArray wide = m.zeros(new Shape(6, 6, 4));
      e = assertThrows(IllegalArgumentException.class, () -> crf.negLogLikelihoodSum(wide, c.y));
      assertTrue(e.getMessage().contains("the CRF has 3 labels"), e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> crf.viterbi(wide, chainOf(c.y), null));
      assertTrue(e.getMessage().contains("the CRF has 3 labels"), e.getMessage());

      int[][] shortRow = Arrays.stream(c.y).map(int[]::clone).toArray(int[][]::new);
      shortRow[4] = new int[] {0, 1};
      e = assertThrows(IllegalArgumentException.class, () -> crf.negLogLikelihoodSum(em, shortRow));
      assertTrue(e.getMessage().contains("labels of sequence 4 have length 2"), e.getMessage());
      e =
          assertThrows(
              IllegalArgumentException.class,
              () -> crf.negLogLikelihoodSum(em, Arrays.copyOf(c.y, 5)));
      assertTrue(e.getMessage().contains("labels have 5 sequences"), e.getMessage());
      NDArray wrongShape = m.zeros(new Shape(6, 5), DataType.INT64);
      e =
          assertThrows(
              IllegalArgumentException.class, () -> crf.negLogLikelihoodSum(em, wrongShape));
      assertTrue(e.getMessage().contains("labels have shape (6, 5)"), e.getMessage());
      e =
          assertThrows(
              IllegalArgumentException.class,
              () -> crf.negLogLikelihoodSum(em, m.zeros(new Shape(6, 6))));
      assertTrue(e.getMessage().contains("integer"), e.getMessage());
      e =
          assertThrows(
              IllegalArgumentException.class,
              () -> crf.viterbi(em, m.zeros(new Shape(6, 5), DataType.BOOLEAN), null));
      assertTrue(e.getMessage().contains("the chain mask has shape (6, 5)"), e.getMessage());
      e =
          assertThrows(
              IllegalArgumentException.class,
              () -> crf.viterbi(em, chainOf(c.y), TagConstraints.iob2(IOB2)));
      assertTrue(e.getMessage().contains("constraints over 5 labels"), e.getMessage());
    }
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TagConstraints.iob2(List.of("O", "B-PER", "E-PER")));
    assertTrue(e.getMessage().contains("label 2 \"E-PER\""), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TagConstraints.iob2(List.of("O", "B-PER", "I-PER", "I-LOC")));
    assertTrue(e.getMessage().contains("\"I-LOC\" has no B-LOC"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new Crf(0));
    assertTrue(e.getMessage().contains("at least one label"), e.getMessage());
  }
}

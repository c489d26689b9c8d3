package io.sparkner.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A linear-chain CRF over token-classification logits (the emissions), with the parameters and
 * their names of {@code pytorch-crf}'s {@code CRF} as BERT-CRF checkpoints hold them under a prefix
 * such as {@code crf.}: {@code start_transitions [L]}, {@code end_transitions [L]} and {@code
 * transitions [L, L]}, where {@code transitions[i][j]} scores tag {@code j} following tag {@code
 * i}.
 *
 * <p>A sequence's chain is its labelled positions only (label ≠ {@value #IGNORE}), in order: the
 * positions labelled {@value #IGNORE} (special tokens, subword continuations when only first
 * subwords are labelled, padding) are skipped, so the transition between two consecutive labelled
 * positions is scored even when ignored positions lie between them. Decoding takes the same chain
 * as a mask.
 *
 * <p>All CRF arithmetic is float32, whatever the type of the emissions and parameters (float16 is
 * cast inside the autograd graph, so its gradients flow back in float16).
 */
public final class Crf extends HfBlock {
  /** The label of positions outside a chain, as {@code Labels.IGNORE}. */
  public static final int IGNORE = -100;

  /** Parameters start uniform in [-INIT_RANGE, INIT_RANGE], as pytorch-crf initialises them. */
  public static final double INIT_RANGE = 0.1;

  public static final String START = "start_transitions";
  public static final String END = "end_transitions";
  public static final String TRANSITIONS = "transitions";

  final Parameter startTransitions = parameter(START, Parameter.Type.WEIGHT);
  final Parameter endTransitions = parameter(END, Parameter.Type.WEIGHT);
  final Parameter transitions = parameter(TRANSITIONS, Parameter.Type.WEIGHT);
  private final int numLabels;

  /** A CRF over {@code numLabels} tags; its parameter arrays are set by {@link #initialize}. */
  public Crf(int numLabels) {
    if (numLabels < 1) {
      throw new IllegalArgumentException("a CRF needs at least one label, got " + numLabels);
    }
    this.numLabels = numLabels;
  }

  public int numLabels() {
    return numLabels;
  }

  /**
   * The parameters by checkpoint name ({@code prefix + "transitions"} ...), in checkpoint order.
   */
  public Map<String, Parameter> parameters(String prefix) {
    Map<String, Parameter> out = new LinkedHashMap<>();
    namedParameters(prefix, out);
    return out;
  }

  /** The parameters' shapes by checkpoint name, in the order of {@link #parameters}. */
  public static Map<String, long[]> parameterShapes(String prefix, int numLabels) {
    Map<String, long[]> out = new LinkedHashMap<>();
    out.put(prefix + START, new long[] {numLabels});
    out.put(prefix + END, new long[] {numLabels});
    out.put(prefix + TRANSITIONS, new long[] {numLabels, numLabels});
    return out;
  }

  /**
   * Initial values of a parameter of {@code shape}: uniform in [-{@value #INIT_RANGE}, {@value
   * #INIT_RANGE}), drawn in row-major order from {@code random} (deterministic for a seeded one).
   */
  public static float[] initial(long[] shape, Random random) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    float[] v = new float[Math.toIntExact(n)];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) ((random.nextDouble() * 2 - 1) * INIT_RANGE);
    }
    return v;
  }

  /**
   * Sets every parameter to {@link #initial} values of {@code dtype} on {@code manager}, drawn from
   * {@code random} in the order of {@link #parameters}.
   */
  public void initialize(NDManager manager, DataType dtype, Random random) {
    for (Map.Entry<String, long[]> e : parameterShapes("", numLabels).entrySet()) {
      float[] v = initial(e.getValue(), random);
      NDArray a;
      // a copy in libtorch's own memory: create() wraps a Java buffer the GC may free (Scalars)
      try (NDArray javaBacked = manager.create(v, new Shape(e.getValue()))) {
        a = dtype == DataType.FLOAT32 ? javaBacked.duplicate() : javaBacked.toType(dtype, false);
      }
      parameters("").get(e.getKey()).setArray(a);
    }
  }

  /**
   * Per sequence, {@code -log p(gold path | emissions)} over its chain (its labelled positions); 0
   * for a sequence without labelled position. Float32 [batch], in the autograd graph of the
   * emissions and the CRF parameters; the intermediate arrays belong to the emissions' manager.
   *
   * <p>The likelihood is not constrained (unlike {@link #viterbi} with {@link TagConstraints}):
   * every tag path has a finite score, so a gold path that breaks IOB2 (a training window that
   * starts inside an entity, as long texts are split into overlapping windows, or an IOB error of
   * the corpus) gets a finite loss; forbidding it would make the loss infinite and kill training.
   * The learnt transition scores make such paths unlikely.
   *
   * @param emissions [batch, length, labels], float32 or float16
   * @param labels per sequence and position a label id in [0, labels) or {@value #IGNORE}
   * @throws IllegalArgumentException for a shape mismatch or a label id out of range, naming the
   *     sequence and position
   */
  public NDArray negLogLikelihoods(NDArray emissions, int[][] labels) {
    Shape shape = checkEmissions(emissions);
    int b = (int) shape.get(0);
    int t = (int) shape.get(1);
    if (labels.length != b) {
      throw new IllegalArgumentException(
          "labels have " + labels.length + " sequences, the emissions " + shape + " have " + b);
    }
    for (int i = 0; i < b; i++) {
      if (labels[i].length != t) {
        throw new IllegalArgumentException(
            "labels of sequence "
                + i
                + " have length "
                + labels[i].length
                + ", the emissions "
                + shape
                + " have "
                + t);
      }
      for (int j = 0; j < t; j++) {
        int y = labels[i][j];
        if (y != IGNORE && (y < 0 || y >= numLabels)) {
          throw new IllegalArgumentException(badLabel(y, i, j));
        }
      }
    }
    return nll(emissions, labels);
  }

  /**
   * {@link #negLogLikelihoods(NDArray, int[][])} with the labels as an integer array [batch,
   * length] ({@link Batch#labels()}).
   */
  public NDArray negLogLikelihoods(NDArray emissions, NDArray labels) {
    Shape shape = checkEmissions(emissions);
    Shape ls = labels.getShape();
    if (ls.dimension() != 2 || ls.get(0) != shape.get(0) || ls.get(1) != shape.get(1)) {
      throw new IllegalArgumentException(
          "labels have shape "
              + ls
              + ", the emissions "
              + shape
              + ": expected [batch, length] = ("
              + shape.get(0)
              + ", "
              + shape.get(1)
              + ")");
    }
    if (!labels.getDataType().isInteger()) {
      throw new IllegalArgumentException(
          "labels must be integer label ids, got " + labels.getDataType());
    }
    long[] flat;
    if (labels.getDataType() == DataType.INT64) {
      flat = labels.toLongArray();
    } else {
      try (NDArray l64 = labels.toType(DataType.INT64, false)) {
        flat = l64.toLongArray();
      }
    }
    int b = (int) ls.get(0);
    int t = (int) ls.get(1);
    int[][] rows = new int[b][t];
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < t; j++) {
        long y = flat[i * t + j];
        if (y != IGNORE && (y < 0 || y >= numLabels)) {
          throw new IllegalArgumentException(badLabel(y, i, j));
        }
        rows[i][j] = (int) y;
      }
    }
    return nll(emissions, rows);
  }

  /**
   * The sum over the batch of {@link #negLogLikelihoods(NDArray, NDArray)}: a float32 scalar, the
   * CRF's counterpart of {@link Batch#crossEntropySum}.
   */
  public NDArray negLogLikelihoodSum(NDArray emissions, NDArray labels) {
    return negLogLikelihoods(emissions, labels).sum();
  }

  /** The sum over the batch of {@link #negLogLikelihoods(NDArray, int[][])}. */
  public NDArray negLogLikelihoodSum(NDArray emissions, int[][] labels) {
    return negLogLikelihoods(emissions, labels).sum();
  }

  private String badLabel(long y, int sequence, int position) {
    return "label "
        + y
        + " at sequence "
        + sequence
        + ", position "
        + position
        + " is neither a label id in [0, "
        + numLabels
        + ") nor "
        + IGNORE
        + " (ignored)";
  }

  private Shape checkEmissions(NDArray emissions) {
    Shape s = emissions.getShape();
    if (s.dimension() != 3 || s.get(2) != numLabels) {
      throw new IllegalArgumentException(
          "emissions have shape "
              + s
              + ", the CRF has "
              + numLabels
              + " labels: expected [batch, length, "
              + numLabels
              + "]");
    }
    if (!emissions.getDataType().isFloating()) {
      throw new IllegalArgumentException(
          "emissions must be float32 or float16, got " + emissions.getDataType());
    }
    return s;
  }

  /** The forward algorithm over the compacted chains, vectorised over the batch. */
  private NDArray nll(NDArray emissions, int[][] labels) {
    NDManager m = emissions.getManager();
    int b = labels.length;
    int t = b == 0 ? 0 : labels[0].length;
    int l = numLabels;
    NDArray e = float32(emissions, m);
    NDArray start = float32(startTransitions.getArray(), m);
    NDArray end = float32(endTransitions.getArray(), m);
    NDArray trans = float32(transitions.getArray(), m);
    int[] lengths = new int[b];
    int n = 0;
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < t; j++) {
        lengths[i] += labels[i][j] == IGNORE ? 0 : 1;
      }
      n = Math.max(n, lengths[i]);
    }
    if (n == 0) {
      // no chain at all: zeros that keep the graph, so that backward gives zero gradients
      NDArray params = start.sum().add(end.sum()).add(trans.sum());
      return Scalars.times(e.sum(new int[] {1, 2}), 0f).add(Scalars.times(params, 0f));
    }
    // per sequence: its chain's positions (padded with position 0), gold tags and the gold start,
    // end and transition indicators
    long[] index = new long[b * n * l];
    long[] gold = new long[b * n];
    boolean[] inChain = new boolean[b * n];
    float[] activeWeight = new float[b * n];
    float[] goldStart = new float[b * l];
    float[] goldEnd = new float[b * l];
    float[] goldTrans = new float[b * l * l];
    boolean[] hasChain = new boolean[b];
    int[] activeAt = new int[n];
    for (int i = 0; i < b; i++) {
      int k = 0;
      int previous = -1;
      for (int j = 0; j < t; j++) {
        int y = labels[i][j];
        if (y == IGNORE) {
          continue;
        }
        Arrays.fill(index, (i * n + k) * l, (i * n + k + 1) * l, j);
        gold[i * n + k] = y;
        inChain[i * n + k] = true;
        activeWeight[i * n + k] = 1f;
        activeAt[k]++;
        if (previous < 0) {
          goldStart[i * l + y] = 1f;
        } else {
          goldTrans[(i * l + previous) * l + y] += 1f;
        }
        previous = y;
        k++;
      }
      if (previous >= 0) {
        goldEnd[i * l + previous] = 1f;
        hasChain[i] = true;
      }
    }
    NDArray em = e.gather(owned(m.create(index, new Shape(b, n, l))), 1); // [b, n, l]
    NDArray mask = owned(m.create(inChain, new Shape(b, n)));

    // score of the gold path
    NDArray goldEmission =
        em.gather(owned(m.create(gold, new Shape(b, n, 1))), 2)
            .reshape(b, n)
            .mul(owned(m.create(activeWeight, new Shape(b, n))))
            .sum(new int[] {1});
    NDArray goldScore =
        goldEmission
            .add(owned(m.create(goldStart, new Shape(b, l))).mul(start).sum(new int[] {1}))
            .add(owned(m.create(goldEnd, new Shape(b, l))).mul(end).sum(new int[] {1}))
            .add(
                owned(m.create(goldTrans, new Shape(b, (long) l * l)))
                    .mul(trans.reshape((long) l * l))
                    .sum(new int[] {1}));

    // log partition: forward algorithm, alpha[b][j] = log sum over paths ending in j. The chain
    // positions' emissions come from one split: selecting each from em would make backward add a
    // full-size gradient of em per position (quadratic in the chain length)
    NDList steps = em.reshape(b, (long) n * l).split(n, 1); // n × [b, l]
    NDArray alpha = start.add(steps.get(0));
    NDList active = null;
    for (int k = 1; k < n; k++) {
      NDArray next = logSumExp(alpha.expandDims(2).add(trans), 1).add(steps.get(k));
      if (activeAt[k] == b) {
        alpha = next;
      } else {
        if (active == null) {
          active = mask.split(n, 1); // n × [b, 1]
        }
        alpha = JniUtils.where((PtNDArray) active.get(k), (PtNDArray) next, (PtNDArray) alpha);
      }
    }
    NDArray logZ = logSumExp(alpha.add(end), 1);
    NDArray nll = logZ.sub(goldScore);
    if (activeAt[0] < b) {
      NDArray has = owned(m.create(hasChain, new Shape(b)));
      nll = JniUtils.where((PtNDArray) has, (PtNDArray) nll, (PtNDArray) m.zeros(new Shape(b)));
    }
    return nll;
  }

  /** log(sum(exp(x))) over {@code axis}, shifted by the (constant) maximum for stability. */
  private static NDArray logSumExp(NDArray x, int axis) {
    NDArray max = x.max(new int[] {axis}, true).stopGradient();
    return x.sub(max).exp().sum(new int[] {axis}).log().add(max.squeeze(axis));
  }

  /**
   * {@code x} as float32 inside the autograd graph, as an array of {@code manager} (the parameters'
   * own arrays belong to the model's manager, which must not collect a step's intermediates): DJL's
   * {@code toType} detaches (it converts under no-grad), while adding it to a float32 zero of one
   * element promotes float16 to float32 and keeps the gradient path.
   */
  static NDArray float32(NDArray x, NDManager manager) {
    if (x.getDataType() == DataType.FLOAT32 && x.getManager() == manager) {
      return x;
    }
    return manager.zeros(new Shape(1), DataType.FLOAT32).add(x);
  }

  /** A copy in libtorch's own memory of an array over a Java buffer, which is closed. */
  private static NDArray owned(NDArray javaBacked) {
    NDArray a = javaBacked.duplicate();
    javaBacked.close();
    return a;
  }

  /**
   * The best tag path of each sequence's chain (Viterbi), with autograd off.
   *
   * @param emissions [batch, length, labels]
   * @param chain per sequence and position whether it belongs to the chain
   * @param constraints forbidden starts and transitions, or null for none
   * @return per sequence and position the tag, {@value #IGNORE} at positions outside the chain
   */
  public int[][] viterbi(NDArray emissions, boolean[][] chain, TagConstraints constraints) {
    return decoder(constraints).decode(emissions, chain);
  }

  /**
   * {@link #viterbi(NDArray, boolean[][], TagConstraints)} with the chain as a [batch, length]
   * array, non-zero (true) at chain positions (e.g. {@code labels.gte(0)}).
   */
  public int[][] viterbi(NDArray emissions, NDArray chain, TagConstraints constraints) {
    Shape s = checkEmissions(emissions);
    Shape cs = chain.getShape();
    if (cs.dimension() != 2 || cs.get(0) != s.get(0) || cs.get(1) != s.get(1)) {
      throw new IllegalArgumentException(
          "the chain mask has shape " + cs + ", the emissions " + s + ": expected [batch, length]");
    }
    boolean[] flat;
    if (chain.getDataType() == DataType.BOOLEAN) {
      flat = chain.toBooleanArray();
    } else {
      try (NDArray nonZero = chain.neq(0)) {
        flat = nonZero.toBooleanArray();
      }
    }
    int b = (int) cs.get(0);
    int t = (int) cs.get(1);
    boolean[][] rows = new boolean[b][];
    for (int i = 0; i < b; i++) {
      rows[i] = Arrays.copyOfRange(flat, i * t, (i + 1) * t);
    }
    return viterbi(emissions, rows, constraints);
  }

  /**
   * A decoder over a snapshot of the current parameters (read once, as doubles), for many
   * sequences.
   *
   * @param constraints forbidden starts and transitions, or null for none
   */
  public Decoder decoder(TagConstraints constraints) {
    if (constraints != null && constraints.size() != numLabels) {
      throw new IllegalArgumentException(
          "constraints over " + constraints.size() + " labels for a CRF over " + numLabels);
    }
    return new Decoder(
        numLabels,
        read(startTransitions),
        read(endTransitions),
        read(transitions),
        constraints == null ? TagConstraints.none(numLabels) : constraints);
  }

  private static float[] read(Parameter p) {
    NDArray a = p.getArray();
    if (a.getDataType() == DataType.FLOAT32) {
      return a.toFloatArray();
    }
    try (NDArray f = a.toType(DataType.FLOAT32, false)) {
      return f.toFloatArray();
    }
  }

  /** Viterbi decoding in Java, in double precision, over fixed parameters. */
  public static final class Decoder {
    private final int size;
    private final double[] start;
    private final double[] end;
    private final double[][] trans;
    private final TagConstraints constraints;

    Decoder(int size, float[] start, float[] end, float[] trans, TagConstraints constraints) {
      this.size = size;
      this.start = new double[size];
      this.end = new double[size];
      this.trans = new double[size][size];
      for (int i = 0; i < size; i++) {
        this.start[i] = constraints.allowsStart(i) ? start[i] : Double.NEGATIVE_INFINITY;
        this.end[i] = end[i];
        for (int j = 0; j < size; j++) {
          this.trans[i][j] =
              constraints.allows(i, j) ? trans[i * size + j] : Double.NEGATIVE_INFINITY;
        }
      }
      this.constraints = constraints;
    }

    public TagConstraints constraints() {
      return constraints;
    }

    /**
     * Decodes every sequence of a batch.
     *
     * @param emissions [batch, length, labels], any float type
     * @param chain per sequence and position whether it belongs to the chain
     */
    public int[][] decode(NDArray emissions, boolean[][] chain) {
      Shape s = emissions.getShape();
      if (s.dimension() != 3 || s.get(2) != size) {
        throw new IllegalArgumentException(
            "emissions have shape "
                + s
                + ", the CRF has "
                + size
                + " labels: expected [batch, length, "
                + size
                + "]");
      }
      int b = (int) s.get(0);
      int t = (int) s.get(1);
      if (chain.length != b) {
        throw new IllegalArgumentException(
            "the chain mask has " + chain.length + " sequences, the emissions " + s + " have " + b);
      }
      float[] e;
      if (emissions.getDataType() == DataType.FLOAT32) {
        e = emissions.toFloatArray();
      } else {
        try (NDArray f = emissions.toType(DataType.FLOAT32, false)) {
          e = f.toFloatArray();
        }
      }
      int[][] out = new int[b][];
      for (int i = 0; i < b; i++) {
        if (chain[i].length != t) {
          throw new IllegalArgumentException(
              "the chain mask of sequence "
                  + i
                  + " has length "
                  + chain[i].length
                  + ", the emissions "
                  + s
                  + " have "
                  + t);
        }
        out[i] = decode(e, i * t * size, t, chain[i]);
      }
      return out;
    }

    /**
     * Decodes one sequence.
     *
     * @param emissions row-major [length, labels] starting at {@code offset}
     * @param chain whether each of the {@code length} positions belongs to the chain
     * @return the tag of each position, {@value #IGNORE} outside the chain
     */
    public int[] decode(float[] emissions, int offset, int length, boolean[] chain) {
      if (chain.length < length || offset < 0 || offset + (long) length * size > emissions.length) {
        throw new IllegalArgumentException(
            "a sequence of "
                + length
                + " positions over "
                + size
                + " labels at offset "
                + offset
                + " does not fit emissions of "
                + emissions.length
                + " values and a chain mask of "
                + chain.length);
      }
      int[] out = new int[length];
      Arrays.fill(out, IGNORE);
      int n = 0;
      int[] positions = new int[length];
      for (int j = 0; j < length; j++) {
        if (chain[j]) {
          positions[n++] = j;
        }
      }
      if (n == 0) {
        return out;
      }
      double[] score = new double[size];
      double[] next = new double[size];
      int[][] back = new int[n][size];
      int p0 = offset + positions[0] * size;
      for (int j = 0; j < size; j++) {
        score[j] = start[j] + emissions[p0 + j];
      }
      for (int k = 1; k < n; k++) {
        int p = offset + positions[k] * size;
        for (int j = 0; j < size; j++) {
          double best = Double.NEGATIVE_INFINITY;
          int arg = -1;
          for (int i = 0; i < size; i++) {
            double v = score[i] + trans[i][j];
            if (v > best) {
              best = v;
              arg = i;
            }
          }
          next[j] = best + emissions[p + j];
          back[k][j] = arg;
        }
        double[] swap = score;
        score = next;
        next = swap;
      }
      double best = Double.NEGATIVE_INFINITY;
      int tag = -1;
      for (int j = 0; j < size; j++) {
        double v = score[j] + end[j];
        if (v > best) {
          best = v;
          tag = j;
        }
      }
      if (tag < 0) {
        throw new IllegalStateException(
            "no tag path of length " + n + " is allowed by the constraints (or scores are NaN)");
      }
      for (int k = n - 1; k >= 0; k--) {
        out[positions[k]] = tag;
        tag = back[k][tag];
      }
      return out;
    }
  }
}

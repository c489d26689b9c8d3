package io.sparkner.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.sparkner.collective.DirectFloats;
import io.sparkner.model.Autograd;
import io.sparkner.model.TokenClassificationModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The model's parameters laid end to end in one float32 index space, in checkpoint order: the space
 * in which gradients are exchanged, clipped and applied and in which ZeRO shards the optimizer.
 * Moves gradients out of the (float32 or float16) model and updated values back in.
 */
public final class FlatParameters {
  /** One parameter's place in the flat space. */
  public record Slot(String name, Parameter parameter, long offset, long size, boolean decay) {}

  private final List<Slot> slots = new ArrayList<>();
  private final long size;

  public FlatParameters(TokenClassificationModel model) {
    long offset = 0;
    for (Map.Entry<String, Parameter> e : model.parameters().entrySet()) {
      long n = e.getValue().getArray().size();
      slots.add(new Slot(e.getKey(), e.getValue(), offset, n, decays(e.getKey())));
      offset += n;
    }
    size = offset;
  }

  /**
   * Weight decay applies to weights, not to biases and LayerNorm parameters (the split of the HF
   * Trainer's {@code get_decay_parameter_names}).
   */
  static boolean decays(String name) {
    return !(name.endsWith(".bias") || name.contains("LayerNorm"));
  }

  public long size() {
    return size;
  }

  public List<Slot> slots() {
    return slots;
  }

  /**
   * Copies every gradient into {@code out} (length {@link #size()}), as float32; absent = 0. One
   * copy out of libtorch's memory into {@code out}'s: the tensor's bytes are read through a direct
   * view (valid while the gradient is open), no heap array in between.
   */
  public void gradientsInto(DirectFloats out) {
    for (Slot s : slots) {
      NDArray p = s.parameter().getArray();
      int at = Math.toIntExact(s.offset());
      if (!p.hasGradient()) {
        out.fill(at, at + Math.toIntExact(s.size()), 0f);
        continue;
      }
      try (NDArray g = p.getGradient()) {
        // a GPU gradient is brought to the CPU here so that the copy is closed every step: DJL's
        // toByteBuffer would make that copy itself and leave it open (not runnable here: no GPU)
        NDArray cpu = g.getDevice().equals(Device.cpu()) ? g : g.toDevice(Device.cpu(), false);
        NDArray f32 =
            cpu.getDataType() == DataType.FLOAT32 ? cpu : cpu.toType(DataType.FLOAT32, false);
        try {
          out.putBytes(at, f32.toByteBuffer(true));
        } finally {
          if (f32 != cpu) {
            f32.close();
          }
          if (cpu != g) {
            cpu.close();
          }
        }
      }
    }
  }

  /**
   * Zeroes every gradient in place, ready for the next accumulation. {@code grad.zero_()}, not
   * arithmetic: after an fp16 overflow a gradient holds inf, and inf − inf or inf × 0 is NaN, which
   * would poison every later step.
   */
  public void zeroGradients() {
    for (Slot s : slots) {
      NDArray p = s.parameter().getArray();
      if (p.hasGradient()) {
        JniUtils.zeroGrad((PtNDArray) p);
      }
    }
  }

  /**
   * Writes {@code values} (float32, the flat space) into the model's parameters in place. A float32
   * parameter in CPU memory takes one bulk copy into its own storage, through the direct view
   * libtorch gives of a contiguous CPU tensor; any other (float16, or on a GPU) goes through a
   * tensor made from the values and {@code set}.
   */
  public void valuesFrom(DirectFloats values, NDManager scratch) {
    valuesFrom(values, scratch, slots);
  }

  /**
   * {@link #valuesFrom(DirectFloats, NDManager)} for the parameters of {@code only} (slots of this
   * space) alone: what the overlapped gather writes into the model part by part. Outside autograd
   * recording whatever the caller's thread records, as the whole copy.
   */
  public void valuesFrom(DirectFloats values, NDManager scratch, List<Slot> only) {
    try (Autograd.Scope ignored = Autograd.paused();
        NDManager m = scratch.newSubManager()) {
      NDIndex all = new NDIndex("...");
      for (Slot s : only) {
        NDArray p = s.parameter().getArray();
        int at = Math.toIntExact(s.offset());
        int n = Math.toIntExact(s.size());
        ByteBuffer storage = writableStorage(p);
        if (storage != null) {
          storage.put(values.bytes(at, n));
          continue;
        }
        // a float view, not a ByteBuffer: DJL copies it into a tensor of its own (a direct
        // ByteBuffer it would wrap in place, tying the tensor to our memory)
        NDArray v = m.create(values.floats(at, n), p.getShape());
        if (p.getDataType() != DataType.FLOAT32) {
          v = v.toType(p.getDataType(), false);
        }
        p.set(all, v);
      }
    }
  }

  /**
   * The parameter's own memory as a writable byte view, or null when there is none to write to: a
   * float16 or GPU tensor, or one whose view turns out to be a copy (DJL hands out a contiguous
   * copy of a non-contiguous tensor; a probe written through the view must read back through a
   * second view, so writes can never be lost).
   */
  private static ByteBuffer writableStorage(NDArray p) {
    if (p.getDataType() != DataType.FLOAT32
        || !p.getDevice().equals(Device.cpu())
        || p.size() == 0
        || ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) { // the flat space is little-endian
      return null;
    }
    ByteBuffer view = p.toByteBuffer(true);
    if (!view.isDirect()) {
      return null;
    }
    view.order(ByteOrder.nativeOrder());
    int old = view.getInt(0);
    view.putInt(0, ~old);
    ByteBuffer second = p.toByteBuffer(true).order(ByteOrder.nativeOrder());
    boolean aliases = second.getInt(0) == ~old;
    view.putInt(0, old);
    return aliases ? view.clear() : null;
  }

  /** The current parameter values in the flat space, as float32. */
  public float[] values() {
    float[] out = new float[Math.toIntExact(size)];
    for (Slot s : slots) {
      NDArray p = s.parameter().getArray();
      float[] v =
          p.getDataType() == DataType.FLOAT32
              ? p.toFloatArray()
              : p.toType(DataType.FLOAT32, false).toFloatArray();
      System.arraycopy(v, 0, out, Math.toIntExact(s.offset()), v.length);
    }
    return out;
  }

  /** The shape of a slot's parameter. */
  public static Shape shapeOf(Slot s) {
    return s.parameter().getArray().getShape();
  }
}

package io.sparkner.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.sparkner.collective.DirectFloats;
import io.sparkner.model.Autograd;
import io.sparkner.model.Checkpoints;
import io.sparkner.model.TokenClassificationModel;
import org.junit.jupiter.api.Test;

/** Moving gradients and values between the model and the flat float32 space. */
class FlatParametersTest {

  @Test
  void valuesFromWritesEveryParameterInPlaceForFloat32AndFloat16Models() {
    for (DataType type : new DataType[] {DataType.FLOAT32, DataType.FLOAT16}) {
      try (NDManager m = NDManager.newBaseManager()) {
        TokenClassificationModel model = Checkpoints.build(TrainerTest.tiny(), m, type);
        FlatParameters flat = new FlatParameters(model);
        NDArray w = model.parameters().get("classifier.weight").getArray();
        int n = Math.toIntExact(flat.size());
        DirectFloats values = DirectFloats.allocate(n);
        for (int i = 0; i < n; i++) {
          values.put(i, (i % 1000) / 1000f - 0.5f); // exact in float16 to within its rounding
        }
        flat.valuesFrom(values, m);
        float[] back = flat.values();
        float tolerance = type == DataType.FLOAT16 ? 5e-4f : 0f;
        for (int i = 0; i < n; i++) {
          assertEquals(values.get(i), back[i], tolerance, type + " value " + i);
        }
        // in place: the model's own arrays (what forward uses) hold the values
        assertSame(w, model.parameters().get("classifier.weight").getArray());
        FlatParameters.Slot slot =
            flat.slots().stream()
                .filter(x -> x.name().equals("classifier.weight"))
                .findFirst()
                .orElseThrow();
        float[] direct = w.toType(DataType.FLOAT32, false).toFloatArray();
        assertEquals(values.get(Math.toIntExact(slot.offset()) + 3), direct[3], tolerance);
      }
    }
  }

  @Test
  void zeroingClearsInfiniteGradientsOfAnOverflowedFp16Step() {
    try (NDManager m = NDManager.newBaseManager()) {
      TokenClassificationModel model = Checkpoints.build(TrainerTest.tiny(), m, DataType.FLOAT16);
      model.setRequiresGradient(true);
      FlatParameters flat = new FlatParameters(model);
      // an overflowing backward: every gradient of the classifier becomes ±inf
      NDArray w = model.parameters().get("classifier.weight").getArray();
      try (NDManager scope = m.newSubManager();
          Autograd.Scope rec = Autograd.recording()) {
        NDArray loss =
            w.mul(scope.create(60000f).toType(DataType.FLOAT16, false)).mul(60000f).sum();
        Autograd.backward(loss);
      }
      DirectFloats d = DirectFloats.allocate(Math.toIntExact(flat.size()));
      flat.gradientsInto(d);
      float[] g = d.toArray();
      int infinite = 0;
      for (float v : g) {
        infinite += Float.isInfinite(v) ? 1 : 0;
      }
      assertTrue(infinite > 0, "the test must produce an overflow");

      flat.zeroGradients();
      flat.gradientsInto(d);
      g = d.toArray();
      for (int i = 0; i < g.length; i++) {
        assertEquals(0f, g[i], "gradient " + i + " after zeroing");
      }
    }
  }
}

package io.sparkner.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkner.collective.SendStall;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The fault plan: nothing by default, each fault on the rank or stage it names only, and intact
 * after the trip to the ranks.
 */
class FaultPlanTest {
  enum Stage {
    FIRST,
    SECOND
  }

  @Test
  void noneInjectsNothing() {
    FaultPlan none = FaultPlan.none();
    assertTrue(none.isNone());
    assertFalse(none.failsAStep());
    for (int rank = 0; rank < 3; rank++) {
      for (long step = 0; step < 30; step++) {
        assertFalse(none.failsAfter(rank, step));
        assertFalse(none.overflowsAt(rank, step));
      }
      assertFalse(none.overflows(rank));
      assertEquals(Optional.empty(), none.ringStallOf(rank));
    }
    assertFalse(none.failsAfter(Stage.FIRST));
    // what the hidden options give when they are not used
    assertEquals(
        none, FaultPlan.none().withRank(0).withFailAtStep(FaultPlan.NEVER).withFailAfter(null));
  }

  @Test
  void eachFaultHitsTheRankAndStepItNamesOnly() {
    SendStall stall = new SendStall(40, Duration.ofSeconds(3));
    FaultPlan p =
        FaultPlan.none()
            .withRank(1)
            .withFailAtStep(12)
            .withOverflowSteps(List.of(4L, 3L, 4L))
            .withRingStall(stall);
    assertFalse(p.isNone());
    assertTrue(p.failsAStep());
    assertTrue(p.failsAfter(1, 12));
    assertFalse(p.failsAfter(0, 12));
    assertFalse(p.failsAfter(1, 11));
    assertEquals(List.of(3L, 4L), p.overflowSteps());
    assertTrue(p.overflowsAt(1, 3) && p.overflowsAt(1, 4));
    assertFalse(p.overflowsAt(0, 3) || p.overflowsAt(1, 5));
    assertTrue(p.overflows(1));
    assertFalse(p.overflows(0));
    assertEquals(Optional.of(stall), p.ringStallOf(1));
    assertEquals(Optional.empty(), p.ringStallOf(0));
    assertFalse(p.failsAfter(Stage.FIRST));
    // the withers leave the plan they are called on as it was
    assertEquals(FaultPlan.NEVER, FaultPlan.none().failAtStep());
    assertEquals(List.of(), FaultPlan.none().overflowSteps());
  }

  @Test
  void aStageIsMatchedByItsName() {
    FaultPlan p = FaultPlan.none().withFailAfter(Stage.SECOND);
    assertTrue(p.failsAfter(Stage.SECOND));
    assertFalse(p.failsAfter(Stage.FIRST));
    assertFalse(p.failsAfter((Enum<?>) null));
    assertFalse(p.failsAStep());
    assertEquals("SECOND", p.failAfterStage());
  }

  @Test
  void impossibleFaultsAreRefusedNamingTheValue() {
    IllegalArgumentException rank =
        assertThrows(IllegalArgumentException.class, () -> FaultPlan.none().withRank(-1));
    assertTrue(
        rank.getMessage().contains("rank") && rank.getMessage().contains("-1"), rank.getMessage());
    IllegalArgumentException step =
        assertThrows(IllegalArgumentException.class, () -> FaultPlan.none().withFailAtStep(-2));
    assertTrue(
        step.getMessage().contains("fail-at-step") && step.getMessage().contains("-2"),
        step.getMessage());
    IllegalArgumentException overflow =
        assertThrows(
            IllegalArgumentException.class,
            () -> FaultPlan.none().withOverflowSteps(List.of(3L, -4L)));
    assertTrue(overflow.getMessage().contains("-4"), overflow.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> FaultPlan.none().withOverflowSteps(Arrays.asList(1L, null)));
    assertThrows(IllegalArgumentException.class, () -> new SendStall(-1, Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> new SendStall(0, Duration.ofSeconds(-1)));
  }

  /** The plan travels to the ranks inside the broadcast training plan: Java serialization. */
  @Test
  void thePlanSurvivesSerialization() throws Exception {
    FaultPlan p =
        FaultPlan.none()
            .withRank(2)
            .withFailAtStep(7)
            .withOverflowSteps(List.of(5L))
            .withRingStall(new SendStall(9, Duration.ofMillis(1500)))
            .withFailAfter(Stage.FIRST);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(p);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      FaultPlan back = (FaultPlan) in.readObject();
      assertEquals(p, back);
      assertTrue(back.failsAfter(2, 7) && back.overflowsAt(2, 5) && back.failsAfter(Stage.FIRST));
    }
  }
}

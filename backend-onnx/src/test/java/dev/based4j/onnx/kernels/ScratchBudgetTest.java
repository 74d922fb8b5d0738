package dev.based4j.onnx.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.tensor.DType;
import org.junit.jupiter.api.Test;

/** The bound on a run's intermediates: sizes that overflow are too large, never small. */
class ScratchBudgetTest {
    @Test
    void isAtLeastTheMinimumAndAtMostTheMachinesMemory() {
        assertThat(ScratchBudget.bytes()).isGreaterThanOrEqualTo(ScratchBudget.MIN_BYTES);
        assertThat(ScratchBudget.bytes()).isLessThan(Long.MAX_VALUE / 4);
    }

    @Test
    void productsThatOverflowSaturateInsteadOfWrappingAround() {
        assertThat(ScratchBudget.product(1L << 40, 1L << 40)).isEqualTo(Long.MAX_VALUE);
        assertThat(ScratchBudget.product(3, 5, 7)).isEqualTo(105);
    }

    @Test
    void fitsWhatTheBudgetHoldsInTheGivenPrecision() {
        long elements = ScratchBudget.bytes() / 8;
        assertThat(ScratchBudget.fits(DType.F64, new ScratchBudget.Need("scores", elements))).isTrue();
        assertThat(ScratchBudget.fits(DType.F64, new ScratchBudget.Need("scores", elements + 1))).isFalse();
        assertThat(ScratchBudget.fits(DType.F32, new ScratchBudget.Need("scores", elements + 1))).isTrue();
    }

    @Test
    void refusalNamesTheKernelTheIntermediateAndTheBudget() {
        assertThatThrownBy(() -> ScratchBudget.check("linear-attention prefill (quadratic form)", DType.F32,
                new ScratchBudget.Need("features", 2, 3), new ScratchBudget.Need("scores", 1L << 31, 1L << 31)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("linear-attention prefill (quadratic form)")
                .hasMessageContaining("scores [2147483648, 2147483648] of f32")
                .hasMessageContaining("budget of");
    }

    @Test
    void roundsSequencesUpToWholeBlocks() {
        assertThat(ScratchBudget.roundUp(129, 64)).isEqualTo(192);
        assertThat(ScratchBudget.roundUp(128, 64)).isEqualTo(128);
    }
}

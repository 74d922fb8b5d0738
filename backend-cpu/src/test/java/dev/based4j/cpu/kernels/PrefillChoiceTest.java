package dev.based4j.cpu.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Taylor;
import org.junit.jupiter.api.Test;

class PrefillChoiceTest {
    private static final LinearAttentionSpec TAYLOR = LinearAttentionSpec.of(new Taylor(16));

    @Test
    void autoIsQuadraticForShortSequencesAndChunkedForLongOnes() {
        assertThat(LinearAttentionKernels.choose(TAYLOR, 64, 64, true)).isEqualTo(LinearAttentionKernels.Form.QUADRATIC);
        assertThat(LinearAttentionKernels.choose(TAYLOR, 8192, 64, true)).isEqualTo(LinearAttentionKernels.Form.CHUNKED);
    }

    @Test
    void withoutAClosedFormKernelTheCrossoverComesSooner() {
        LinearAttentionSpec posElu = LinearAttentionSpec.of(new PosElu(256));
        int taylorCrossover = crossover(TAYLOR, true);
        int poseluCrossover = crossover(posElu, false);
        assertThat(taylorCrossover).isGreaterThan(TAYLOR.chunkSize());
        assertThat(poseluCrossover).isLessThan(taylorCrossover);
    }

    @Test
    void explicitAlgorithmsAreHonoured() {
        assertThat(LinearAttentionKernels.choose(TAYLOR.withAlgorithm(PrefillAlgorithm.CHUNKED), 2, 64, true))
                .isEqualTo(LinearAttentionKernels.Form.CHUNKED);
        assertThat(LinearAttentionKernels.choose(TAYLOR.withAlgorithm(PrefillAlgorithm.QUADRATIC), 100_000, 64, true))
                .isEqualTo(LinearAttentionKernels.Form.QUADRATIC);
        assertThat(LinearAttentionKernels.choose(TAYLOR.withAlgorithm(PrefillAlgorithm.RECURRENT), 100, 64, true))
                .isEqualTo(LinearAttentionKernels.Form.RECURRENT);
    }

    @Test
    void theTaylorSwitchFallsWhereJmhMeasuredIt() {
        // LinearAttentionPrefillBenchmark, 2 threads: quadratic ahead at 256 tokens, chunked ahead at 512
        assertThat(crossover(TAYLOR, true)).isBetween(257, 512);
    }

    private static int crossover(LinearAttentionSpec spec, boolean dotKernel) {
        int seq = 1;
        while (LinearAttentionKernels.choose(spec, seq, 64, dotKernel) == LinearAttentionKernels.Form.QUADRATIC) {
            seq++;
        }
        return seq;
    }
}

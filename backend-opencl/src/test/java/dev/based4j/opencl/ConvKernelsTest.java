package dev.based4j.opencl;

import static dev.based4j.opencl.OpenClTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.reference.Reference;
import dev.based4j.Backend;
import dev.based4j.state.ConvState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConvKernelsTest {
    @ParameterizedTest(name = "taps {0}, {1}")
    @CsvSource({"3, F32", "3, F64", "1, F32", "4, F64", "7, F32"})
    void prefillThenDecodeMatchTheShiftRegisterReference(int taps, DType dtype) {
        Backend b = backend();
        assumePrecision(b, dtype);
        long seed = 800 + taps;
        Random r = new Random(seed);
        int batch = 2, channels = 70;
        double[] w = as(random(r, channels * taps, 1), dtype);
        double[] window = new double[batch * channels * taps];
        double worst = 0;
        try (Tensor tw = upload(b, w, dtype, channels, taps);
                ConvState state = ConvState.zeros(b, batch, channels, taps, dtype)) {
            for (int seq : new int[] {2, 9, 1, 1, 5}) {
                double[] x = as(random(r, batch * seq * channels, 1), dtype);
                double[] ref = Reference.causalConv(x, batch, seq, channels, w, taps, window);
                try (Tensor tx = upload(b, x, dtype, batch, seq, channels); Tensor out = b.causalConv(tx, tw, state)) {
                    assertThat(maxAbs(ref)).isGreaterThan(0.1);
                    worst = Math.max(worst, relativeError(download(b, out), ref));
                }
            }
            worst = Math.max(worst, relativeError(download(b, state.window()), window));
        }
        assertThat(worst).as("five calls of a " + taps + "-tap convolution vs reference, seed " + seed)
                .isLessThan(tolerance(dtype));
    }
}

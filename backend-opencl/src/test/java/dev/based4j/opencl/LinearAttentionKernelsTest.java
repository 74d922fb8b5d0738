package dev.based4j.opencl;

import static dev.based4j.opencl.OpenClTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.featuremap.Taylor;
import dev.based4j.reference.Reference;
import dev.based4j.spi.Backend;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class LinearAttentionKernelsTest {
    @ParameterizedTest
    @EnumSource(DType.class)
    void prefillMatchesTheReference(DType dtype) {
        Backend b = backend();
        assumePrecision(b, dtype);
        long seed = 11;
        Random r = new Random(seed);
        int batch = 2, heads = 3, seq = 100, f = 16, dv = 32;
        var spec = LinearAttentionSpec.of(new Taylor(f)).withAlgorithm(PrefillAlgorithm.CHUNKED).withChunkSize(16);
        double[] q = as(random(r, batch * heads * seq * f, 0.5), dtype);
        double[] k = as(random(r, batch * heads * seq * f, 0.5), dtype);
        double[] v = as(random(r, batch * heads * seq * dv, 1), dtype);
        int e = spec.expandedDim();
        double[] kv = new double[batch * heads * dv * e];
        double[] z = new double[batch * heads * e];
        double[] ref = Reference.linearAttention(spec, q, k, v, batch, heads, seq, dv, kv, z);
        try (Tensor tq = upload(b, q, dtype, batch, heads, seq, f); Tensor tk = upload(b, k, dtype, batch, heads, seq, f);
                Tensor tv = upload(b, v, dtype, batch, heads, seq, dv);
                LinearAttentionState state = LinearAttentionState.zeros(b, batch, heads, e, dv, dtype);
                Tensor out = b.linearAttentionPrefill(spec, tq, tk, tv, state)) {
            double[] y = download(b, out);
            assertThat(maxAbs(ref)).isGreaterThan(0.1);
            assertThat(relativeError(y, ref)).as("y vs float64 reference, seed " + seed).isLessThan(longTolerance(dtype));
            assertThat(relativeError(download(b, state.kv()), kv)).as("kv state, seed " + seed)
                    .isLessThan(longTolerance(dtype));
            assertThat(relativeError(download(b, state.z()), z)).as("z state, seed " + seed)
                    .isLessThan(longTolerance(dtype));
        }
    }
}

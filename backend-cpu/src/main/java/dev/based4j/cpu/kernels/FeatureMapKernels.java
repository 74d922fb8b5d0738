package dev.based4j.cpu.kernels;

import dev.based4j.spi.FeatureMapFamily;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.reference.Reference;
import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/** The feature-map op: φ over the last dimension, {@code x [rows, seq, d] → out [rows, seq, outputDim]}. */
public final class FeatureMapKernels implements FeatureMapFamily<CpuBuffer> {
    private final CpuPool pool;
    private final F32Kernels kernels;

    /** @param kernels the float32 inner loops */
    public FeatureMapKernels(CpuPool pool, F32Kernels kernels) {
        this.pool = pool;
        this.kernels = kernels;
    }

    /**
     * @param rows everything before the sequence dimension (batch·heads)
     * @param seq tokens per row; CosFormer's features depend on it
     */
    public void apply(DType dtype, FeatureMap map, MemorySegment x, int rows, int seq, MemorySegment out) {
        int d = map.inputDim();
        int e = map.outputDim();
        long work = (long) seq * e * (map.kind() == FeatureMap.Kind.PERFORMER ? d : 1);
        if (dtype == DType.F64) {
            pool.forEach(rows, work, r -> {
                double[] y = Reference.featureMap(map, Mem.readDoubles(x, (long) r * seq * d, seq * d), 1, seq);
                Mem.write(y, 0, out, (long) r * seq * e, seq * e);
            });
            return;
        }
        F32FeatureMap phi = F32FeatureMap.of(map, kernels);
        pool.forEach(rows, work, r -> {
            float[] in = Scratch.floats(0, seq * d);
            float[] y = Scratch.floats(1, seq * e);
            Mem.read(x, (long) r * seq * d, in, 0, seq * d);
            phi.applyRows(in, 0, seq, 0, seq, y, 0);
            Mem.write(y, 0, out, (long) r * seq * e, seq * e);
        });
    }

    @Override
    public void apply(FeatureMapFamily.Call<CpuBuffer> c) {
        apply(c.dtype(), c.map(), c.x().segment(), Math.toIntExact(c.rows()), c.seq(), c.out().segment());
    }
}

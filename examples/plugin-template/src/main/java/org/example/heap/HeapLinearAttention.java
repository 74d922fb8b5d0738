package org.example.heap;

import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * Causal linear attention with the Taylor map in its recurrent form, token by token: {@code S += v⊗φ(k)},
 * {@code z += φ(k)}, then {@code y = S·φ(q) / (z·φ(q) + eps)}. Prefill is the same recurrence over every token of
 * the call, so prefill then decode equals one longer prefill exactly. Computed in double, stored in the tensors'
 * type; the state is kept in place, in the canonical layout ({@code kv [batch, heads, dv, D]}, {@code z [batch,
 * heads, D]}).
 */
final class HeapLinearAttention implements LinearAttentionFamily<MemorySegment> {
    @Override
    public void prefill(Call<MemorySegment> call) {
        run(call);
    }

    @Override
    public void decode(Call<MemorySegment> call) {
        run(call);
    }

    private static void run(Call<MemorySegment> c) {
        DType t = c.dtype();
        int f = c.keyDim();
        int d = c.expandedDim();
        int dv = c.valueDim();
        double eps = c.spec().eps();
        double[] q = new double[f];
        double[] k = new double[f];
        double[] phiQ = new double[d];
        double[] phiK = new double[d];
        for (long head = 0; head < (long) c.batch() * c.heads(); head++) {
            long kv = head * dv * d;
            long z = head * d;
            for (int n = 0; n < c.seq(); n++) {
                long token = head * c.seq() + n;
                HeapTaylorFeatureMap.read(c.q(), t, token * f, q);
                HeapTaylorFeatureMap.read(c.k(), t, token * f, k);
                HeapTaylorFeatureMap.taylor(q, phiQ);
                HeapTaylorFeatureMap.taylor(k, phiK);
                double den = 0;
                for (int i = 0; i < d; i++) {
                    double zi = HeapMemory.get(c.z(), t, z + i) + phiK[i];
                    HeapMemory.set(c.z(), t, z + i, zi);
                    den += phiQ[i] * HeapMemory.get(c.z(), t, z + i);
                }
                for (int e = 0; e < dv; e++) {
                    double v = HeapMemory.get(c.v(), t, token * dv + e);
                    double num = 0;
                    for (int i = 0; i < d; i++) {
                        long at = kv + (long) e * d + i;
                        HeapMemory.set(c.kv(), t, at, HeapMemory.get(c.kv(), t, at) + v * phiK[i]);
                        num += phiQ[i] * HeapMemory.get(c.kv(), t, at);
                    }
                    HeapMemory.set(c.out(), t, token * dv + e, num / (den + eps));
                }
            }
        }
    }
}

package org.example.heap;

import dev.based4j.spi.FeatureMapFamily;
import dev.based4j.tensor.DType;
import java.lang.foreign.MemorySegment;

/**
 * The second-order Taylor map of BASED, {@code φ(x) = [1, x/f^¼, (x⊗x)/(√2·√f)]} with the full row-major outer
 * product ({@code 1 + f + f²} features), computed in double and stored in the tensor's type.
 */
final class HeapTaylorFeatureMap implements FeatureMapFamily<MemorySegment> {
    @Override
    public void apply(Call<MemorySegment> call) {
        int f = call.map().inputDim();
        int e = call.map().outputDim();
        double[] x = new double[f];
        double[] phi = new double[e];
        for (long row = 0; row < call.vectors(); row++) {
            read(call.x(), call.dtype(), row * f, x);
            taylor(x, phi);
            for (int i = 0; i < e; i++) {
                HeapMemory.set(call.out(), call.dtype(), row * e + i, phi[i]);
            }
        }
    }

    /** Reads {@code into.length} elements of {@code s} from element {@code offset}. */
    static void read(MemorySegment s, DType dtype, long offset, double[] into) {
        for (int i = 0; i < into.length; i++) {
            into[i] = HeapMemory.get(s, dtype, offset + i);
        }
    }

    /** {@code phi = φ(x)} for the Taylor map of dimension {@code x.length}. */
    static void taylor(double[] x, double[] phi) {
        int f = x.length;
        double linear = 1.0 / Math.sqrt(Math.sqrt(f));
        double quadratic = 1.0 / (Math.sqrt(2.0) * Math.sqrt(f));
        phi[0] = 1.0;
        for (int i = 0; i < f; i++) {
            phi[1 + i] = x[i] * linear;
            for (int j = 0; j < f; j++) {
                phi[1 + f + i * f + j] = x[i] * quadratic * x[j];
            }
        }
    }
}

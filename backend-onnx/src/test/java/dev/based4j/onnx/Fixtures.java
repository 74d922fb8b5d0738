package dev.based4j.onnx;

import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.Random;

/** Seeded inputs, uploads and the project's relative error. */
final class Fixtures {
    private Fixtures() {}

    /** F32 kernels and layers vs the float64 reference. */
    static final double F32_TOL = 1e-5;
    /** F32 long sequences and the fused layer. */
    static final double F32_LONG_TOL = 1e-4;
    /** F64 vs the float64 reference. */
    static final double F64_TOL = 1e-10;

    static double tolerance(DType dtype, boolean longOrFused) {
        return dtype == DType.F64 ? F64_TOL : longOrFused ? F32_LONG_TOL : F32_TOL;
    }

    /** Gaussian values with standard deviation {@code std}, rounded to F32 when the test runs in F32. */
    static double[] gaussian(Random random, int n, double std, DType dtype) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = random.nextGaussian() * std;
            if (dtype == DType.F32) {
                x[i] = (float) x[i];
            }
        }
        return x;
    }

    static Tensor upload(Backend b, double[] data, DType dtype, int... dims) {
        return b.upload(HostTensor.of(data, Shape.of(dims), dtype));
    }

    static double[] download(Backend b, Tensor t) {
        return b.download(t).toDoubleArray();
    }

    /** max|out-ref| / max(1, max|ref|). */
    static double relativeError(double[] out, double[] ref) {
        if (out.length != ref.length) {
            throw new AssertionError("length " + out.length + " vs reference " + ref.length);
        }
        double diff = 0;
        double scale = 1;
        for (int i = 0; i < ref.length; i++) {
            diff = Math.max(diff, Math.abs(out[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return Double.isNaN(diff) || hasNaN(out) ? Double.POSITIVE_INFINITY : diff / scale;
    }

    private static boolean hasNaN(double[] x) {
        for (double v : x) {
            if (!Double.isFinite(v)) {
                return true;
            }
        }
        return false;
    }

    /** The largest |value|: tests assert it is not tiny, so that a comparison is never made on zeros. */
    static double maxAbs(double[] x) {
        double m = 0;
        for (double v : x) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}

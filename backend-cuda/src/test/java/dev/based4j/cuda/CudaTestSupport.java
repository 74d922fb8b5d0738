package dev.based4j.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.based4j.Availability;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.Random;

/** One CUDA backend shared by the test classes of this module, and the comparisons they make. */
final class CudaTestSupport {
    private static Backend shared;
    private static Availability availability;

    private CudaTestSupport() {}

    /**
     * @return the shared backend; skips the calling tests (never passes them) with the probe's reason when this
     *     machine has no usable CUDA driver and device
     */
    static synchronized Backend backendOrSkip() {
        if (availability == null) {
            availability = new CudaBackendProvider().probe();
        }
        assumeTrue(availability.usable(), () -> "CUDA backend not usable here: " + availability.reason());
        if (shared == null) {
            shared = new CudaBackendProvider().create().open(CudaBackendProvider.NAME);
        }
        return shared;
    }

    /** @return {@code n} values uniform in [-scale, scale), rounded to {@code dtype} */
    static double[] random(Random r, int n, double scale, DType dtype) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = (r.nextDouble() * 2 - 1) * scale;
        }
        return round(x, dtype);
    }

    /** @return {@code n} values uniform in [lo, hi), rounded to {@code dtype} */
    static double[] uniform(Random r, int n, double lo, double hi, DType dtype) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = lo + r.nextDouble() * (hi - lo);
        }
        return round(x, dtype);
    }

    static double[] round(double[] x, DType dtype) {
        if (dtype == DType.F32) {
            double[] y = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                y[i] = (float) x[i];
            }
            return y;
        }
        return x.clone();
    }

    static Tensor upload(Backend b, double[] data, DType dtype, int... dims) {
        return b.upload(HostTensor.of(data, Shape.of(dims), dtype));
    }

    static double[] download(Backend b, Tensor t) {
        return b.download(t).toDoubleArray();
    }

    /** @return max|out − ref| / max(1, max|ref|) */
    static double relativeError(double[] out, double[] ref) {
        assertThat(out).as("output length").hasSameSizeAs(ref);
        double maxDiff = 0;
        double maxRef = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = Math.abs(out[i] - ref[i]);
            if (!(d <= maxDiff)) {
                maxDiff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
            }
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        return maxDiff / Math.max(1, maxRef);
    }

    /** Asserts the relative error against the float64 reference, naming what and the seed. */
    static void assertClose(String what, long seed, double[] out, double[] ref, double tolerance) {
        assertThat(relativeError(out, ref)).as("%s: max relative error vs float64 reference (seed %d)", what, seed)
                .isLessThanOrEqualTo(tolerance);
    }

    /** Tolerance of single kernels and layers ({@code sdk-conventions.md}). */
    static double single(DType dtype) {
        return dtype == DType.F32 ? 1e-5 : 1e-10;
    }

    /** Tolerance of long sequences and the fused layer. */
    static double longSeq(DType dtype) {
        return dtype == DType.F32 ? 1e-4 : 1e-10;
    }
}

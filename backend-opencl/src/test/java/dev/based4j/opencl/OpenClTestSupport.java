package dev.based4j.opencl;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.based4j.Availability;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.Random;

/** Shared test helpers: a backend (or a skip with the probe's reason), seeded inputs, relative error. */
final class OpenClTestSupport {
    private OpenClTestSupport() {}

    private static Backend shared;

    /** The backend, shared by the test classes of one JVM; skips the test when no OpenCL device is usable. */
    static synchronized Backend backend() {
        Availability a = new OpenClBackendProvider().probe();
        assumeTrue(a.usable(), () -> "no usable OpenCL device, OpenCL tests skipped: " + a.reason() + " (fix: "
                + a.fix() + ")");
        if (shared == null) {
            shared = fresh();
        }
        return shared;
    }

    /** A backend of its own (the caller closes it); skips the test when no OpenCL device is usable. */
    static Backend fresh() {
        Availability a = new OpenClBackendProvider().probe();
        assumeTrue(a.usable(), () -> "no usable OpenCL device, OpenCL tests skipped: " + a.reason() + " (fix: "
                + a.fix() + ")");
        return new OpenClBackendProvider().create().open(OpenClBackendProvider.NAME);
    }

    /** Skips the test when the backend does not compute in {@code dtype}. */
    static void assumePrecision(Backend backend, DType dtype) {
        assumeTrue(backend.capabilities().precisions().contains(dtype),
                () -> "device " + backend.device() + " has no " + dtype.label() + " (cl_khr_fp64)");
    }

    static double[] random(Random r, int n, double scale) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextGaussian() * scale;
        }
        return x;
    }

    /** Rounds to float when {@code dtype} is F32, so the reference sees exactly what the device sees. */
    static double[] as(double[] x, DType dtype) {
        if (dtype == DType.F64) {
            return x;
        }
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = (float) x[i];
        }
        return y;
    }

    static Tensor upload(Backend b, double[] data, DType dtype, int... dims) {
        return b.upload(HostTensor.of(data, Shape.of(dims), dtype));
    }

    static double[] download(Backend b, Tensor t) {
        return b.download(t).toDoubleArray();
    }

    /** {@code max|out-ref| / max(1, max|ref|)}, the project's relative error. */
    static double relativeError(double[] out, double[] ref) {
        if (out.length != ref.length) {
            throw new IllegalArgumentException("lengths differ: " + out.length + " vs " + ref.length);
        }
        double diff = 0;
        double max = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = Math.abs(out[i] - ref[i]);
            diff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(diff, d);
            max = Math.max(max, Math.abs(ref[i]));
        }
        return diff / Math.max(1.0, max);
    }

    /** Largest |value|: tests compare against references that are not all zeros. */
    static double maxAbs(double[] x) {
        double m = 0;
        for (double v : x) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** Tolerance of a single kernel / layer. */
    static double tolerance(DType dtype) {
        return dtype == DType.F64 ? 1e-10 : 1e-5;
    }

    /** Tolerance of long sequences and the fused layer. */
    static double longTolerance(DType dtype) {
        return dtype == DType.F64 ? 1e-10 : 1e-4;
    }
}

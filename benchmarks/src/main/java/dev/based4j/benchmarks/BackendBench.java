package dev.based4j.benchmarks;

import dev.based4j.Backends;
import dev.based4j.cpu.CpuSettings;
import dev.based4j.onnx.OnnxSettings;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What every backend benchmark shares: the backend, chosen by name ({@code -p backend=opencl}: {@code cpu},
 * {@code opencl}, {@code onnx}, {@code cuda}, all in {@code benchmarks.jar}), and for the CPU backend and ONNX Runtime
 * their worker threads ({@code -p threads=1,2}). The backend is created once per trial (fork) and closed after it;
 * subclasses allocate their tensors in their own trial setup, which JMH runs after this one.
 *
 * <p>Every benchmark method ends with {@link Backend#synchronize()}: a device backend (OpenCL, CUDA) only enqueues a
 * kernel, and without the wait JMH would time how fast kernels are enqueued, not run. On the CPU backend the wait
 * returns at once.
 */
@State(Scope.Benchmark)
public abstract class BackendBench {
    /** Name of the backend, as {@link Backends#select(String)} takes it. */
    @Param("cpu")
    public String backend;

    /**
     * Worker threads of the CPU backend ({@link CpuSettings#THREADS}; 0 = one per processor) and intra-op threads of
     * ONNX Runtime's sessions ({@link OnnxSettings#THREADS}; 0 = ONNX Runtime's default); other backends ignore it.
     * Set as system properties before the backend is created, which is how settings reach a backend created by name.
     */
    @Param("2")
    public int threads;

    /** The backend under test. */
    protected Backend b;

    /** Creates the backend. */
    @Setup(Level.Trial)
    public void openBackend() {
        System.setProperty(CpuSettings.THREADS.property(), Integer.toString(threads));
        System.setProperty(OnnxSettings.THREADS.property(), Integer.toString(threads));
        b = Backends.select(backend);
    }

    /** Closes the backend and everything it still owns. */
    @TearDown(Level.Trial)
    public void closeBackend() {
        if (b != null) {
            b.close();
        }
    }

    /** @return a backend tensor of {@code shape} with U(-1, 1) values from {@code seed}, F32 */
    protected Tensor uniform(Shape shape, long seed) {
        return b.upload(hostUniform(shape, seed, 1.0));
    }

    /** @return a host F32 tensor of U(-bound, bound) values from {@code seed}, filled off-heap */
    static HostTensor hostUniform(Shape shape, long seed, double bound) {
        HostTensor t = HostTensor.allocate(shape, DType.F32);
        MemorySegment s = t.segment();
        SplittableRandom r = new SplittableRandom(seed);
        long n = shape.elementCount();
        for (long i = 0; i < n; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) ((r.nextDouble() * 2 - 1) * bound));
        }
        return t;
    }

    /** @return a host F32 tensor of U(lo, hi) values from {@code seed} */
    static HostTensor hostUniform(Shape shape, long seed, double lo, double hi) {
        HostTensor t = HostTensor.allocate(shape, DType.F32);
        MemorySegment s = t.segment();
        SplittableRandom r = new SplittableRandom(seed);
        long n = shape.elementCount();
        for (long i = 0; i < n; i++) {
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (lo + r.nextDouble() * (hi - lo)));
        }
        return t;
    }

    /** Closes what is not null. */
    static void closeAll(AutoCloseable... parts) {
        for (AutoCloseable p : parts) {
            if (p != null) {
                try {
                    p.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing " + p + " failed", e);
                }
            }
        }
    }
}

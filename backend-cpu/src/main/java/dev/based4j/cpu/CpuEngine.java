package dev.based4j.cpu;

import dev.based4j.cpu.kernels.BasedAttentionKernels;
import dev.based4j.cpu.kernels.ConvKernels;
import dev.based4j.cpu.kernels.CpuBuffer;
import dev.based4j.cpu.kernels.CpuPool;
import dev.based4j.cpu.kernels.F32Kernels;
import dev.based4j.cpu.kernels.FeatureMapKernels;
import dev.based4j.cpu.kernels.LinearAttentionKernels;
import dev.based4j.cpu.kernels.PlumbingKernels;
import dev.based4j.cpu.kernels.SlidingWindowKernels;
import dev.based4j.spi.Engine;
import dev.based4j.tensor.DType;
import java.util.EnumSet;

/**
 * The CPU backend's engine: every kernel family, for every feature map, in float64 (the reference path, which calls
 * {@link dev.based4j.reference.Reference}) and float32 (kernels of its own). Tensors live in native memory
 * ({@link CpuMemory}); work runs on a fixed pool of worker threads, split over batch×heads (rows for matrix
 * products). Obtain the backend through {@link dev.based4j.Backends#select(String) Backends.select("cpu")}; its
 * {@link dev.based4j.Backend#unwrap unwrap(CpuInfo.class)} gives the thread count and the float32 kernels in use.
 */
public final class CpuEngine {
    /** Idle native memory kept for reuse: up to 256 MiB, enough for every intermediate of a large model's step. */
    private static final long CACHED_BYTES = 256L << 20;

    private CpuEngine() {}

    /**
     * Details of a CPU backend, from {@code backend.unwrap(CpuInfo.class)}.
     *
     * @param threads worker threads, the calling thread included
     * @param f32Kernels the float32 inner loops in use, {@code plain} or {@code vector (N-bit)}
     */
    public record CpuInfo(int threads, String f32Kernels) {}

    /**
     * An engine with {@code threads} workers and the given float32 inner loops.
     *
     * @throws IllegalArgumentException when {@code threads} is below 1 or {@code kernels} is null
     */
    public static Engine<?> create(int threads, F32Kernels kernels) {
        if (kernels == null) {
            throw new IllegalArgumentException("kernels: expected an F32Kernels implementation, got null");
        }
        CpuPool pool = new CpuPool(threads);
        SegmentCache segments = new SegmentCache(CACHED_BYTES);
        return Engine.builder(new CpuMemory(segments), EnumSet.of(DType.F32, DType.F64))
                .device(CpuBackendProvider.device(threads))
                .featureMaps(new FeatureMapKernels(pool, kernels))
                .linearAttention(new LinearAttentionKernels(pool, kernels))
                .slidingWindow(new SlidingWindowKernels(pool, kernels))
                .basedAttention(new BasedAttentionKernels(pool, kernels))
                .conv(new ConvKernels(pool, kernels))
                // linear weights and embedding tables also in bf16, f16 and int8, widened as they are read
                .plumbing(new PlumbingKernels(pool, kernels), EnumSet.of(DType.BF16, DType.F16, DType.I8))
                .copy(CpuMemory::copy)
                // the kernels cannot fail once their arguments are validated: they touch only memory the checks
                // sized, and an interrupt does not stop them. Only a VM error (an OutOfMemoryError while a worker
                // grows its scratch) could stop one part-way, and that is not recovered: so no state backup is
                // taken, which would double the memory traffic of a decode step
                .statesSurviveFailures(true)
                .extension(new CpuInfo(threads, kernels.name()))
                // runs after based4j freed every tensor, so every block is idle
                .onClose(() -> {
                    segments.close();
                    pool.close();
                })
                .build();
    }
}

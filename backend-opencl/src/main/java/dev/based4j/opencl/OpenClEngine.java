package dev.based4j.opencl;

import dev.based4j.opencl.kernels.BasedAttentionKernels;
import dev.based4j.opencl.kernels.ConvKernels;
import dev.based4j.opencl.kernels.FeatureMapKernels;
import dev.based4j.opencl.kernels.LinearAttentionKernels;
import dev.based4j.opencl.kernels.MapWeights;
import dev.based4j.opencl.kernels.PlumbingKernels;
import dev.based4j.opencl.kernels.SlidingWindowKernels;
import dev.based4j.opencl.runtime.ClBuffer;
import dev.based4j.opencl.runtime.ClContext;
import dev.based4j.spi.Engine;
import dev.based4j.tensor.DType;
import java.util.EnumSet;
import java.util.Set;

/**
 * The OpenCL backend's engine: one context and one in-order command queue on the selected device, and every kernel
 * family, for every feature map, in OpenCL C ({@code dev/based4j/opencl/kernels/*.cl}); F32 everywhere, F64 where
 * the device has {@code cl_khr_fp64}. Programs are compiled once per context and element type, on first use.
 * {@code linear} and {@code embedding} also take weights stored as bf16, f16 or int8 (per output channel or per group
 * of inputs); they accumulate in the call's type.
 *
 * <p>Kernels are enqueued without waiting; a download waits for everything enqueued before it, and
 * {@link dev.based4j.Backend#synchronize()} runs {@code clFinish}. Obtain the backend through
 * {@link dev.based4j.Backends#select(String) Backends.select("opencl")}; its
 * {@link dev.based4j.Backend#unwrap unwrap(OpenClDevice.class)} gives the device it runs on. Closing it releases every
 * tensor it still owns, the feature maps' weights and the context.
 */
final class OpenClEngine {
    private OpenClEngine() {}

    /**
     * An engine on the device {@code handle} names.
     *
     * @throws OpenClException when OpenCL refuses to create the context or its queue
     */
    static Engine<ClBuffer> create(ClDevices.Handle handle) {
        OpenClDevice device = handle.info().withSelected(true);
        ClContext cl = ClContext.create(handle.platform(), handle.device(), device.localMemoryBytes(),
                device.maxWorkGroupSize());
        MapWeights weights = new MapWeights(cl);
        OpenClMemory memory = new OpenClMemory(cl);
        Set<DType> precisions = device.fp64() ? EnumSet.of(DType.F32, DType.F64) : EnumSet.of(DType.F32);
        return Engine.builder(memory, precisions)
                .device(device.describe())
                .featureMaps(new FeatureMapKernels(cl, weights))
                .linearAttention(new LinearAttentionKernels(cl, weights))
                .slidingWindow(new SlidingWindowKernels(cl))
                .basedAttention(new BasedAttentionKernels(cl, weights))
                .conv(new ConvKernels(cl))
                // linear and embedding widen bf16/f16 weights and scale int8 ones as they load them
                .plumbing(new PlumbingKernels(cl), PlumbingKernels.WEIGHT_TYPES)
                // a state kernel is several launches (the fused prefill four), and a launch may be refused after
                // earlier ones were enqueued: states are backed up, on the device, before each state kernel
                .copy(memory::copy)
                .statesSurviveFailures(false)
                .synchronize(cl::finish)
                .extension(device)
                // runs after based4j freed every tensor
                .onClose(() -> {
                    try {
                        weights.close();
                    } finally {
                        cl.close();
                    }
                })
                .build();
    }
}

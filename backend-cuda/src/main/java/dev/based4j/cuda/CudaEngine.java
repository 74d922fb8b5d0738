package dev.based4j.cuda;

import dev.based4j.cuda.device.CudaBuffer;
import dev.based4j.cuda.device.CudaContext;
import dev.based4j.cuda.device.KernelImages;
import dev.based4j.cuda.device.Scratch;
import dev.based4j.cuda.driver.CudaDriver;
import dev.based4j.cuda.kernels.BasedAttentionKernels;
import dev.based4j.cuda.kernels.ConvKernels;
import dev.based4j.cuda.kernels.FeatureMapKernels;
import dev.based4j.cuda.kernels.LinearAttentionKernels;
import dev.based4j.cuda.kernels.PlumbingKernels;
import dev.based4j.cuda.kernels.SlidingWindowKernels;
import dev.based4j.spi.Engine;
import dev.based4j.tensor.DType;
import java.util.EnumSet;

/**
 * The CUDA backend's engine: every kernel family, for every feature map, in float32 and float64 on one NVIDIA GPU.
 * Tensors live in device memory; data crosses between host and device only in uploads, downloads and for token ids.
 * Every operation is enqueued on one stream under the device's lock (so intermediate buffers are never shared by two
 * calls in flight) and returns without waiting for the device, except downloads; errors of a kernel that failed on
 * the device surface at the next download or {@link dev.based4j.Backend#synchronize()}, which waits for the stream.
 * Obtain the backend through {@link dev.based4j.Backends#select(String) Backends.select("cuda")}; its
 * {@link dev.based4j.Backend#unwrap unwrap(CudaInfo.class)} gives the device's details.
 *
 * <p>State kernels run several launches (the fused layer: four), and a launch can fail after an earlier one wrote
 * the state, so the engine does not declare that states survive failures: based4j backs a state up on the device
 * ({@code cuMemcpyDtoDAsync}) before each kernel that updates it.
 */
public final class CudaEngine {
    private CudaEngine() {}

    /**
     * Details of a CUDA backend's device, from {@code backend.unwrap(CudaInfo.class)}.
     *
     * @param deviceName the device's name, e.g. {@code NVIDIA H100 80GB HBM3}
     * @param ordinal the device ordinal ({@link CudaSettings#DEVICE})
     * @param computeCapability 10·major + minor, e.g. 90
     * @param multiprocessors streaming multiprocessors
     * @param totalMemoryBytes the device's memory
     * @param driverVersion the driver's CUDA version, 1000·major + 10·minor, e.g. 13000
     * @param kernels where the kernels came from, e.g. {@code packaged PTX compute_90 (nvcc 13.0)}
     */
    public record CudaInfo(String deviceName, int ordinal, int computeCapability, int multiprocessors,
            long totalMemoryBytes, int driverVersion, String kernels) {}

    /**
     * Opens device {@code ordinal} (retains its primary context, creates the stream, loads every kernel module) and
     * builds the engine on it. Closing the backend made from the engine frees the device's resources.
     *
     * @param driverLibrary name or path of the driver library, already validated ({@link CudaSettings})
     * @param ordinal the device ordinal, below the driver's device count
     * @param kernels where the kernels come from
     * @param nvrtcLibrary name or path of NVRTC, or empty text to search the default names
     * @throws dev.based4j.cuda.driver.CudaException when a driver call fails
     * @throws dev.based4j.cuda.driver.NativeLibraryException when the driver library cannot be loaded
     * @throws IllegalStateException when no kernels fit the device
     */
    static Engine<CudaBuffer> open(String driverLibrary, int ordinal, KernelImages.Mode kernels,
            String nvrtcLibrary) {
        CudaContext context = CudaContext.open(CudaDriver.load(driverLibrary), ordinal, kernels, nvrtcLibrary);
        try {
            return create(context);
        } catch (RuntimeException | Error e) {
            context.close();
            throw e;
        }
    }

    /**
     * The engine on an open device context, which it owns from now on: the close action of the engine closes it.
     * The context is also an extension, for the tools of this module that time raw device work
     * ({@link dev.based4j.cuda.bench.CudaTimings}); other code reads {@link CudaInfo}.
     */
    static Engine<CudaBuffer> create(CudaContext context) {
        Scratch scratch = new Scratch(context);
        FeatureMapKernels featureMaps = new FeatureMapKernels(context, scratch);
        LinearAttentionKernels linear = new LinearAttentionKernels(context, scratch, featureMaps);
        SlidingWindowKernels window = new SlidingWindowKernels(context, scratch);
        return Engine.builder(new CudaMemory(context), EnumSet.of(DType.F32, DType.F64))
                .device(context.describe())
                .featureMaps(featureMaps)
                .linearAttention(linear)
                .slidingWindow(window)
                .basedAttention(new BasedAttentionKernels(context, scratch, featureMaps, linear, window))
                .conv(new ConvKernels(context, scratch))
                .plumbing(new PlumbingKernels(context, scratch), PlumbingKernels.WEIGHT_TYPES)
                .copy(context::copy)
                .synchronize(() -> context.run(context::synchronize))
                // a state kernel is several launches, any of which may fail after an earlier one wrote the state
                .statesSurviveFailures(false)
                .extension(new CudaInfo(context.deviceName(), context.ordinal(), context.computeCapability(),
                        context.multiprocessors(), context.totalMemory(), context.driverVersion(),
                        context.plan().describe()))
                .extension(context)
                // runs after based4j freed every tensor and backup
                .onClose(() -> close(context, featureMaps, scratch))
                .build();
    }

    private static void close(CudaContext context, FeatureMapKernels featureMaps, Scratch scratch) {
        try {
            context.run(() -> {
                featureMaps.close();
                scratch.close();
            });
        } catch (RuntimeException ignored) {
            // the context may already be unusable; releasing it below frees the device memory anyway
        }
        context.close();
    }
}

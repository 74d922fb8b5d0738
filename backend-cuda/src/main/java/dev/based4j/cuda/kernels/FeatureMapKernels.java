package dev.based4j.cuda.kernels;

import dev.based4j.cuda.device.CudaBuffer;
import dev.based4j.cuda.device.CudaContext;
import dev.based4j.cuda.device.Scratch;
import dev.based4j.featuremap.AllPoly;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Performer;
import dev.based4j.featuremap.Relu;
import dev.based4j.spi.FeatureMapFamily;
import dev.based4j.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Feature maps φ ({@code feature_map.cu}) and the device-side parameters every kernel that evaluates φ needs:
 * the map kind, ReLU's floor and the weight matrices of Performer and AllPoly, uploaded once per map and type.
 */
public final class FeatureMapKernels extends KernelFamily implements FeatureMapFamily<CudaBuffer> {
    private static final int MAX_CACHED = 32;
    private static final int BLOCK = 256;

    private final Map<Key, long[]> weights = new LinkedHashMap<>(16, 0.75f, true);

    private record Key(FeatureMap map, DType dtype) {}

    /**
     * What a kernel needs to evaluate φ.
     *
     * @param kind the ordinal of {@link FeatureMap.Kind}
     * @param eps ReLU's floor (0 for the other maps)
     * @param w1 Performer's projection or AllPoly's P1 (device pointer, 0 when none)
     * @param w2 AllPoly's P2 (0 when none)
     */
    public record MapParams(int kind, double eps, long w1, long w2) {}

    /** @param context the device */
    public FeatureMapKernels(CudaContext context, Scratch scratch) {
        super(context, scratch, "feature_map");
    }

    /** φ over the last dimension of {@code x [rows, seq, d]} into {@code out [rows, seq, D]}. */
    @Override
    public void apply(FeatureMapFamily.Call<CudaBuffer> c) {
        int rows = int32("rows", c.rows());
        context.run(() -> apply(c.map(), ptr(c.x()), ptr(c.out()), rows, c.seq(), c.dtype()));
    }

    /** φ of {@code rows × seq} vectors at {@code x} into {@code out} (device pointers). */
    public void apply(FeatureMap map, long x, long out, int rows, int seq, DType dtype) {
        MapParams p = params(map, dtype);
        long total = (long) rows * seq * map.outputDim();
        context.launch(kernel("feature_map", dtype), gridFor(total, BLOCK), 1, 1, BLOCK, 0, a -> {
            a.ptr(x).ptr(out).i32(rows).i32(seq).i32(map.inputDim()).i32(map.outputDim()).i32(p.kind());
            scalar(a, dtype, p.eps());
            a.ptr(p.w1()).ptr(p.w2());
        });
    }

    /** @return the device-side parameters of {@code map} in {@code dtype}, uploading its weights on first use */
    public MapParams params(FeatureMap map, DType dtype) {
        int kind = map.kind().ordinal();
        return switch (map) {
            case Relu r -> new MapParams(kind, r.eps(), 0, 0);
            case Performer p -> {
                long[] w = weights(map, dtype, p.projection(), null);
                yield new MapParams(kind, 0, w[0], 0);
            }
            case AllPoly ap -> {
                long[] w = weights(map, dtype, ap.p1(), ap.p2());
                yield new MapParams(kind, 0, w[0], w[1]);
            }
            default -> new MapParams(kind, 0, 0, 0);
        };
    }

    private long[] weights(FeatureMap map, DType dtype, double[] first, double[] second) {
        Key key = new Key(map, dtype);
        long[] cached = weights.get(key);
        if (cached != null) {
            return cached;
        }
        long[] w = {upload(first, dtype), second == null ? 0 : upload(second, dtype)};
        weights.put(key, w);
        if (weights.size() > MAX_CACHED) {
            Map.Entry<Key, long[]> eldest = weights.entrySet().iterator().next();
            weights.remove(eldest.getKey());
            // cuMemFree waits for the device, so no enqueued kernel still reads these
            free(eldest.getValue());
        }
        return w;
    }

    private long upload(double[] values, DType dtype) {
        long bytes = (long) values.length * dtype.byteSize();
        long p = context.allocate(bytes);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(bytes, 8);
            for (int i = 0; i < values.length; i++) {
                if (dtype == DType.F32) {
                    host.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) values[i]);
                } else {
                    host.setAtIndex(ValueLayout.JAVA_DOUBLE, i, values[i]);
                }
            }
            context.driver().memcpyHtoDAsync(p, host, bytes, context.stream());
            // the host copy dies with the arena: wait until the driver has taken it
            context.synchronize();
        }
        return p;
    }

    private void free(long[] w) {
        context.free(w[0]);
        if (w[1] != 0) {
            context.free(w[1]);
        }
    }

    /** Frees the uploaded weights; the caller holds the context's lock. */
    public void close() {
        for (long[] w : weights.values()) {
            try {
                free(w);
            } catch (RuntimeException ignored) {
                // closing: free the rest
            }
        }
        weights.clear();
    }
}

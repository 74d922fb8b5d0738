package dev.based4j.onnx.kernels;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.based4j.onnx.OnnxKernelException;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.tensor.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One run of a compiled graph: the ONNX Runtime views of its buffers, its small int64 and scalar inputs, and the state
 * updates it commits. Every view is checked before it is handed to ONNX Runtime (dimensions at least 1 whose product
 * is the buffer's element count, the buffer's own element type), and every buffer is {@linkplain OnnxBuffer#lease()
 * leased} until the run is over, so native code never sees memory of the wrong size or memory that was freed.
 *
 * <p>A state output is written into {@linkplain OnnxBuffer#fresh() fresh} memory that is swapped in only after the
 * run succeeded: a run that fails leaves every state as it was.
 */
final class KernelRun implements AutoCloseable {
    private final OrtEnvironment env;
    private final String graph;
    private final Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
    private final Map<String, OnnxTensor> outputs = new LinkedHashMap<>();
    private final List<OnnxTensor> views = new ArrayList<>();
    private final List<OnnxBuffer.Lease> leases = new ArrayList<>();
    private final List<Runnable> commits = new ArrayList<>();
    private final List<OnnxBuffer.Block> pending = new ArrayList<>();

    private KernelRun(OrtEnvironment env, String graph) {
        this.env = env;
        this.graph = graph;
    }

    /**
     * Leases the session of {@code key} (compiling {@code graph} on first use), binds its inputs and outputs with
     * {@code bind} and runs it.
     *
     * @throws OnnxKernelException when ONNX Runtime fails, naming the graph
     */
    static void run(SessionCache sessions, Object key, Supplier<GraphBuilder> graph, Consumer<KernelRun> bind) {
        try (SessionCache.Kernel kernel = sessions.lease(key, graph)) {
            run(sessions.env(), kernel, bind);
        }
    }

    /** Binds the inputs and outputs of {@code kernel} (leased or compiled, and not closed) with {@code bind}, runs it. */
    static void run(OrtEnvironment env, SessionCache.Kernel kernel, Consumer<KernelRun> bind) {
        try (KernelRun run = new KernelRun(env, kernel.graph())) {
            bind.accept(run);
            run.execute(kernel.session());
        }
    }

    /** Binds {@code buffer}, viewed with {@code dims}, to input {@code name}. */
    KernelRun in(String name, OnnxBuffer buffer, long... dims) {
        inputs.put(name, view(name, buffer, dims));
        return this;
    }

    /** Binds {@code values} to the int64 input {@code name}; every value is at least 0 (positions, ids, bounds). */
    KernelRun longs(String name, long... values) {
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * Long.BYTES).order(ByteOrder.nativeOrder());
        for (long v : values) {
            if (v < 0) {
                throw new IllegalStateException("onnx graph '" + graph + "': input " + name
                        + ": expected values >= 0, got " + Arrays.toString(values));
            }
            b.putLong(v);
        }
        inputs.put(name, track(() -> OnnxTensor.createTensor(env, b.flip(), new long[] {values.length},
                OnnxJavaType.INT64)));
        return this;
    }

    /** Binds a one-element tensor of {@code dtype} holding {@code value} to input {@code name}. */
    KernelRun scalar(String name, double value, DType dtype) {
        ByteBuffer b = ByteBuffer.allocateDirect(dtype.byteSize()).order(ByteOrder.nativeOrder());
        if (dtype == DType.F64) {
            b.putDouble(value);
        } else {
            b.putFloat((float) value);
        }
        inputs.put(name, track(() -> OnnxTensor.createTensor(env, b.flip(), new long[] {1}, javaType(dtype))));
        return this;
    }

    /** Binds {@code buffer}, viewed with {@code dims}, as the pre-allocated output {@code name}. */
    KernelRun out(String name, OnnxBuffer buffer, long... dims) {
        outputs.put(name, view(name, buffer, dims));
        return this;
    }

    /** A state output: written into fresh memory that replaces {@code buffer}'s only when the run succeeds. */
    KernelRun state(String name, OnnxBuffer buffer, long... dims) {
        checkDims(name, buffer, dims);
        OnnxBuffer.Block next = buffer.fresh();
        pending.add(next);
        outputs.put(name, track(() -> OnnxTensor.createTensor(env, next.byteBuffer(), dims,
                javaType(buffer.dtype()))));
        commits.add(() -> {
            pending.remove(next);
            buffer.swapIn(next);
        });
        return this;
    }

    private void execute(OrtSession session) {
        try (OrtSession.Result unused = session.run(inputs, outputs)) {
            // every output is pinned into our own memory: nothing to read from the result
        } catch (OrtException | RuntimeException e) {
            throw new OnnxKernelException(graph, "running", e);
        }
        for (Runnable c : List.copyOf(commits)) {
            c.run();
        }
    }

    private OnnxTensor view(String name, OnnxBuffer buffer, long[] dims) {
        checkDims(name, buffer, dims);
        OnnxBuffer.Lease lease = buffer.lease();
        leases.add(lease);
        return track(() -> OnnxTensor.createTensor(env, lease.byteBuffer(), dims, javaType(buffer.dtype())));
    }

    /** The dimensions a kernel derived from its validated call must describe the buffer exactly. */
    private void checkDims(String name, OnnxBuffer buffer, long[] dims) {
        long count = 1;
        try {
            for (long d : dims) {
                count = d < 1 ? -1 : Math.multiplyExact(count, d);
                if (count < 0) {
                    break;
                }
            }
        } catch (ArithmeticException e) {
            count = -1;
        }
        if (dims.length == 0 || count != buffer.elements()) {
            throw new IllegalStateException("onnx graph '" + graph + "': " + name + ": dimensions "
                    + Arrays.toString(dims) + " do not describe " + buffer);
        }
    }

    private OnnxTensor track(OrtCall make) {
        try {
            OnnxTensor v = make.call();
            views.add(v);
            return v;
        } catch (OrtException e) {
            throw new OnnxKernelException(graph, "wrapping a buffer", e);
        }
    }

    @Override
    public void close() {
        for (OnnxTensor v : views) {
            v.close();
        }
        for (OnnxBuffer.Lease l : leases) {
            l.close();
        }
        for (OnnxBuffer.Block b : pending) {
            b.discard();
        }
    }

    static OnnxJavaType javaType(DType dtype) {
        return switch (dtype) {
            case F32 -> OnnxJavaType.FLOAT;
            case F64 -> OnnxJavaType.DOUBLE;
            case BF16 -> OnnxJavaType.BFLOAT16;
            case F16 -> OnnxJavaType.FLOAT16;
            case I8 -> OnnxJavaType.INT8;
        };
    }

    @FunctionalInterface
    private interface OrtCall {
        OnnxTensor call() throws OrtException;
    }
}

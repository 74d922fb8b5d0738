package dev.based4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.PrefillAlgorithm;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.onnx.kernels.BasedAttentionKernels;
import dev.based4j.onnx.kernels.ConvKernels;
import dev.based4j.onnx.kernels.FeatureMapKernels;
import dev.based4j.onnx.kernels.LinearAttentionKernels;
import dev.based4j.onnx.kernels.PlumbingKernels;
import dev.based4j.onnx.kernels.SlidingWindowKernels;
import dev.based4j.spi.AbstractBackend;
import dev.based4j.Capabilities;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The ONNX Runtime backend: each kernel is an ONNX graph built in memory ({@code dev.based4j.onnx.kernels}) with
 * dynamic batch, head, sequence and value dimensions, compiled once into an {@link OrtSession} per
 * (kernel, spec, precision) and cached until the backend is closed. Sessions are thread-safe, so kernels run
 * from many threads without locks. Tensors are {@link OnnxBackendTensor}s in host memory, passed to ONNX Runtime
 * without copies.
 *
 * <p>Long sequences switch to forms whose memory grows linearly: linear attention to the chunked form (for
 * {@link PrefillAlgorithm#AUTO} above {@value #QUADRATIC_MAX_SEQ} tokens), sliding window and the fused layer to
 * query blocks (above {@value #BAND_FULL_MAX_SEQ} tokens). {@link PrefillAlgorithm#RECURRENT} is treated as
 * {@code AUTO}, as the SPI allows.
 *
 * <p>Errors of ONNX Runtime surface as {@link OnnxKernelException} naming the graph and, through ONNX Runtime's
 * message, the node and op.
 */
public final class OnnxBackend extends AbstractBackend {
    /** Longest sequence for which {@code AUTO} linear-attention prefill uses the quadratic form. */
    public static final int QUADRATIC_MAX_SEQ = 256;
    /** Longest sequence for which window and fused prefill score every query against every key. */
    public static final int BAND_FULL_MAX_SEQ = 128;

    private final ExecutionProvider provider;
    private final int threads;
    private final int cudaDevice;
    private final OrtEnvironment env;
    private final Capabilities capabilities;
    private final Map<Object, Kernel> sessions = new ConcurrentHashMap<>();

    /**
     * @param provider the execution provider every session uses
     * @param threads intra-op threads per session, 0 for ONNX Runtime's default
     * @param cudaDevice the CUDA device ordinal (CUDA provider only)
     */
    OnnxBackend(ExecutionProvider provider, int threads, int cudaDevice) {
        this.provider = provider;
        this.threads = threads;
        this.cudaDevice = cudaDevice;
        this.env = OrtEnvironment.getEnvironment();
        this.capabilities = capabilitiesOf(provider);
    }

    /** @return what a backend on {@code provider} computes */
    static Capabilities capabilitiesOf(ExecutionProvider provider) {
        // CPU: every op used has float32 and float64 kernels (Erf, Elu and Conv have no float64 kernel and are
        // avoided in float64 graphs). CUDA: float64 is not declared because it has not been tested on a device.
        return Capabilities.everything(provider == ExecutionProvider.CPU ? Set.of(DType.F32, DType.F64) : Set.of(DType.F32));
    }

    @Override
    public String name() {
        return provider.backendName();
    }

    @Override
    public String device() {
        String where = provider == ExecutionProvider.CPU ? "CPU execution provider" : "CUDA execution provider, device " + cudaDevice;
        return "ONNX Runtime " + env.getVersion() + ", " + where + ", "
                + (threads > 0 ? threads + " intra-op threads" : "default intra-op threads");
    }

    @Override
    public Capabilities capabilities() {
        return capabilities;
    }

    /** @return the execution provider of every session */
    public ExecutionProvider executionProvider() {
        return provider;
    }

    /** @return how many compiled sessions are cached */
    public int cachedSessions() {
        return sessions.size();
    }

    // ---------------------------------------------------------------- memory

    @Override
    protected Tensor allocateTensor(Shape shape, DType dtype) {
        return OnnxBackendTensor.allocate(shape, dtype, this);
    }

    @Override
    protected Tensor uploadTensor(HostTensor host) {
        OnnxBackendTensor t = (OnnxBackendTensor) allocateTensor(host.shape(), host.dtype());
        t.segment().copyFrom(host.segment());
        return t;
    }

    @Override
    protected void downloadTensor(Tensor src, HostTensor dst) {
        dst.segment().copyFrom(((OnnxBackendTensor) src).segment());
    }

    /**
     * Every state kernel is one ONNX Runtime run whose new state is written into fresh memory and swapped in only
     * after the run succeeded ({@link Call#state}), so a failed run leaves the state as it was: no backup needed.
     */
    @Override
    protected boolean computeLeavesStateOnFailure() {
        return true;
    }

    @Override
    protected void closeBackend() {
        // the base class has freed the tensors still open
        for (Kernel k : sessions.values()) {
            k.close();
        }
        sessions.clear();
    }

    // ---------------------------------------------------------------- sessions

    /** A compiled graph. */
    record Kernel(String graph, OrtSession session, OrtSession.SessionOptions options) {
        void close() {
            try {
                session.close();
            } catch (OrtException e) {
                // closing frees native memory; there is nothing to recover at this point
            } finally {
                options.close();
            }
        }
    }

    private Kernel kernel(Object key, Supplier<GraphBuilder> graph) {
        Kernel k = sessions.get(key);
        if (k != null) {
            return k;
        }
        return sessions.computeIfAbsent(key, unused -> compile(graph.get()));
    }

    /** Compiles a graph into a session (package-private so that tests can check the error path). */
    Kernel compile(GraphBuilder g) {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            // extended optimisations fuse nodes into contrib ops (QuickGelu, FusedMatMul, ...) that ONNX Runtime
            // implements for float32 only; float64 graphs keep the basic (ONNX-level) rewrites
            options.setOptimizationLevel(g.computeType() == ElementType.DOUBLE
                    ? OrtSession.SessionOptions.OptLevel.BASIC_OPT : OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (threads > 0) {
                options.setIntraOpNumThreads(threads);
            }
            if (provider == ExecutionProvider.CUDA) {
                // no "session.disable_cpu_ep_fallback": ONNX Runtime itself places the int64 shape arithmetic
                // (Shape -> Gather/Concat/Range chains) on the CPU in every CUDA model, and that option refuses any
                // CPU node; the probe has already proven that float kernels run on the device
                options.addCUDA(cudaDevice);
            }
            return new Kernel(g.name(), env.createSession(g.toBytes(), options), options);
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw new OnnxKernelException(g.name(), "creating a session", e);
        }
    }

    /** The ORT views and pending state swaps of one kernel call. */
    private final class Call implements AutoCloseable {
        private final Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        private final Map<String, OnnxTensor> outputs = new LinkedHashMap<>();
        private final List<OnnxTensor> views = new ArrayList<>();
        private final List<Runnable> commits = new ArrayList<>();
        private final List<Arena> pending = new ArrayList<>();

        Call in(String name, Tensor t, long... dims) {
            inputs.put(name, view((OnnxBackendTensor) t, dims));
            return this;
        }

        Call longs(String name, long... values) {
            ByteBuffer b = ByteBuffer.allocateDirect(values.length * 8).order(ByteOrder.nativeOrder());
            for (long v : values) {
                b.putLong(v);
            }
            inputs.put(name, track(() -> OnnxTensor.createTensor(env, b.flip(), new long[] {values.length}, OnnxJavaType.INT64)));
            return this;
        }

        Call scalar(String name, double value, DType dtype) {
            ByteBuffer b = ByteBuffer.allocateDirect(dtype.byteSize()).order(ByteOrder.nativeOrder());
            if (dtype == DType.F64) {
                b.putDouble(value);
            } else {
                b.putFloat((float) value);
            }
            inputs.put(name, track(() -> OnnxTensor.createTensor(env, b.flip(), new long[] {1}, javaType(dtype))));
            return this;
        }

        Call out(String name, Tensor t, long... dims) {
            outputs.put(name, view((OnnxBackendTensor) t, dims));
            return this;
        }

        /** A state output: written into fresh memory that replaces {@code t}'s only when the run succeeds. */
        Call state(String name, Tensor t) {
            OnnxBackendTensor ot = (OnnxBackendTensor) t;
            Arena arena = Arena.ofShared();
            pending.add(arena);
            MemorySegment seg = arena.allocate(ot.segment().byteSize(), 64);
            ByteBuffer b = seg.asByteBuffer().order(ByteOrder.nativeOrder());
            outputs.put(name, track(() -> OnnxTensor.createTensor(env, b, dims(t.shape()), javaType(t.dtype()))));
            commits.add(() -> {
                pending.remove(arena);
                ot.swapIn(arena, seg);
            });
            return this;
        }

        void run(Kernel k) {
            try (OrtSession.Result unused = k.session().run(inputs, outputs)) {
                // every output is pinned into our own memory: nothing to read from the result
            } catch (OrtException | RuntimeException e) {
                throw new OnnxKernelException(k.graph(), "running", e);
            }
            for (Runnable c : List.copyOf(commits)) {
                c.run();
            }
        }

        private OnnxTensor view(OnnxBackendTensor t, long... dims) {
            long[] d = dims.length == 0 ? dims(t.shape()) : dims;
            return track(() -> OnnxTensor.createTensor(env, t.buffer(), d, javaType(t.dtype())));
        }

        private OnnxTensor track(OrtCall make) {
            try {
                OnnxTensor v = make.call();
                views.add(v);
                return v;
            } catch (OrtException e) {
                throw new OnnxKernelException("(tensor view)", "wrapping a buffer", e);
            }
        }

        @Override
        public void close() {
            for (OnnxTensor v : views) {
                v.close();
            }
            for (Arena a : pending) {
                a.close();
            }
        }
    }

    @FunctionalInterface
    private interface OrtCall {
        OnnxTensor call() throws OrtException;
    }

    private static OnnxJavaType javaType(DType dtype) {
        return dtype == DType.F64 ? OnnxJavaType.DOUBLE : OnnxJavaType.FLOAT;
    }

    private static long[] dims(Shape s) {
        long[] d = new long[s.rank()];
        for (int i = 0; i < d.length; i++) {
            d[i] = s.dim(i);
        }
        return d;
    }

    private static ElementType type(Tensor t) {
        return ElementType.of(t.dtype());
    }

    private record Key(String op, Object spec, DType dtype) {}

    // ---------------------------------------------------------------- feature maps

    @Override
    protected void computeFeatureMap(FeatureMap map, Tensor x, Tensor out) {
        Shape s = x.shape();
        long rows = s.elementCount() / ((long) s.dim(-1) * s.dim(-2));
        Kernel k = kernel(new Key("feature_map", map, x.dtype()), () -> FeatureMapKernels.standalone(map, type(x)));
        try (Call c = new Call()) {
            c.in("x", x, rows, s.dim(-2), s.dim(-1)).out("phi", out, rows, s.dim(-2), map.outputDim()).run(k);
        }
    }

    // ---------------------------------------------------------------- linear attention

    @Override
    protected void computeLinearAttentionPrefill(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        int seq = q.shape().dim(2);
        LinearAttentionKernels.Form form = switch (spec.algorithm()) {
            case QUADRATIC -> LinearAttentionKernels.Form.QUADRATIC;
            case CHUNKED -> LinearAttentionKernels.Form.CHUNKED;
            case AUTO, RECURRENT -> seq <= QUADRATIC_MAX_SEQ
                    ? LinearAttentionKernels.Form.QUADRATIC : LinearAttentionKernels.Form.CHUNKED;
        };
        runLinear(spec, form, q, k, v, state, out);
    }

    @Override
    protected void computeLinearAttentionDecode(
            LinearAttentionSpec spec, Tensor q, Tensor k, Tensor v, LinearAttentionState state, Tensor out) {
        runLinear(spec, LinearAttentionKernels.Form.DECODE, q, k, v, state, out);
    }

    private void runLinear(LinearAttentionSpec spec, LinearAttentionKernels.Form form, Tensor q, Tensor k, Tensor v,
            LinearAttentionState state, Tensor out) {
        // the chunk size only matters to the chunked graph; the algorithm never changes a graph
        LinearAttentionSpec keySpec = spec.withAlgorithm(PrefillAlgorithm.AUTO)
                .withChunkSize(form == LinearAttentionKernels.Form.CHUNKED ? spec.chunkSize() : LinearAttentionSpec.DEFAULT_CHUNK);
        Kernel kern = kernel(new Key("linear_attention_" + form, keySpec, q.dtype()),
                () -> LinearAttentionKernels.standalone(keySpec, form, type(q)));
        try (Call c = new Call()) {
            c.in("q", q).in("k", k).in("v", v).in("kv", state.kv()).in("z", state.z())
                    .out("y", out).state("kv_out", state.kv()).state("z_out", state.z()).run(kern);
        }
    }

    // ---------------------------------------------------------------- sliding window

    @Override
    protected void computeSlidingWindowPrefill(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        int seq = q.shape().dim(2);
        runWindow(spec, !spec.isUnbounded() && seq > BAND_FULL_MAX_SEQ ? SlidingWindowKernels.Form.BLOCKED : SlidingWindowKernels.Form.FULL,
                q, k, v, state, out);
    }

    @Override
    protected void computeSlidingWindowDecode(
            SlidingWindowSpec spec, Tensor q, Tensor k, Tensor v, WindowState state, Tensor out) {
        runWindow(spec, SlidingWindowKernels.Form.FULL, q, k, v, state, out);
    }

    private void runWindow(SlidingWindowSpec spec, SlidingWindowKernels.Form form, Tensor q, Tensor k, Tensor v,
            WindowState state, Tensor out) {
        Kernel kern = kernel(new Key("sliding_window_" + form, spec, q.dtype()),
                () -> SlidingWindowKernels.standalone(spec, form, type(q)));
        try (Call c = new Call()) {
            c.in("q", q).in("k", k).in("v", v).in("ring_k", state.keys()).in("ring_v", state.values())
                    .longs("pos", state.position())
                    .out("y", out).state("ring_k_out", state.keys()).state("ring_v_out", state.values()).run(kern);
        }
    }

    // ---------------------------------------------------------------- fused

    @Override
    protected void computeBasedAttentionPrefill(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        int seq = q.shape().dim(2);
        runBased(spec, seq > BAND_FULL_MAX_SEQ ? BasedAttentionKernels.Form.LONG : BasedAttentionKernels.Form.SHORT,
                q, k, v, state, out);
    }

    @Override
    protected void computeBasedAttentionDecode(
            BasedAttentionSpec spec, Tensor q, Tensor k, Tensor v, BasedAttentionState state, Tensor out) {
        runBased(spec, BasedAttentionKernels.Form.SHORT, q, k, v, state, out);
    }

    private void runBased(BasedAttentionSpec spec, BasedAttentionKernels.Form form, Tensor q, Tensor k, Tensor v,
            BasedAttentionState state, Tensor out) {
        Kernel kern = kernel(new Key("based_attention_" + form, spec, q.dtype()),
                () -> BasedAttentionKernels.standalone(spec, form, type(q)));
        LinearAttentionState far = state.far();
        WindowState near = state.near();
        try (Call c = new Call()) {
            c.in("q", q).in("k", k).in("v", v).in("kv", far.kv()).in("z", far.z())
                    .in("ring_k", near.keys()).in("ring_v", near.values()).longs("pos", state.position())
                    .out("y", out).state("kv_out", far.kv()).state("z_out", far.z())
                    .state("ring_k_out", near.keys()).state("ring_v_out", near.values()).run(kern);
        }
    }

    // ---------------------------------------------------------------- conv

    @Override
    protected void computeCausalConv(Tensor x, Tensor weight, ConvState state, Tensor out) {
        int kernelSize = state.kernelSize();
        Kernel kern = kernel(new Key("causal_conv", kernelSize, x.dtype()), () -> ConvKernels.standalone(kernelSize, type(x)));
        try (Call c = new Call()) {
            c.in("x", x).in("weight", weight).in("window", state.window())
                    .out("y", out).state("window_out", state.window()).run(kern);
        }
    }

    // ---------------------------------------------------------------- plumbing

    private static long rows(Tensor t) {
        return t.shape().elementCount() / t.shape().dim(-1);
    }

    @Override
    protected void computeLinear(Tensor x, Tensor weight, Tensor bias, Tensor out) {
        boolean withBias = bias != null;
        Kernel kern = kernel(new Key("linear", withBias, x.dtype()), () -> PlumbingKernels.linear(withBias, type(x)));
        long r = rows(x);
        try (Call c = new Call()) {
            c.in("x", x, r, x.shape().dim(-1)).in("weight", weight);
            if (withBias) {
                c.in("bias", bias);
            }
            c.out("y", out, r, weight.shape().dim(0)).run(kern);
        }
    }

    @Override
    protected void computeRmsNorm(Tensor x, Tensor weight, double eps, Tensor out) {
        Kernel kern = kernel(new Key("rms_norm", null, x.dtype()), () -> PlumbingKernels.rmsNorm(type(x)));
        long r = rows(x);
        int d = x.shape().dim(-1);
        try (Call c = new Call()) {
            c.in("x", x, r, d).in("weight", weight).scalar("eps", eps, x.dtype()).out("y", out, r, d).run(kern);
        }
    }

    @Override
    protected void computeSilu(Tensor x, Tensor out) {
        unary("silu", x, out);
    }

    @Override
    protected void computeGelu(Tensor x, Tensor out) {
        unary("gelu", x, out);
    }

    private void unary(String op, Tensor x, Tensor out) {
        Kernel kern = kernel(new Key(op, null, x.dtype()), () -> PlumbingKernels.unary(op, type(x)));
        long n = x.shape().elementCount();
        try (Call c = new Call()) {
            c.in("x", x, n).out("y", out, n).run(kern);
        }
    }

    @Override
    protected void computeAdd(Tensor a, Tensor b, Tensor out) {
        binary("Add", a, b, out);
    }

    @Override
    protected void computeMultiply(Tensor a, Tensor b, Tensor out) {
        binary("Mul", a, b, out);
    }

    private void binary(String op, Tensor a, Tensor b, Tensor out) {
        Kernel kern = kernel(new Key(op, null, a.dtype()), () -> PlumbingKernels.binary(op, type(a)));
        long n = a.shape().elementCount();
        try (Call c = new Call()) {
            c.in("a", a, n).in("b", b, n).out("y", out, n).run(kern);
        }
    }

    @Override
    protected void computeEmbedding(Tensor table, int[] ids, Tensor out) {
        Kernel kern = kernel(new Key("embedding", null, table.dtype()), () -> PlumbingKernels.embedding(type(table)));
        long[] longIds = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            longIds[i] = ids[i];
        }
        try (Call c = new Call()) {
            c.in("table", table).longs("ids", longIds).out("y", out, ids.length, table.shape().dim(1)).run(kern);
        }
    }

    @Override
    protected void computeRotary(Tensor x, long startPosition, int rotaryDim, double base, Tensor out) {
        Shape s = x.shape();
        int d = s.dim(3);
        Kernel kern = kernel(new Key("rotary", List.of(d, rotaryDim, base), x.dtype()),
                () -> PlumbingKernels.rotary(d, rotaryDim, base, type(x)));
        long r = (long) s.dim(0) * s.dim(1);
        try (Call c = new Call()) {
            c.in("x", x, r, s.dim(2), d).longs("start", startPosition).out("y", out, r, s.dim(2), d).run(kern);
        }
    }

    @Override
    protected void computeSplitHeads(Tensor x, Tensor out) {
        Shape o = out.shape();
        Kernel kern = kernel(new Key("split_heads", null, x.dtype()), () -> PlumbingKernels.splitHeads(type(x)));
        try (Call c = new Call()) {
            c.in("x", x).longs("shape", o.dim(0), o.dim(2), o.dim(1), o.dim(3)).out("y", out).run(kern);
        }
    }

    @Override
    protected void computeMergeHeads(Tensor x, Tensor out) {
        Kernel kern = kernel(new Key("merge_heads", null, x.dtype()), () -> PlumbingKernels.mergeHeads(type(x)));
        try (Call c = new Call()) {
            c.in("x", x).out("y", out).run(kern);
        }
    }

    @Override
    protected void computeSlice(Tensor x, int from, Tensor out) {
        Kernel kern = kernel(new Key("slice", null, x.dtype()), () -> PlumbingKernels.slice(type(x)));
        long r = rows(x);
        int width = out.shape().dim(-1);
        try (Call c = new Call()) {
            c.in("x", x, r, x.shape().dim(-1)).longs("from", from).longs("to", from + width).out("y", out, r, width)
                    .run(kern);
        }
    }
}

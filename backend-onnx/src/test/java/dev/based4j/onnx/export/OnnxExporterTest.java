package dev.based4j.onnx.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.based4j.Backends;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.featuremap.Taylor;
import dev.based4j.layer.BaseConvLayer;
import dev.based4j.layer.BasedAttentionLayer;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.LinearAttentionLayer;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.layer.SwiGluMlp;
import dev.based4j.layer.WeightSource;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Exported models run in ONNX Runtime and give the logits of the layer stack computed kernel by kernel in float64
 * (and of the original code, for the golden tiny LM); decode continues exactly where prefill stopped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OnnxExporterTest {
    private static final long SEED = 7;
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private Backend backend;

    @BeforeAll
    void open() {
        backend = Backends.select("onnx");
    }

    @AfterAll
    void close() {
        backend.close();
    }

    /** Every mixer kind, lookbacks small enough that long prompts leave the window. */
    static LayerStack.Config mixedStack() {
        int d = 32;
        List<MixerConfig> mixers = List.of(
                BaseConvLayer.Config.of(d),
                LinearAttentionLayer.Config.of(d, 2, 8),
                SlidingWindowLayer.Config.of(d, 4, 5),
                BasedAttentionLayer.Config.of(d, 2, 8, 6),
                BaseConvLayer.Config.of(d));
        return new LayerStack.Config(61, mixers, new SwiGluMlp.Config(d, 64), 1e-5, true);
    }

    private double[] referenceLogits(LayerStack.Config config, Map<String, HostTensor> weights, int[] ids, int batch,
            int seq) {
        try (LayerStack stack = LayerStack.load(backend, DType.F64, WeightSource.of(weights), config);
                LayerStack.State state = stack.newState(batch);
                Tensor logits = stack.prefill(ids, batch, seq, state)) {
            return backend.download(logits).toDoubleArray();
        }
    }

    private static int[] randomIds(Random r, int n, int vocab) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(vocab);
        }
        return ids;
    }

    private static double relativeError(double[] out, double[] ref) {
        assertThat(out).hasSameSizeAs(ref);
        double diff = 0;
        double scale = 1;
        for (int i = 0; i < ref.length; i++) {
            diff = Math.max(diff, Math.abs(out[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
            if (!Double.isFinite(out[i])) {
                return Double.POSITIVE_INFINITY;
            }
        }
        return diff / scale;
    }

    /** Runs a session; returns every output as doubles (logits and states) plus INT64 outputs as doubles. */
    private Map<String, double[]> run(OrtSession session, Map<String, OnnxTensor> inputs) throws OrtException {
        Map<String, double[]> out = new LinkedHashMap<>();
        try (OrtSession.Result r = session.run(inputs)) {
            for (Map.Entry<String, OnnxValue> e : r) {
                OnnxTensor t = (OnnxTensor) e.getValue();
                double[] v;
                switch (t.getInfo().type) {
                    case FLOAT -> {
                        FloatBuffer fb = t.getFloatBuffer();
                        v = new double[fb.remaining()];
                        for (int i = 0; i < v.length; i++) {
                            v[i] = fb.get(i);
                        }
                    }
                    case DOUBLE -> {
                        DoubleBuffer db = t.getDoubleBuffer();
                        v = new double[db.remaining()];
                        db.get(v);
                    }
                    default -> {
                        LongBuffer lb = t.getLongBuffer();
                        v = new double[lb.remaining()];
                        for (int i = 0; i < v.length; i++) {
                            v[i] = lb.get(i);
                        }
                    }
                }
                out.put(e.getKey(), v);
            }
        }
        return out;
    }

    private OnnxTensor ids(int[] ids, int batch, int seq) throws OrtException {
        long[] l = new long[ids.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = ids[i];
        }
        return OnnxTensor.createTensor(env, LongBuffer.wrap(l), new long[] {batch, seq});
    }

    /** Prefill of the first {@code prefill} tokens, then one decode step per remaining token: all logits. */
    private double[] prefillThenDecode(LayerStack.Config config, Map<String, HostTensor> weights, DType dtype,
            int[] ids, int batch, int seq, int prefill) throws OrtException {
        WeightSource w = WeightSource.of(weights);
        byte[] pre = OnnxExporter.toBytes(config, w, OnnxExporter.Mode.PREFILL, dtype);
        byte[] dec = OnnxExporter.toBytes(config, w, OnnxExporter.Mode.DECODE, dtype);
        int vocab = config.vocabSize();
        double[] logits = new double[batch * seq * vocab];
        try (OrtSession ps = env.createSession(pre); OrtSession ds = env.createSession(dec)) {
            int[] head = new int[batch * prefill];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(ids, b * seq, head, b * prefill, prefill);
            }
            Map<String, double[]> out;
            try (OnnxTensor in = ids(head, batch, prefill)) {
                out = run(ps, Map.of("input_ids", in));
            }
            copyLogits(out.get("logits"), logits, batch, prefill, seq, 0, vocab);
            Map<String, OnnxValue> stateShapes = new HashMap<>();
            for (int t = prefill; t < seq; t++) {
                List<OnnxTensor> feed = new ArrayList<>();
                try {
                    Map<String, OnnxTensor> inputs = new HashMap<>();
                    int[] step = new int[batch];
                    for (int b = 0; b < batch; b++) {
                        step[b] = ids[b * seq + t];
                    }
                    OnnxTensor stepIds = ids(step, batch, 1);
                    feed.add(stepIds);
                    inputs.put("input_ids", stepIds);
                    OnnxTensor pos = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[] {t}), new long[] {1});
                    feed.add(pos);
                    inputs.put("position", pos);
                    for (String name : ds.getInputNames()) {
                        if (name.startsWith("past.")) {
                            String present = "present." + name.substring("past.".length());
                            long[] shape = ((ai.onnxruntime.TensorInfo) ds.getInputInfo().get(name).getInfo()).getShape();
                            shape[0] = batch;
                            OnnxTensor st = tensor(out.get(present), shape, dtype);
                            feed.add(st);
                            inputs.put(name, st);
                        }
                    }
                    out = run(ds, inputs);
                } finally {
                    feed.forEach(OnnxTensor::close);
                }
                copyLogits(out.get("logits"), logits, batch, 1, seq, t, vocab);
                assertThat(out.get("position_out")[0]).as("position after decoding token %d", t).isEqualTo(t + 1);
            }
            stateShapes.clear();
        }
        return logits;
    }

    private OnnxTensor tensor(double[] data, long[] shape, DType dtype) throws OrtException {
        if (dtype == DType.F64) {
            return OnnxTensor.createTensor(env, DoubleBuffer.wrap(data), shape);
        }
        float[] f = new float[data.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) data[i];
        }
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(f), shape);
    }

    private static void copyLogits(double[] part, double[] all, int batch, int partSeq, int seq, int from, int vocab) {
        for (int b = 0; b < batch; b++) {
            System.arraycopy(part, b * partSeq * vocab, all, (b * seq + from) * vocab, partSeq * vocab);
        }
    }

    @Nested
    class MixedStack {
        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void prefillLogitsEqualTheLayerStack(DType dtype) throws OrtException {
            LayerStack.Config config = mixedStack();
            Map<String, HostTensor> weights = LayerStack.randomWeights(config, SEED);
            int batch = 2;
            int seq = 150;
            int[] ids = randomIds(new Random(SEED), batch * seq, config.vocabSize());
            double[] ref = referenceLogits(config, weights, ids, batch, seq);
            double[] out = prefillThenDecode(config, weights, dtype, ids, batch, seq, seq);
            assertThat(relativeError(out, ref)).as("exported prefill logits vs layer stack (f64 kernels), %s, seed %d",
                    dtype.label(), SEED).isLessThanOrEqualTo(dtype == DType.F64 ? 1e-9 : 1e-4);
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void decodeContinuesWherePrefillStopped(DType dtype) throws OrtException {
            LayerStack.Config config = mixedStack();
            Map<String, HostTensor> weights = LayerStack.randomWeights(config, SEED + 1);
            int batch = 2;
            int seq = 24;
            int[] ids = randomIds(new Random(SEED + 1), batch * seq, config.vocabSize());
            double[] ref = referenceLogits(config, weights, ids, batch, seq);
            double[] out = prefillThenDecode(config, weights, dtype, ids, batch, seq, 9);
            assertThat(relativeError(out, ref)).as("prefill 9 then decode 15 vs prefill 24, %s, seed %d",
                    dtype.label(), SEED + 1).isLessThanOrEqualTo(dtype == DType.F64 ? 1e-9 : 1e-4);
        }

        @Test
        void aMissingWeightIsNamed() {
            LayerStack.Config config = mixedStack();
            Map<String, HostTensor> weights = new HashMap<>(LayerStack.randomWeights(config, SEED));
            weights.remove("transformer.layers.2.mixer.Wqkv.weight");
            assertThatThrownBy(() -> OnnxExporter.toBytes(config, WeightSource.of(weights), OnnxExporter.Mode.PREFILL, DType.F32))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("transformer.layers.2.mixer.Wqkv.weight");
        }
    }

    @Nested
    class AgainstTheCpuBackend {
        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void exportedLogitsEqualTheCpuBackendsLayerStack(DType dtype) throws OrtException {
            LayerStack.Config config = mixedStack();
            Map<String, HostTensor> weights = LayerStack.randomWeights(config, SEED + 2);
            int batch = 2;
            int seq = 90;
            int[] ids = randomIds(new Random(SEED + 2), batch * seq, config.vocabSize());
            double[] cpu;
            try (Backend cpuBackend = Backends.select("cpu");
                    LayerStack stack = LayerStack.load(cpuBackend, dtype, WeightSource.of(weights), config);
                    LayerStack.State state = stack.newState(batch);
                    Tensor logits = stack.prefill(ids, batch, seq, state)) {
                cpu = cpuBackend.download(logits).toDoubleArray();
            }
            double[] out = prefillThenDecode(config, weights, dtype, ids, batch, seq, 70);
            assertThat(relativeError(out, cpu)).as("exported logits (prefill 70, decode 20) vs cpu backend, %s, seed %d",
                    dtype.label(), SEED + 2).isLessThanOrEqualTo(dtype == DType.F64 ? 1e-9 : 1e-4);
        }
    }

    @Nested
    class ReducedFormats {
        static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> formatsAndTypes() {
            return java.util.stream.Stream.of(ReducedWeights.values()).flatMap(f -> java.util.stream.Stream.of(
                    org.junit.jupiter.params.provider.Arguments.of(f, DType.F32),
                    org.junit.jupiter.params.provider.Arguments.of(f, DType.F64)));
        }

        @ParameterizedTest(name = "{0} weights, {1}")
        @org.junit.jupiter.params.provider.MethodSource("formatsAndTypes")
        void logitsEqualTheLayerStackOnTheDequantizedWeights(ReducedWeights format, DType dtype)
                throws OrtException {
            LayerStack.Config config = mixedStack();
            long seed = SEED + 10 + format.ordinal();
            ReducedWeights.Converted w = format.convert(LayerStack.randomWeights(config, seed));
            int batch = 2;
            int seq = 40;
            int[] ids = randomIds(new Random(seed), batch * seq, config.vocabSize());
            double[] ref = referenceLogits(config, w.dequantized(), ids, batch, seq);
            double[] out = prefillThenDecode(config, w.stored(), dtype, ids, batch, seq, 30);
            assertThat(relativeError(out, ref)).as("exported %s logits (prefill 30, decode 10) vs layer stack (f64 "
                    + "kernels) on the dequantized weights, %s, seed %d", format, dtype.label(), seed)
                    .isLessThanOrEqualTo(dtype == DType.F64 ? 1e-9 : 1e-4);
        }

        @ParameterizedTest(name = "{0} weights")
        @EnumSource(ReducedWeights.class)
        void theFileKeepsTheFormatOfEveryMatrixWeight(ReducedWeights format) throws Exception {
            LayerStack.Config config = mixedStack();
            ReducedWeights.Converted w = format.convert(LayerStack.randomWeights(config, SEED));
            ai.onnx.proto.OnnxMl.ModelProto model = ai.onnx.proto.OnnxMl.ModelProto.parseFrom(
                    OnnxExporter.toBytes(config, WeightSource.of(w.stored()), OnnxExporter.Mode.DECODE, DType.F32));
            Map<String, Integer> types = new HashMap<>();
            for (ai.onnx.proto.OnnxMl.TensorProto t : model.getGraph().getInitializerList()) {
                types.put(t.getName(), t.getDataType());
            }
            int expected = switch (format.type) {
                case BF16 -> 16;
                case F16 -> 10;
                default -> 3;
            };
            for (Map.Entry<String, HostTensor> e : w.stored().entrySet()) {
                if (e.getValue().shape().rank() == 2 && !e.getKey().endsWith(".scales")) {
                    assertThat(types.get(e.getKey())).as("element type of initializer %s", e.getKey())
                            .isEqualTo(expected);
                }
                if (e.getKey().endsWith(".scales")) {
                    assertThat(types.get(e.getKey())).as("element type of scales %s", e.getKey()).isEqualTo(1);
                }
            }
            assertThat(model.getMetadataPropsList()).anySatisfy(p -> {
                assertThat(p.getKey()).isEqualTo("based4j.weights");
                assertThat(p.getValue()).isEqualTo(format.label());
            });
        }

        @Test
        void anInt8WeightWithoutItsScalesIsNamed() {
            LayerStack.Config config = mixedStack();
            Map<String, HostTensor> weights = new HashMap<>(ReducedWeights.INT8.convert(
                    LayerStack.randomWeights(config, SEED)).stored());
            weights.remove("transformer.layers.0.mlp.fc1.weight.scales");
            assertThatThrownBy(() -> OnnxExporter.toBytes(config, WeightSource.of(weights),
                    OnnxExporter.Mode.PREFILL, DType.F32))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("transformer.layers.0.mlp.fc1.weight.scales");
        }

        @Test
        void int8ScalesThatFitNoGroupAreNamedWithTheShapesTheyCouldHave() {
            LayerStack.Config config = mixedStack();
            Map<String, HostTensor> weights = new HashMap<>(ReducedWeights.INT8.convert(
                    LayerStack.randomWeights(config, SEED)).stored());
            String name = "transformer.layers.0.mlp.fc2.weight.scales";
            int rows = weights.get(name).shape().dim(0);
            weights.put(name, HostTensor.of(new double[rows * 3], Shape.of(rows, 3), DType.F32));
            assertThatThrownBy(() -> OnnxExporter.toBytes(config, WeightSource.of(weights),
                    OnnxExporter.Mode.PREFILL, DType.F32))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(name).hasMessageContaining("[" + rows + ", 3]");
        }
    }

    @Nested
    class GoldenTinyLm {
        private static final String CASE = "/golden/lm_tiny_b2l20/";

        private static double[] read(String file, int n, boolean f64) throws IOException {
            try (InputStream in = OnnxExporterTest.class.getResourceAsStream(CASE + file)) {
                assertThat(in).as("test resource %s", CASE + file).isNotNull();
                ByteBuffer b = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
                double[] v = new double[n];
                for (int i = 0; i < n; i++) {
                    v[i] = f64 ? b.getDouble() : b.getFloat();
                }
                return v;
            }
        }

        static LayerStack.Config config() {
            int d = 64;
            List<MixerConfig> mixers = List.of(
                    BaseConvLayer.Config.of(d),
                    new LinearAttentionLayer.Config(d, 4, 16, LinearAttentionSpec.of(new Taylor(16))),
                    SlidingWindowLayer.Config.of(d, 4, 8 / 2),
                    BaseConvLayer.Config.of(d),
                    BaseConvLayer.Config.of(d));
            return new LayerStack.Config(104, mixers, new SwiGluMlp.Config(d, 256), 1e-5, true);
        }

        static Map<String, HostTensor> weights(LayerStack.Config config) throws IOException {
            Map<String, HostTensor> shapes = LayerStack.randomWeights(config, 0);
            Map<String, HostTensor> w = new LinkedHashMap<>();
            for (Map.Entry<String, HostTensor> e : shapes.entrySet()) {
                Shape s = e.getValue().shape();
                w.put(e.getKey(), HostTensor.of(read(e.getKey() + ".f32", (int) s.elementCount(), false), s, DType.F32));
            }
            return w;
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void logitsEqualTheOriginalCode(DType dtype) throws IOException, OrtException {
            LayerStack.Config config = config();
            Map<String, HostTensor> weights = weights(config);
            int batch = 2;
            int seq = 20;
            int[] ids = new int[batch * seq];
            try (InputStream in = OnnxExporterTest.class.getResourceAsStream(CASE + "input_ids.i32")) {
                ByteBuffer b = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = b.getInt();
                }
            }
            double[] golden = read("logits.f64", batch * seq * 104, true);
            double[] out = prefillThenDecode(config, weights, dtype, ids, batch, seq, 12);
            assertThat(relativeError(out, golden))
                    .as("golden lm_tiny_b2l20 logits (prefill 12, decode 8), %s", dtype.label())
                    .isLessThanOrEqualTo(dtype == DType.F64 ? 1e-9 : 1e-4);
        }
    }

    @Nested
    class Files {
        @Test
        void externalDataGivesTheSameLogitsAsEmbeddedWeights(@TempDir Path dir) throws OrtException {
            LayerStack.Config config = mixedStack();
            WeightSource w = WeightSource.of(LayerStack.randomWeights(config, SEED));
            OnnxExporter.Result r = OnnxExporter.export(config, w, OnnxExporter.Mode.PREFILL, DType.F32,
                    dir.resolve("ext.onnx"), 0);
            assertThat(r.data()).as("data file").isNotNull().exists();
            int[] ids = randomIds(new Random(SEED), 2 * 17, config.vocabSize());
            double[] external;
            double[] embedded;
            try (OrtSession s = env.createSession(r.model().toString()); OnnxTensor in = ids(ids, 2, 17)) {
                external = run(s, Map.of("input_ids", in)).get("logits");
            }
            try (OrtSession s = env.createSession(OnnxExporter.toBytes(config, w, OnnxExporter.Mode.PREFILL, DType.F32));
                    OnnxTensor in = ids(ids, 2, 17)) {
                embedded = run(s, Map.of("input_ids", in)).get("logits");
            }
            assertThat(external).as("logits with external data").containsExactly(embedded);
        }

        @Test
        void exportWritesAModelThatOnnxRuntimeLoads(@TempDir Path dir) throws OrtException {
            LayerStack.Config config = mixedStack();
            OnnxExporter.Result r = OnnxExporter.export(config, WeightSource.of(LayerStack.randomWeights(config, SEED)),
                    OnnxExporter.Mode.DECODE, DType.F32, dir.resolve("m.onnx"));
            assertThat(r.data()).as("small models keep their weights inside").isNull();
            try (OrtSession s = env.createSession(r.model().toString())) {
                assertThat(s.getInputNames()).containsAll(r.inputs());
                assertThat(s.getOutputNames()).containsAll(r.outputs()).contains("logits", "present.3.ring_k");
            }
        }
    }
}

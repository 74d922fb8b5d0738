package dev.based4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.WeightSource;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.WeightFormat;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Whole models with their matrices stored in bf16, f16 and int8, on the CPU backend. */
class WeightFormatModelTest {
    static Backend cpu;
    static TinyGolden golden;

    @TempDir
    Path dir;

    @BeforeAll
    static void setUp() {
        cpu = Backends.select("cpu");
        golden = TinyGolden.load();
    }

    @AfterAll
    static void tearDown() {
        cpu.close();
    }

    private static int argmax(double[] a, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (a[from + i] > a[from + best]) {
                best = i;
            }
        }
        return best;
    }

    @Nested
    class GoldenTinyLm {
        @ParameterizedTest(name = "{0}")
        @ValueSource(strings = {"bf16", "f16", "int8", "int8-g32"})
        void picksTheFloat64GreedyTokenAtEveryPosition(String label) {
            WeightFormat format = WeightFormat.parse(label);
            int v = golden.config.paddedVocabSize();
            try (BasedModel m = BasedModel.fromWeights(cpu, golden.config, WeightSource.of(golden.weights), DType.F32,
                    format)) {
                assertThat(m.weightFormat()).isEqualTo(format);
                double[] logits = m.logits(golden.ids, golden.batch, golden.seq).toDoubleArray();
                for (int p = 0; p < golden.batch * golden.seq; p++) {
                    assertThat(argmax(logits, p * v, v)).as("greedy token at position %d with %s weights", p, label)
                            .isEqualTo(argmax(golden.logits, p * v, v));
                }
                assertThat(TinyGolden.relativeError(logits, golden.logits)).as("logits with %s weights", label)
                        .isLessThan(0.05);
            }
        }
    }

    @Nested
    class Checkpoints {
        @Test
        void aSavedInt8CheckpointLoadsToTheLogitsOfQuantizingOnLoad() {
            Path f32 = dir.resolve("f32");
            Checkpoint.write(f32, golden.config, golden.weights, StoredType.F32, 2);
            Path int8 = dir.resolve("int8");
            Checkpoint.convert(f32, int8, WeightFormat.INT8);
            try (BasedModel onLoad = BasedModel.load(f32, cpu, DType.F32, WeightFormat.INT8);
                    BasedModel saved = BasedModel.load(int8, cpu, DType.F32)) {
                assertThat(saved.weightFormat()).as("the checkpoint's own format by default")
                        .isEqualTo(WeightFormat.INT8);
                assertThat(saved.logits(golden.ids, golden.batch, golden.seq).toDoubleArray())
                        .as("logits of the saved int8 checkpoint, bit for bit")
                        .containsExactly(onLoad.logits(golden.ids, golden.batch, golden.seq).toDoubleArray());
            }
        }

        @Test
        void aBf16FileLoadsAsBf16WithoutConversion() {
            Path bf16 = dir.resolve("bf16");
            Checkpoint.write(bf16, golden.config, golden.weights, StoredType.BF16, 1);
            // the file holds every tensor in bf16: the norms and biases too, which load as float32 of those values
            java.util.Map<String, HostTensor> rounded = new java.util.HashMap<>();
            golden.weights.forEach((k, t) -> rounded.put(k, t.to(DType.F32).to(DType.BF16).to(DType.F32)));
            try (BasedModel fromFile = BasedModel.load(bf16, cpu, DType.F32, WeightFormat.BF16);
                    BasedModel fromFloats = BasedModel.fromWeights(cpu, golden.config, WeightSource.of(rounded),
                            DType.F32, WeightFormat.BF16)) {
                assertThat(fromFile.logits(golden.ids, golden.batch, golden.seq).toDoubleArray())
                        .containsExactly(fromFloats.logits(golden.ids, golden.batch, golden.seq).toDoubleArray());
                assertThat(fromFile.weightBytes()).as("half the float32 bytes, bar the norms and biases")
                        .isLessThan(golden.config.parameterCount() * 4 * 6 / 10);
            }
        }

        @Test
        void aQuantizedCheckpointAskedForInAnotherFormatIsRefusedNamingATensor() {
            Path f32 = dir.resolve("f32");
            Checkpoint.write(f32, golden.config, golden.weights, StoredType.F32, 1);
            Path int8 = dir.resolve("int8");
            Checkpoint.convert(f32, int8, WeightFormat.int8(32));
            assertThatThrownBy(() -> BasedModel.load(int8, cpu, DType.F32, WeightFormat.INT8))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("is stored quantized as int8-g32")
                    .hasMessageContaining("tensor 'transformer.embeddings.word_embeddings.weight'");
        }
    }

    @Nested
    class Decoding {
        @ParameterizedTest(name = "{0}")
        @ValueSource(strings = {"bf16", "int8"})
        void aPlannedDecodeGivesTheEagerLogitsBitForBit(String label) {
            BasedConfig tiny = BasedConfig.tiny();
            try (BasedModel m = BasedModel.random(cpu, tiny, 7, DType.F32, WeightFormat.parse(label));
                    LayerStack.State eager = m.newState(1);
                    LayerStack.State planned = m.newState(1);
                    var plan = m.stack().planDecode(planned)) {
                for (int t = 0; t < 6; t++) {
                    int[] id = {(t * 31 + 5) % tiny.vocabSize()};
                    double[] fromPlan = cpu.download(plan.step(id)).toDoubleArray();
                    try (Tensor e = m.decode(id, eager)) {
                        assertThat(fromPlan).as("step %d with %s weights, seed 7", t, label)
                                .containsExactly(cpu.download(e).toDoubleArray());
                    }
                }
            }
        }

        @Test
        void randomModelsInAFormatHoldTheSameWeightsAsConvertedFloats() {
            BasedConfig tiny = BasedConfig.tiny();
            int[] ids = {3, 1, 4, 1, 5, 9, 2, 6};
            try (BasedModel lazy = BasedModel.random(cpu, tiny, 11, DType.F32, WeightFormat.F16);
                    BasedModel eager = BasedModel.fromWeights(cpu, tiny, WeightSource.of(LayerStack.randomWeights(
                            BasedModel.stackConfig(tiny), 11)), DType.F32, WeightFormat.F16)) {
                HostTensor a = lazy.logits(ids, 1, ids.length);
                assertThat(a.toDoubleArray()).containsExactly(eager.logits(ids, 1, ids.length).toDoubleArray());
            }
        }

        @Test
        void aFormatTheModelCannotComputeWithIsRefused() {
            assertThatThrownBy(() -> BasedModel.random(cpu, BasedConfig.tiny(), 1, DType.F64, WeightFormat.F32))
                    .hasMessageContaining("f32 weights need f32 activations");
            assertThat(List.of(WeightFormat.BF16, WeightFormat.F16, WeightFormat.INT8))
                    .allMatch(f -> cpu.capabilities().takesWeights(f.type()));
        }
    }
}

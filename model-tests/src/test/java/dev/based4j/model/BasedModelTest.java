package dev.based4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.WeightSource;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class BasedModelTest {
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

    static double tolerance(DType dtype) {
        return dtype == DType.F64 ? 1e-9 : 1e-4;
    }

    @Nested
    class GoldenTinyLm {
        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void logitsMatchTheOriginalCode(DType dtype) {
            try (BasedModel m = BasedModel.fromWeights(cpu, golden.config, WeightSource.of(golden.weights), dtype)) {
                HostTensor logits = m.logits(golden.ids, golden.batch, golden.seq);
                assertThat(logits.shape()).isEqualTo(Shape.of(2, 20, 104));
                assertThat(TinyGolden.relativeError(logits.toDoubleArray(), golden.logits))
                        .as("max relative error of %s logits vs the golden float64 logits", dtype)
                        .isLessThan(tolerance(dtype));
            }
        }

        @ParameterizedTest
        @EnumSource(value = DType.class, names = {"F32", "F64"})
        void prefillThenDecodeEqualsOnePrefill(DType dtype) {
            int v = golden.config.paddedVocabSize();
            int n = 13;
            try (BasedModel m = BasedModel.fromWeights(cpu, golden.config, WeightSource.of(golden.weights), dtype);
                    LayerStack.State s = m.newState(golden.batch)) {
                double[] got = new double[golden.logits.length];
                int[] head = new int[golden.batch * n];
                for (int b = 0; b < golden.batch; b++) {
                    System.arraycopy(golden.ids, b * golden.seq, head, b * n, n);
                }
                try (Tensor t = m.prefill(head, golden.batch, n, s)) {
                    double[] h = cpu.download(t).toDoubleArray();
                    for (int b = 0; b < golden.batch; b++) {
                        System.arraycopy(h, b * n * v, got, b * golden.seq * v, n * v);
                    }
                }
                for (int p = n; p < golden.seq; p++) {
                    int[] step = new int[golden.batch];
                    for (int b = 0; b < golden.batch; b++) {
                        step[b] = golden.ids[b * golden.seq + p];
                    }
                    try (Tensor t = m.decode(step, s)) {
                        double[] h = cpu.download(t).toDoubleArray();
                        for (int b = 0; b < golden.batch; b++) {
                            System.arraycopy(h, b * v, got, (b * golden.seq + p) * v, v);
                        }
                    }
                }
                assertThat(s.position()).isEqualTo(golden.seq);
                assertThat(TinyGolden.relativeError(got, golden.logits))
                        .as("prefill %d + decode %d vs golden logits (%s)", n, golden.seq - n, dtype)
                        .isLessThan(tolerance(dtype));
            }
        }
    }

    @Test
    void lastLogitsAreEachSequencesLastPositionOfThePrefill() {
        try (BasedModel m = BasedModel.fromWeights(cpu, golden.config, WeightSource.of(golden.weights), DType.F64);
                LayerStack.State st = m.newState(golden.batch);
                Tensor logits = m.prefill(golden.ids, golden.batch, golden.seq, st)) {
            float[][] last = m.lastLogits(logits);
            double[] all = cpu.download(logits).toDoubleArray();
            int v = logits.shape().dim(2);
            assertThat(last).hasNumberOfRows(golden.batch);
            for (int b = 0; b < golden.batch; b++) {
                for (int i = 0; i < v; i++) {
                    assertThat(last[b][i]).isEqualTo((float) all[((b * golden.seq) + golden.seq - 1) * v + i]);
                }
            }
            assertThatThrownBy(() -> m.lastLogits(null)).hasMessage("logits: expected [batch, seq, vocab], got null");
        }
    }

    @Test
    void theGoldenCaseConfigIsTheConfigJsonOfTheReleasedLayout() {
        assertThat(golden.config).isEqualTo(BasedConfig.tiny());
        assertThat(BasedConfig.parse(golden.config.toJson())).isEqualTo(golden.config);
    }

    @Nested
    class Checkpoints {
        void writeTiny(Path to, StoredType stored, int shards) {
            Checkpoint.write(to, golden.config, golden.weights, stored, shards);
        }

        @Test
        void aReleasedLayoutDirectoryLoadsToTheGoldenLogits() {
            writeTiny(dir, StoredType.F32, 1);
            try (BasedModel m = BasedModel.load(dir, cpu, DType.F32)) {
                assertThat(TinyGolden.relativeError(m.logits(golden.ids, golden.batch, golden.seq).toDoubleArray(),
                        golden.logits)).as("loaded from model.safetensors").isLessThan(1e-4);
            }
        }

        @Test
        void shardedBf16LoadsAndReportsProgress() {
            writeTiny(dir, StoredType.BF16, 3);
            long[] last = {0, -1};
            int[] calls = {0};
            try (BasedModel m = BasedModel.load(dir, cpu, DType.F32, (name, done, total) -> {
                assertThat(done).isGreaterThan(last[0]);
                last[0] = done;
                last[1] = total;
                calls[0]++;
            })) {
                assertThat(calls[0]).isEqualTo(golden.config.weightShapes().size());
                assertThat(last[0]).isEqualTo(last[1]);
                // bf16 keeps 8 bits of mantissa: the logits move, but stay close
                assertThat(TinyGolden.relativeError(m.logits(golden.ids, golden.batch, golden.seq).toDoubleArray(),
                        golden.logits)).as("bf16 weights").isLessThan(5e-2);
            }
        }

        @Test
        void aMissingTensorIsNamed() {
            Map<String, HostTensor> w = new LinkedHashMap<>(golden.weights);
            w.remove("transformer.layers.2.mixer.Wqkv.weight");
            Checkpoint.write(dir, golden.config, w, StoredType.F32, 1);
            assertThatThrownBy(() -> BasedModel.load(dir, cpu, DType.F32)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("missing tensor 'transformer.layers.2.mixer.Wqkv.weight' (expected shape"
                            + " [192, 64])");
        }

        @Test
        void aWrongShapeNamesExpectedAndFound() {
            Map<String, HostTensor> w = new LinkedHashMap<>(golden.weights);
            w.put("transformer.layers.0.mixer.conv.conv.weight", HostTensor.allocate(Shape.of(128, 1, 4), DType.F32));
            Checkpoint.write(dir, golden.config, w, StoredType.F32, 1);
            assertThatThrownBy(() -> BasedModel.load(dir, cpu, DType.F32))
                    .hasMessageContaining("tensor 'transformer.layers.0.mixer.conv.conv.weight' expected shape"
                            + " [128, 1, 3] (from config.json), found [128, 1, 4]");
        }

        @Test
        void aTruncatedFileIsRefusedBeforeAnyTensorIsRead() throws IOException {
            writeTiny(dir, StoredType.F32, 1);
            Path f = dir.resolve(Checkpoint.WEIGHTS_FILE);
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                ch.truncate(ch.size() - 100);
            }
            assertThatThrownBy(() -> BasedModel.load(dir, cpu, DType.F32)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("end past the data section").hasMessageContaining("truncated file or lying"
                            + " header");
        }

        @Test
        void aLyingHeaderIsRefused() throws IOException {
            writeTiny(dir, StoredType.F32, 1);
            Path f = dir.resolve(Checkpoint.WEIGHTS_FILE);
            byte[] all = Files.readAllBytes(f);
            long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            String header = new String(all, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8);
            // claim the embedding is 8 bytes longer: same length of text, offsets no longer tile the data
            String lying = header.replaceFirst("\"data_offsets\":\\[0,26624\\]", "\"data_offsets\":[0,26632]");
            assertThat(lying).isNotEqualTo(header);
            byte[] patched = lying.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            System.arraycopy(patched, 0, all, 8, patched.length);
            Files.write(f, all);
            assertThatThrownBy(() -> BasedModel.load(dir, cpu, DType.F32)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("transformer.embeddings.word_embeddings.weight")
                    .hasMessageContaining("span 26632 bytes, but F32 [104, 64] needs 26624");
        }

        @Test
        void anUnexpectedTensorMeansAnotherModel() {
            Map<String, HostTensor> w = new LinkedHashMap<>(golden.weights);
            w.put("transformer.layers.0.mixer.conv.conv.bias", HostTensor.allocate(Shape.of(128), DType.F32));
            Checkpoint.write(dir, golden.config, w, StoredType.F32, 1);
            assertThatThrownBy(() -> BasedModel.load(dir, cpu, DType.F32))
                    .hasMessageContaining("unexpected tensor 'transformer.layers.0.mixer.conv.conv.bias'");
        }

        @Test
        void aTiedHeadSavedAsItsOwnKeyIsAccepted() {
            Map<String, HostTensor> w = new LinkedHashMap<>(golden.weights);
            w.put("lm_head.weight", golden.weights.get("transformer.embeddings.word_embeddings.weight"));
            Checkpoint.write(dir, golden.config, w, StoredType.F32, 1);
            try (BasedModel m = BasedModel.load(dir, cpu, DType.F32)) {
                assertThat(m.config().tieWordEmbeddings()).isTrue();
            }
        }
    }

    @Test
    void stateHasTheSizeTheSpecGives() {
        try (BasedModel m = BasedModel.fromWeights(cpu, golden.config, WeightSource.of(golden.weights), DType.F32)) {
            // LA: H·hd·273 + H·273; SWA ring: 2·(W/2+1)·D; BaseConv: 2D·3 (inner = 2D, kernel 3)
            long la = 4 * 16 * 273 + 4 * 273;
            long swa = 2L * (4 + 1) * 64;
            long conv = 128 * 3;
            assertThat(m.stateBytes(1)).isEqualTo((la + swa + 3 * conv) * 4);
            assertThat(m.stateBytes(3)).isEqualTo(3 * m.stateBytes(1));
        }
    }

    static int[] prompt(int seed, int length) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = r.nextInt(100);
        }
        return p;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

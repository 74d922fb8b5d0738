package dev.based4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.layer.LayerStack;
import dev.based4j.layer.WeightSource;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.HostWeight;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.WeightFormat;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading weights in a reduced format from safetensors files, and checkpoints converted to one. */
class WeightFormatFilesTest {
    private static final String PROJ_Q = "transformer.layers.1.mixer.proj_q.weight";

    @TempDir
    Path dir;

    private static Map<String, HostTensor> tinyWeights(long seed) {
        return LayerStack.randomWeights(BasedModel.stackConfig(BasedConfig.tiny()), seed);
    }

    private Path tinyCheckpoint(String name, StoredType stored, long seed) {
        Path p = dir.resolve(name);
        Checkpoint.write(p, BasedConfig.tiny(), tinyWeights(seed), stored, 1);
        return p;
    }

    private static void assertSameBits(HostTensor a, HostTensor b, String what) {
        assertThat(a.dtype()).as("%s type", what).isEqualTo(b.dtype());
        assertThat(a.shape()).as("%s shape", what).isEqualTo(b.shape());
        assertThat(a.segment().mismatch(b.segment())).as("%s: first byte that differs", what).isEqualTo(-1L);
    }

    @Nested
    class Reads {
        @Test
        void f32FilesRoundToBf16AndF16AsTheHostConversionDoes() {
            Map<String, HostTensor> w = Map.of("t", SafetensorsTest.random(7, 40, 24));
            Path p = dir.resolve("m.safetensors");
            SafetensorsWriter.write(p, w);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                for (WeightFormat format : List.of(WeightFormat.BF16, WeightFormat.F16)) {
                    HostWeight expected = HostWeight.convert("t", w.get("t"), format);
                    assertSameBits(f.tensor("t", format.type()), expected.values(), format.label() + " of seed 7");
                }
            }
        }

        @Test
        void bf16FilesReadAsBf16ByteForByte() {
            Map<String, HostTensor> w = Map.of("t", SafetensorsTest.random(8, 33, 5));
            Path p = dir.resolve("m.safetensors");
            SafetensorsWriter.write(p, w, Map.of(), StoredType.BF16);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertSameBits(f.tensor("t", DType.BF16), HostWeight.convert("t", w.get("t"), WeightFormat.BF16)
                        .values(), "bf16 of seed 8");
            }
        }

        @Test
        void quantizingAChunkOfRowsAtATimeGivesTheHostQuantization() {
            Map<String, HostTensor> w = Map.of("t", SafetensorsTest.random(9, 70, 64));
            Path p = dir.resolve("m.safetensors");
            SafetensorsWriter.write(p, w, Map.of(), StoredType.F16);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                HostTensor asStored = f.tensor("t", DType.F32);
                for (int group : new int[] {0, 32}) {
                    HostWeight q = f.quantized("t", group);
                    HostWeight expected = HostWeight.convert("t", asStored, WeightFormat.int8(group));
                    assertSameBits(q.values(), expected.values(), "int8 values, group " + group + ", seed 9");
                    assertSameBits(q.scales(), expected.scales(), "int8 scales, group " + group + ", seed 9");
                }
            }
        }

        @Test
        void aValueBeyondF16IsRefusedNamingTheTensorAndElement() {
            HostTensor t = SafetensorsTest.random(10, 3, 4);
            t.setDouble(5, 1e6);
            Path p = dir.resolve("m.safetensors");
            SafetensorsWriter.write(p, Map.of("big", t));
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertThatThrownBy(() -> f.tensor("big", DType.F16)).isInstanceOf(CheckpointException.class)
                        .hasMessageContaining("tensor 'big' [3, 4] element [1, 1] (index 5) is 1000000.0, beyond the"
                                + " range of f16 (largest 65504)");
                assertThat(f.tensor("big", DType.BF16).shape()).isEqualTo(Shape.of(3, 4));
            }
        }
    }

    @Nested
    class Converted {
        @Test
        void anInt8CheckpointHoldsValuesScalesAndItsFormatAndReadsBackExactly() throws IOException {
            Path source = tinyCheckpoint("f32", StoredType.F32, 3);
            Files.writeString(source.resolve("vocab.json"), "{}");
            Path target = dir.resolve("int8");
            Checkpoint.convert(source, target, WeightFormat.int8(32));
            assertThat(target.resolve("vocab.json")).as("tokenizer files come along").exists();
            try (Checkpoint from = Checkpoint.open(source); Checkpoint to = Checkpoint.open(target)) {
                assertThat(to.quantization()).contains(WeightFormat.int8(32));
                assertThat(to.entry(PROJ_Q).orElseThrow().dtype()).isEqualTo(StoredType.I8);
                assertThat(to.entry(PROJ_Q + ".scales").orElseThrow().dtype()).isEqualTo(StoredType.F32);
                BasedModel.checkAgainstConfig(to, to.config());
                for (var e : BasedConfig.tiny().weightShapes().entrySet()) {
                    if (e.getValue().rank() != 2) {
                        assertSameBits(to.tensor(e.getKey(), DType.F32), from.tensor(e.getKey(), DType.F32),
                                e.getKey());
                        continue;
                    }
                    HostWeight saved = to.weight(e.getKey(), e.getValue(), WeightFormat.int8(32));
                    HostWeight onLoad = from.weight(e.getKey(), e.getValue(), WeightFormat.int8(32));
                    assertSameBits(saved.values(), onLoad.values(), e.getKey());
                    assertSameBits(saved.scales(), onLoad.scales(), e.getKey() + ".scales");
                }
                assertThat(to.weightBytes()).as("a quarter of the f32 bytes, and the scales")
                        .isLessThan(from.weightBytes() / 3);
            }
        }

        @Test
        void aQuantizedCheckpointLoadsOnlyInItsFormat() {
            Path target = dir.resolve("int8");
            Checkpoint.convert(tinyCheckpoint("f32", StoredType.F32, 4), target, WeightFormat.INT8);
            try (Checkpoint ck = Checkpoint.open(target)) {
                Shape shape = BasedConfig.tiny().weightShapes().get(PROJ_Q);
                assertThatThrownBy(() -> ck.weight(PROJ_Q, shape, WeightFormat.BF16))
                        .isInstanceOf(CheckpointException.class)
                        .hasMessageContaining("'" + PROJ_Q + "' is stored quantized as int8")
                        .hasMessageContaining("not bf16");
            }
        }

        @Test
        void aBf16CheckpointConvertsToBf16AsIs() {
            Path source = tinyCheckpoint("bf16", StoredType.BF16, 5);
            Path target = dir.resolve("copy");
            Checkpoint.convert(source, target, WeightFormat.BF16);
            try (Checkpoint from = Checkpoint.open(source); Checkpoint to = Checkpoint.open(target)) {
                assertThat(to.quantization()).isEmpty();
                Shape shape = BasedConfig.tiny().weightShapes().get(PROJ_Q);
                assertSameBits(to.weight(PROJ_Q, shape, WeightFormat.BF16).values(),
                        from.weight(PROJ_Q, shape, WeightFormat.BF16).values(), PROJ_Q);
            }
        }

        @Test
        void refusesToWriteIntoAnotherCheckpoint() {
            Path source = tinyCheckpoint("a", StoredType.F32, 6);
            Path other = tinyCheckpoint("b", StoredType.F32, 6);
            assertThatThrownBy(() -> Checkpoint.convert(source, other, WeightFormat.INT8))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("is not an empty directory");
            assertThatThrownBy(() -> Checkpoint.convert(source, source, WeightFormat.INT8))
                    .isInstanceOf(CheckpointException.class).hasMessageContaining("another directory");
        }
    }

    @Nested
    class BadQuantizedFiles {
        /** A quantized tiny checkpoint whose tensors {@code edit} changes before it is written. */
        private Path quantized(java.util.function.Consumer<Map<String, HostTensor>> edit) {
            Path p = dir.resolve("q");
            Map<String, HostTensor> tensors = new LinkedHashMap<>();
            tinyWeights(1).forEach((name, t) -> {
                if (t.shape().rank() == 2) {
                    HostWeight w = HostWeight.convert(name, t, WeightFormat.INT8);
                    tensors.put(name, w.values());
                    tensors.put(name + WeightSource.SCALES, w.scales());
                } else {
                    tensors.put(name, t);
                }
            });
            edit.accept(tensors);
            try {
                Files.createDirectories(p);
                Files.writeString(p.resolve(Checkpoint.CONFIG_FILE), BasedConfig.tiny().toJson());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            List<SafetensorsWriter.Stored> layout = tensors.entrySet().stream().map(e -> new SafetensorsWriter.Stored(
                    e.getKey(), e.getValue().dtype(), e.getValue().shape())).toList();
            SafetensorsWriter.writeAsStored(p.resolve(Checkpoint.WEIGHTS_FILE), layout,
                    Map.of(Checkpoint.QUANTIZATION, "int8"), s -> tensors.get(s.name()));
            return p;
        }

        private void refused(Path checkpoint, String... fragments) {
            try (Checkpoint ck = Checkpoint.open(checkpoint)) {
                var thrown = assertThatThrownBy(() -> {
                    BasedModel.checkAgainstConfig(ck, ck.config());
                    for (var e : ck.config().weightShapes().entrySet()) {
                        if (e.getValue().rank() == 2) {
                            ck.weight(e.getKey(), e.getValue(), WeightFormat.INT8);
                        }
                    }
                }).isInstanceOf(CheckpointException.class);
                for (String f : fragments) {
                    thrown.hasMessageContaining(f);
                }
            }
        }

        @Test
        void aWellFormedOneReads() {
            Path p = quantized(t -> {});
            try (Checkpoint ck = Checkpoint.open(p)) {
                BasedModel.checkAgainstConfig(ck, ck.config());
                assertThat(ck.weight(PROJ_Q, BasedConfig.tiny().weightShapes().get(PROJ_Q), WeightFormat.INT8)
                        .format()).isEqualTo(WeightFormat.INT8);
            }
        }

        @Test
        void aBf16MatrixWhereTheCheckpointExpectsInt8IsNamed() {
            refused(quantized(t -> t.put(PROJ_Q, t.get(PROJ_Q).to(DType.F32).to(DType.BF16))), "'" + PROJ_Q
                    + "' is BF16, but the checkpoint is quantized as int8", "'" + PROJ_Q + ".scales'");
        }

        @Test
        void scalesOfTheWrongShapeAreNamed() {
            refused(quantized(t -> t.put(PROJ_Q + ".scales", HostTensor.of(new double[] {1, 2, 3}, Shape.of(3)))),
                    "'" + PROJ_Q + ".scales' expected shape", "found [3]");
        }

        @Test
        void nanScalesAreNamed() {
            refused(quantized(t -> {
                HostTensor s = t.get(PROJ_Q + ".scales").to(DType.F32);
                s.setDouble(2, Double.NaN);
                t.put(PROJ_Q + ".scales", s);
            }), "'" + PROJ_Q + ".scales'", "is NaN");
        }

        @Test
        void missingScalesAreNamed() {
            refused(quantized(t -> t.remove(PROJ_Q + ".scales")), "missing tensor '" + PROJ_Q + ".scales'");
        }

        @Test
        void int8ValuesWithoutAQuantizationEntryAreNamed() {
            Path p = quantized(t -> {});
            Path bare = dir.resolve("bare");
            try (SafetensorsFile f = SafetensorsFile.open(p.resolve(Checkpoint.WEIGHTS_FILE))) {
                List<SafetensorsWriter.Stored> layout = f.entries().values().stream().map(e -> new SafetensorsWriter
                        .Stored(e.name(), DType.valueOf(e.dtype().name()), Shape.of(e.shape().stream()
                                .mapToInt(Long::intValue).toArray()))).toList();
                Files.createDirectories(bare);
                Files.copy(p.resolve(Checkpoint.CONFIG_FILE), bare.resolve(Checkpoint.CONFIG_FILE));
                SafetensorsWriter.writeAsStored(bare.resolve(Checkpoint.WEIGHTS_FILE), layout, Map.of(),
                        s -> f.tensor(s.name(), s.dtype()));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            try (Checkpoint ck = Checkpoint.open(bare)) {
                assertThatThrownBy(() -> BasedModel.checkAgainstConfig(ck, ck.config()))
                        .isInstanceOf(CheckpointException.class).hasMessageContaining("is I8")
                        .hasMessageContaining("__metadata__.quantization");
            }
        }

        @Test
        void anUnknownQuantizationIsNamed() {
            Path p = dir.resolve("m.safetensors");
            SafetensorsWriter.write(p, Map.of("a", SafetensorsTest.random(1, 2)), Map.of(Checkpoint.QUANTIZATION,
                    "q4"), StoredType.F32);
            try {
                Files.writeString(dir.resolve(Checkpoint.CONFIG_FILE), BasedConfig.tiny().toJson());
                Files.move(p, dir.resolve(Checkpoint.WEIGHTS_FILE));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            assertThatThrownBy(() -> Checkpoint.open(dir)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("__metadata__.quantization is 'q4', expected int8 or int8-g<N>");
        }
    }
}

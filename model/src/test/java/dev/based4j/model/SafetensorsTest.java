package dev.based4j.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    static HostTensor random(long seed, int... dims) {
        SplittableRandom r = new SplittableRandom(seed);
        Shape s = Shape.of(dims);
        float[] v = new float[(int) s.elementCount()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return HostTensor.of(v, s);
    }

    /** A file with the given raw header text and {@code dataBytes} bytes of data. */
    Path raw(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = dir.resolve("raw.safetensors");
        Files.write(p, b.array());
        return p;
    }

    @Nested
    class Reads {
        @Test
        void f32IntoReadOnlyMemoryTheProcessOwns() {
            Map<String, HostTensor> w = new LinkedHashMap<>();
            w.put("a", random(1, 3, 4));
            w.put("b.weight", random(2, 5));
            Path p = dir.resolve("m.safetensors");
            SafetensorsWriter.write(p, w);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertThat(f.entries().keySet()).containsExactly("a", "b.weight");
                HostTensor a = f.tensor("a", DType.F32);
                assertThat(a.shape()).isEqualTo(Shape.of(3, 4));
                assertThat(a.toFloatArray()).as("seed 1").containsExactly(w.get("a").toFloatArray());
                assertThat(a.segment().isMapped()).as("not a view of the file, which could change under it").isFalse();
                assertThat(a.segment().isReadOnly()).as("read-only, so the CPU backend takes it without a copy")
                        .isTrue();
                assertThat(f.tensor("b.weight", DType.F64).toDoubleArray()).as("seed 2")
                        .containsExactly(w.get("b.weight").toDoubleArray());
            }
        }

        @Test
        void bf16AndF16ConvertedToF32() {
            HostTensor t = random(3, 64);
            for (StoredType st : new StoredType[] {StoredType.BF16, StoredType.F16}) {
                Path p = dir.resolve(st + ".safetensors");
                SafetensorsWriter.write(p, Map.of("t", t), Map.of(), st);
                try (SafetensorsFile f = SafetensorsFile.open(p)) {
                    assertThat(f.entries().get("t").dtype()).isEqualTo(st);
                    float[] got = f.tensor("t", DType.F32).toFloatArray();
                    float[] want = t.toFloatArray();
                    double tol = st == StoredType.BF16 ? 1.0 / 128 : 1.0 / 1024;
                    for (int i = 0; i < want.length; i++) {
                        assertThat((double) got[i]).as("%s element %d (seed 3)", st, i)
                                .isCloseTo(want[i], org.assertj.core.data.Offset.offset(tol));
                    }
                }
            }
        }

        @Test
        void bf16BitsExactly() {
            assertThat(SafetensorsWriter.toBf16(1.0f)).isEqualTo((short) 0x3F80);
            assertThat(SafetensorsWriter.toBf16(-2.5f)).isEqualTo((short) 0xC020);
            assertThat(Float.intBitsToFloat((SafetensorsWriter.toBf16(1.00390625f) & 0xFFFF) << 16))
                    .as("ties round to even").isEqualTo(1.0f);
        }

        @Test
        void metadataAndAPaddedHeader() throws IOException {
            Path p = raw("{\"__metadata__\":{\"format\":\"pt\"},\"x\":{\"dtype\":\"F32\",\"shape\":[2],"
                    + "\"data_offsets\":[0,8]}}      ", 8);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertThat(f.metadata()).containsEntry("format", "pt");
                assertThat(f.tensor("x", DType.F32).shape()).isEqualTo(Shape.of(2));
            }
        }
    }

    @Nested
    class RefusesAHeaderThat {
        @Test
        void isLongerThanTheFile() throws IOException {
            Path p = dir.resolve("short.safetensors");
            Files.write(p, ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array());
            assertThatThrownBy(() -> SafetensorsFile.open(p)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("truncated: the header claims 1000 bytes but the file has 4");
        }

        @Test
        void isAboveTheCap() throws IOException {
            Path p = dir.resolve("huge.safetensors");
            Files.write(p, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
            assertThatThrownBy(() -> SafetensorsFile.open(p))
                    .hasMessageContaining("header length 1099511627776 bytes is outside 2..100000000");
        }

        @Test
        void pointsPastTheData() throws IOException {
            Path p = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
            assertThatThrownBy(() -> SafetensorsFile.open(p))
                    .hasMessageContaining("tensor 'x': data_offsets [0,16] end past the data section of 8 bytes");
        }

        @Test
        void spansTheWrongByteCount() throws IOException {
            Path p = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
            assertThatThrownBy(() -> SafetensorsFile.open(p))
                    .hasMessageContaining("tensor 'x': data_offsets [0,8] span 8 bytes, but F32 [3] needs 12");
        }

        @Test
        void overlapsTwoTensors() throws IOException {
            Path p = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    + "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
            assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("overlaps tensor 'x'");
        }

        @Test
        void leavesAGap() throws IOException {
            Path p = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
            assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("starts at byte 4 but the previous"
                    + " tensor ends at 0");
        }

        @Test
        void leavesBytesUnaccountedFor() throws IOException {
            Path p = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12);
            assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("8 bytes unaccounted for");
        }

        @Test
        void namesAnUnknownDtype() throws IOException {
            Path p = raw("{\"x\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", 16);
            assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("tensor 'x': unknown dtype \"F128\"");
        }

        @Test
        void hasNegativeDimensionsOrOffsets() throws IOException {
            Path p = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
            assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("shape dimensions must be integers");
            Path q = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4);
            assertThatThrownBy(() -> SafetensorsFile.open(q)).hasMessageContaining("must satisfy 0 <= begin <= end");
        }

        @Test
        void isNotJson() throws IOException {
            Path p = raw("{\"x\": nonsense}", 0);
            assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("header is not valid JSON");
        }

        @Test
        void hasAnExtraKeyInAnEntry() throws IOException {
            Path p = raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"stride\":[1]}}", 4);
            assertThatThrownBy(() -> SafetensorsFile.open(p)).hasMessageContaining("expected exactly the keys");
        }
    }

    @Nested
    class Checkpoints {
        Map<String, HostTensor> weights() {
            Map<String, HostTensor> w = new LinkedHashMap<>();
            for (int i = 0; i < 5; i++) {
                w.put("t" + i, random(10 + i, 2, i + 1));
            }
            return w;
        }

        @Test
        void shardedReadsEveryTensorFromItsShard() {
            BasedConfig c = BasedConfig.parse(BasedConfigTest.TINY);
            Checkpoint.write(dir, c, weights(), StoredType.F32, 2);
            assertThat(dir.resolve(Checkpoint.INDEX_FILE)).exists();
            try (Checkpoint ck = Checkpoint.open(dir)) {
                assertThat(ck.files()).hasSize(2);
                assertThat(ck.tensorNames()).containsExactly("t0", "t1", "t2", "t3", "t4");
                assertThat(ck.tensor("t4", DType.F32).toFloatArray()).as("seed 14")
                        .containsExactly(weights().get("t4").toFloatArray());
                assertThat(ck.config()).isEqualTo(c);
            }
        }

        @Test
        void shardedRefusesAnIndexThatLies() throws IOException {
            Checkpoint.write(dir, BasedConfig.parse(BasedConfigTest.TINY), weights(), StoredType.F32, 2);
            Path index = dir.resolve(Checkpoint.INDEX_FILE);
            Files.writeString(index, Files.readString(index).replace("\"t0\" : \"model-00001-of-00002.safetensors\"",
                    "\"t0\" : \"model-00002-of-00002.safetensors\""));
            assertThatThrownBy(() -> Checkpoint.open(dir)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("lists tensor 't0' in shard 'model-00002-of-00002.safetensors', whose header"
                            + " has no such tensor");
        }

        @Test
        void shardedRefusesAPathOutOfTheDirectory() throws IOException {
            Checkpoint.write(dir, BasedConfig.parse(BasedConfigTest.TINY), weights(), StoredType.F32, 2);
            Path index = dir.resolve(Checkpoint.INDEX_FILE);
            Files.writeString(index, Files.readString(index).replace("\"t0\" : \"model-00001-of-00002.safetensors\"",
                    "\"t0\" : \"../model-00001-of-00002.safetensors\""));
            assertThatThrownBy(() -> Checkpoint.open(dir)).hasMessageContaining("weight_map.t0: expected a"
                    + " .safetensors file name in the same directory");
        }

        @Test
        void pytorchBinGetsTheConversionCommand() throws IOException {
            Files.writeString(dir.resolve(Checkpoint.CONFIG_FILE), BasedConfigTest.TINY);
            Files.write(dir.resolve("pytorch_model.bin"), new byte[] {1, 2, 3});
            assertThatThrownBy(() -> Checkpoint.open(dir)).hasMessageContaining("save_file(")
                    .hasMessageContaining("reads safetensors only");
        }

        @Test
        void modelPrefixAndMetricsAreNormalised() {
            Map<String, HostTensor> w = new LinkedHashMap<>();
            w.put("model.transformer.ln_f.weight", random(20, 4));
            w.put("train_metrics.num-tokens.count", random(21, 1));
            Checkpoint.write(dir, BasedConfig.parse(BasedConfigTest.TINY), w, StoredType.F32, 1);
            try (Checkpoint ck = Checkpoint.open(dir)) {
                assertThat(ck.tensorNames()).containsExactly("transformer.ln_f.weight");
            }
        }
    }
}

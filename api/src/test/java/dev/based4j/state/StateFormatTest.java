package dev.based4j.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateFormatTest {
    private static final long SEED = 20240229L;

    private static StateSnapshot smallLinearState(long seed) {
        Random r = new Random(seed);
        double[] kv = new double[1 * 2 * 3 * 4];
        double[] z = new double[1 * 2 * 4];
        for (int i = 0; i < kv.length; i++) {
            kv[i] = r.nextGaussian();
        }
        for (int i = 0; i < z.length; i++) {
            z[i] = r.nextGaussian();
        }
        return new StateSnapshot(StateSnapshot.Kind.LINEAR_ATTENTION, 17, List.of(), List.of(
                new StateSnapshot.Entry("kv", HostTensor.of(kv, Shape.of(1, 2, 3, 4))),
                new StateSnapshot.Entry("z", HostTensor.of(z, Shape.of(1, 2, 4), DType.F32))));
    }

    private static StateSnapshot smallWindowState() {
        return new StateSnapshot(StateSnapshot.Kind.WINDOW, 5, List.of(new StateSnapshot.Meta("lookback", 2)), List.of(
                new StateSnapshot.Entry("keys", HostTensor.of(new double[] {1, 2, 3, 4, 5, 6}, Shape.of(1, 1, 3, 2))),
                new StateSnapshot.Entry("values", HostTensor.of(new double[] {7, 8, 9}, Shape.of(1, 1, 3, 1)))));
    }

    @Test
    void roundTripsEveryTensorPositionAndMetadataExactly() throws Exception {
        StateSnapshot a = smallLinearState(SEED);
        StateSnapshot b = smallWindowState();
        List<StateSnapshot> back = StateFormat.decode(StateFormat.encode(List.of(a, b)));
        assertThat(back).hasSize(2);
        assertThat(back.get(0).position()).isEqualTo(17);
        assertThat(back.get(0).tensor("kv").toDoubleArray()).containsExactly(a.tensor("kv").toDoubleArray());
        assertThat(back.get(0).tensor("z").dtype()).isEqualTo(DType.F32);
        assertThat(back.get(0).tensor("z").toFloatArray()).containsExactly(a.tensor("z").toFloatArray());
        assertThat(back.get(1).meta("lookback")).isEqualTo(2);
        assertThat(back.get(1).tensor("values").shape()).isEqualTo(Shape.of(1, 1, 3, 1));
    }

    @Nested
    class Corruption {
        @Test
        void detectsEverySingleByteChange() {
            byte[] good = StateFormat.encode(List.of(smallLinearState(SEED), smallWindowState()));
            int undetected = 0;
            for (int i = 0; i < good.length; i++) {
                for (int flip : new int[] {0x01, 0x80, 0xFF}) {
                    byte[] bad = good.clone();
                    bad[i] ^= (byte) flip;
                    try {
                        StateFormat.decode(bad);
                        undetected++;
                    } catch (CorruptStateException expected) {
                        // detected
                    }
                }
            }
            assertThat(undetected).as("single-byte corruptions of a %d-byte state that loaded", good.length).isZero();
        }

        @Test
        void detectsEveryTruncation() {
            byte[] good = StateFormat.encode(List.of(smallLinearState(SEED)));
            for (int len = 0; len < good.length; len++) {
                byte[] cut = java.util.Arrays.copyOf(good, len);
                int n = len;
                assertThatThrownBy(() -> StateFormat.decode(cut))
                        .as("truncated to %d of %d bytes", n, good.length)
                        .isInstanceOf(CorruptStateException.class);
            }
        }

        @Test
        void refusesAnotherFormatVersionByName() throws Exception {
            byte[] bytes = StateFormat.encode(List.of(smallWindowState()));
            bytes[8] = 9; // version field, then re-seal the checksum so only the version is wrong
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(bytes, 0, bytes.length - 4);
            java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(bytes.length - 4, (int) crc.getValue());
            assertThatThrownBy(() -> StateFormat.decode(bytes))
                    .isInstanceOf(UnsupportedStateVersionException.class)
                    .hasMessageContaining("format version 9, newer than this build reads (versions [1])")
                    .extracting(e -> ((UnsupportedStateVersionException) e).version()).isEqualTo(9);
        }

        @Test
        void refusesAnOlderFormatVersionByNameNotAsACorruptFile() {
            byte[] bytes = resealed(StateFormat.encode(List.of(smallWindowState())), 0);
            assertThatThrownBy(() -> StateFormat.decode(bytes))
                    .isInstanceOf(UnsupportedStateVersionException.class)
                    .hasMessageContaining("format version 0, older than this build reads")
                    .hasMessageNotContaining("checksum");
        }

        private static byte[] resealed(byte[] bytes, int version) {
            java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).putShort(8, (short) version);
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(bytes, 0, bytes.length - 4);
            java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(bytes.length - 4,
                    (int) crc.getValue());
            return bytes;
        }

        @Test
        void refusesAFileThatIsNotAState() {
            assertThatThrownBy(() -> StateFormat.decode("definitely not a state file".getBytes()))
                    .isInstanceOf(CorruptStateException.class)
                    .hasMessageContaining("not a based4j state file");
        }
    }

    @Nested
    class Layout {
        /** The bytes of {@code encoded} with the first position replaced and the checksum recomputed. */
        private static byte[] forged(byte[] encoded, long position) {
            byte[] b = encoded.clone();
            java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(14, position);
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(b, 0, b.length - 4);
            java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(b.length - 4, (int) crc.getValue());
            return b;
        }

        @Test
        void aPositionBeyondTheLargestIsRefusedEvenWithAValidChecksum() throws Exception {
            byte[] good = StateFormat.encode(List.of(smallWindowState()));
            assertThat(StateFormat.decode(forged(good, StateFormat.MAX_POSITION)).get(0).position())
                    .as("the largest position itself loads").isEqualTo(StateFormat.MAX_POSITION);
            for (long p : new long[] {StateFormat.MAX_POSITION + 1, Long.MAX_VALUE, Long.MIN_VALUE}) {
                assertThatThrownBy(() -> StateFormat.decode(forged(good, p))).as("position %d", p)
                        .isInstanceOf(CorruptStateException.class).hasMessageContaining("position " + p + " outside");
            }
        }

        @Test
        void aSnapshotCannotHoldAPositionBeyondTheLargest() {
            assertThatThrownBy(() -> new StateSnapshot(StateSnapshot.Kind.CONV, StateFormat.MAX_POSITION + 1,
                    List.of(), List.of())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("position: expected 0..9007199254740992");
        }

        @Test
        void onlyRegularFilesAreLoaded(@TempDir Path dir) {
            assertThatThrownBy(() -> StateFormat.load(dir)).isInstanceOf(CorruptStateException.class)
                    .hasMessageContaining("is not a regular file");
            assertThatThrownBy(() -> StateFormat.load(dir.resolve("absent"))).isInstanceOf(CorruptStateException.class)
                    .hasMessageContaining("no such file");
        }
    }

    @Nested
    class Compatibility {
        /** Written by format version 1 when it was current; every later build must still load it exactly. */
        @Test
        void aStateWrittenByFormatVersion1StillLoads() throws Exception {
            byte[] v1;
            try (var in = StateFormatTest.class.getResourceAsStream("format-v1.b4jstate")) {
                assertThat(in).as("test resource format-v1.b4jstate").isNotNull();
                v1 = in.readAllBytes();
            }
            List<StateSnapshot> states = StateFormat.decode(v1);
            assertThat(states).extracting(StateSnapshot::kind)
                    .containsExactly(StateSnapshot.Kind.LINEAR_ATTENTION, StateSnapshot.Kind.WINDOW);
            assertThat(states.get(0).position()).isEqualTo(17);
            assertThat(states.get(0).tensor("kv").toDoubleArray()).containsExactly(0.5, -1.25, 2, 3.75, -4, 5.5);
            assertThat(states.get(0).tensor("z").dtype()).isEqualTo(DType.F32);
            assertThat(states.get(0).tensor("z").toDoubleArray()).containsExactly(1, 2, 3);
            assertThat(states.get(1).meta("lookback")).isEqualTo(2);
            assertThat(states.get(1).tensor("values").toDoubleArray()).containsExactly(7, 8, 9);
        }
    }

    @Test
    void aSaveWhoseWriteFailsPartWayLeavesTheOldFileWhole(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.b4j");
        StateFormat.save(file, List.of(smallWindowState()));
        byte[] old = Files.readAllBytes(file);
        int size = StateFormat.encode(List.of(smallLinearState(SEED))).length;
        for (long failAfter : new long[] {0, 1, size / 2, size - 1}) {
            assertThatThrownBy(() -> StateFormat.save(file, List.of(smallLinearState(SEED)), failAfter))
                    .isInstanceOf(java.io.IOException.class).hasMessageContaining("write failed");
            assertThat(Files.readAllBytes(file)).as("the old file after a write failing at byte %d", failAfter)
                    .isEqualTo(old);
        }
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).as("no temporary file left by the failed saves").containsExactly(file);
        }
    }

    @Test
    void aSaveWhoseStatesFailToEncodeLeavesTheOldFileWhole(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.b4j");
        StateFormat.save(file, List.of(smallWindowState()));
        byte[] old = Files.readAllBytes(file);
        java.util.ArrayList<StateSnapshot> withNull = new java.util.ArrayList<>(List.of(smallLinearState(SEED)));
        withNull.add(null);
        assertThatThrownBy(() -> StateFormat.save(file, withNull)).isInstanceOf(NullPointerException.class);
        assertThat(Files.readAllBytes(file)).isEqualTo(old);
    }

    @Test
    void saveReplacesTheFileAtomicallyAndLeavesNoTemporaryFiles(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.b4j");
        StateFormat.save(file, List.of(smallWindowState()));
        StateFormat.save(file, List.of(smallLinearState(SEED)));
        assertThat(StateFormat.load(file).get(0).kind()).isEqualTo(StateSnapshot.Kind.LINEAR_ATTENTION);
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).containsExactly(file);
        }
    }
}

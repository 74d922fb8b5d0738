package dev.based4j.cpu.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The packed state layout: a permutation of each block of rows that keeps every pair's sum and difference, with the
 * block's compact parts back to back at its start.
 */
class TaylorPackingTest {
    private static final int ROWS = 7;

    private static MemorySegment rows(Arena arena, float[] values) {
        MemorySegment s = arena.allocate((long) values.length * Float.BYTES);
        MemorySegment.copy(values, 0, s, Mem.F32, 0, values.length);
        return s;
    }

    private static float[] read(MemorySegment s) {
        return Mem.readAllFloats(s);
    }

    /** @return where the compact part of {@code row} starts in the packed layout */
    private static int compactAt(int row, int f, int blockRows) {
        int width = TaylorPacking.canonicalDim(f);
        return row / blockRows * blockRows * width + row % blockRows * TaylorPacking.compactDim(f);
    }

    @ParameterizedTest(name = "f = {0}, blocks of {1} rows")
    @CsvSource({"1, 1", "3, 1", "16, 1", "3, 7", "16, 7"})
    void packedBlocksStartWithTheirRowsCompactFeaturesInTheOrderOfTheCompactMap(int f, int blockRows) {
        int width = TaylorPacking.canonicalDim(f);
        Random r = new Random(f);
        float[] canonical = new float[ROWS * width];
        for (int i = 0; i < canonical.length; i++) {
            canonical[i] = (float) r.nextGaussian();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = rows(arena, canonical);
            TaylorPacking.pack(s, f, blockRows);
            float[] packed = read(s);
            for (int row = 0; row < ROWS; row++) {
                int o = row * width;
                int c = compactAt(row, f, blockRows);
                for (int e = 0; e < 1 + f; e++) {
                    assertThat(packed[c + e]).isEqualTo(canonical[o + e]);
                }
                int p = c + 1 + f;
                for (int i = 0; i < f; i++) {
                    for (int j = i; j < f; j++) {
                        double mean = ((double) canonical[o + 1 + f + i * f + j] + canonical[o + 1 + f + j * f + i]) / 2;
                        assertThat((double) packed[p++]).as("row %d pair %d,%d", row, i, j)
                                .isCloseTo(mean, within(1e-6 * (1 + Math.abs(mean))));
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "f = {0}, blocks of {1} rows")
    @CsvSource({"1, 1", "3, 1", "16, 1", "3, 7", "16, 7"})
    void aSymmetricStateComesBackBitForBit(int f, int blockRows) {
        int width = TaylorPacking.canonicalDim(f);
        Random r = new Random(100 + f);
        float[] canonical = new float[ROWS * width];
        for (int row = 0; row < ROWS; row++) {
            int o = row * width;
            for (int e = 0; e < 1 + f; e++) {
                canonical[o + e] = (float) r.nextGaussian();
            }
            for (int i = 0; i < f; i++) {
                for (int j = i; j < f; j++) {
                    float x = (float) r.nextGaussian();
                    canonical[o + 1 + f + i * f + j] = x;
                    canonical[o + 1 + f + j * f + i] = x;
                }
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = rows(arena, canonical);
            TaylorPacking.pack(s, f, blockRows);
            TaylorPacking.unpack(s, f, blockRows);
            assertThat(read(s)).containsExactly(canonical);
        }
    }

    @ParameterizedTest(name = "f = {0}, blocks of {1} rows")
    @CsvSource({"3, 1", "16, 1", "3, 7", "16, 7"})
    void anAsymmetricStateKeepsBothEntriesOfEveryPairThroughACompactUpdate(int f, int blockRows) {
        int width = TaylorPacking.canonicalDim(f);
        int compact = TaylorPacking.compactDim(f);
        Random r = new Random(200 + f);
        float[] canonical = new float[ROWS * width];
        for (int i = 0; i < canonical.length; i++) {
            canonical[i] = (float) r.nextGaussian();
        }
        float[] delta = new float[ROWS * compact];
        for (int i = 0; i < delta.length; i++) {
            delta[i] = (float) r.nextGaussian();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = rows(arena, canonical);
            TaylorPacking.pack(s, f, blockRows);
            float[] packed = read(s);
            for (int row = 0; row < ROWS; row++) {
                for (int e = 0; e < compact; e++) {
                    packed[compactAt(row, f, blockRows) + e] += delta[row * compact + e];
                }
            }
            MemorySegment.copy(packed, 0, s, Mem.F32, 0, packed.length);
            TaylorPacking.unpack(s, f, blockRows);
            float[] after = read(s);
            for (int row = 0; row < ROWS; row++) {
                int o = row * width;
                int p = 1 + f;
                for (int i = 0; i < f; i++) {
                    for (int j = i; j < f; j++) {
                        float moved = delta[row * compact + p++];
                        int a = o + 1 + f + i * f + j;
                        int b = o + 1 + f + j * f + i;
                        assertThat((double) after[a]).as("row %d (%d,%d)", row, i, j)
                                .isCloseTo(canonical[a] + moved, within(1e-5));
                        assertThat((double) after[b]).as("row %d (%d,%d)", row, j, i)
                                .isCloseTo(canonical[b] + moved, within(1e-5));
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "blocks of {0} rows")
    @CsvSource({"0", "2", "-1"})
    void rowsThatDoNotDivideIntoBlocksAreRefused(int blockRows) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = rows(arena, new float[ROWS * TaylorPacking.canonicalDim(3)]);
            org.assertj.core.api.Assertions.assertThatIllegalArgumentException()
                    .isThrownBy(() -> TaylorPacking.pack(s, 3, blockRows))
                    .withMessageContaining("blockRows").withMessageContaining(Integer.toString(blockRows));
        }
    }
}

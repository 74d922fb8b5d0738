package dev.based4j.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class PrefixCacheTest {
    private static final int CHUNK = 4;

    /** A runner whose states only count positions; every saved state occupies {@link #STATE} bytes. */
    static final class CountingRunner implements SequenceRunner {
        static final long STATE = 1000;
        final List<Saved> saved = new ArrayList<>();

        record Position(long[] at) implements SequenceState {
            @Override
            public long position() {
                return at[0];
            }

            @Override
            public void close() {}
        }

        static final class Saved implements SavedState {
            final long position;
            boolean closed;

            Saved(long position) {
                this.position = position;
            }

            @Override
            public long position() {
                return position;
            }

            @Override
            public long bytes() {
                return STATE;
            }

            @Override
            public void close() {
                closed = true;
            }
        }

        @Override
        public int logitsWidth() {
            return 10;
        }

        @Override
        public long stateBytes() {
            return STATE;
        }

        @Override
        public long maxPositions() {
            return Long.MAX_VALUE;
        }

        @Override
        public SequenceState open() {
            return new Position(new long[1]);
        }

        @Override
        public List<ItemResult> step(List<StepItem> items) {
            throw new UnsupportedOperationException();
        }

        @Override
        public SavedState save(SequenceState state) {
            Saved s = new Saved(state.position());
            saved.add(s);
            return s;
        }

        @Override
        public SequenceState resume(SavedState saved) {
            return new Position(new long[] {saved.position()});
        }

        @Override
        public void close() {}

        static SequenceState at(long position) {
            return new Position(new long[] {position});
        }
    }

    private static int[] ids(int... ids) {
        return ids;
    }

    @Nested
    class Lookup {
        @Test
        void findsTheLongestCachedPrefixThatLeavesATokenToPrefill() {
            CountingRunner r = new CountingRunner();
            PrefixCache c = new PrefixCache(r, CHUNK, 1 << 20, 100);
            int[] p = ids(1, 2, 3, 4, 5, 6, 7, 8, 9);
            c.put(p, CountingRunner.at(4));
            c.put(p, CountingRunner.at(8));
            assertThat(c.lookup(p)).get().extracting(PrefixCache.Hit::length).isEqualTo(8);
            assertThat(c.lookup(ids(1, 2, 3, 4, 5, 6, 7, 8))).as("a prompt the longest prefix covers whole")
                    .get().extracting(PrefixCache.Hit::length).isEqualTo(4);
            assertThat(c.hits()).isEqualTo(2);
            assertThat(c.hitTokens()).isEqualTo(12);
        }

        @Test
        void comparesTheIdsThemselvesNotOnlyTheirLength() {
            PrefixCache c = new PrefixCache(new CountingRunner(), CHUNK, 1 << 20, 100);
            c.put(ids(1, 2, 3, 4, 5), CountingRunner.at(4));
            assertThat(c.lookup(ids(1, 2, 3, 9, 5))).isEmpty();
            assertThat(c.misses()).isEqualTo(1);
        }

        @Test
        void keepsOnlyChunkAlignedPrefixes() {
            PrefixCache c = new PrefixCache(new CountingRunner(), CHUNK, 1 << 20, 100);
            c.put(ids(1, 2, 3, 4, 5, 6), CountingRunner.at(6));
            assertThat(c.entries()).isZero();
        }
    }

    @Nested
    class Bounds {
        @Test
        void evictsTheLeastRecentlyUsedEntryToStayWithinItsBytes() {
            CountingRunner r = new CountingRunner();
            long entry = CountingRunner.STATE + CHUNK * Integer.BYTES;
            PrefixCache c = new PrefixCache(r, CHUNK, 2 * entry, 100);
            int[] a = ids(1, 1, 1, 1, 0);
            int[] b = ids(2, 2, 2, 2, 0);
            int[] d = ids(3, 3, 3, 3, 0);
            c.put(a, CountingRunner.at(4));
            c.put(b, CountingRunner.at(4));
            c.lookup(a);
            c.put(d, CountingRunner.at(4));
            assertThat(c.bytes()).isLessThanOrEqualTo(2 * entry);
            assertThat(c.lookup(b)).as("the least recently used entry").isEmpty();
            assertThat(c.lookup(a)).isPresent();
            assertThat(c.lookup(d)).isPresent();
            assertThat(c.evictions()).isEqualTo(1);
            assertThat(r.saved.get(1).closed).as("the evicted state is freed").isTrue();
        }

        @Test
        void aCacheOfZeroBytesKeepsNothing() {
            CountingRunner r = new CountingRunner();
            PrefixCache c = new PrefixCache(r, CHUNK, 0, 100);
            c.put(ids(1, 2, 3, 4, 5), CountingRunner.at(4));
            assertThat(r.saved).isEmpty();
            assertThat(c.positionsToSave(ids(1, 2, 3, 4, 5))).isEmpty();
        }

        @Test
        void refusesANegativeCapacityNamingIt() {
            assertThatThrownBy(() -> new PrefixCache(new CountingRunner(), CHUNK, -1, 100))
                    .hasMessage("capacityBytes: expected >= 0, got -1");
        }
    }

    @Nested
    class Policy {
        @Test
        void aNewPromptSavesOnlyItsLongestAlignedPrefix() {
            PrefixCache c = new PrefixCache(new CountingRunner(), CHUNK, 1 << 20, 100);
            assertThat(c.positionsToSave(ids(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11))).containsExactly(8);
        }

        @Test
        void aPromptSharingChunksWithAnEarlierOneAlsoSavesWhereTheyDiverge() {
            PrefixCache c = new PrefixCache(new CountingRunner(), CHUNK, 1 << 20, 100);
            c.positionsToSave(ids(1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9));
            assertThat(c.positionsToSave(ids(1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0))).containsExactly(8, 12);
        }

        @Test
        void positionsAlreadyCachedAreNotSavedAgain() {
            PrefixCache c = new PrefixCache(new CountingRunner(), CHUNK, 1 << 20, 100);
            int[] p = ids(1, 2, 3, 4, 5);
            c.put(p, CountingRunner.at(4));
            assertThat(c.positionsToSave(p)).isEmpty();
        }
    }
}

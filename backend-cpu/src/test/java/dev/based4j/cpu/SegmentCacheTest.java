package dev.based4j.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class SegmentCacheTest {
    @Test
    void aRecycledBlockComesBackZeroFilled() {
        try (SegmentCache cache = new SegmentCache(1 << 20)) {
            SegmentCache.Block first = cache.take(256);
            first.segment().fill((byte) 7);
            cache.give(first);
            SegmentCache.Block again = cache.take(256);
            assertThat(again.segment()).as("the same memory is reused").isEqualTo(first.segment());
            for (long i = 0; i < 256; i++) {
                assertThat(again.segment().get(ValueLayout.JAVA_BYTE, i)).as("byte %d", i).isZero();
            }
        }
    }

    @Test
    void keepsNoMoreThanItsLimitIdleAndFreesTheRest() {
        try (SegmentCache cache = new SegmentCache(1000)) {
            SegmentCache.Block a = cache.take(600);
            SegmentCache.Block b = cache.take(600);
            cache.give(a);
            cache.give(b);
            assertThat(cache.idleBytes()).isEqualTo(600);
            assertThat(b.arena().scope().isAlive()).as("the block beyond the limit is freed").isFalse();
        }
    }

    @Test
    void closingFreesEveryIdleBlock() {
        SegmentCache cache = new SegmentCache(1 << 20);
        SegmentCache.Block a = cache.take(64);
        cache.give(a);
        cache.close();
        assertThat(a.arena().scope().isAlive()).isFalse();
        assertThat(cache.idleBytes()).isZero();
    }
}

package dev.based4j.cpu.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class CpuPoolTest {
    @Test
    void runsEveryItemExactlyOnceOnSeveralThreads() {
        try (CpuPool pool = new CpuPool(4)) {
            AtomicIntegerArray hits = new AtomicIntegerArray(1000);
            Set<String> threads = ConcurrentHashMap.newKeySet();
            pool.forEach(1000, 1_000_000, i -> {
                hits.incrementAndGet(i);
                threads.add(Thread.currentThread().getName());
                busy();
            });
            for (int i = 0; i < 1000; i++) {
                assertThat(hits.get(i)).as("item %d", i).isEqualTo(1);
            }
            assertThat(threads).as("threads that worked").hasSizeGreaterThan(1);
        }
    }

    @Test
    void runsSmallProblemsOnTheCallingThread() {
        try (CpuPool pool = new CpuPool(4)) {
            Set<String> threads = ConcurrentHashMap.newKeySet();
            pool.forEach(8, 10, i -> threads.add(Thread.currentThread().getName()));
            assertThat(threads).containsExactly(Thread.currentThread().getName());
        }
    }

    @Test
    void rethrowsTheFailureOfAnItem() {
        try (CpuPool pool = new CpuPool(3)) {
            assertThatThrownBy(() -> pool.forEach(50, 1_000_000, i -> {
                if (i == 17) {
                    throw new IllegalStateException("item 17 failed");
                }
            })).isInstanceOf(IllegalStateException.class).hasMessage("item 17 failed");
        }
    }

    @Test
    void keepsWorkingInlineAfterClose() {
        CpuPool pool = new CpuPool(2);
        pool.close();
        AtomicIntegerArray hits = new AtomicIntegerArray(10);
        pool.forEach(10, 1_000_000, hits::incrementAndGet);
        assertThat(hits.get(9)).isEqualTo(1);
    }

    @Test
    @org.junit.jupiter.api.Timeout(30)
    void aCallFromInsideAnItemRunsInlineAndEveryItemOfBothRuns() {
        try (CpuPool pool = new CpuPool(2)) {
            AtomicIntegerArray outer = new AtomicIntegerArray(8);
            AtomicIntegerArray inner = new AtomicIntegerArray(8 * 8);
            pool.forEachInRanges(8, 1_000_000, i -> {
                outer.incrementAndGet(i);
                pool.forEachInRanges(8, 1_000_000, j -> inner.incrementAndGet(i * 8 + j));
            });
            for (int i = 0; i < 8; i++) {
                assertThat(outer.get(i)).as("outer item %d", i).isEqualTo(1);
            }
            for (int i = 0; i < 64; i++) {
                assertThat(inner.get(i)).as("inner item %d", i).isEqualTo(1);
            }
        }
    }

    private static void busy() {
        long until = System.nanoTime() + 20_000;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
    }
}

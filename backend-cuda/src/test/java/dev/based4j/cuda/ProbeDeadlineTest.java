package dev.based4j.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Availability;
import dev.based4j.tensor.DType;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ProbeDeadlineTest {
    private static final Availability USABLE = Availability.usable("test device", Set.of(DType.F32));

    private final ProbeDeadline deadline = new ProbeDeadline("test", Duration.ofMillis(300), "check the test device");

    @Test
    void aProbeWithinTheDeadlineAnswersWhatItFound() {
        assertThat(deadline.run(() -> USABLE)).isEqualTo(USABLE);
    }

    @Test
    void aProbeThatThrowsIsUnusableWithTheException() {
        Availability a = deadline.run(() -> {
            throw new IllegalStateException("driver exploded");
        });
        assertThat(a.usable()).isFalse();
        assertThat(a.reason()).contains("test probe failed").contains("driver exploded");
    }

    @Test
    void theProbeRunsOnADaemonThreadOfItsOwn() {
        AtomicReference<Thread> ran = new AtomicReference<>();
        deadline.run(() -> {
            ran.set(Thread.currentThread());
            return USABLE;
        });
        assertThat(ran.get()).isNotSameAs(Thread.currentThread());
        assertThat(ran.get().isDaemon()).as("a blocked probe must not keep the JVM alive").isTrue();
        assertThat(ran.get().getName()).isEqualTo("based4j-test-probe");
    }

    @Test
    void refusesADeadlineThatIsNotPositive() {
        assertThatThrownBy(() -> new ProbeDeadline("test", Duration.ZERO, "fix"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit");
    }

    @Nested
    class AProbeThatNeverAnswers {
        @Test
        void isUnusableOnceTheDeadlinePassedAndLaterProbesDoNotPileUp() throws Exception {
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Thread> blocked = new AtomicReference<>();
            long t0 = System.nanoTime();
            Availability first = deadline.run(() -> {
                blocked.set(Thread.currentThread());
                started.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return USABLE;
            });
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(first.usable()).isFalse();
            assertThat(first.reason()).contains("test probe timed out after 0.30 s");
            assertThat(first.fix()).isEqualTo("check the test device");
            assertThat(waitedMs).as("milliseconds waited for a blocked probe").isLessThan(5_000);

            boolean[] secondRan = {false};
            Availability second = deadline.run(() -> {
                secondRan[0] = true;
                return USABLE;
            });
            assertThat(secondRan[0]).as("a second probe started while the first is still blocked").isFalse();
            assertThat(second.usable()).isFalse();
            assertThat(second.reason()).contains("an earlier probe timed out after 0.30 s").contains("blocked for");

            release.countDown();
            blocked.get().join(5_000);
            assertThat(deadline.run(() -> USABLE)).as("once the blocked probe ended, probes run again")
                    .isEqualTo(USABLE);
        }
    }
}

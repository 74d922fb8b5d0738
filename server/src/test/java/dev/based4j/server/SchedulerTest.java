package dev.based4j.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedModel;
import dev.based4j.model.GenerationOptions;
import dev.based4j.model.Generator;
import dev.based4j.server.GenerationEvent.FinishReason;
import dev.based4j.server.SequenceRunner.Prefill;
import dev.based4j.server.TinyModels.Outcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SchedulerTest {
    private static final int CHUNK = Generator.PREFILL_CHUNK;
    private Backend backend;
    private BasedModel model;
    private LayerStackRunner runner;

    @BeforeAll
    void load() {
        backend = TinyModels.cpu();
        model = TinyModels.tiny(backend);
        runner = new LayerStackRunner(model.stack());
    }

    @AfterAll
    void free() {
        runner.close();
        model.close();
        backend.close();
    }

    private Scheduler scheduler(int slots, int queue, PrefixCache cache) {
        return new Scheduler(runner, new SchedulerConfig(slots, queue, CHUNK, CHUNK), cache,
                model.config().vocabSize(), null);
    }

    /** Prompts of lengths across chunk boundaries, seeded. */
    private static List<int[]> prompts() {
        return List.of(TinyModels.prompt(1, 5), TinyModels.prompt(2, 70), TinyModels.prompt(3, 130),
                TinyModels.prompt(4, 257), TinyModels.prompt(5, 64));
    }

    private static List<List<Integer>> alone(Scheduler s, List<GenerationJobFactory> jobs) throws InterruptedException {
        List<List<Integer>> out = new ArrayList<>();
        for (GenerationJobFactory j : jobs) {
            out.add(TinyModels.drain(s.submit(j.job())).tokens());
        }
        return out;
    }

    private static List<List<Integer>> together(Scheduler s, List<GenerationJobFactory> jobs)
            throws InterruptedException {
        List<Ticket> tickets = new ArrayList<>();
        for (GenerationJobFactory j : jobs) {
            tickets.add(s.submit(j.job()));
        }
        List<List<Integer>> out = new ArrayList<>();
        for (Ticket t : tickets) {
            out.add(TinyModels.drain(t).tokens());
        }
        return out;
    }

    @FunctionalInterface
    interface GenerationJobFactory {
        GenerationJob job();
    }

    @Nested
    class Batching {
        @Test
        void greedyTokensOfARequestAreTheSameAloneAndBatchedWithOthers() throws InterruptedException {
            List<GenerationJobFactory> jobs = prompts().stream()
                    .map(p -> (GenerationJobFactory) () -> TinyModels.greedy(p, 24)).toList();
            try (Scheduler s = scheduler(8, 16, null)) {
                List<List<Integer>> one = alone(s, jobs);
                List<List<Integer>> all = together(s, jobs);
                assertThat(all).as("tokens of prompts 1..5 (seeds 1..5) batched vs alone").isEqualTo(one);
                assertThat(one).allSatisfy(t -> assertThat(t).hasSize(24));
            }
        }

        @Test
        void seededSampledTokensAreTheSameAloneAndBatchedWithOthers() throws InterruptedException {
            List<GenerationJobFactory> jobs = new ArrayList<>();
            List<int[]> ps = prompts();
            for (int i = 0; i < ps.size(); i++) {
                int[] p = ps.get(i);
                long seed = 100 + i;
                jobs.add(() -> TinyModels.sampled(p, 24, seed));
            }
            try (Scheduler s = scheduler(8, 16, null)) {
                assertThat(together(s, jobs)).as("sampled tokens (seeds 100..104) batched vs alone")
                        .isEqualTo(alone(s, jobs));
            }
        }

        @Test
        void greedyTokensEqualTheGeneratorsTokenForToken() throws InterruptedException {
            List<int[]> ps = prompts();
            try (Scheduler s = scheduler(8, 16, null)) {
                List<Ticket> tickets = new ArrayList<>();
                for (int[] p : ps) {
                    tickets.add(s.submit(TinyModels.greedy(p, 24)));
                }
                for (int i = 0; i < ps.size(); i++) {
                    int[] expected = new Generator(model).generate(ps.get(i), GenerationOptions.greedy(24), null, null)
                            .tokens().get(0);
                    TinyModels.Outcome got = TinyModels.drain(tickets.get(i));
                    assertThat(got.tokens()).as("prompt %d (seed %d), ended by %s", i, i + 1, got.done())
                            .containsExactly(Arrays.stream(expected).boxed().toArray(Integer[]::new));
                }
            }
        }

        @Test
        void aStepDecodesTheRunningSequencesWhileAPromptIsPrefilled() throws InterruptedException {
            AtomicBoolean mixed = new AtomicBoolean();
            Scheduler.Observer observer = new Scheduler.Observer() {
                @Override
                public void step(long nanos, int decodes, int prefillTokens) {
                    if (decodes > 0 && prefillTokens > 0) {
                        mixed.set(true);
                    }
                }
            };
            try (Scheduler s = new Scheduler(runner, new SchedulerConfig(4, 4, CHUNK, CHUNK), null,
                    model.config().vocabSize(), observer)) {
                Ticket running = s.submit(TinyModels.greedy(TinyModels.prompt(1, 3), 40));
                running.next();
                Ticket prompting = s.submit(TinyModels.greedy(TinyModels.prompt(2, 6 * CHUNK), 2));
                TinyModels.drain(prompting);
                TinyModels.drain(running);
            }
            assertThat(mixed).as("a step held decode items and a prefill chunk").isTrue();
        }
    }

    @Nested
    class Slots {
        @Test
        void moreRequestsThanSlotsAllFinishAndEveryStateIsClosed() throws InterruptedException {
            try (Scheduler s = scheduler(2, 16, null)) {
                List<Ticket> tickets = new ArrayList<>();
                for (int i = 0; i < 7; i++) {
                    tickets.add(s.submit(TinyModels.greedy(TinyModels.prompt(i, 10 + i), 5)));
                }
                for (Ticket t : tickets) {
                    assertThat(TinyModels.drain(t).done().reason()).isEqualTo(FinishReason.LENGTH);
                }
            }
            assertThat(runner.openStates()).as("states left open").isZero();
        }

        @Test
        void aCancelledSequenceLeavesItsSlotToTheNextRequest() throws InterruptedException {
            try (Scheduler s = scheduler(1, 4, null)) {
                Ticket endless = s.submit(TinyModels.greedy(TinyModels.prompt(1, 4), 1_000_000));
                endless.next();
                Ticket next = s.submit(TinyModels.greedy(TinyModels.prompt(2, 4), 3));
                endless.cancel();
                assertThat(TinyModels.drain(endless).done().reason()).isEqualTo(FinishReason.CANCELLED);
                assertThat(TinyModels.drain(next).tokens()).hasSize(3);
            }
        }

        @Test
        void aSequencePastItsDeadlineEnds() throws InterruptedException {
            try (Scheduler s = scheduler(1, 4, null)) {
                Ticket t = s.submit(new GenerationJob(TinyModels.prompt(1, 4), GenerationOptions.greedy(1_000_000),
                        System.nanoTime() + Duration.ofMillis(200).toNanos()));
                assertThat(TinyModels.drain(t).done().reason()).isEqualTo(FinishReason.DEADLINE);
            }
        }

        @Test
        void aFullQueueRefusesTheNextJob() throws InterruptedException {
            try (Scheduler s = scheduler(1, 1, null)) {
                Ticket running = s.submit(TinyModels.greedy(TinyModels.prompt(1, 4), 1_000_000));
                running.next();
                s.submit(TinyModels.greedy(TinyModels.prompt(2, 4), 3));
                assertThatThrownBy(() -> s.submit(TinyModels.greedy(TinyModels.prompt(3, 4), 3)))
                        .isInstanceOfSatisfying(Scheduler.Rejected.class,
                                r -> assertThat(r.reason()).isEqualTo(Scheduler.Rejected.Reason.QUEUE_FULL));
                running.cancel();
            }
        }

        @Test
        void aPromptLongerThanTheKvCacheIsRefusedNamingThePositions() {
            try (LayerStack attention = TinyModels.attention(backend, 32);
                    LayerStackRunner r = new LayerStackRunner(attention);
                    Scheduler s = new Scheduler(r, new SchedulerConfig(1, 1, 16, 16), null, 100, null)) {
                assertThatThrownBy(() -> s.submit(TinyModels.greedy(TinyModels.prompt(1, 30), 5)))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("34 positions")
                        .hasMessageContaining("holds 32");
            }
        }
    }

    @Nested
    class Shutdown {
        @Test
        void runningSequencesFinishWithinTheGrace() throws InterruptedException {
            Scheduler s = scheduler(2, 4, null);
            Ticket t = s.submit(TinyModels.greedy(TinyModels.prompt(1, 4), 30));
            t.next();
            s.shutdown(Duration.ofSeconds(30));
            assertThat(TinyModels.drain(t).done().reason()).isEqualTo(FinishReason.LENGTH);
            assertThatThrownBy(() -> s.submit(TinyModels.greedy(TinyModels.prompt(1, 4), 3)))
                    .isInstanceOfSatisfying(Scheduler.Rejected.class,
                            r -> assertThat(r.reason()).isEqualTo(Scheduler.Rejected.Reason.SHUTTING_DOWN));
        }

        @Test
        void sequencesStillRunningAfterTheGraceEndWithShutdown() throws InterruptedException {
            Scheduler s = scheduler(1, 4, null);
            Ticket running = s.submit(TinyModels.greedy(TinyModels.prompt(1, 4), 1_000_000));
            running.next();
            Ticket queued = s.submit(TinyModels.greedy(TinyModels.prompt(2, 4), 3));
            s.shutdown(Duration.ofMillis(100));
            assertThat(TinyModels.drain(running).done().reason()).isEqualTo(FinishReason.SHUTDOWN);
            assertThat(TinyModels.drain(queued).done().reason()).isEqualTo(FinishReason.SHUTDOWN);
        }
    }

    @Nested
    class PrefixCaching {
        @Test
        void aResumedStateGivesBitIdenticalLogits() {
            assertResumeIsExact(runner, TinyModels.prompt(9, 200));
        }

        @Test
        void aResumedFullAttentionStateGivesBitIdenticalLogits() {
            try (LayerStack attention = TinyModels.attention(backend, 256);
                    LayerStackRunner r = new LayerStackRunner(attention)) {
                assertResumeIsExact(r, TinyModels.prompt(9, 200));
            }
        }

        private void assertResumeIsExact(SequenceRunner r, int[] prompt) {
            float[] straight;
            try (SequenceRunner.SequenceState s = r.open()) {
                straight = prefill(r, s, prompt, 0);
            }
            float[] resumed;
            try (SequenceRunner.SequenceState s = r.open()) {
                r.step(List.of(new Prefill(s, Arrays.copyOfRange(prompt, 0, CHUNK), false)));
                r.step(List.of(new Prefill(s, Arrays.copyOfRange(prompt, CHUNK, 2 * CHUNK), false)));
                try (SequenceRunner.SavedState saved = r.save(s);
                        SequenceRunner.SequenceState back = r.resume(saved)) {
                    assertThat(back.position()).isEqualTo(2 * CHUNK);
                    resumed = prefill(r, back, prompt, 2 * CHUNK);
                }
            }
            assertThat(resumed).as("last logits after resuming at %d vs prefilling straight (prompt seed 9)", 2 * CHUNK)
                    .containsExactly(straight);
        }

        private float[] prefill(SequenceRunner r, SequenceRunner.SequenceState s, int[] prompt, int from) {
            float[] last = null;
            for (int p = from; p < prompt.length; p += CHUNK) {
                int end = Math.min(prompt.length, p + CHUNK);
                last = r.step(List.of(new Prefill(s, Arrays.copyOfRange(prompt, p, end), end == prompt.length)))
                        .get(0).logits();
            }
            return last;
        }

        @Test
        void promptsSharingADocumentResumeItAndGenerateWhatTheyGenerateWithoutTheCache()
                throws InterruptedException {
            int[] document = TinyModels.prompt(20, 150);
            // the first prompt saves its own longest aligned prefix (192); the second shares 128 aligned tokens with
            // it and saves them where they diverge (and its own 192); the third and fourth resume those 128
            List<int[]> ps = List.of(TinyModels.concat(document, TinyModels.prompt(21, 70)),
                    TinyModels.concat(document, TinyModels.prompt(22, 80)),
                    TinyModels.concat(document, TinyModels.prompt(23, 50)),
                    TinyModels.concat(document, TinyModels.prompt(24, 1)));
            List<GenerationJobFactory> jobs = ps.stream()
                    .map(p -> (GenerationJobFactory) () -> TinyModels.greedy(p, 16)).toList();
            List<List<Integer>> without;
            try (Scheduler s = scheduler(4, 8, null)) {
                without = alone(s, jobs);
            }
            try (PrefixCache cache = new PrefixCache(runner, CHUNK, 64L << 20, 1024);
                    Scheduler s = scheduler(4, 8, cache)) {
                List<Outcome> with = new ArrayList<>();
                for (GenerationJobFactory j : jobs) {
                    with.add(TinyModels.drain(s.submit(j.job())));
                }
                assertThat(with.stream().map(Outcome::tokens).toList()).as("tokens with the prefix cache vs without")
                        .isEqualTo(without);
                assertThat(with.stream().map(o -> o.done().cachedTokens()).toList()).containsExactly(0, 0, 128, 128);
                assertThat(cache.hits()).isEqualTo(2);
            }
        }
    }
}

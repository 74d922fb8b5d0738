package dev.based4j.server;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.MixerConfig;
import dev.based4j.layer.SlidingWindowLayer;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.GenerationOptions;
import dev.based4j.tensor.DType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.SplittableRandom;

/** Seeded models and helpers the server's tests share. */
final class TinyModels {
    /** Seed of the tiny model's weights. */
    static final long WEIGHTS_SEED = 11;

    private TinyModels() {}

    static Backend cpu() {
        return Backends.select("cpu");
    }

    /** The golden tiny_lm shape (BaseConv, linear attention, sliding window), seeded weights, F32. */
    static BasedModel tiny(Backend backend) {
        return BasedModel.random(backend, BasedConfig.tiny(), WEIGHTS_SEED, DType.F32);
    }

    /** Two full-attention layers of width 32 whose KV caches hold {@code capacity} tokens, vocabulary 100. */
    static LayerStack attention(Backend backend, int capacity) {
        List<MixerConfig> mixers = Collections.nCopies(2, new SlidingWindowLayer.Config(32, 2,
                SlidingWindowSpec.unbounded(), 16, SlidingWindowLayer.DEFAULT_ROTARY_BASE, false, false, capacity));
        LayerStack.Config c = new LayerStack.Config(CharacterCodec.VOCAB_SIZE, mixers,
                new dev.based4j.layer.SwiGluMlp.Config(32, 64), 1e-5, true);
        return LayerStack.random(backend, DType.F32, c, WEIGHTS_SEED);
    }

    static ServedModel served(BasedModel model, SequenceRunner runner) {
        return new ServedModel("tiny", runner, new CharacterCodec(), model.config().vocabSize(), OptionalInt.empty());
    }

    /** @return {@code n} seeded ids in [0, 95) */
    static int[] prompt(long seed, int n) {
        return new SplittableRandom(seed).ints(n, 0, 95).toArray();
    }

    /** @return {@code head} followed by {@code tail} */
    static int[] concat(int[] head, int[] tail) {
        int[] out = java.util.Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, out, head.length, tail.length);
        return out;
    }

    static GenerationJob greedy(int[] prompt, int maxTokens) {
        return new GenerationJob(prompt, GenerationOptions.greedy(maxTokens), System.nanoTime()
                + Duration.ofMinutes(5).toNanos());
    }

    static GenerationJob sampled(int[] prompt, int maxTokens, long seed) {
        return new GenerationJob(prompt, new GenerationOptions(maxTokens, 0.9, 20, 0.95, seed, Set.of()),
                System.nanoTime() + Duration.ofMinutes(5).toNanos());
    }

    /** Everything a ticket received, in order. */
    record Outcome(List<Integer> tokens, GenerationEvent.Done done) {}

    /** @return the ticket's tokens and its end, waiting at most a minute */
    static Outcome drain(Ticket t) throws InterruptedException {
        List<Integer> tokens = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (true) {
            GenerationEvent e = t.poll(deadline - System.nanoTime());
            if (e == null) {
                throw new AssertionError("no end of the sequence within a minute; tokens so far: " + tokens);
            }
            if (e instanceof GenerationEvent.Token tok) {
                tokens.add(tok.id());
            } else if (e instanceof GenerationEvent.Done d) {
                return new Outcome(tokens, d);
            }
        }
    }
}

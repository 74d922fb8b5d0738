package dev.based4j.model;

import java.util.Set;

/**
 * How {@link Generator} picks tokens and when it stops.
 *
 * <p>Sampling order (as in Hugging Face's generate): logits of the padded vocabulary ids beyond
 * {@code vocab_size} are left out (they were never trained); {@code temperature 0} is greedy (the lowest id among
 * equal maxima); otherwise logits are divided by the temperature, cut to the {@code topK} largest (0 keeps all),
 * turned into probabilities, cut to the smallest set of most likely tokens whose mass reaches {@code topP} (1 keeps
 * all), renormalised and drawn from. Sequence {@code i} of a batch draws from its own generator seeded with
 * {@code seed + i}, so its tokens do not depend on the other prompts.
 *
 * @param maxTokens tokens to generate per sequence at most, ≥ 1
 * @param temperature ≥ 0; 0 is greedy
 * @param topK ≥ 0; 0 keeps every token
 * @param topP in (0, 1]
 * @param seed of the sampling generators
 * @param stopTokens ids that end a sequence (the stop token is part of the output)
 */
public record GenerationOptions(int maxTokens, double temperature, int topK, double topP, long seed,
        Set<Integer> stopTokens) {
    /** Validates every field. */
    public GenerationOptions {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens: expected >= 1, got " + maxTokens);
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature: expected a finite value >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK: expected >= 0 (0 keeps every token), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP: expected a value in (0, 1], got " + topP);
        }
        if (stopTokens == null) {
            throw new IllegalArgumentException("stopTokens: expected a set (may be empty), got null");
        }
        for (Integer t : stopTokens) {
            if (t == null || t < 0) {
                throw new IllegalArgumentException("stopTokens: expected token ids >= 0, got " + stopTokens);
            }
        }
        stopTokens = Set.copyOf(stopTokens);
    }

    /** Greedy decoding of up to {@code maxTokens} tokens, no stop tokens. */
    public static GenerationOptions greedy(int maxTokens) {
        return new GenerationOptions(maxTokens, 0, 0, 1, 0, Set.of());
    }

    /** @return a copy with another temperature */
    public GenerationOptions withTemperature(double t) {
        return new GenerationOptions(maxTokens, t, topK, topP, seed, stopTokens);
    }

    /** @return a copy with another top-k */
    public GenerationOptions withTopK(int k) {
        return new GenerationOptions(maxTokens, temperature, k, topP, seed, stopTokens);
    }

    /** @return a copy with another top-p */
    public GenerationOptions withTopP(double p) {
        return new GenerationOptions(maxTokens, temperature, topK, p, seed, stopTokens);
    }

    /** @return a copy with another seed */
    public GenerationOptions withSeed(long s) {
        return new GenerationOptions(maxTokens, temperature, topK, topP, s, stopTokens);
    }

    /** @return a copy with other stop tokens */
    public GenerationOptions withStopTokens(Set<Integer> tokens) {
        return new GenerationOptions(maxTokens, temperature, topK, topP, seed, tokens);
    }

    /** @return a copy with another token limit */
    public GenerationOptions withMaxTokens(int n) {
        return new GenerationOptions(n, temperature, topK, topP, seed, stopTokens);
    }
}

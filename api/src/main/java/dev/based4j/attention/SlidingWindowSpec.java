package dev.based4j.attention;

import java.util.OptionalDouble;

/**
 * Causal softmax attention over a sliding window: query {@code i} sees keys {@code max(0, i-lookback) .. i},
 * that is {@code lookback + 1} keys ({@code sdk-conventions.md}). A released config's {@code window_size W}
 * maps to {@code lookback = W/2}. {@link #unbounded()} is full causal attention with a growing KV cache.
 *
 * @param lookback previous tokens each query sees besides itself, 0..{@link #UNBOUNDED}
 * @param scale softmax scale; empty means {@code 1/√headDim}
 */
public record SlidingWindowSpec(int lookback, OptionalDouble scale) {
    /** Lookback of full causal attention: every earlier token. */
    public static final int UNBOUNDED = Integer.MAX_VALUE;

    /** Validates both fields. */
    public SlidingWindowSpec {
        if (lookback < 0) {
            throw new IllegalArgumentException("lookback: expected >= 0 (previous tokens a query sees), got " + lookback);
        }
        if (scale == null) {
            throw new IllegalArgumentException("scale: expected a value or OptionalDouble.empty(), got null");
        }
        if (scale.isPresent() && !(scale.getAsDouble() > 0 && Double.isFinite(scale.getAsDouble()))) {
            throw new IllegalArgumentException("scale: expected a finite value > 0, got " + scale.getAsDouble());
        }
    }

    /** Window of {@code lookback} previous tokens plus self, scale {@code 1/√headDim}. */
    public static SlidingWindowSpec of(int lookback) {
        return new SlidingWindowSpec(lookback, OptionalDouble.empty());
    }

    /** Maps a released config's {@code window_size W} to {@code lookback = W/2}. */
    public static SlidingWindowSpec fromWindowSize(int windowSize) {
        if (windowSize < 0) {
            throw new IllegalArgumentException("windowSize: expected >= 0, got " + windowSize);
        }
        return of(windowSize / 2);
    }

    /** Full causal softmax attention. */
    public static SlidingWindowSpec unbounded() {
        return of(UNBOUNDED);
    }

    /** @return whether every earlier token is seen */
    public boolean isUnbounded() {
        return lookback == UNBOUNDED;
    }

    /** @return the scale for q/k head dimension {@code headDim} */
    public double scaleFor(int headDim) {
        return scale.orElse(1.0 / Math.sqrt(headDim));
    }
}

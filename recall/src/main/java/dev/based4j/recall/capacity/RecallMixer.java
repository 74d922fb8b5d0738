package dev.based4j.recall.capacity;

import dev.based4j.attention.BasedAttentionSpec;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.attention.SlidingWindowSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Performer;
import dev.based4j.featuremap.Taylor;
import dev.based4j.Backend;
import dev.based4j.Capabilities;
import dev.based4j.Operation;
import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
import java.util.Objects;
import java.util.Optional;

/**
 * The memory of the one-head recall model: which kernel of the backend mixes the sequence, with what state.
 * Queries and keys have {@link #keyDim()} components; values have the experiment's value dimension.
 */
public sealed interface RecallMixer {

    /** @return the series this mixer belongs to in charts and tables ({@code taylor}, {@code window}, ...) */
    String family();

    /** @return a short unique name, e.g. {@code taylor f=16}, {@code window w=64} */
    String label();

    /** @return the query/key dimension */
    int keyDim();

    /** @return the exact window's lookback, or empty when the mixer has none (or sees everything) */
    default Optional<Integer> lookback() {
        return Optional.empty();
    }

    /** @return the feature map of the linear part, if any */
    default Optional<FeatureMap> linearMap() {
        return Optional.empty();
    }

    /** @return the kernel family it calls */
    Operation operation();

    /** @return why {@code capabilities} cannot run it in {@code dtype}, or empty when they can */
    default Optional<String> unsupportedBy(Capabilities capabilities, DType dtype) {
        if (!capabilities.supports(operation(), dtype)) {
            return Optional.of(operation().name().toLowerCase(java.util.Locale.ROOT) + " in " + dtype.label()
                    + " is not among the backend's capabilities");
        }
        Optional<FeatureMap> map = linearMap();
        if (map.isPresent() && !capabilities.supports(operation(), map.get())) {
            return Optional.of("feature map " + map.get().kind().label() + " is not among the backend's capabilities");
        }
        return Optional.empty();
    }

    /**
     * Allocates the empty state this mixer needs for {@code batch} sequences of {@code seqLen} tokens.
     *
     * @return a state the caller closes
     */
    RecurrentState newState(Backend backend, int batch, int seqLen, int valueDim, DType dtype);

    /**
     * Runs the whole sequence through the kernel ({@code q, k: [batch, 1, seq, keyDim]},
     * {@code v: [batch, 1, seq, valueDim]}), continuing from {@code state}.
     *
     * @return the output {@code [batch, 1, seq, valueDim]}, which the caller closes
     */
    Tensor prefill(Backend backend, Tensor q, Tensor k, Tensor v, RecurrentState state);

    /** Causal linear attention with {@code featureMap}: a state of {@code (valueDim + 1) × D} numbers. */
    record Linear(FeatureMap featureMap) implements RecallMixer {
        /** Validates the map: it must have a positive dot product. */
        public Linear {
            Objects.requireNonNull(featureMap, "featureMap: expected a feature map, got null");
            if (featureMap.signedDotProduct()) {
                throw new IllegalArgumentException("featureMap: " + featureMap.kind().label()
                        + " can make the normaliser vanish; the recall experiment uses positive maps only");
            }
        }

        @Override
        public String family() {
            return featureMap.kind().label();
        }

        @Override
        public String label() {
            return switch (featureMap) {
                case Taylor t -> "taylor f=" + t.inputDim();
                case Performer p -> "performer d=" + p.inputDim() + " M=" + p.features();
                default -> family() + " d=" + featureMap.inputDim();
            };
        }

        @Override
        public int keyDim() {
            return featureMap.inputDim();
        }

        @Override
        public Optional<FeatureMap> linearMap() {
            return Optional.of(featureMap);
        }

        @Override
        public Operation operation() {
            return Operation.LINEAR_ATTENTION;
        }

        @Override
        public RecurrentState newState(Backend backend, int batch, int seqLen, int valueDim, DType dtype) {
            return LinearAttentionState.zeros(backend, batch, 1, featureMap.outputDim(), valueDim, dtype);
        }

        @Override
        public Tensor prefill(Backend backend, Tensor q, Tensor k, Tensor v, RecurrentState state) {
            return backend.linearAttentionPrefill(LinearAttentionSpec.of(featureMap), q, k, v,
                    (LinearAttentionState) state);
        }
    }

    /** Sliding-window softmax attention: a ring of {@code lookback + 1} keys and values. */
    record Window(int keyDim, int lookbackTokens) implements RecallMixer {
        /** Validates both sizes. */
        public Window {
            requirePositive("keyDim", keyDim);
            if (lookbackTokens < 0 || lookbackTokens >= 1 << 24) {
                throw new IllegalArgumentException("lookbackTokens: expected 0..16777215, got " + lookbackTokens);
            }
        }

        @Override
        public String family() {
            return "window";
        }

        @Override
        public String label() {
            return "window w=" + lookbackTokens;
        }

        @Override
        public Optional<Integer> lookback() {
            return Optional.of(lookbackTokens);
        }

        @Override
        public Operation operation() {
            return Operation.SLIDING_WINDOW;
        }

        @Override
        public RecurrentState newState(Backend backend, int batch, int seqLen, int valueDim, DType dtype) {
            return WindowState.empty(backend, batch, 1, keyDim, valueDim, lookbackTokens, dtype);
        }

        @Override
        public Tensor prefill(Backend backend, Tensor q, Tensor k, Tensor v, RecurrentState state) {
            return backend.slidingWindowPrefill(SlidingWindowSpec.of(lookbackTokens), q, k, v, (WindowState) state);
        }
    }

    /** Full causal softmax attention, the ceiling: its KV cache holds every token of the sequence. */
    record FullAttention(int keyDim) implements RecallMixer {
        /** Validates {@code keyDim}. */
        public FullAttention {
            requirePositive("keyDim", keyDim);
        }

        @Override
        public String family() {
            return "attention";
        }

        @Override
        public String label() {
            return "attention d=" + keyDim;
        }

        @Override
        public Operation operation() {
            return Operation.SLIDING_WINDOW;
        }

        @Override
        public RecurrentState newState(Backend backend, int batch, int seqLen, int valueDim, DType dtype) {
            return WindowState.growing(backend, batch, 1, keyDim, valueDim, seqLen, dtype);
        }

        @Override
        public Tensor prefill(Backend backend, Tensor q, Tensor k, Tensor v, RecurrentState state) {
            return backend.slidingWindowPrefill(SlidingWindowSpec.unbounded(), q, k, v, (WindowState) state);
        }
    }

    /**
     * The fused layer: exact softmax over the last {@code lookback + 1} tokens, linear attention with
     * {@code featureMap} over the older ones, one normaliser.
     */
    record Fused(FeatureMap featureMap, int lookbackTokens) implements RecallMixer {
        /** Validates by building the spec. */
        public Fused {
            BasedAttentionSpec.of(featureMap, lookbackTokens);
        }

        @Override
        public String family() {
            return "fused";
        }

        @Override
        public String label() {
            return "fused " + new Linear(featureMap).label() + " w=" + lookbackTokens;
        }

        @Override
        public int keyDim() {
            return featureMap.inputDim();
        }

        @Override
        public Optional<Integer> lookback() {
            return Optional.of(lookbackTokens);
        }

        @Override
        public Optional<FeatureMap> linearMap() {
            return Optional.of(featureMap);
        }

        @Override
        public Operation operation() {
            return Operation.BASED_ATTENTION;
        }

        @Override
        public RecurrentState newState(Backend backend, int batch, int seqLen, int valueDim, DType dtype) {
            return BasedAttentionState.empty(backend, batch, 1, featureMap.inputDim(), featureMap.outputDim(),
                    valueDim, lookbackTokens, dtype);
        }

        @Override
        public Tensor prefill(Backend backend, Tensor q, Tensor k, Tensor v, RecurrentState state) {
            return backend.basedAttentionPrefill(BasedAttentionSpec.of(featureMap, lookbackTokens), q, k, v,
                    (BasedAttentionState) state);
        }
    }

    private static void requirePositive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + value);
        }
    }
}

package dev.based4j.attention;

import dev.based4j.featuremap.FeatureMap;
import java.util.Objects;
import java.util.OptionalDouble;

/**
 * The fused linear-plus-window layer ({@code sdk-conventions.md}): exact softmax over the {@code lookback + 1}
 * most recent keys, linear attention with {@code featureMap} over the keys that have left the window, one
 * shared normaliser:
 *
 * <pre>
 * y_n = (Σ_near exp(s) v_m + Σ_far (φ(q_n)·φ(k_m)) v_m) / (Σ_near exp(s) + Σ_far φ(q_n)·φ(k_m) + eps)
 * </pre>
 *
 * with {@code s = scale·q_n·k_m}, {@code near = n-lookback..n}, {@code far = 0..n-lookback-1}.
 *
 * @param featureMap φ of the far part (Taylor in BASED); must have a decode form
 * @param lookback previous tokens of the exact window, 0..1,048,576
 * @param scale softmax scale; empty means {@code 1/√f}
 * @param eps normaliser eps (1e-12)
 */
public record BasedAttentionSpec(FeatureMap featureMap, int lookback, OptionalDouble scale, double eps) {
    /** Validates every field. */
    public BasedAttentionSpec {
        Objects.requireNonNull(featureMap, "featureMap: expected a feature map, got null");
        if (lookback < 0 || lookback > 1 << 20) {
            throw new IllegalArgumentException("lookback: expected 0..1048576, got " + lookback);
        }
        if (scale == null) {
            throw new IllegalArgumentException("scale: expected a value or OptionalDouble.empty(), got null");
        }
        if (scale.isPresent() && !(scale.getAsDouble() > 0 && Double.isFinite(scale.getAsDouble()))) {
            throw new IllegalArgumentException("scale: expected a finite value > 0, got " + scale.getAsDouble());
        }
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("eps: expected a finite value >= 0, got " + eps);
        }
        if (featureMap.signedDotProduct()) {
            throw new IllegalArgumentException("featureMap: " + featureMap.kind().label()
                    + " can make the shared normaliser vanish; the fused layer needs a positive map such as taylor");
        }
        if (!featureMap.hasDecodeForm()) {
            throw new IllegalArgumentException("featureMap: " + featureMap.kind().label()
                    + " has no decode form; the fused layer moves keys into the state one by one");
        }
    }

    /** Scale {@code 1/√f}, eps 1e-12. */
    public static BasedAttentionSpec of(FeatureMap featureMap, int lookback) {
        return new BasedAttentionSpec(featureMap, lookback, OptionalDouble.empty(), LinearAttentionSpec.DEFAULT_EPS);
    }

    /** @return the softmax scale */
    public double effectiveScale() {
        return scale.orElse(1.0 / Math.sqrt(featureMap.inputDim()));
    }

    /** @return the linear-attention spec of the far part */
    public LinearAttentionSpec linearPart() {
        return new LinearAttentionSpec(featureMap, eps, PrefillAlgorithm.AUTO, LinearAttentionSpec.DEFAULT_CHUNK, false);
    }

    /** @return the window spec of the near part */
    public SlidingWindowSpec windowPart() {
        return new SlidingWindowSpec(lookback, OptionalDouble.of(effectiveScale()));
    }
}

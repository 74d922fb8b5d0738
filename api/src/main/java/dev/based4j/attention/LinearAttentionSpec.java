package dev.based4j.attention;

import dev.based4j.featuremap.FeatureMap;
import java.util.Objects;

/**
 * Causal linear attention: {@code y_n = Σ_{m≤n} (φ(q_n)·φ(k_m)) v_m / (Σ_{m≤n} φ(q_n)·φ(k_m) + eps)}
 * ({@code based-math.md} b).
 *
 * @param featureMap φ; its {@code inputDim} is the q/k head dimension f
 * @param eps added to the normaliser after the dot product (1e-12 as in the reference code)
 * @param algorithm how prefill is evaluated
 * @param chunkSize tokens per chunk for {@link PrefillAlgorithm#CHUNKED}, 1..4096
 * @param allowSignedFeatures opt-in for maps whose dot product can vanish or go negative (Identity, AllPoly)
 */
public record LinearAttentionSpec(
        FeatureMap featureMap, double eps, PrefillAlgorithm algorithm, int chunkSize, boolean allowSignedFeatures) {

    /** The eps of the reference code. */
    public static final double DEFAULT_EPS = 1e-12;
    /** Default chunk length of the chunked prefill. */
    public static final int DEFAULT_CHUNK = 64;

    /** Validates every field. */
    public LinearAttentionSpec {
        Objects.requireNonNull(featureMap, "featureMap: expected a feature map, got null");
        Objects.requireNonNull(algorithm, "algorithm: expected a PrefillAlgorithm, got null");
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("eps: expected a finite value >= 0, got " + eps);
        }
        if (chunkSize < 1 || chunkSize > 4096) {
            throw new IllegalArgumentException("chunkSize: expected 1..4096, got " + chunkSize);
        }
        if (featureMap.signedDotProduct() && !allowSignedFeatures) {
            throw new IllegalArgumentException("featureMap: " + featureMap.kind().label()
                    + " can make the normaliser zero or negative; pass allowSignedFeatures=true to use it anyway");
        }
    }

    /** The reference configuration: eps 1e-12, automatic prefill, chunk 64. */
    public static LinearAttentionSpec of(FeatureMap featureMap) {
        return new LinearAttentionSpec(featureMap, DEFAULT_EPS, PrefillAlgorithm.AUTO, DEFAULT_CHUNK, false);
    }

    /** @return a copy with another prefill algorithm */
    public LinearAttentionSpec withAlgorithm(PrefillAlgorithm newAlgorithm) {
        return new LinearAttentionSpec(featureMap, eps, newAlgorithm, chunkSize, allowSignedFeatures);
    }

    /** @return a copy with another chunk size */
    public LinearAttentionSpec withChunkSize(int newChunkSize) {
        return new LinearAttentionSpec(featureMap, eps, algorithm, newChunkSize, allowSignedFeatures);
    }

    /** @return a copy that accepts signed feature maps (Identity, AllPoly) */
    public LinearAttentionSpec allowingSignedFeatures() {
        return new LinearAttentionSpec(featureMap, eps, algorithm, chunkSize, true);
    }

    /** @return q/k head dimension f */
    public int featureDim() {
        return featureMap.inputDim();
    }

    /** @return the state's feature dimension D = φ's output dimension */
    public int expandedDim() {
        return featureMap.outputDim();
    }
}

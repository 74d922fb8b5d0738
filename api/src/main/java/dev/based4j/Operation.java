package dev.based4j;

/** The kernel families of the surface, as declared in {@link Capabilities}. */
public enum Operation {
    /** {@link Backend#featureMap}. */
    FEATURE_MAP,
    /** {@link Backend#linearAttentionPrefill} and decode. */
    LINEAR_ATTENTION,
    /** {@link Backend#slidingWindowPrefill} and decode. */
    SLIDING_WINDOW,
    /** {@link Backend#basedAttentionPrefill} and decode, the fused layer. */
    BASED_ATTENTION,
    /** {@link Backend#causalConv}. */
    CAUSAL_CONV,
    /** linear, rmsNorm, silu, gelu, add, multiply, embedding, rotary, splitHeads, mergeHeads, slice. */
    PLUMBING
}

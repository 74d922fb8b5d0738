package dev.based4j.conformance;

/** The groups of conformance cases; the JUnit kit has one {@code @Nested} class per family. */
public enum KernelFamily {
    /** {@code Backend.featureMap} for every feature map. */
    FEATURE_MAP("feature maps"),
    /** Linear-attention prefill (every algorithm and feature map) and decode. */
    LINEAR_ATTENTION("linear attention"),
    /** Sliding-window softmax attention with its ring buffer. */
    SLIDING_WINDOW("sliding window"),
    /** The fused linear-plus-window layer. */
    BASED_ATTENTION("fused attention"),
    /** The causal depthwise convolution of BaseConv. */
    CAUSAL_CONV("causal convolution"),
    /** linear, rmsNorm, silu, gelu, add, multiply, embedding, rotary, splitHeads, mergeHeads, slice. */
    PLUMBING("plumbing"),
    /** The layers of {@code dev.based4j.layer}, their blocks and a small stack. */
    LAYERS("layers"),
    /** Save a state to the byte format, load it (also on another backend instance), resume. */
    STATE_FORMAT("state save and resume"),
    /** Wrong shapes, closed tensors, tensors of another backend and similar are refused with clear messages. */
    BAD_INPUT("bad input"),
    /** Golden vectors computed from the original PyTorch code. */
    GOLDEN("golden vectors");

    private final String label;

    KernelFamily(String label) {
        this.label = label;
    }

    /** @return a lower-case name for tables and messages */
    public String label() {
        return label;
    }
}

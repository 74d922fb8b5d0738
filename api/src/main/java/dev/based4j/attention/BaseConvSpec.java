package dev.based4j.attention;

/**
 * BaseConv, the gated short convolution of BASED ({@code based-math.md} d):
 * {@code u = in_proj(x)} (width {@code 2·innerDim}), {@code y = out_proj(silu(conv(u1)) ⊙ u2)} with a causal
 * depthwise convolution of {@code kernelSize} taps over the first half.
 *
 * @param modelDim D
 * @param innerDim width of each half, {@code 2D} in the released models
 * @param kernelSize taps of the causal depthwise convolution, 3 in the released models
 */
public record BaseConvSpec(int modelDim, int innerDim, int kernelSize) {
    /** Validates every field. */
    public BaseConvSpec {
        if (modelDim < 1) {
            throw new IllegalArgumentException("modelDim: expected >= 1, got " + modelDim);
        }
        if (innerDim < 1) {
            throw new IllegalArgumentException("innerDim: expected >= 1, got " + innerDim);
        }
        if (kernelSize < 1 || kernelSize > 64) {
            throw new IllegalArgumentException("kernelSize: expected 1..64, got " + kernelSize);
        }
    }

    /** The released layout: inner width 2D, kernel 3. */
    public static BaseConvSpec of(int modelDim) {
        if (modelDim < 1) {
            throw new IllegalArgumentException("modelDim: expected >= 1, got " + modelDim);
        }
        return new BaseConvSpec(modelDim, 2 * modelDim, 3);
    }
}

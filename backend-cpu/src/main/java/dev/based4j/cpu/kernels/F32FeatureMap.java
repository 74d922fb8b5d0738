package dev.based4j.cpu.kernels;

import dev.based4j.featuremap.AllPoly;
import dev.based4j.featuremap.CosFormer;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Identity;
import dev.based4j.featuremap.Performer;
import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Relu;
import dev.based4j.featuremap.Square;
import dev.based4j.featuremap.Taylor;

/**
 * A feature map φ in float32, built once per kernel call from its float64 definition (weights rounded to
 * float). The formulas are those of the records in {@code dev.based4j.featuremap} ({@code FORMAT.md}, op
 * {@code feature_map}). Maps whose dot product has a closed form also evaluate {@code φ(q)·φ(k)} straight from
 * the raw vectors, which the quadratic attention forms use.
 */
abstract sealed class F32FeatureMap {
    final int inputDim;
    final int outputDim;

    private F32FeatureMap(FeatureMap map) {
        this(map.inputDim(), map.outputDim());
    }

    private F32FeatureMap(int inputDim, int outputDim) {
        this.inputDim = inputDim;
        this.outputDim = outputDim;
    }

    /** @return the float32 form of {@code map} */
    static F32FeatureMap of(FeatureMap map, F32Kernels kernels) {
        return switch (map) {
            case Taylor t -> new TaylorMap(t, kernels);
            case Identity i -> new IdentityMap(i);
            case Relu r -> new ReluMap(r);
            case PosElu p -> new PosEluMap(p);
            case Square s -> new SquareMap(s);
            case CosFormer c -> new CosFormerMap(c);
            case Performer p -> new PerformerMap(p, kernels);
            case AllPoly a -> new AllPolyMap(a, kernels);
        };
    }

    /**
     * Writes φ of the vector at {@code x[xOffset..]} to {@code out[outOffset..]}.
     *
     * @param position token index within the call (CosFormer only)
     * @param length tokens in the call (CosFormer only)
     */
    abstract void apply(float[] x, int xOffset, int position, int length, float[] out, int outOffset);

    /**
     * φ of a query, for a map whose queries and keys take different forms with the same dot product
     * ({@link SymmetricTaylorMap}); every other map applies {@link #apply}.
     */
    void applyQuery(float[] x, int xOffset, int position, int length, float[] out, int outOffset) {
        apply(x, xOffset, position, length, out, outOffset);
    }

    /** {@link #applyQuery} of {@code rows} consecutive vectors, the first at token index {@code position}. */
    final void applyQueryRows(float[] x, int xOffset, int rows, int position, int length, float[] out,
            int outOffset) {
        for (int r = 0; r < rows; r++) {
            applyQuery(x, xOffset + r * inputDim, position + r, length, out, outOffset + r * outputDim);
        }
    }

    /**
     * @return the same map in a smaller internal layout with the same dot products, in which the kernels keep a
     *     state that {@link #fold} and {@link #unfold} convert; or this map when there is none
     */
    F32FeatureMap compact() {
        return this;
    }

    /**
     * φ of {@code count} tokens given as columns: token {@code t} is column {@code col0 + t} of {@code xt}
     * ({@code inputDim × ldx}, row-major) and its features go to column {@code t} of {@code out}
     * ({@code outputDim × ldo} from {@code outOffset}): the layout in which a chunk's keys enter the state as one
     * matrix product. Key form, as {@link #apply}.
     */
    void applyColumns(float[] xt, int ldx, int col0, int count, int position, int length, float[] out, int outOffset,
            int ldo) {
        float[] in = Scratch.floats(16, inputDim);
        float[] features = Scratch.floats(17, outputDim);
        for (int t = 0; t < count; t++) {
            for (int i = 0; i < inputDim; i++) {
                in[i] = xt[i * ldx + col0 + t];
            }
            apply(in, 0, position + t, length, features, 0);
            for (int e = 0; e < outputDim; e++) {
                out[outOffset + e * ldo + t] = features[e];
            }
        }
    }

    /**
     * A state in this map's features as tensors hold it ({@code s [dv × outputDim]}, value dimension first, and
     * {@code z [outputDim]}) in the kernels' working layout: {@code st [outputDim × dv]}, feature dimension first,
     * so that read-outs and updates are plain matrix products, and {@code zw [outputDim]}.
     */
    void stateIn(float[] s, float[] z, int dv, float[] st, float[] zw) {
        int d = outputDim;
        for (int c = 0; c < dv; c++) {
            for (int e = 0; e < d; e++) {
                st[e * dv + c] = s[c * d + e];
            }
        }
        System.arraycopy(z, 0, zw, 0, d);
    }

    /** The inverse of {@link #stateIn}: the working state back into the arrays it was read from. */
    void stateOut(float[] st, float[] zw, int dv, float[] s, float[] z) {
        int d = outputDim;
        for (int c = 0; c < dv; c++) {
            for (int e = 0; e < d; e++) {
                s[c * d + e] = st[e * dv + c];
            }
        }
        System.arraycopy(zw, 0, z, 0, d);
    }

    /** φ of {@code rows} consecutive vectors, the first at token index {@code position}. */
    final void applyRows(float[] x, int xOffset, int rows, int position, int length, float[] out, int outOffset) {
        for (int r = 0; r < rows; r++) {
            apply(x, xOffset + r * inputDim, position + r, length, out, outOffset + r * outputDim);
        }
    }

    /** @return whether {@link #kernelFromDots} applies: {@code φ(q)·φ(k)} is a function of {@code q·k} */
    boolean hasDotKernel() {
        return false;
    }

    /**
     * Turns raw dot products {@code q·k} into {@code φ(q)·φ(k)} in place, for maps where {@link #hasDotKernel}.
     */
    void kernelFromDots(float[] dots, int offset, int n) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no closed-form dot product");
    }

    /** Taylor: {@code φ(q)·φ(k) = 1 + s + s²/2} with {@code s = q·k/√f} ({@code based-math.md} a). */
    static final class TaylorMap extends F32FeatureMap {
        private final F32Kernels kernels;
        private final float linearScale;
        private final float quadraticScale;
        private final float dotScale;

        TaylorMap(Taylor map, F32Kernels kernels) {
            super(map);
            this.kernels = kernels;
            int f = map.inputDim();
            this.linearScale = (float) (1.0 / Math.sqrt(Math.sqrt(f)));
            this.quadraticScale = (float) (1.0 / (Math.sqrt(2.0) * Math.sqrt(f)));
            this.dotScale = (float) (1.0 / Math.sqrt(f));
        }

        @Override
        void apply(float[] x, int xOffset, int position, int length, float[] out, int outOffset) {
            kernels.taylor(x, xOffset, inputDim, linearScale, quadraticScale, out, outOffset);
        }

        @Override
        boolean hasDotKernel() {
            return true;
        }

        @Override
        void kernelFromDots(float[] dots, int offset, int n) {
            for (int i = 0; i < n; i++) {
                float s = dots[offset + i] * dotScale;
                dots[offset + i] = 1f + s + 0.5f * s * s;
            }
        }

        @Override
        F32FeatureMap compact() {
            return new SymmetricTaylorMap(this);
        }
    }

    /**
     * The Taylor map on the upper triangle of its quadratic block: {@code 1 + f + f(f+1)/2} features (153 for
     * {@code f = 16}) in place of {@code 1 + f + f²} (273), the internal layout of {@code based-math.md} a. The
     * quadratic block of φ is symmetric, so the state {@code Σ v⊗φ(k)} is too, and each pair {@code (i, j)} with
     * {@code i < j} can be kept once: keys give the canonical values ({@code (x_i·quadraticScale)·x_j}, the same
     * floats as the full map's upper triangle), queries give twice them for {@code i < j}, so {@code φ_q·φ_k} and
     * every read-out of the state are unchanged while 44 % less state is read, updated and multiplied. The state
     * entry of a pair is the mean of the canonical pair, not a rescaled one: the state layout is
     * {@link TaylorPacking}'s.
     */
    static final class SymmetricTaylorMap extends F32FeatureMap {
        private final TaylorMap full;

        SymmetricTaylorMap(TaylorMap full) {
            super(full.inputDim, TaylorPacking.compactDim(full.inputDim));
            this.full = full;
        }

        @Override
        void apply(float[] x, int xOffset, int position, int length, float[] out, int outOffset) {
            quadratic(x, xOffset, out, outOffset, 1f);
        }

        @Override
        void applyQuery(float[] x, int xOffset, int position, int length, float[] out, int outOffset) {
            quadratic(x, xOffset, out, outOffset, 2f);
        }

        /** {@code [1, x·linearScale, (x_i·quadraticScale)·x_j for i ≤ j]}, off-diagonal terms times {@code twice}. */
        private void quadratic(float[] x, int xOffset, float[] out, int outOffset, float twice) {
            int f = inputDim;
            out[outOffset] = 1f;
            for (int i = 0; i < f; i++) {
                out[outOffset + 1 + i] = x[xOffset + i] * full.linearScale;
            }
            int o = outOffset + 1 + f;
            for (int i = 0; i < f; i++) {
                float xi = x[xOffset + i] * full.quadraticScale;
                out[o++] = xi * x[xOffset + i];
                float xiTwice = xi * twice;
                for (int j = i + 1; j < f; j++) {
                    out[o++] = xiTwice * x[xOffset + j];
                }
            }
        }

        @Override
        boolean hasDotKernel() {
            return true;
        }

        @Override
        void kernelFromDots(float[] dots, int offset, int n) {
            full.kernelFromDots(dots, offset, n);
        }

        @Override
        void applyColumns(float[] xt, int ldx, int col0, int count, int position, int length, float[] out,
                int outOffset, int ldo) {
            // row by row over the tokens: each feature row is one vector operation, rounded as the full map rounds
            int f = inputDim;
            F32Kernels k = full.kernels;
            java.util.Arrays.fill(out, outOffset, outOffset + count, 1f);
            for (int i = 0; i < f; i++) {
                k.scale(full.linearScale, xt, i * ldx + col0, out, outOffset + (1 + i) * ldo, count);
            }
            float[] scaled = Scratch.floats(18, count);
            int row = 1 + f;
            for (int i = 0; i < f; i++) {
                k.scale(full.quadraticScale, xt, i * ldx + col0, scaled, 0, count);
                for (int j = i; j < f; j++) {
                    k.multiply(scaled, 0, xt, j * ldx + col0, out, outOffset + row * ldo, count);
                    row++;
                }
            }
        }
    }

    /** Identity: φ(x) = x, so {@code φ(q)·φ(k) = q·k}. */
    static final class IdentityMap extends F32FeatureMap {
        IdentityMap(Identity map) {
            super(map);
        }

        @Override
        void apply(float[] x, int xOffset, int position, int length, float[] out, int outOffset) {
            System.arraycopy(x, xOffset, out, outOffset, inputDim);
        }

        @Override
        boolean hasDotKernel() {
            return true;
        }

        @Override
        void kernelFromDots(float[] dots, int offset, int n) {
            // q·k is already φ(q)·φ(k)
        }
    }

    /** ReLU with a floor: {@code max(max(x, 0), eps)}. */
    static final class ReluMap extends F32FeatureMap {
        private final float floor;

        ReluMap(Relu map) {
            super(map);
            this.floor = (float) map.eps();
        }

        @Override
        void apply(float[] x, int xOffset, int position, int length, float[] out, int outOffset) {
            for (int i = 0; i < inputDim; i++) {
                out[outOffset + i] = Math.max(Math.max(x[xOffset + i], 0f), floor);
            }
        }
    }

    /** {@code elu(x) + 1}. */
    static final class PosEluMap extends F32FeatureMap {
        PosEluMap(PosElu map) {
            super(map);
        }

        @Override
        void apply(float[] x, int xOffset, int position, int length, float[] out, int outOffset) {
            for (int i = 0; i < inputDim; i++) {
                float v = x[xOffset + i];
                out[outOffset + i] = v > 0f ? v + 1f : (float) Math.exp(v);
            }
        }
    }

    /** {@code x²}. */
    static final class SquareMap extends F32FeatureMap {
        SquareMap(Square map) {
            super(map);
        }

        @Override
        void apply(float[] x, int xOffset, int position, int length, float[] out, int outOffset) {
            for (int i = 0; i < inputDim; i++) {
                float v = x[xOffset + i];
                out[outOffset + i] = v * v;
            }
        }
    }

    /** CosFormer: {@code [relu(x)·sin θ, relu(x)·cos θ]} with {@code θ = π(t+1)/(2L)}. */
    static final class CosFormerMap extends F32FeatureMap {
        CosFormerMap(CosFormer map) {
            super(map);
        }

        @Override
        void apply(float[] x, int xOffset, int position, int length, float[] out, int outOffset) {
            double theta = Math.PI * (position + 1) / (2.0 * length);
            float s = (float) Math.sin(theta);
            float c = (float) Math.cos(theta);
            for (int i = 0; i < inputDim; i++) {
                float a = Math.max(x[xOffset + i], 0f);
                out[outOffset + i] = a * s;
                out[outOffset + inputDim + i] = a * c;
            }
        }
    }

    /** Performer: {@code exp(W x̃ − ½|x̃|²)/√M} with {@code x̃ = x/d^¼}. */
    static final class PerformerMap extends F32FeatureMap {
        private final F32Kernels kernels;
        private final float[] projection;
        private final float inputScale;
        private final double outputScale;

        PerformerMap(Performer map, F32Kernels kernels) {
            super(map);
            this.kernels = kernels;
            double[] w = map.projection();
            this.projection = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                projection[i] = (float) w[i];
            }
            this.inputScale = (float) (1.0 / Math.sqrt(Math.sqrt(inputDim)));
            this.outputScale = 1.0 / Math.sqrt(outputDim);
        }

        @Override
        void apply(float[] x, int xOffset, int position, int length, float[] out, int outOffset) {
            float[] scaled = Scratch.floats(15, inputDim);
            float norm2 = 0;
            for (int i = 0; i < inputDim; i++) {
                float v = x[xOffset + i] * inputScale;
                scaled[i] = v;
                norm2 += v * v;
            }
            kernels.matmulTransposed(scaled, 0, inputDim, projection, 0, inputDim, out, outOffset, outputDim, 1,
                    inputDim, outputDim, false);
            float half = 0.5f * norm2;
            for (int r = 0; r < outputDim; r++) {
                out[outOffset + r] = (float) (Math.exp(out[outOffset + r] - half) * outputScale);
            }
        }
    }

    /** AllPoly: {@code ((P1 x)² + P2 (x²))/√2}. */
    static final class AllPolyMap extends F32FeatureMap {
        private final F32Kernels kernels;
        private final float[] p1;
        private final float[] p2;
        private static final float INV_SQRT2 = (float) (1.0 / Math.sqrt(2.0));

        AllPolyMap(AllPoly map, F32Kernels kernels) {
            super(map);
            this.kernels = kernels;
            this.p1 = toFloat(map.p1());
            this.p2 = toFloat(map.p2());
        }

        private static float[] toFloat(double[] m) {
            float[] f = new float[m.length];
            for (int i = 0; i < m.length; i++) {
                f[i] = (float) m[i];
            }
            return f;
        }

        @Override
        void apply(float[] x, int xOffset, int position, int length, float[] out, int outOffset) {
            int d = inputDim;
            float[] work = Scratch.floats(15, 2 * d);
            for (int i = 0; i < d; i++) {
                float v = x[xOffset + i];
                work[d + i] = v * v;
            }
            kernels.matmulTransposed(x, xOffset, d, p1, 0, d, work, 0, d, 1, d, d, false);
            kernels.matmulTransposed(work, d, d, p2, 0, d, out, outOffset, d, 1, d, d, false);
            for (int o = 0; o < d; o++) {
                float a = work[o];
                out[outOffset + o] = (a * a + out[outOffset + o]) * INV_SQRT2;
            }
        }
    }
}

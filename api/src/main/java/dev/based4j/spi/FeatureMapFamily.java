package dev.based4j.spi;

import dev.based4j.featuremap.FeatureMap;
import dev.based4j.tensor.DType;

/**
 * Kernel family: feature maps φ on their own ({@link dev.based4j.Backend#featureMap}). Supplied to
 * {@link Engine.Builder#featureMaps} with the maps it accepts.
 *
 * @param <B> the backend's type of memory handle
 */
@FunctionalInterface
public interface FeatureMapFamily<B> {
    /** Applies {@code call.map()} to every row of {@code x}, writing {@code out}. */
    void apply(Call<B> call);

    /**
     * One validated call: {@code x [rows, seq, d]} (every dimension before {@code seq} folded into {@code rows}),
     * {@code out [rows, seq, map.outputDim()]}, both of type {@code dtype}, row-major; {@code d = map.inputDim()}.
     * {@code seq} matters to maps whose features depend on the length of the call (CosFormer).
     */
    record Call<B>(FeatureMap map, DType dtype, long rows, int seq, B x, B out) {
        /** @return rows of {@code d} inputs, {@code rows · seq} */
        public long vectors() {
            return rows * seq;
        }
    }
}

package dev.based4j.attention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.featuremap.CosFormer;
import dev.based4j.featuremap.Identity;
import dev.based4j.featuremap.Taylor;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class SpecsTest {
    @Test
    void windowSizeOfAReleasedConfigMapsToHalfOfItAsLookback() {
        assertThat(SlidingWindowSpec.fromWindowSize(256).lookback()).isEqualTo(128);
        assertThat(SlidingWindowSpec.of(64).scaleFor(16)).isEqualTo(0.25);
    }

    @Test
    void refusesNegativeLookbackAndNaNScale() {
        assertThatThrownBy(() -> SlidingWindowSpec.of(-1))
                .hasMessage("lookback: expected >= 0 (previous tokens a query sees), got -1");
        assertThatThrownBy(() -> new SlidingWindowSpec(4, OptionalDouble.of(Double.NaN)))
                .hasMessage("scale: expected a finite value > 0, got NaN");
        assertThatThrownBy(() -> new BasedAttentionSpec(new Taylor(4), 3, OptionalDouble.empty(), Double.NaN))
                .hasMessage("eps: expected a finite value >= 0, got NaN");
    }

    @Test
    void signedFeatureMapsNeedAnExplicitOptIn() {
        assertThatThrownBy(() -> LinearAttentionSpec.of(new Identity(8)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("allowSignedFeatures=true");
        assertThat(new LinearAttentionSpec(new Identity(8), 1e-12, PrefillAlgorithm.AUTO, 64, true).allowSignedFeatures())
                .isTrue();
    }

    @Test
    void theFusedLayerRefusesMapsWithoutADecodeForm() {
        assertThatThrownBy(() -> BasedAttentionSpec.of(new CosFormer(8), 4)).hasMessageContaining("no decode form");
    }

    @Test
    void linearSpecDerivesItsDimensionsFromTheMap() {
        LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(16));
        assertThat(spec.featureDim()).isEqualTo(16);
        assertThat(spec.expandedDim()).isEqualTo(273);
        assertThatThrownBy(() -> spec.withChunkSize(0)).hasMessage("chunkSize: expected 1..4096, got 0");
    }
}

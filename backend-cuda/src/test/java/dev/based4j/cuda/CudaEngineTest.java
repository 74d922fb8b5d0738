package dev.based4j.cuda;

import static dev.based4j.cuda.CudaTestSupport.download;
import static dev.based4j.cuda.CudaTestSupport.random;
import static dev.based4j.cuda.CudaTestSupport.upload;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.Capabilities;
import dev.based4j.Operation;
import dev.based4j.attention.LinearAttentionSpec;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.Taylor;
import dev.based4j.spi.Engine;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.EnumSet;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the CUDA engine declares and supplies beside its kernels: capabilities, device details, zero-filled memory,
 * synchronisation and the device-side state backups. Skipped with the probe's reason where no CUDA driver and device
 * are usable.
 */
class CudaEngineTest {
    private Backend backend;

    @BeforeEach
    void open() {
        backend = CudaTestSupport.backendOrSkip();
    }

    @Test
    void computesEveryOperationWithEveryFeatureMapInBothPrecisions() {
        Capabilities c = backend.capabilities();
        assertThat(c.precisions()).containsExactlyInAnyOrder(DType.F32, DType.F64);
        assertThat(c.operations()).containsExactlyInAnyOrderElementsOf(EnumSet.allOf(Operation.class));
        for (Operation op : EnumSet.of(Operation.FEATURE_MAP, Operation.LINEAR_ATTENTION, Operation.BASED_ATTENTION)) {
            assertThat(c.featureMapsOf(op)).as("feature maps of %s", op)
                    .containsExactlyInAnyOrderElementsOf(EnumSet.allOf(FeatureMap.Kind.class));
        }
        assertThat(c.weightTypes()).as("weights in the compute types, bf16, f16 and int8")
                .containsExactlyInAnyOrder(DType.F32, DType.F64, DType.BF16, DType.F16, DType.I8);
        assertThat(c.copiesRows()).isTrue();
        assertThat(c.runsModels()).isTrue();
    }

    @Test
    void unwrapGivesTheDevicesDetails() {
        CudaEngine.CudaInfo info = backend.unwrap(CudaEngine.CudaInfo.class).orElseThrow();
        assertThat(backend.device()).startsWith(info.deviceName() + " #" + info.ordinal());
        assertThat(info.computeCapability()).isGreaterThanOrEqualTo(50);
        assertThat(info.multiprocessors()).isPositive();
        assertThat(info.totalMemoryBytes()).isPositive();
        assertThat(info.driverVersion()).isGreaterThanOrEqualTo(11000);
        assertThat(info.kernels()).contains("compute_");
        assertThat(backend.name()).isEqualTo("cuda");
    }

    @Test
    void newTensorsAreZeroFilled() {
        for (DType t : DType.values()) {
            if (!backend.capabilities().precisions().contains(t)) {
                continue;
            }
            try (Tensor x = backend.allocate(Shape.of(3, 37), t)) {
                assertThat(download(backend, x)).as("%s tensor", t).containsOnly(0.0);
            }
        }
    }

    @Test
    void synchronizeWaitsForEnqueuedWorkAndReportsNoError() {
        Random r = new Random(17);
        double[] x = random(r, 64, 1, DType.F32);
        try (Tensor xt = upload(backend, x, DType.F32, 8, 8); Tensor y = backend.silu(xt)) {
            backend.synchronize();
            assertThat(download(backend, y)[5]).isCloseTo(x[5] / (1 + Math.exp(-x[5])), Offset.offset(1e-5));
        }
    }

    @Test
    void aStateKernelThatFailsAfterWritingLeavesTheStateAsItWas() {
        Random r = new Random(23);
        int b = 1;
        int h = 2;
        int f = 4;
        int dv = 8;
        LinearAttentionSpec spec = LinearAttentionSpec.of(new Taylor(f));
        int d = spec.expandedDim();
        AtomicBoolean armed = new AtomicBoolean();
        try (Backend failing = failingAfterCompute(Engine.behind(backend), armed);
                LinearAttentionState state = LinearAttentionState.zeros(failing, b, h, d, dv, DType.F64);
                Tensor q = upload(failing, random(r, b * h * 5 * f, 1, DType.F64), DType.F64, b, h, 5, f);
                Tensor k = upload(failing, random(r, b * h * 5 * f, 1, DType.F64), DType.F64, b, h, 5, f);
                Tensor v = upload(failing, random(r, b * h * 5 * dv, 1, DType.F64), DType.F64, b, h, 5, dv)) {
            failing.linearAttentionPrefill(spec, q, k, v, state).close();
            double[] kvBefore = download(failing, state.kv());
            double[] zBefore = download(failing, state.z());
            assertThat(kvBefore).as("kv after a first prefill").isNotEqualTo(new double[kvBefore.length]);
            armed.set(true);
            assertThatThrownBy(() -> failing.linearAttentionPrefill(spec, q, k, v, state).close())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("after computing");
            assertThat(download(failing, state.kv())).as("kv after the failed kernel").containsExactly(kvBefore);
            assertThat(download(failing, state.z())).as("z after the failed kernel").containsExactly(zBefore);
            assertThat(state.position()).as("position after the failed kernel").isEqualTo(5);
        }
    }

    /**
     * The engine with linear attention that fails after it has written the state while {@code armed}; closing it
     * leaves the device open.
     */
    private static <B> Backend failingAfterCompute(Engine<B> engine, AtomicBoolean armed) {
        LinearAttentionFamily<B> real = engine.linearAttention().orElseThrow();
        LinearAttentionFamily<B> failing = new LinearAttentionFamily<>() {
            @Override
            public void prefill(LinearAttentionFamily.Call<B> call) {
                real.prefill(call);
                if (armed.get()) {
                    throw new IllegalStateException("test fault after computing");
                }
            }

            @Override
            public void decode(LinearAttentionFamily.Call<B> call) {
                real.decode(call);
                if (armed.get()) {
                    throw new IllegalStateException("test fault after computing");
                }
            }
        };
        return engine.toBuilder().linearAttention(failing).onClose(null).build().open("cuda-failing");
    }
}

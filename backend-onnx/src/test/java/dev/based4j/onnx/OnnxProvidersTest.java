package dev.based4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import dev.based4j.Availability;
import dev.based4j.Backend;
import dev.based4j.BackendUnavailableException;
import dev.based4j.Backends;
import dev.based4j.Setting;
import dev.based4j.onnx.graph.ElementType;
import dev.based4j.onnx.graph.GraphBuilder;
import dev.based4j.onnx.kernels.SessionCache;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.function.Supplier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** What the two providers report, and that a requested GPU never turns into the CPU. */
class OnnxProvidersTest {
    @Test
    void theCpuProviderIsUsableInBothPrecisions() {
        Availability a = new OnnxBackendProvider().probe();
        assertThat(a.usable()).as("probe: %s", a.reason()).isTrue();
        assertThat(a.precisions()).containsExactlyInAnyOrder(DType.F32, DType.F64);
        assertThat(a.device()).contains("ONNX Runtime", "CPU execution provider");
    }

    @Test
    void bothProvidersAreFoundByServiceLoader() {
        assertThat(Backends.providers()).extracting(p -> p.name()).contains("onnx", "onnx-cuda");
    }

    @Test
    void withoutTheGpuBuildOnnxCudaSaysWhyAndHowToFixIt() {
        assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA),
                "the GPU build of ONNX Runtime is on the class path");
        Availability a = new OnnxCudaBackendProvider().probe();
        assertThat(a.usable()).isFalse();
        assertThat(a.reason()).contains("without the CUDA execution provider");
        assertThat(a.fix()).contains("onnxruntime_gpu");
    }

    @Test
    void askingForOnnxCudaWhereItCannotRunIsAnErrorNotTheCpu() {
        assumeFalse(new OnnxCudaBackendProvider().probe().usable(), "a CUDA device is usable here");
        assertThatThrownBy(() -> {
            try (Backend unused = Backends.select("onnx-cuda")) {
                // never reached
            }
        }).isInstanceOf(BackendUnavailableException.class).hasMessageContaining("onnx-cuda");
    }

    @Test
    void anOnnxRuntimeErrorNamesTheGraphAndTheOp() {
        // Gather with a float index tensor: ONNX Runtime refuses the node when it builds the session
        GraphBuilder g = new GraphBuilder("broken_graph[f32]", ElementType.FLOAT);
        var x = g.input("x", 2);
        g.output(g.op("Gather", x, g.scalar(1.0)), "y");
        try (SessionCache sessions = new SessionCache(OrtEnvironment.getEnvironment(), ExecutionProvider.CPU, 0, 0)) {
            assertThatThrownBy(() -> sessions.compile(g))
                    .isInstanceOf(OnnxKernelException.class)
                    .hasMessageContaining("broken_graph[f32]")
                    .hasMessageContaining("Gather");
        }
    }

    @Test
    void eachProviderListsItsOwnSettingsUnderTheNamesUsersAlreadyHave() {
        assertThat(new OnnxBackendProvider().settings()).extracting(Setting::property, Setting::environment)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("based4j.onnx.threads", "BASED4J_ONNX_THREADS"));
        assertThat(new OnnxCudaBackendProvider().settings()).extracting(Setting::property)
                .containsExactly("based4j.onnx.threads", "based4j.cuda.device");
    }

    @Test
    void unwrapGivesTheExecutionProviderThreadsAndTheSessionsCompiledSoFar() {
        try (Backend backend = Backends.select("onnx");
                Tensor x = backend.upload(HostTensor.of(new double[] {-1.5, 0.25, 2}, Shape.of(3), DType.F32));
                Tensor y = backend.allocate(Shape.of(3), DType.F32)) {
            OnnxEngine.OnnxInfo info = backend.unwrap(OnnxEngine.OnnxInfo.class).orElseThrow();
            assertThat(info.executionProvider()).isEqualTo(ExecutionProvider.CPU);
            assertThat(info.cudaDevice()).isEmpty();
            assertThat(info.intraOpThreads()).isEqualTo(OnnxSettings.threads());
            int before = info.cachedSessions();
            backend.silu(x, y);
            backend.silu(x, y);
            assertThat(info.cachedSessions()).as("one session for silu, compiled once").isEqualTo(before + 1);
        }
    }

    @Test
    void theEngineRefusesThreadsAndDevicesOutsideTheirRange() {
        assertThatThrownBy(() -> OnnxEngine.create(ExecutionProvider.CPU, OnnxSettings.maxThreads() + 1, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threads")
                .hasMessageContaining(String.valueOf(OnnxSettings.maxThreads() + 1));
        assertThatThrownBy(() -> OnnxEngine.create(ExecutionProvider.CUDA, 0, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cudaDevice: expected 0..63, got -1");
    }

    /** Hostile settings: refused with the setting, the value and the range, before anything reaches ONNX Runtime. */
    @Nested
    class Misconfiguration {
        @Test
        void malformedOrOutOfRangeThreadsMakeBothProvidersMisconfigured() {
            String range = "0.." + OnnxSettings.maxThreads();
            for (String value : new String[] {"many", "-1", "100000", "1000", String.valueOf(OnnxSettings.maxThreads() + 1)}) {
                if (value.equals("1000") && OnnxSettings.maxThreads() >= 1000) {
                    continue;
                }
                withProperty("based4j.onnx.threads", value, () -> {
                    for (Availability a : new Availability[] {new OnnxBackendProvider().probe(),
                            new OnnxCudaBackendProvider().probe()}) {
                        assertThat(a.misconfigured()).as("threads %s: %s", value, a.reason()).isTrue();
                        assertThat(a.reason()).contains("based4j.onnx.threads", "BASED4J_ONNX_THREADS", value, range);
                        assertThat(a.fix()).contains("based4j.onnx.threads");
                    }
                    return null;
                });
            }
        }

        @Test
        void aNamedBackendWithABadThreadSettingIsAnErrorNotAnotherBackend() {
            withProperty("based4j.onnx.threads", "100000", () -> {
                assertThatThrownBy(() -> new OnnxBackendProvider().create()).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("100000");
                assertThatThrownBy(() -> {
                    try (Backend unused = Backends.select("onnx")) {
                        // never reached
                    }
                }).isInstanceOf(BackendUnavailableException.class).hasMessageContaining("100000");
                return null;
            });
        }

        @Test
        void theHighestAcceptedThreadCountIsUsable() {
            withProperty("based4j.onnx.threads", String.valueOf(OnnxSettings.maxThreads()), () -> {
                Availability a = new OnnxBackendProvider().probe();
                assertThat(a.usable()).as(a.reason()).isTrue();
                assertThat(a.device()).contains(OnnxSettings.maxThreads() + " intra-op threads");
                return null;
            });
        }

        @Test
        void malformedOrOutOfRangeCudaDevicesMakeOnnxCudaMisconfigured() {
            for (String value : new String[] {"gpu0", "-1", "64", "100000"}) {
                withProperty("based4j.cuda.device", value, () -> {
                    Availability a = new OnnxCudaBackendProvider().probe();
                    assertThat(a.misconfigured()).as("device %s: %s", value, a.reason()).isTrue();
                    assertThat(a.reason()).contains("based4j.cuda.device", value, "0..63");
                    assertThat(a.fix()).contains("based4j.cuda.device");
                    assertThat(new OnnxBackendProvider().probe().usable())
                            .as("the CPU provider does not read the CUDA device").isTrue();
                    return null;
                });
            }
        }

        private static <T> T withProperty(String name, String value, Supplier<T> body) {
            String before = System.getProperty(name);
            System.setProperty(name, value);
            try {
                return body.get();
            } finally {
                if (before == null) {
                    System.clearProperty(name);
                } else {
                    System.setProperty(name, before);
                }
            }
        }
    }
}

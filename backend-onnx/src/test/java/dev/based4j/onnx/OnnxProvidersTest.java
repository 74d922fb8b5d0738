package dev.based4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import dev.based4j.BackendUnavailableException;
import dev.based4j.Backends;
import dev.based4j.Availability;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
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
        dev.based4j.onnx.graph.GraphBuilder g = new dev.based4j.onnx.graph.GraphBuilder("broken_graph[f32]",
                dev.based4j.onnx.graph.ElementType.FLOAT);
        var x = g.input("x", 2);
        g.output(g.op("Gather", x, g.scalar(1.0)), "y");
        try (Backend b = Backends.select("onnx")) {
            assertThatThrownBy(() -> ((OnnxBackend) b).compile(g))
                    .isInstanceOf(OnnxKernelException.class)
                    .hasMessageContaining("broken_graph[f32]")
                    .hasMessageContaining("Gather");
        }
    }
}

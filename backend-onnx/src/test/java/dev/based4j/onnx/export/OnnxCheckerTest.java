package dev.based4j.onnx.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.based4j.layer.LayerStack;
import dev.based4j.layer.WeightSource;
import dev.based4j.tensor.DType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Exported files pass the {@code onnx} package's checker (full check, with shape inference). Needs a Python 3
 * with the {@code onnx} module (Debian: {@code apt-get install python3-onnx}, which CI installs); skipped with
 * that reason otherwise.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OnnxCheckerTest {
    /** Interpreters tried in order: the one on PATH, then the system one that Debian's package installs into. */
    private static final List<String> PYTHONS = List.of("python3", "/usr/bin/python3");

    private String python;

    @BeforeAll
    void findPython() {
        python = PYTHONS.stream().filter(p -> run(p, "import onnx").map(r -> r.code == 0).orElse(false)).findFirst()
                .orElse(null);
    }

    private record Outcome(int code, String output) {}

    private static Optional<Outcome> run(String interpreter, String code, String... args) {
        try {
            List<String> cmd = new java.util.ArrayList<>(List.of(interpreter, "-c", code));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return Optional.of(new Outcome(-1, "timed out"));
            }
            return Optional.of(new Outcome(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)));
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private void check(Path model) {
        assumeTrue(python != null, "no Python 3 with the onnx module (apt-get install python3-onnx)");
        String code = "import sys, onnx\n"
                + "onnx.checker.check_model(sys.argv[1], full_check=True)\n"
                + "m = onnx.load(sys.argv[1])\n"
                + "print('ok', onnx.__version__, m.opset_import[0].version, len(m.graph.node))\n";
        Outcome o = run(python, code, model.toString()).orElseThrow();
        assertThat(o.code()).as("onnx.checker on %s said:%n%s", model.getFileName(), o.output()).isZero();
        assertThat(o.output()).startsWith("ok");
    }

    @ParameterizedTest
    @CsvSource({"PREFILL, F32", "DECODE, F32", "PREFILL, F64", "DECODE, F64"})
    void exportedModelsPassTheChecker(OnnxExporter.Mode mode, DType dtype, @TempDir Path dir) {
        LayerStack.Config config = OnnxExporterTest.mixedStack();
        OnnxExporter.Result r = OnnxExporter.export(config, WeightSource.of(LayerStack.randomWeights(config, 3)), mode,
                dtype, dir.resolve("based-" + mode.name().toLowerCase(java.util.Locale.ROOT) + ".onnx"));
        check(r.model());
    }

    @ParameterizedTest(name = "{0} weights, {1}")
    @CsvSource({"BF16, F32", "F16, F32", "INT8, F32", "INT8_GROUPS_OF_16, F32", "BF16, F64", "INT8, F64",
        "INT8_GROUPS_OF_16, F64"})
    void modelsWithReducedWeightsPassTheChecker(ReducedWeights format, DType dtype, @TempDir Path dir) {
        LayerStack.Config config = OnnxExporterTest.mixedStack();
        WeightSource weights = WeightSource.of(format.convert(LayerStack.randomWeights(config, 5)).stored());
        for (OnnxExporter.Mode mode : OnnxExporter.Mode.values()) {
            OnnxExporter.Result r = OnnxExporter.export(config, weights, mode, dtype,
                    dir.resolve(format.label() + "-" + mode.name().toLowerCase(java.util.Locale.ROOT) + ".onnx"));
            check(r.model());
        }
    }

    @Test
    void aModelWithExternalDataPassesTheChecker(@TempDir Path dir) {
        LayerStack.Config config = OnnxExporterTest.mixedStack();
        OnnxExporter.Result r = OnnxExporter.export(config, WeightSource.of(LayerStack.randomWeights(config, 4)),
                OnnxExporter.Mode.DECODE, DType.F32, dir.resolve("external.onnx"), 0);
        assertThat(r.data()).isNotNull();
        check(r.model());
    }

    @Test
    void theGoldenTinyModelPassesTheChecker(@TempDir Path dir) throws IOException {
        LayerStack.Config config = OnnxExporterTest.GoldenTinyLm.config();
        OnnxExporter.Result r = OnnxExporter.export(config, WeightSource.of(OnnxExporterTest.GoldenTinyLm.weights(config)),
                OnnxExporter.Mode.PREFILL, DType.F32, dir.resolve("tiny.onnx"));
        check(r.model());
    }
}

package dev.based4j.onnx.export;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.model.SafetensorsFile;
import dev.based4j.tensor.DType;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The picocli command writes loadable files and refuses what it cannot do with a message. */
class ExportOnnxCommandTest {
    private static int run(ExportOnnxCommand command, StringWriter out, StringWriter err, String... args) {
        CommandLine cli = new CommandLine(command);
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        cli.setExecutionExceptionHandler((ex, line, parsed) -> {
            line.getErr().println(ex.getMessage());
            return 2;
        });
        return cli.execute(args);
    }

    @Test
    void writesASeededDecodeGraphThatOnnxRuntimeLoads(@TempDir Path dir) throws OrtException {
        Path file = dir.resolve("seeded-decode.onnx");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = run(new ExportOnnxCommand(), out, err, "--out", file.toString(), "--mode", "decode",
                "--d-model", "32", "--layers", "3", "--heads", "2", "--vocab", "50");
        assertThat(code).as("exit status; stderr: %s", err).isZero();
        assertThat(out.toString()).contains("wrote", "decode", "past.1.kv", "present.2.ring_v");
        try (OrtSession s = OrtEnvironment.getEnvironment().createSession(file.toString())) {
            assertThat(s.getInputNames()).contains("input_ids", "position", "past.0.conv");
        }
    }

    @Test
    void exportsACheckpointFolderThroughTheModelLoader(@TempDir Path dir) throws OrtException {
        BasedConfig config = BasedConfig.tiny();
        LayerStack.Config stack = BasedModel.stackConfig(config);
        Path model = dir.resolve("tiny");
        Checkpoint.write(model, config, LayerStack.randomWeights(stack, 9), SafetensorsFile.StoredType.F32, 2);
        ExportOnnxCommand command = new ExportOnnxCommand(folder -> {
            Checkpoint cp = Checkpoint.open(folder);
            return new ExportOnnxCommand.Loaded(BasedModel.stackConfig(cp.config()), cp.weights(DType.F32), cp);
        });
        Path file = dir.resolve("tiny-prefill.onnx");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = run(command, out, err, "--model", model.toString(), "--out", file.toString());
        assertThat(code).as("exit status; stderr: %s", err).isZero();
        assertThat(out.toString()).contains("prefill", "5 layers", "present.1.kv", "present.2.ring_k");
        try (OrtSession s = OrtEnvironment.getEnvironment().createSession(file.toString())) {
            assertThat(s.getOutputNames()).contains("logits", "present.0.conv");
        }
    }

    @Test
    void modelWithoutALoaderIsRefusedWithTheReason(@TempDir Path dir) throws Exception {
        Path model = Files.createDirectory(dir.resolve("model"));
        StringWriter err = new StringWriter();
        int code = run(new ExportOnnxCommand(), new StringWriter(), err, "--model", model.toString(), "--out",
                dir.resolve("x.onnx").toString());
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("--model", "no model loader");
    }

    @Test
    void aBadModeIsNamed(@TempDir Path dir) {
        StringWriter err = new StringWriter();
        int code = run(new ExportOnnxCommand(), new StringWriter(), err, "--out", dir.resolve("x.onnx").toString(),
                "--mode", "train");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("mode", "prefill or decode", "train");
    }
}

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
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Nested;
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

    @Nested
    class RefusedBeforeAnythingIsBuilt {
        @Test
        void aFolderAsOutIsNamed(@TempDir Path dir) {
            StringWriter err = new StringWriter();
            int code = run(new ExportOnnxCommand(), new StringWriter(), err, "--out", dir.toString(), "--d-model", "32",
                    "--layers", "2", "--heads", "2", "--vocab", "50");
            assertThat(code).isEqualTo(2);
            assertThat(err.toString().strip()).isEqualTo("--out: " + dir + " is a folder; expected the .onnx file to "
                    + "write");
        }

        @Test
        void aDeviceAsOutIsNamed() {
            Path full = Path.of("/dev/full");
            org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(full), "/dev/full exists here");
            StringWriter err = new StringWriter();
            int code = run(new ExportOnnxCommand(), new StringWriter(), err, "--out", full.toString(), "--d-model",
                    "32", "--layers", "2", "--heads", "2", "--vocab", "50");
            assertThat(code).isEqualTo(2);
            assertThat(err.toString()).contains("--out: /dev/full is not a regular file");
        }

        @Test
        void anOutUnderAFileIsNamed(@TempDir Path dir) throws Exception {
            Path file = Files.writeString(dir.resolve("plain"), "x");
            StringWriter err = new StringWriter();
            int code = run(new ExportOnnxCommand(), new StringWriter(), err, "--out", file.resolve("m.onnx").toString());
            assertThat(code).isEqualTo(2);
            assertThat(err.toString()).contains("--out").contains(file + " is not a folder");
        }

        @Test
        void sizesGoToTheMemoryCheckInBytesBeforeAnyWeightIsMade(@TempDir Path dir) {
            List<String> seen = new ArrayList<>();
            ExportOnnxCommand.MemoryCheck refuseAll = (setting, heap, offHeap, detail) -> {
                seen.add(setting + " heap=" + heap + " native=" + offHeap);
                throw new IllegalArgumentException(setting + ": refused by the test");
            };
            StringWriter err = new StringWriter();
            int code = run(new ExportOnnxCommand(null, refuseAll), new StringWriter(), err, "--out",
                    dir.resolve("x.onnx").toString(), "--layers", "100000000");
            assertThat(code).isEqualTo(2);
            assertThat(seen).singleElement().asString()
                    .startsWith("--d-model 256, --layers 100000000, --heads 4, --vocab 1024 heap=");
            long nativeBytes = Long.parseLong(seen.get(0).replaceAll(".* native=", ""));
            assertThat(nativeBytes).as("seeded F32 weights of 10^8 layers").isGreaterThan(100_000_000L * 256 * 256 * 4);
            assertThat(dir.resolve("x.onnx")).doesNotExist();
        }

        @Test
        void aWidthWhoseWeightsDoNotFitALongIsRefusedAsMoreThanEightExbibytes(@TempDir Path dir) {
            StringWriter err = new StringWriter();
            int code = run(new ExportOnnxCommand(), new StringWriter(), err, "--out", dir.resolve("x.onnx").toString(),
                    "--d-model", "2000000000");
            assertThat(code).isEqualTo(2);
            assertThat(err.toString()).contains("--d-model 2000000000").contains("more than 8 EiB");
        }

        @Test
        void theSeededParameterCountIsExactlyTheWeightsOfTheSeededStack() {
            for (int[] s : new int[][] {{32, 1, 2, 50}, {32, 5, 2, 50}, {64, 7, 4, 100}, {48, 11, 3, 7}}) {
                LayerStack.Config config = ExportOnnxCommand.seededStack(s[0], s[1], s[2], s[3]);
                long real = LayerStack.randomWeights(config, 1).values().stream()
                        .mapToLong(t -> t.shape().elementCount()).sum();
                assertThat(ExportOnnxCommand.seededParameters(s[0], s[1], s[2], s[3]))
                        .as("d=%d layers=%d heads=%d vocab=%d", s[0], s[1], s[2], s[3]).isEqualTo(real);
                assertThat(ExportOnnxCommand.parameters(config)).isEqualTo(real);
            }
        }
    }
}

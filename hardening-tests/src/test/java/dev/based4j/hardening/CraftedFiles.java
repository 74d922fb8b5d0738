package dev.based4j.hardening;

import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.Checkpoint;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.tensor.HostTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** Files the crafted command lines of {@link CommandLineFuzzTest} read: checkpoints and golden cases, made here. */
final class CraftedFiles {
    private CraftedFiles() {}

    /** The tiny model with seeded weights and one NaN in the MLP of block {@code layer}. */
    static Path checkpointWithNanIn(Path dir, int layer) {
        BasedConfig config = BasedConfig.tiny();
        Map<String, HostTensor> w = new LinkedHashMap<>(LayerStack.randomWeights(BasedModel.stackConfig(config), 11));
        w.get(LayerStack.LAYER_PREFIX + layer + ".mlp.fc2.weight").setDouble(5, Double.NaN);
        Checkpoint.write(dir, config, w, StoredType.F32, 1);
        return dir;
    }

    /**
     * The tiny model with seeded weights and, in the MLP of block {@code layer}, a row of finite weights so large
     * (±3·10³⁸) that its output overflows float32: the loader takes it, the run's output is not finite.
     */
    static Path checkpointThatOverflowsIn(Path dir, int layer) {
        BasedConfig config = BasedConfig.tiny();
        Map<String, HostTensor> w = new LinkedHashMap<>(LayerStack.randomWeights(BasedModel.stackConfig(config), 11));
        HostTensor fc1 = w.get(LayerStack.LAYER_PREFIX + layer + ".mlp.fc1.weight");
        for (long i = 0; i < fc1.shape().dim(1); i++) {
            fc1.setDouble(i, i % 2 == 0 ? 3e38 : -3e38);
        }
        Checkpoint.write(dir, config, w, StoredType.F32, 1);
        return dir;
    }

    /**
     * The tiny model widened to GPT-2's 256 byte tokens plus two, with a byte-level {@code vocab.json} and a
     * {@code merges.txt} of one merge, so that text prompts work.
     */
    static Path checkpointWithTokenizer(Path dir) throws IOException {
        BasedConfig config = BasedConfig.parse(BasedConfig.tiny().toJson().replace("\"vocab_size\" : 100",
                "\"vocab_size\" : 258"));
        Checkpoint.write(dir, config, LayerStack.randomWeights(BasedModel.stackConfig(config), 9), StoredType.F32, 1);
        List<Integer> printable = new ArrayList<>();
        for (int b = '!'; b <= '~'; b++) {
            printable.add(b);
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable.add(b);
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable.add(b);
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        int n = 0;
        for (int b = 0; b < 256; b++) {
            vocab.put(Character.toString(printable.contains(b) ? b : 256 + n++), b);
        }
        vocab.put("he", 256);
        vocab.put("<|endoftext|>", 257);
        String json = vocab.entrySet().stream()
                .map(e -> "\"" + e.getKey().replace("\\", "\\\\").replace("\"", "\\\"") + "\": " + e.getValue())
                .collect(Collectors.joining(", ", "{", "}"));
        Files.writeString(dir.resolve("vocab.json"), json);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nh e\n");
        return dir;
    }

    /** A Taylor feature-map golden case whose input {@code x} is declared as int32 token ids: found when it runs. */
    static Path goldenCaseWithTensorAsTokenIds(Path folder) throws IOException {
        return taylorCase(folder, "int32", 2 * 3 * 5 * 73 * 4);
    }

    /** A Taylor feature-map golden case whose output file is one float short: found when the folder is read. */
    static Path goldenCaseWithTruncatedOutput(Path folder) throws IOException {
        return taylorCase(folder, "float32", 2 * 3 * 5 * 73 * 4 - 4);
    }

    private static Path taylorCase(Path folder, String inputType, int outputBytes) throws IOException {
        Path c = Files.createDirectories(folder.resolve("fm_crafted"));
        Files.writeString(c.resolve("case.json"), """
                {"name": "fm_crafted", "op": "taylor_feature_map",
                 "config": {"seed": 2, "batch": 2, "heads": 3, "seq_len": 5, "feature_dim": 8, "output_dim": 73},
                 "byte_order": "little", "layout": "row-major (C order), last index fastest",
                 "tensors": {
                   "x": {"role": "input", "shape": [2, 3, 5, 8], "dtype": "%s", "file": "x.bin"},
                   "phi": {"role": "output", "shape": [2, 3, 5, 73], "dtype": "float32", "file": "phi.f32"}}}
                """.formatted(inputType));
        Files.write(c.resolve("x.bin"), new byte[2 * 3 * 5 * 8 * 4]);
        Files.write(c.resolve("phi.f32"), new byte[outputBytes]);
        return folder;
    }
}

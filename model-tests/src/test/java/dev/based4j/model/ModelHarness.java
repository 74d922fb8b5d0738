package dev.based4j.model;

import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.model.SafetensorsFile.StoredType;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.HostTensor;
import dev.based4j.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Measurements, not a unit test (nothing is asserted; run by hand): writes a checkpoint of the based-360m shape with
 * seeded random weights in the released layout, loads it on the CPU backend in F32 with its matrices stored in a
 * weight format, reports the resident memory the load added against the weight bytes, and the prefill and decode
 * throughput of {@link Generator}.
 *
 * <p>{@code java ... dev.based4j.model.ModelHarness DIR [windowSize=256] [decodeTokens=16] [promptTokens=32]
 * [weights=f32] [stored=F32]}; an existing checkpoint in DIR is reused (written with its tensors stored as
 * {@code stored}: F32, BF16 or F16).
 */
public final class ModelHarness {
    private ModelHarness() {}

    /** @return VmRSS of this process in bytes (Linux), or -1 */
    static long residentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    static void gc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/harness-360m");
        int window = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int decode = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        int promptLen = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        dev.based4j.tensor.WeightFormat format = dev.based4j.tensor.WeightFormat.parse(args.length > 4 ? args[4]
                : "f32");
        StoredType stored = StoredType.valueOf(args.length > 5 ? args[5] : "F32");
        BasedConfig config = BasedConfig.based360m(window);
        if (!Files.exists(dir.resolve(Checkpoint.WEIGHTS_FILE))) {
            long t = System.nanoTime();
            Map<String, HostTensor> w = LayerStack.randomWeights(BasedModel.stackConfig(config), 360);
            Checkpoint.write(dir, config, w, stored, 1);
            System.out.printf("wrote %s in %.1f s%n", dir, (System.nanoTime() - t) / 1e9);
        }
        gc();
        try (Backend cpu = Backends.select("cpu")) {
            long rssBefore = residentBytes();
            long t0 = System.nanoTime();
            try (BasedModel model = BasedModel.load(dir, cpu, DType.F32, format)) {
                double loadSeconds = (System.nanoTime() - t0) / 1e9;
                long weightBytes = model.weightBytes();
                int[] prompt = BasedModelTest.prompt(1, promptLen);
                for (int i = 0; i < prompt.length; i++) {
                    prompt[i] = Math.floorMod(prompt[i] * 503 + i, config.vocabSize());
                }
                // warm-up: touches every weight page once
                Generator g = new Generator(model);
                g.generate(prompt, GenerationOptions.greedy(2), null, null);
                gc();
                long rssAfter = residentBytes();
                System.out.printf("config: based-360m shape, window_size %d, %d parameters, %.1f MB of weights (%s"
                        + " matrices, file stored as %s)%n", window, config.parameterCount(), weightBytes / 1e6,
                        format.label(), stored);
                System.out.printf("load: %.2f s; resident memory added by load + first run: %.1f MB = %.3f x weight"
                        + " bytes (process total %.1f MB)%n", loadSeconds, (rssAfter - rssBefore) / 1e6,
                        (double) (rssAfter - rssBefore) / weightBytes, rssAfter / 1e6);
                System.out.printf("decode state per sequence: %.2f MB%n", model.stateBytes(1) / 1e6);
                Generator.Result r = g.generate(prompt, GenerationOptions.greedy(decode + 1), null, null);
                System.out.printf("prefill: %d tokens, %.2f tokens/s; decode: %d tokens, %.2f tokens/s (%d threads)%n",
                        r.prefillTokens(), r.prefillTokensPerSecond(), r.decodeTokens(), r.decodeTokensPerSecond(),
                        cpu.unwrap(dev.based4j.cpu.CpuEngine.CpuInfo.class).orElseThrow().threads());
                try (LayerStack.State s = model.newState(1); Tensor t = model.prefill(prompt, 1, prompt.length, s)) {
                    System.out.printf("logits shape %s%n", t.shape());
                }
            }
        }
    }
}

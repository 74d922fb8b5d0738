package dev.based4j.model;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.layer.WeightSource;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
import dev.based4j.tensor.WeightFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Measurements, not a unit test (nothing is asserted; run by hand): what each weight format costs in accuracy, for
 * docs/weight-formats.md. Two models against their float64 reference (float64 weights and arithmetic):
 * <ul>
 *   <li>the golden tiny LM, prefill of its two 20-token prompts: logits relative error and greedy-token agreement
 *       at each of the 40 positions;</li>
 *   <li>a seeded model of the based-360m shape: a 16-token prompt, then 256 decode steps in lockstep, every model fed
 *       the float64 model's greedy token (teacher forcing, so that one disagreement does not change what the others
 *       see): per step the relative error of the logits and whether the top-1 token agrees.</li>
 * </ul>
 * Relative error as everywhere in based4j: {@code max|out − ref| / max(1, max|ref|)}.
 *
 * <p>{@code java ... dev.based4j.model.FormatAccuracyHarness [steps=256] [formats=f32,bf16,f16,int8,int8-g64]
 * [seed=360]}
 */
public final class FormatAccuracyHarness {
    private FormatAccuracyHarness() {}

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        List<WeightFormat> formats = new ArrayList<>();
        for (String f : (args.length > 1 ? args[1] : "f32,bf16,f16,int8,int8-g64").split(",")) {
            formats.add(WeightFormat.parse(f));
        }
        long seed = args.length > 2 ? Long.parseLong(args[2]) : 360;
        try (Backend cpu = Backends.select("cpu")) {
            golden(cpu, formats);
            large(cpu, formats, steps, seed);
        }
    }

    private static void golden(Backend cpu, List<WeightFormat> formats) {
        TinyGolden g = TinyGolden.load();
        int v = g.config.paddedVocabSize();
        System.out.printf("golden tiny LM (%d x %d tokens, vocab %d): logits vs the golden float64 logits%n", g.batch,
                g.seq, v);
        for (WeightFormat f : formats) {
            try (BasedModel m = BasedModel.fromWeights(cpu, g.config, WeightSource.of(g.weights), DType.F32, f)) {
                double[] logits = m.logits(g.ids, g.batch, g.seq).toDoubleArray();
                int agree = 0;
                for (int p = 0; p < g.batch * g.seq; p++) {
                    agree += argmax(logits, p * v, v) == argmax(g.logits, p * v, v) ? 1 : 0;
                }
                System.out.printf(Locale.ROOT, "  %-9s logits error %.2e, greedy tokens %d/%d%n", f.label(),
                        TinyGolden.relativeError(logits, g.logits), agree, g.batch * g.seq);
            }
        }
    }

    private static void large(Backend cpu, List<WeightFormat> formats, int steps, long seed) {
        BasedConfig config = BasedConfig.based360m(128);
        int v = config.paddedVocabSize();
        int[] prompt = new SplittableRandom(seed).ints(16, 0, config.vocabSize()).toArray();
        List<BasedModel> models = new ArrayList<>();
        List<LayerStack.State> states = new ArrayList<>();
        try {
            long t0 = System.nanoTime();
            models.add(BasedModel.random(cpu, config, seed, DType.F64));
            for (WeightFormat f : formats) {
                models.add(BasedModel.random(cpu, config, seed, DType.F32, f));
            }
            System.out.printf(Locale.ROOT, "based-360m shape, seed %d: %d models built in %.0f s%n", seed,
                    models.size(), (System.nanoTime() - t0) / 1e9);
            double[][] prefill = new double[models.size()][];
            for (int i = 0; i < models.size(); i++) {
                LayerStack.State s = models.get(i).newState(1);
                states.add(s);
                try (Tensor t = models.get(i).prefill(prompt, 1, prompt.length, s)) {
                    double[] all = cpu.download(t).toDoubleArray();
                    prefill[i] = java.util.Arrays.copyOfRange(all, all.length - v, all.length);
                }
            }
            double[] worst = new double[formats.size()];
            double[] sum = new double[formats.size()];
            int[] agree = new int[formats.size()];
            int next = argmax(prefill[0], 0, v);
            for (int step = 0; step < steps; step++) {
                double[][] after = new double[models.size()][];
                for (int i = 0; i < models.size(); i++) {
                    try (Tensor t = models.get(i).decode(new int[] {next}, states.get(i))) {
                        after[i] = cpu.download(t).toDoubleArray();
                    }
                }
                next = argmax(after[0], 0, v);
                for (int f = 0; f < formats.size(); f++) {
                    double e = relativeError(after[f + 1], after[0]);
                    worst[f] = Math.max(worst[f], e);
                    sum[f] += e;
                    agree[f] += argmax(after[f + 1], 0, v) == next ? 1 : 0;
                }
                if ((step + 1) % 32 == 0) {
                    System.out.printf("  %d steps (%.0f s)%n", step + 1, (System.nanoTime() - t0) / 1e9);
                }
            }
            System.out.printf("based-360m shape: %d decode steps after a %d-token prompt, the float64 model's greedy"
                    + " tokens fed to all%n", steps, prompt.length);
            for (int f = 0; f < formats.size(); f++) {
                System.out.printf(Locale.ROOT, "  %-9s logits error max %.2e mean %.2e, top-1 agreement %d/%d%n",
                        formats.get(f).label(), worst[f], sum[f] / steps, agree[f], steps);
            }
        } finally {
            states.forEach(LayerStack.State::close);
            models.forEach(BasedModel::close);
        }
    }

    private static int argmax(double[] a, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (a[from + i] > a[from + best]) {
                best = i;
            }
        }
        return best;
    }

    private static double relativeError(double[] out, double[] ref) {
        double diff = 0;
        double scale = 1;
        for (int i = 0; i < ref.length; i++) {
            diff = Math.max(diff, Math.abs(out[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return diff / scale;
    }
}

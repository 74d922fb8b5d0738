package dev.based4j.model;

import dev.based4j.Backends;
import dev.based4j.layer.WeightSource;
import dev.based4j.Backend;
import dev.based4j.tensor.DType;

/** Prints the relative error of the golden tiny_lm logits per element type on a backend (a report, not a test). */
public final class GoldenReport {
    private GoldenReport() {}

    public static void main(String[] args) {
        TinyGolden g = TinyGolden.load();
        try (Backend b = Backends.select(args.length > 0 ? args[0] : "cpu")) {
            for (DType t : DType.compute()) {
                try (BasedModel m = BasedModel.fromWeights(b, g.config, WeightSource.of(g.weights), t)) {
                    double e = TinyGolden.relativeError(m.logits(g.ids, g.batch, g.seq).toDoubleArray(), g.logits);
                    System.out.printf("%s %s: tiny_lm logits relative error %.3e%n", b.name(), t.label(), e);
                }
            }
        }
    }
}

package dev.based4j.recall.capacity;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The results as text: a table of accuracy (mean ± standard deviation over seeds) per mixer and N with the state
 * size, then the comparisons at equal state size that the charts make visible.
 */
public final class CapacityTable {
    private CapacityTable() {}

    /** @return the table, the equal-state comparisons, what was skipped and where it ran */
    public static String render(CapacityResults results) {
        CapacityConfig c = results.config();
        List<Integer> ns = c.kvPairs();
        int labelWidth = Math.max(24, c.mixers().stream().mapToInt(m -> m.label().length()).max().orElse(0));
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "MQAR recall, one head: V=%d L=%d value dim %d, %d seeds x %d "
                + "sequences, %s on %s (%s), %.1f s%n%n", c.vocabSize(), c.seqLen(), c.valueDim(), c.seeds(),
                c.examples(), c.dtype().label(), results.backend(), results.device(),
                results.elapsed().toMillis() / 1000.0));
        out.append(String.format(Locale.ROOT, "%-" + labelWidth + "s %12s", "mixer", "state"));
        for (int n : ns) {
            out.append(String.format(Locale.ROOT, " %15s", "N=" + n));
        }
        out.append('\n');
        out.append("-".repeat(labelWidth + 13 + 16 * ns.size())).append('\n');
        List<CapacityPoint> summary = results.summary();
        for (RecallMixer m : c.mixers()) {
            List<CapacityPoint> row = summary.stream().filter(p -> p.mixer().equals(m)).toList();
            if (row.isEmpty()) {
                continue;
            }
            out.append(String.format(Locale.ROOT, "%-" + labelWidth + "s %12s", m.label(),
                    bytes(row.getFirst().stateBytes())));
            for (int n : ns) {
                Optional<CapacityPoint> p = row.stream().filter(x -> x.numKvPairs() == n).findFirst();
                out.append(p.map(x -> String.format(Locale.ROOT, " %7.1f%% ±%4.1f", 100 * x.mean(),
                        100 * x.stdDev())).orElse(String.format(Locale.ROOT, " %15s", "-")));
            }
            out.append('\n');
        }
        List<String> comparisons = equalStateComparisons(results);
        if (!comparisons.isEmpty()) {
            out.append("\nAt equal state size (linear attention, same bytes as Taylor):\n");
            comparisons.forEach(line -> out.append("  ").append(line).append('\n'));
        }
        for (CapacityResults.Skipped s : results.skipped()) {
            out.append("skipped ").append(s.mixer().label()).append(": ").append(s.reason()).append('\n');
        }
        return out.toString();
    }

    /**
     * For each Taylor point, the other linear-attention maps whose state is within 2 % of its size, at the same N,
     * with the accuracies side by side.
     *
     * @return one line per (Taylor map, N)
     */
    public static List<String> equalStateComparisons(CapacityResults results) {
        List<CapacityPoint> summary = results.summary();
        List<String> lines = new ArrayList<>();
        for (CapacityPoint t : summary) {
            if (!(t.mixer() instanceof RecallMixer.Linear l) || !l.family().equals("taylor")) {
                continue;
            }
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "N=%-4d %s %.1f%%", t.numKvPairs(),
                    t.mixer().label(), 100 * t.mean()));
            boolean any = false;
            for (CapacityPoint o : summary) {
                if (o.mixer() instanceof RecallMixer.Linear && !o.mixer().family().equals("taylor")
                        && o.numKvPairs() == t.numKvPairs()
                        && Math.abs(o.stateBytes() - t.stateBytes()) <= 0.02 * t.stateBytes()) {
                    line.append(String.format(Locale.ROOT, " | %s %.1f%%", o.mixer().label(), 100 * o.mean()));
                    any = true;
                }
            }
            if (any) {
                lines.add(line.append(" (").append(bytes(t.stateBytes())).append(')').toString());
            }
        }
        return lines;
    }

    /** @return bytes in B, KiB or MiB with one decimal */
    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        if (b < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024.0));
    }
}

package dev.based4j.recall.capacity;

import java.io.PrintStream;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A terminal progress bar for a run (me.tongfei:progressbar): one step per evaluation, the current mixer and N as
 * its message, skipped mixers printed above it. Close it when the run ends.
 */
public final class ConsoleProgress implements CapacityExperiment.Listener, AutoCloseable {
    private final PrintStream out;
    private ProgressBar bar;

    /** @param out where the bar is drawn, usually {@code System.err} */
    public ConsoleProgress(PrintStream out) {
        if (out == null) {
            throw new IllegalArgumentException("out: expected a PrintStream, got null");
        }
        this.out = out;
    }

    @Override
    public void started(int tasks) {
        bar = new ProgressBarBuilder()
                .setTaskName("recall")
                .setInitialMax(tasks)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .build();
    }

    @Override
    public void starting(RecallMixer mixer, int numKvPairs, int seedIndex) {
        if (bar != null) {
            bar.setExtraMessage(String.format(Locale.ROOT, "N=%d %s", numKvPairs, mixer.label()));
        }
    }

    @Override
    public void finished(CapacityMeasurement measurement) {
        if (bar != null) {
            bar.step();
        }
    }

    @Override
    public void skipped(RecallMixer mixer, String reason) {
        out.println("skipping " + mixer.label() + ": " + reason);
    }

    /** Closes the bar, leaving it drawn at its final state. */
    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}

package dev.based4j.recall.capacity;

import dev.based4j.recall.MqarConfig;
import dev.based4j.recall.MqarDataset;
import dev.based4j.recall.MqarEvaluator;
import dev.based4j.recall.MqarGenerator;
import dev.based4j.recall.MqarResult;
import dev.based4j.recall.MqarSeeds;
import dev.based4j.Backend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Runs the recall-capacity sweep of a {@link CapacityConfig} on one backend: for each N and seed it generates an
 * MQAR segment, draws the embeddings, and scores every mixer with {@link MqarEvaluator} through an
 * {@link AssociativeRecallModel}. Mixers the backend's capabilities leave out are skipped and reported, never run
 * elsewhere.
 */
public final class CapacityExperiment {
    private CapacityExperiment() {}

    /** Hears about the run as it goes, for progress display. All methods default to doing nothing. */
    public interface Listener {
        /** The run starts {@code tasks} evaluations. */
        default void started(int tasks) {}

        /** An evaluation of {@code mixer} at {@code numKvPairs} begins. */
        default void starting(RecallMixer mixer, int numKvPairs, int seedIndex) {}

        /** One evaluation finished. */
        default void finished(CapacityMeasurement measurement) {}

        /** {@code mixer} is left out: the backend cannot run it. */
        default void skipped(RecallMixer mixer, String reason) {}
    }

    /** {@link #run(Backend, CapacityConfig, Listener)} without a listener. */
    public static CapacityResults run(Backend backend, CapacityConfig config) {
        return run(backend, config, new Listener() {});
    }

    /**
     * Runs the sweep.
     *
     * @throws IllegalArgumentException for a null backend, config or listener
     */
    public static CapacityResults run(Backend backend, CapacityConfig config, Listener listener) {
        if (backend == null) {
            throw new IllegalArgumentException("backend: expected a Backend, got null");
        }
        if (config == null) {
            throw new IllegalArgumentException("config: expected a CapacityConfig, got null");
        }
        if (listener == null) {
            throw new IllegalArgumentException("listener: expected a Listener, got null");
        }
        long start = System.nanoTime();
        List<RecallMixer> runnable = new ArrayList<>();
        List<CapacityResults.Skipped> skipped = new ArrayList<>();
        for (RecallMixer m : config.mixers()) {
            Optional<String> why = m.unsupportedBy(backend.capabilities(), config.dtype());
            if (why.isPresent()) {
                skipped.add(new CapacityResults.Skipped(m, why.get()));
                listener.skipped(m, why.get());
            } else {
                runnable.add(m);
            }
        }
        listener.started(runnable.size() * config.kvPairs().size() * config.seeds());
        long[] seeds = MqarSeeds.segmentSeeds(config.masterSeed(), MqarSeeds.Split.TEST,
                config.kvPairs().size() * config.seeds());
        List<CapacityMeasurement> measurements = new ArrayList<>();
        for (int ni = 0; ni < config.kvPairs().size(); ni++) {
            int n = config.kvPairs().get(ni);
            MqarConfig mqar = config.mqar(n);
            for (int r = 0; r < config.seeds(); r++) {
                long dataSeed = seeds[ni * config.seeds() + r];
                MqarDataset data = MqarGenerator.generate(mqar, config.examples(), dataSeed);
                long embeddingSeed = new SplittableRandom(dataSeed).nextLong();
                Map<Integer, RecallEmbeddings> embeddings = new HashMap<>();
                for (RecallMixer mixer : runnable) {
                    listener.starting(mixer, n, r);
                    RecallEmbeddings e = embeddings.computeIfAbsent(mixer.keyDim(),
                            d -> RecallEmbeddings.random(config.vocabSize(), d, config.valueDim(), embeddingSeed));
                    AssociativeRecallModel model = new AssociativeRecallModel(backend, config.dtype(), mixer, e);
                    long t0 = System.nanoTime();
                    MqarResult result = MqarEvaluator.evaluate(model, data, config.batchSize());
                    CapacityMeasurement m = new CapacityMeasurement(mixer, n, r, dataSeed, result.accuracy(),
                            result.queries(), model.stateBytesPerSequence(), System.nanoTime() - t0);
                    measurements.add(m);
                    listener.finished(m);
                }
            }
        }
        return new CapacityResults(config, backend.name(), backend.device(), measurements, skipped,
                Duration.ofNanos(System.nanoTime() - start));
    }
}

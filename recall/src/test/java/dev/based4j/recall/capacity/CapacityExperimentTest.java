package dev.based4j.recall.capacity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.Backends;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.featuremap.PosElu;
import dev.based4j.featuremap.Relu;
import dev.based4j.featuremap.Taylor;
import dev.based4j.Backend;
import dev.based4j.Capabilities;
import dev.based4j.tensor.DType;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.EnumSet;
import dev.based4j.Operation;
import java.util.Set;
import java.util.EnumMap;
import java.util.Map;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class CapacityExperimentTest {
    private static final long SEED = 99L;
    private static final List<RecallMixer> MIXERS = List.of(
            new RecallMixer.Linear(new Taylor(16)),
            new RecallMixer.Linear(new PosElu(64)),
            new RecallMixer.Linear(new Relu(64)),
            new RecallMixer.Window(16, 16),
            new RecallMixer.Fused(new Taylor(16), 16),
            new RecallMixer.FullAttention(16));
    private static final CapacityConfig SMALL =
            new CapacityConfig(300, 128, List.of(8, 16), 32, 6, 2, SEED, DType.F64, 6, MIXERS);
    private static Backend cpu;

    @BeforeAll
    static void open() {
        cpu = Backends.select("cpu");
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    @Test
    void float32AndFloat64GiveTheSameAccuracies() {
        CapacityResults f64 = CapacityExperiment.run(cpu, SMALL);
        CapacityResults f32 = CapacityExperiment.run(cpu, SMALL.withDtype(DType.F32));
        assertThat(f64.measurements()).hasSize(MIXERS.size() * 2 * 2);
        for (int i = 0; i < f64.measurements().size(); i++) {
            CapacityMeasurement a = f64.measurements().get(i);
            CapacityMeasurement b = f32.measurements().get(i);
            assertThat(b.mixer()).isEqualTo(a.mixer());
            // an argmax may flip on a near tie; a 96-query segment allows one flip
            assertThat(Math.abs(a.accuracy() - b.accuracy()))
                    .as("|f64 - f32| accuracy of %s at N=%d, seed %d (master seed %d)", a.mixer().label(),
                            a.numKvPairs(), a.seedIndex(), SEED)
                    .isLessThanOrEqualTo(1.0 / a.queries() + 1e-12);
            assertThat(b.stateBytes()).as("f32 state is half the f64 state").isEqualTo(a.stateBytes() / 2);
        }
    }

    @Test
    void theSameSeedGivesTheSameResults() {
        CapacityConfig config = SMALL.withDtype(DType.F32).withMixers(MIXERS.subList(0, 2));
        List<Double> a = CapacityExperiment.run(cpu, config).measurements().stream()
                .map(CapacityMeasurement::accuracy).toList();
        List<Double> b = CapacityExperiment.run(cpu, config).measurements().stream()
                .map(CapacityMeasurement::accuracy).toList();
        assertThat(b).isEqualTo(a);
    }

    @Test
    void theOrderingTheExperimentIsAboutShowsUpOnSmallRuns() {
        CapacityResults r = CapacityExperiment.run(cpu, SMALL.withDtype(DType.F32));
        double taylor = r.point(MIXERS.get(0), 16).orElseThrow().mean();
        double poselu = r.point(MIXERS.get(1), 16).orElseThrow().mean();
        double full = r.point(MIXERS.get(5), 16).orElseThrow().mean();
        assertThat(full).as("full attention vs taylor f=16, seed %d", SEED).isGreaterThan(taylor);
        assertThat(taylor).as("taylor f=16 vs poselu d=64, seed %d", SEED).isGreaterThan(poselu + 0.2);
    }

    @Test
    void mixersTheBackendCannotRunAreSkippedWithTheReason() {
        Capabilities all = cpu.capabilities();
        Map<Operation, Set<FeatureMap.Kind>> maps = new EnumMap<>(Operation.class);
        all.featureMaps().forEach((op, kinds) -> {
            EnumSet<FeatureMap.Kind> without = EnumSet.copyOf(kinds);
            without.remove(FeatureMap.Kind.POSELU);
            maps.put(op, without);
        });
        Capabilities noPosElu = new Capabilities(all.precisions(), all.operations(), maps, all.weightTypes(),
                all.copiesRows());
        Backend restricted = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(),
                new Class<?>[] {Backend.class}, (proxy, method, args) -> {
                    if (method.getName().equals("capabilities")) {
                        return noPosElu;
                    }
                    try {
                        return method.invoke(cpu, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        List<String> heard = new ArrayList<>();
        CapacityResults r = CapacityExperiment.run(restricted, SMALL.withMixers(MIXERS.subList(0, 2)),
                new CapacityExperiment.Listener() {
                    @Override
                    public void skipped(RecallMixer mixer, String reason) {
                        heard.add(mixer.label());
                    }
                });
        assertThat(heard).containsExactly("poselu d=64");
        assertThat(r.skipped()).singleElement().satisfies(s -> assertThat(s.reason()).contains("poselu"));
        assertThat(r.measurements()).allSatisfy(m -> assertThat(m.mixer().family()).isEqualTo("taylor"));
        assertThat(CapacityTable.render(r)).contains("skipped poselu d=64");
    }
}

package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.Operation;
import dev.based4j.spi.BasedAttentionFamily;
import dev.based4j.spi.ConvFamily;
import dev.based4j.spi.Engine;
import dev.based4j.spi.FeatureMapFamily;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.spi.PlumbingFamily;
import dev.based4j.spi.SlidingWindowFamily;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@code based4j bench} times: repeats and their spread, waiting for the backend, the peak check. */
class TradeoffTest {
    private static final String SYNC = "synchronize";
    private static final String CLOCK = "clock";
    private static final String KERNEL = "kernel";

    @Nested
    class Timing {
        /**
         * The CPU backend's engine, its families and its synchronize decorated to log into {@code events}: a backend
         * made by based4j (so plans record and replay), on which every kernel call and every wait is seen.
         */
        private static <B> Backend observed(Engine<B> engine, List<String> events) {
            Engine.Builder<B> b = engine.toBuilder().onClose(null).synchronize(() -> {
                engine.synchronize();
                events.add(SYNC);
            });
            engine.featureMaps().ifPresent(f -> b.featureMaps(logging(FeatureMapFamily.class, f, events),
                    engine.capabilities().featureMapsOf(Operation.FEATURE_MAP)));
            engine.linearAttention().ifPresent(f -> b.linearAttention(logging(LinearAttentionFamily.class, f, events),
                    engine.capabilities().featureMapsOf(Operation.LINEAR_ATTENTION)));
            engine.slidingWindow().ifPresent(f -> b.slidingWindow(logging(SlidingWindowFamily.class, f, events)));
            engine.basedAttention().ifPresent(f -> b.basedAttention(logging(BasedAttentionFamily.class, f, events),
                    engine.capabilities().featureMapsOf(Operation.BASED_ATTENTION)));
            engine.conv().ifPresent(f -> b.conv(logging(ConvFamily.class, f, events)));
            engine.plumbing().ifPresent(f -> b.plumbing(logging(PlumbingFamily.class, f, events)));
            return b.build().open("cpu");
        }

        @SuppressWarnings("unchecked")
        private static <T> T logging(Class<?> family, Object real, List<String> events) {
            Class<?>[] interfaces = {family};
            return (T) Proxy.newProxyInstance(family.getClassLoader(), interfaces, (proxy, method, args) -> {
                if (method.getDeclaringClass() == Object.class) {
                    return method.invoke(real, args);
                }
                events.add(KERNEL);
                try {
                    return method.invoke(real, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
        }

        private static final Tradeoff.Listener QUIET = new Tradeoff.Listener() {
            @Override
            public void started(int points) {}

            @Override
            public void point(String model, int context, int batch) {}

            @Override
            public void done(Tradeoff.Measurement prefill, Tradeoff.Measurement decode) {}
        };

        @Test
        void readsTheClockOnlyRightAfterTheBackendFinishedAndTimesEveryRepeatWithKernelsInBetween() {
            List<String> events = Collections.synchronizedList(new ArrayList<>());
            int repeats = 3;
            Tradeoff.Sweep sweep = new Tradeoff.Sweep(Tradeoff.Size.named("small"),
                    List.of(Tradeoff.BASED, Tradeoff.ATTENTION), List.of(24), List.of(1, 2), repeats, 2, 11);
            List<Tradeoff.Measurement> records;
            try (Backend cpu = Backends.select("cpu"); Backend backend = observed(Engine.behind(cpu), events)) {
                records = Tradeoff.run(backend, sweep, QUIET, RunControl.current(), () -> {
                    events.add(CLOCK);
                    return System.nanoTime();
                });
            }

            List<Integer> clocks = new ArrayList<>();
            for (int i = 0; i < events.size(); i++) {
                if (events.get(i).equals(CLOCK)) {
                    clocks.add(i);
                }
            }
            assertThat(clocks).as("clock readings: 2 per timed repeat, %d prefill and %d decode repeats at each of 4 "
                    + "points", repeats, repeats).hasSize(2 * 4 * (repeats + repeats));
            for (int k = 0; k < clocks.size(); k++) {
                int at = clocks.get(k);
                assertThat(events.get(at - 1)).as("what happened just before clock reading %d", k).isEqualTo(SYNC);
                if (k % 2 == 1) {
                    assertThat(events.subList(clocks.get(k - 1), at)).as("events of timed region %d", k / 2)
                            .contains(KERNEL);
                }
            }
            assertThat(records).hasSize(8).allSatisfy(m -> assertThat(m.repeats()).isEqualTo(repeats));
        }

        @Test
        @SuppressWarnings("unchecked")
        void aPointTheBackendRefusesIsFlaggedWithTheReasonAndTheRunGoesOn() {
            try (Backend cpu = Backends.select("cpu")) {
                Engine<Object> engine = (Engine<Object>) Engine.behind(cpu);
                SlidingWindowFamily<Object> real = engine.slidingWindow().orElseThrow();
                Class<?>[] interfaces = {SlidingWindowFamily.class};
                // refuses prefills of more than 40 tokens, as a backend refuses what it cannot allocate
                SlidingWindowFamily<Object> refusing = (SlidingWindowFamily<Object>) Proxy.newProxyInstance(
                        SlidingWindowFamily.class.getClassLoader(), interfaces, (proxy, method, args) -> {
                            if (method.getName().equals("prefill")
                                    && ((SlidingWindowFamily.Call<?>) args[0]).seq() > 40) {
                                throw new IllegalArgumentException("q: 48 tokens are more than this test allows");
                            }
                            try {
                                return method.invoke(real, args);
                            } catch (InvocationTargetException e) {
                                throw e.getCause();
                            }
                        });
                Tradeoff.Sweep sweep = new Tradeoff.Sweep(Tradeoff.Size.named("small"), List.of(Tradeoff.BASED),
                        List.of(24, 48), List.of(1), 2, 2, 11);
                try (Backend backend = engine.toBuilder().onClose(null).slidingWindow(refusing).build().open("cpu")) {
                    List<Tradeoff.Measurement> records = Tradeoff.run(backend, sweep, QUIET, RunControl.current());
                    assertThat(records).hasSize(4);
                    assertThat(records.subList(0, 2)).allSatisfy(m -> assertThat(m.flagged()).isFalse());
                    assertThat(records.subList(2, 4)).allSatisfy(m -> {
                        assertThat(m.context()).isEqualTo(48);
                        assertThat(m.flag()).isEqualTo("refused by the backend: q: 48 tokens are more than this test"
                                + " allows");
                        assertThat(m.repeats()).isZero();
                    });
                }
            }
        }
    }

    @Nested
    class WarmUp {
        @Test
        void runsAtLeastTheFewestBlocksAndNeverMoreThanTheMostEvenBeforeItsLeastTime() {
            try (Backend cpu = Backends.select("cpu")) {
                int[] runs = new int[1];
                int blocks = Tradeoff.settle(cpu, () -> runs[0]++, 5, 1000, 0, 10, RunControl.current());
                assertThat(blocks).as("blocks reported").isEqualTo(runs[0]).isBetween(5, 1000);
                assertThat(Tradeoff.settle(cpu, () -> { }, 1, 1, 10, 10, RunControl.current())).as("at most 1")
                        .isOne();
            }
        }
    }

    @Nested
    class Spread {
        @Test
        void isTheMiddleValueForAnOddCountAndTheMeanOfTheMiddleTwoForAnEvenOne() {
            assertThat(Tradeoff.Spread.of(new double[] {5, 1, 3})).isEqualTo(new Tradeoff.Spread(3, 1, 5));
            assertThat(Tradeoff.Spread.of(new double[] {4, 8, 1, 2})).isEqualTo(new Tradeoff.Spread(3, 1, 8));
        }

        @Test
        void ofNoValuesIsRefused() {
            assertThatThrownBy(() -> Tradeoff.Spread.of(new double[0])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("values");
        }
    }

    @Nested
    class Sweep {
        @Test
        void refusesRepeatsOutside1To100NamingThem() {
            assertThatThrownBy(() -> new Tradeoff.Sweep(Tradeoff.Size.named("small"), List.of(Tradeoff.BASED),
                    List.of(16), List.of(1), 0, 2, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("repeats: expected 1..100, got 0");
            assertThatThrownBy(() -> new Tradeoff.Sweep(Tradeoff.Size.named("small"), List.of(Tradeoff.BASED),
                    List.of(16), List.of(1), 101, 2, 1)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("repeats: expected 1..100, got 101");
        }
    }

    @Nested
    class PeakCheck {
        private static Tradeoff.Measurement point(double gflopsMedian, double gflopsMax) {
            return new Tradeoff.Measurement("opencl", Tradeoff.BASED, Tradeoff.PREFILL, 8, 2048, 5,
                    new Tradeoff.Spread(1.5e6, 1.2e6, 1.9e6), new Tradeoff.Spread(gflopsMedian, gflopsMedian / 2,
                            gflopsMax), null);
        }

        @Test
        void flagsAPointWhoseFastestRepeatExceedsThePeakAndNamesBothFigures() {
            Tradeoff.Measurement m = point(400, 970).checkedAgainst(430);
            assertThat(m.flag()).isEqualTo("above measured FMA peak (970.0 GFLOP/s > 430.0)");
        }

        @Test
        void leavesAPointAtOrBelowThePeakUnflagged() {
            assertThat(point(100, 430).checkedAgainst(430).flagged()).isFalse();
        }

        @Test
        void theTableShowsAFlaggedPointAsAMarkAndAFootnoteNotAsAResult() {
            Tradeoff.Measurement flagged = point(900, 970).checkedAgainst(430);
            Tradeoff.Measurement attention = new Tradeoff.Measurement("opencl", Tradeoff.ATTENTION, Tradeoff.PREFILL,
                    8, 2048, 5, new Tradeoff.Spread(20_000, 19_000, 21_000), new Tradeoff.Spread(30, 28, 31), null);
            String table = TradeoffReport.table(List.of(flagged, attention));

            String row = table.lines().filter(l -> l.startsWith("prefill")).findFirst().orElseThrow();
            assertThat(row).as("the row").contains("!").contains("20,000").doesNotContain("1,500,000")
                    .doesNotContain("900.00");
            assertThat(table).contains("! based prefill B=8 context 2048: above measured FMA peak (970.0 GFLOP/s > "
                    + "430.0)").contains("not a result");
        }

        @Test
        void theTableGivesARefusedPointItsReasonAndNoTimingFootnote() {
            Tradeoff.Spread none = new Tradeoff.Spread(0, 0, 0);
            Tradeoff.Measurement refused = new Tradeoff.Measurement("onnx", Tradeoff.ATTENTION, Tradeoff.PREFILL, 8,
                    16384, 0, none, none, "refused by the backend: q: too large");
            String table = TradeoffReport.table(List.of(refused));
            assertThat(table).contains("! attention prefill B=8 context 16384: refused by the backend: q: too large\n")
                    .doesNotContain("timed at").doesNotContain("faster than this machine");
        }

        @Test
        void jsonAndCsvKeepTheFiguresWithTheFlagBesideThem(@TempDir Path dir) throws Exception {
            Tradeoff.Measurement flagged = point(900, 970).checkedAgainst(430);
            Path json = dir.resolve("b.json");
            Path csv = dir.resolve("b.csv");
            TradeoffReport.writeJson(Map.of("backend", "opencl"), List.of(flagged), json);
            TradeoffReport.writeCsv(List.of(flagged), csv);

            JsonNode r = new ObjectMapper().readTree(json.toFile()).get("records").get(0);
            assertThat(r.get("flag").asText()).isEqualTo(flagged.flag());
            assertThat(r.get("gflops_max").asDouble()).isEqualTo(970);
            assertThat(r.get("tokens_per_s").asDouble()).isEqualTo(1.5e6);
            assertThat(Files.readAllLines(csv).get(1)).endsWith(",\"" + flagged.flag() + "\"");
        }

        @Test
        void theChartLeavesFlaggedPointsOutAndDrawsTheRest(@TempDir Path dir) throws Exception {
            Tradeoff.Measurement flagged = point(900, 970).checkedAgainst(430);
            Tradeoff.Measurement fine = new Tradeoff.Measurement("opencl", Tradeoff.BASED, Tradeoff.DECODE, 8, 2048,
                    5, new Tradeoff.Spread(9_000, 8_000, 9_500), new Tradeoff.Spread(3, 2.7, 3.2), null);
            Path png = dir.resolve("c.png");
            TradeoffReport.writeChart(List.of(flagged, fine), "test", png);
            assertThat(Files.readAllBytes(png)).as("PNG signature").startsWith(0x89, 'P', 'N', 'G');
        }
    }

    @Nested
    class MachinePeakTest {
        @Test
        void measuresAPositivePeakWithTheVectorApiOnTheThreadsAsked() {
            MachinePeak.Peak peak = MachinePeak.measure(1).orElseThrow();
            assertThat(peak.threads()).isEqualTo(1);
            assertThat(peak.lanes()).as("float lanes of the preferred vector").isGreaterThanOrEqualTo(1);
            assertThat(peak.gflops()).as("GFLOP/s").isPositive().isFinite();
        }

        @Test
        void refusesZeroThreadsNamingThem() {
            assertThatThrownBy(() -> MachinePeak.measure(0)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("threads: expected 1..").hasMessageEndingWith(", got 0");
        }

        @Test
        void boundsTheCpuBackend() {
            try (Backend cpu = Backends.select("cpu")) {
                assertThat(MachinePeak.bounds(cpu)).isTrue();
            }
        }
    }
}

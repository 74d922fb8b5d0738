package dev.based4j.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import dev.based4j.conformance.hardening.HardeningScale;
import dev.based4j.state.StateFormat;
import dev.based4j.state.StateSnapshot;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process killed (SIGKILL) while it saves a state never leaves a broken file: after every kill the file loads,
 * whole, as one of the generations the process saved or was saving, never older than the last one it reported
 * saved. This is {@link StateFormat#save}'s atomic write (temp file, force, move) under a real crash.
 */
class StateFileCrashTest {
    private static final long SEED = 0xDEADL;

    @Test
    void aProcessKilledMidSaveLeavesTheLastWholeState(@TempDir Path dir) throws Exception {
        int kills = HardeningScale.configured() == HardeningScale.FULL ? 200 : 6;
        Path file = dir.resolve("state.b4jstate");
        SplittableRandom random = new SplittableRandom(SEED);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> problems = new ArrayList<>();
        long generation = 1;
        int loaded = 0;
        for (int k = 0; k < kills; k++) {
            Process p = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                    StateSaverProcess.class.getName(), file.toString(), Long.toString(generation))
                    .redirectErrorStream(true).start();
            // a reader thread follows the reports: destroying the process closes its streams
            java.util.concurrent.atomic.AtomicLong saved = new java.util.concurrent.atomic.AtomicLong(-1);
            java.util.concurrent.CountDownLatch firstSave = new java.util.concurrent.CountDownLatch(1);
            Thread reader = new Thread(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line = out.readLine(); line != null; line = out.readLine()) {
                        if (line.startsWith("saved ")) {
                            saved.set(Long.parseLong(line.substring(6)));
                            firstSave.countDown();
                        }
                    }
                } catch (java.io.IOException closedByTheKill) {
                    // expected
                }
            });
            reader.start();
            assertThat(firstSave.await(60, TimeUnit.SECONDS)).as("the saving process saved once").isTrue();
            Thread.sleep(random.nextInt(20, 400));
            long reported = saved.get();
            p.destroyForcibly();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            reader.join(10_000);
            long lastSaved = Math.max(reported, saved.get());
            List<StateSnapshot> states;
            try {
                states = StateFormat.load(file);
            } catch (Exception e) {
                problems.add("kill " + k + ": the file does not load: " + e);
                continue;
            }
            StateSnapshot s = states.get(0);
            long g = s.position();
            float first = (float) s.tensor("window").getDouble(0);
            float last = (float) s.tensor("window").getDouble(s.tensor("window").shape().elementCount() - 1);
            // the file holds the last reported generation or a later one whose report the kill cut off
            if (g < reported || g > lastSaved + 2 || first != g || last != g) {
                problems.add("kill " + k + ": loaded generation " + g + " (elements " + first + " .. " + last
                        + ") after the process reported generation " + lastSaved + " saved");
            }
            loaded++;
            generation = Math.max(g, lastSaved) + 3;
        }
        try (var files = Files.list(dir)) {
            System.out.println("[hardening] state files: " + kills + " saving processes killed, the file loaded whole "
                    + loaded + " times; " + files.filter(f -> f.toString().endsWith(".tmp")).count()
                    + " temporary files left by the killed saves; " + problems.size() + " problems");
        }
        assertThat(problems).isEmpty();
    }
}

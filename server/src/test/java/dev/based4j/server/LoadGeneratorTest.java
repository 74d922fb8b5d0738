package dev.based4j.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.model.BasedModel;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoadGeneratorTest {
    @Test
    void everyLevelCompletesItsRequestsWithTheTokensAskedFor() {
        try (Backend backend = TinyModels.cpu();
                BasedModel model = TinyModels.tiny(backend);
                LayerStackRunner runner = new LayerStackRunner(model.stack());
                OpenAiServer server = OpenAiServer.start(TinyModels.served(model, runner), ServerConfig.defaults()
                        .withAddress(ServerConfig.LOOPBACK, 0).withScheduler(new SchedulerConfig(4, 8, 32, 32)))) {
            LoadGenerator.Settings s = new LoadGenerator.Settings(URI.create("http://127.0.0.1:" + server.port()),
                    "tiny", 80, 8, 5, 95, List.of(1, 3), 6, Duration.ofMinutes(1), 1, 3);
            List<LoadGenerator.Level> levels = new LoadGenerator(s).run(line -> {});
            assertThat(levels).extracting(LoadGenerator.Level::concurrency).containsExactly(1, 3);
            assertThat(levels).allSatisfy(l -> {
                assertThat(l.failures()).isZero();
                assertThat(l.requests()).isEqualTo(6);
                assertThat(l.outputTokens()).isEqualTo(6 * 5);
                assertThat(l.ttftP99Ms()).isGreaterThanOrEqualTo(l.ttftP50Ms()).isPositive();
                assertThat(l.cachedTokens()).as("the shared 72 tokens hold 64 aligned ones, resumed by each")
                        .isEqualTo(6 * 64);
            });
        }
    }

    @Test
    void percentilesAreNearestRank() {
        double[] v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertThat(LoadGenerator.percentile(v, 50)).isEqualTo(5);
        assertThat(LoadGenerator.percentile(v, 99)).isEqualTo(10);
        assertThat(LoadGenerator.percentile(new double[0], 50)).isNaN();
    }

    @Test
    void aSuffixLongerThanTheContextIsRefused() {
        assertThatThrownBy(() -> new LoadGenerator.Settings(URI.create("http://127.0.0.1:1"), "m", 10, 11, 1, 95,
                List.of(1), 1, Duration.ofSeconds(1), 0, 0)).hasMessage("suffix: expected 1..10 (the context), got 11");
    }
}

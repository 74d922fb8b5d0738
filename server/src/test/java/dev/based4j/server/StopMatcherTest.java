package dev.based4j.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopMatcherTest {
    @Test
    void releasesTextUpToTheStopStringAndNothingAfter() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertThat(m.push("ab") + m.push("cEN") + m.push("Dxy") + m.push("z")).isEqualTo("abc");
        assertThat(m.stopped()).isTrue();
    }

    @Test
    void holdsBackWhatMayStartAStopStringUntilTheNextPieceDecides() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertThat(m.push("abE")).isEqualTo("ab");
        assertThat(m.push("Nx")).isEqualTo("ENx");
        assertThat(m.stopped()).isFalse();
    }

    @Test
    void releasesTheHeldTextAtTheEnd() {
        StopMatcher m = new StopMatcher(List.of("END"));
        assertThat(m.push("abEN") + m.flush()).isEqualTo("abEN");
    }

    @Test
    void stopsAtTheEarliestOfSeveralStopStrings() {
        StopMatcher m = new StopMatcher(List.of("yz", "b"));
        assertThat(m.push("aby") + m.push("z")).isEqualTo("a");
    }

    @Test
    void passesTextThroughWithoutStopStrings() {
        StopMatcher m = new StopMatcher(List.of());
        assertThat(m.push("abc")).isEqualTo("abc");
    }
}

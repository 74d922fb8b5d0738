package dev.based4j.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backend;
import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class WarmUpTest {
    private static final LayerStack.Config SMALL = LayerStack.Config.based(64, 32, 3, 2, 8, 4);

    private static float[] lastLogits(Backend backend, LayerStack stack, int[] prompt) {
        try (LayerStack.State state = stack.newState(1);
                Tensor logits = stack.prefillLast(prompt, 1, prompt.length, state)) {
            return backend.download(logits).toFloatArray();
        }
    }

    @Nested
    class ItChangesNothing {
        @Test
        void aStackGivesTheSameLogitsBitForBitAfterAWarmUpAsBefore() {
            int[] prompt = new Random(11).ints(23, 0, SMALL.vocabSize()).toArray();
            try (Backend cpu = Backends.select("cpu");
                    LayerStack stack = LayerStack.random(cpu, DType.F32, SMALL, 3);
                    RunControl control = RunControl.open()) {
                float[] before = lastLogits(cpu, stack, prompt);
                WarmUp.Result r = WarmUp.run(stack, 17, 5, control);
                float[] after = lastLogits(cpu, stack, prompt);
                assertThat(after).containsExactly(before);
                assertThat(r.prefillTokens()).isEqualTo(17);
                assertThat(r.decodeSteps()).isEqualTo(5);
                assertThat(r.seconds()).isPositive();
                assertThat(r.describe()).matches("prefill 17 tokens and 5 planned decode steps on a scratch state:"
                        + " \\d+\\.\\d\\d s");
            }
        }

        @Test
        void aModelsStatesAreUntouchedByAWarmUpOnItsOwnScratchState() {
            try (Backend cpu = Backends.select("cpu");
                    BasedModel model = BasedModel.random(cpu, BasedConfig.tiny(), 5, DType.F32);
                    RunControl control = RunControl.open();
                    LayerStack.State user = model.newState(1)) {
                int[] prompt = {3, 1, 4, 1, 5};
                model.prefillLast(prompt, 1, prompt.length, user).close();
                long position = user.position();
                WarmUp.Result r = WarmUp.run(model, 1, 0, control);
                assertThat(user.position()).isEqualTo(position);
                assertThat(r.describe()).startsWith("prefill 1 token and 0 planned decode steps");
            }
        }
    }

    @Nested
    class ItRefuses {
        @Test
        void prefillTokensOutsideOneToTheMaximum() {
            try (Backend cpu = Backends.select("cpu");
                    LayerStack stack = LayerStack.random(cpu, DType.F32, SMALL, 3);
                    RunControl control = RunControl.open()) {
                assertThatThrownBy(() -> WarmUp.run(stack, 0, 1, control)).isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("prefillTokens: expected 1..512, got 0");
                assertThatThrownBy(() -> WarmUp.run(stack, 513, 1, control))
                        .hasMessage("prefillTokens: expected 1..512, got 513");
                assertThatThrownBy(() -> WarmUp.run(stack, 4, 9, control))
                        .hasMessage("decodeSteps: expected 0..8, got 9");
            }
        }
    }
}

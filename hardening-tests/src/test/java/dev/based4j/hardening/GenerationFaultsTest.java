package dev.based4j.hardening;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.based4j.Backends;
import dev.based4j.layer.LayerStack;
import dev.based4j.model.BasedConfig;
import dev.based4j.model.BasedModel;
import dev.based4j.model.GenerationOptions;
import dev.based4j.model.Generator;
import dev.based4j.Allocations;
import dev.based4j.Backend;
import dev.based4j.state.ConvState;
import dev.based4j.tensor.DType;
import dev.based4j.tensor.Shape;
import dev.based4j.tensor.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Faults one level above the kernels, on the CPU backend: a generation interrupted part-way ends cleanly (its
 * tokens so far, reason CANCELLED, every state freed, the backend usable and exact afterwards), and a stack state
 * whose layers no longer agree (a step that failed part-way) is refused rather than decoded.
 */
class GenerationFaultsTest {

    @Test
    void anInterruptedGenerationEndsCleanlyAndLeavesTheBackendExact() throws Exception {
        try (Backend b = Backends.select("cpu");
                BasedModel model = BasedModel.random(b, BasedConfig.tiny(), 3, DType.F32)) {
            Generator g = new Generator(model);
            int[] prompt = {1, 2, 3};
            Generator.Result whole = g.generate(prompt, GenerationOptions.greedy(12), null, null);
            Allocations before = b.allocations();
            Generator.Result[] interrupted = new Generator.Result[1];
            Thread t = new Thread(() -> interrupted[0] = g.generate(prompt, GenerationOptions.greedy(12),
                    (seq, token, index) -> {
                        if (index == 4) {
                            Thread.currentThread().interrupt();
                        }
                    }, null));
            t.start();
            t.join(60_000);
            assertThat(interrupted[0]).as("the interrupted generation returned").isNotNull();
            assertThat(interrupted[0].reasons()).containsExactly(Generator.StopReason.CANCELLED);
            int[] tokens = interrupted[0].tokens().get(0);
            assertThat(tokens).as("tokens up to the interrupt, as in the whole run")
                    .containsExactly(Arrays.copyOf(whole.tokens().get(0), tokens.length));
            assertThat(b.allocations().liveHandles()).as("live tensors after the interrupted generation")
                    .isEqualTo(before.liveHandles());
            Generator.Result again = g.generate(prompt, GenerationOptions.greedy(12), null, null);
            assertThat(again.tokens().get(0)).as("a generation after the interrupted one")
                    .containsExactly(whole.tokens().get(0));
        }
    }

    @Test
    void aStackStateWhoseLayersDisagreeIsRefusedNotDecoded() {
        try (Backend b = Backends.select("cpu");
                LayerStack stack = LayerStack.random(b, DType.F32, LayerStack.Config.based(32, 16, 3, 2, 4, 2), 1);
                LayerStack.State state = stack.newState(1)) {
            stack.decode(new int[] {1}, state).close();
            ConvState first = (ConvState) state.layer(0);
            // what a step failing in layer 1 leaves behind: layer 0 one token ahead
            int channels = first.window().shape().dim(1);
            try (Tensor x = b.allocate(Shape.of(1, 1, channels), DType.F32);
                    Tensor w = b.allocate(Shape.of(channels, first.kernelSize()), DType.F32)) {
                b.causalConv(x, w, first).close();
            }
            assertThatThrownBy(() -> stack.decode(new int[] {2}, state)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("layer 0 is at position 2 but layer 1 at 1")
                    .hasMessageContaining("Restore it from a snapshot");
        }
    }
}

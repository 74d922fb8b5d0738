package dev.based4j.internal;

import dev.based4j.state.BasedAttentionState;
import dev.based4j.state.ConvState;
import dev.based4j.state.LinearAttentionState;
import dev.based4j.state.RecurrentState;
import dev.based4j.state.WindowState;
import dev.based4j.tensor.Tensor;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The calls of {@link KernelBackend} that advance a recurrent state: the state's tensors claimed for writing, the
 * kernel backed up around when the engine asks for it ({@link StateBackups}), the position advanced after success,
 * and the call recorded for a plan.
 *
 * @param <B> the engine's memory handle
 */
final class StateCalls<B> {
    /** Null when the engine's kernels leave a state as it was when they fail. */
    private final StateBackups<B> backups;

    StateCalls(StateBackups<B> backups) {
        this.backups = backups;
    }

    /**
     * Claims the call's tensors and the state's for writing, runs the kernel (backed up when
     * the engine asks for it) and advances the state by {@code tokens} after success; when {@code c} records a plan,
     * the call is recorded with the state it advances.
     */
    <C> void run(RecurrentState state, Consumer<WriteClaims> claim, String operation, long tokens, C call,
            UnaryOperator<C> rebind, Consumer<C> kernel, Capture c) {
        List<Tensor> parts = tensorsOf(state);
        try (WriteClaims claims = new WriteClaims()) {
            claim.accept(claims);
            for (int i = 0; i < parts.size(); i++) {
                claims.write(stateNames(state).get(i), parts.get(i));
            }
            runOnState(parts, operation, tokens, state, () -> kernel.accept(call));
        }
        if (c != null) {
            c.state(state);
            c.record(delta -> runOnState(parts, operation, tokens, state, () -> kernel.accept(rebind.apply(call))));
        }
    }

    /** Runs a state kernel, backed up when the engine asks for it, and advances the state after success. */
    private void runOnState(List<Tensor> parts, String operation, long tokens, RecurrentState state, Runnable kernel) {
        if (backups == null) {
            kernel.run();
        } else {
            @SuppressWarnings("unchecked")
            List<DeviceTensor<B>> live = parts.stream().map(t -> (DeviceTensor<B>) t).toList();
            backups.guard(live, operation, kernel);
        }
        StatePositions.advance(state, tokens);
    }

    private static List<Tensor> tensorsOf(RecurrentState state) {
        return switch (state) {
            case LinearAttentionState s -> List.of(s.kv(), s.z());
            case WindowState s -> List.of(s.keys(), s.values());
            case BasedAttentionState s -> List.of(s.far().kv(), s.far().z(), s.near().keys(), s.near().values());
            case ConvState s -> List.of(s.window());
        };
    }

    private static List<String> stateNames(RecurrentState state) {
        return switch (state) {
            case LinearAttentionState s -> List.of("state.kv", "state.z");
            case WindowState s -> List.of("state.keys", "state.values");
            case BasedAttentionState s -> List.of("state.far.kv", "state.far.z", "state.near.keys",
                    "state.near.values");
            case ConvState s -> List.of("state.window");
        };
    }
}

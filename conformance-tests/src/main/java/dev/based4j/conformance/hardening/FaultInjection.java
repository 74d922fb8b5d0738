package dev.based4j.conformance.hardening;

import dev.based4j.Backend;
import dev.based4j.Operation;
import dev.based4j.spi.BasedAttentionFamily;
import dev.based4j.spi.ConvFamily;
import dev.based4j.spi.Engine;
import dev.based4j.spi.LinearAttentionFamily;
import dev.based4j.spi.SlidingWindowFamily;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Faults on demand for the hardening kit: a decorator of a backend's engine whose state kernels, once armed, fail
 * after they have computed, as a device error reported at the end of a kernel would. The decorated backend backs
 * states up around every state kernel whatever the engine declares, so the restore path runs on the backend under
 * test; it shares the engine's memory and device but not its tensors, and closing it leaves the engine open.
 */
final class FaultInjection {
    private final AtomicInteger armed = new AtomicInteger();
    private final String backendName;

    private FaultInjection(String backendName) {
        this.backendName = backendName;
    }

    /** A backend that has the ways of {@code backend}, plus {@code faults}, and the injector that arms them. */
    record Faulty(Backend backend, FaultInjection faults) {}

    /**
     * @throws IllegalArgumentException when {@code backend} was not made by based4j from an engine
     */
    static Faulty around(Backend backend) {
        FaultInjection f = new FaultInjection(backend.name());
        return new Faulty(decorate(Engine.behind(backend), f).open(backend.name()), f);
    }

    /** The next {@code count} state kernels fail after computing; 0 disarms. */
    void arm(int count) {
        armed.set(count);
    }

    private void afterComputing(String operation) {
        if (armed.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new IllegalStateException("injected fault: " + operation + " on backend " + backendName
                    + " failed after computing (hardening kit)");
        }
    }

    private static <B> Engine<B> decorate(Engine<B> e, FaultInjection f) {
        Engine.Builder<B> b = e.toBuilder().statesSurviveFailures(false).onClose(null);
        e.linearAttention().ifPresent(real -> b.linearAttention(new LinearAttentionFamily<>() {
            @Override
            public void prefill(LinearAttentionFamily.Call<B> call) {
                real.prefill(call);
                f.afterComputing("linearAttentionPrefill");
            }

            @Override
            public void decode(LinearAttentionFamily.Call<B> call) {
                real.decode(call);
                f.afterComputing("linearAttentionDecode");
            }
        }, e.capabilities().featureMapsOf(Operation.LINEAR_ATTENTION)));
        e.slidingWindow().ifPresent(real -> b.slidingWindow(new SlidingWindowFamily<>() {
            @Override
            public void prefill(SlidingWindowFamily.Call<B> call) {
                real.prefill(call);
                f.afterComputing("slidingWindowPrefill");
            }

            @Override
            public void decode(SlidingWindowFamily.Call<B> call) {
                real.decode(call);
                f.afterComputing("slidingWindowDecode");
            }
        }));
        e.basedAttention().ifPresent(real -> b.basedAttention(new BasedAttentionFamily<>() {
            @Override
            public void prefill(BasedAttentionFamily.Call<B> call) {
                real.prefill(call);
                f.afterComputing("basedAttentionPrefill");
            }

            @Override
            public void decode(BasedAttentionFamily.Call<B> call) {
                real.decode(call);
                f.afterComputing("basedAttentionDecode");
            }
        }, e.capabilities().featureMapsOf(Operation.BASED_ATTENTION)));
        e.conv().ifPresent(real -> b.conv((ConvFamily<B>) call -> {
            real.causalConv(call);
            f.afterComputing("causalConv");
        }));
        return b.build();
    }
}

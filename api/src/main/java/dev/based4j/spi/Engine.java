package dev.based4j.spi;

import dev.based4j.Backend;
import dev.based4j.Capabilities;
import dev.based4j.Operation;
import dev.based4j.featuremap.FeatureMap;
import dev.based4j.internal.KernelBackend;
import dev.based4j.tensor.DType;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a backend plugin hands to based4j from {@link BackendProvider#create()}: its {@link Memory}, the kernel
 * families it has, and optional parts (a device-side copy, a synchronisation, a close action). based4j turns it into
 * the {@link Backend} users hold: it validates every call once at the boundary (nulls, ownership, closed tensors,
 * shapes, types, ranges), counts native memory, lets one thread write a tensor at a time, backs states up around
 * kernels that may fail part-way, advances state positions, and refuses what the engine does not supply.
 *
 * <p>{@link Backend#capabilities()} is derived from what was supplied: a family that is not supplied is
 * unsupported by construction, so a minimal plugin writes its memory and one family and nothing else.
 *
 * <pre>{@code
 * return Engine.builder(new HeapMemory(), Set.of(DType.F32, DType.F64))
 *         .device("Java heap")
 *         .linearAttention(new HeapLinearAttention(), Set.of(FeatureMap.Kind.TAYLOR))
 *         .build();
 * }</pre>
 *
 * @param <B> the backend's type of memory handle
 */
public final class Engine<B> {
    private final Memory<B> memory;
    private final Set<DType> precisions;
    private final String device;
    private final FeatureMapFamily<B> featureMaps;
    private final LinearAttentionFamily<B> linearAttention;
    private final SlidingWindowFamily<B> slidingWindow;
    private final BasedAttentionFamily<B> basedAttention;
    private final ConvFamily<B> conv;
    private final PlumbingFamily<B> plumbing;
    private final Map<Operation, Set<FeatureMap.Kind>> maps;
    private final DeviceCopy<B> copy;
    private final Runnable synchronize;
    private final Runnable close;
    private final boolean statesSurviveFailures;
    private final List<Object> extensions;
    private final Capabilities capabilities;

    private Engine(Builder<B> b) {
        this.memory = b.memory;
        this.precisions = Set.copyOf(b.precisions);
        this.device = b.device;
        this.featureMaps = b.featureMaps;
        this.linearAttention = b.linearAttention;
        this.slidingWindow = b.slidingWindow;
        this.basedAttention = b.basedAttention;
        this.conv = b.conv;
        this.plumbing = b.plumbing;
        this.maps = Map.copyOf(b.maps);
        this.copy = b.copy;
        this.synchronize = b.synchronize;
        this.close = b.close;
        this.statesSurviveFailures = b.statesSurviveFailures;
        this.extensions = List.copyOf(b.extensions);
        Set<Operation> ops = EnumSet.noneOf(Operation.class);
        addIf(ops, featureMaps, Operation.FEATURE_MAP);
        addIf(ops, linearAttention, Operation.LINEAR_ATTENTION);
        addIf(ops, slidingWindow, Operation.SLIDING_WINDOW);
        addIf(ops, basedAttention, Operation.BASED_ATTENTION);
        addIf(ops, conv, Operation.CAUSAL_CONV);
        addIf(ops, plumbing, Operation.PLUMBING);
        Set<DType> weights = EnumSet.noneOf(DType.class);
        weights.addAll(precisions);
        weights.addAll(b.weightTypes);
        this.capabilities = new Capabilities(precisions, ops, maps, weights, copy != null);
    }

    private static void addIf(Set<Operation> ops, Object family, Operation op) {
        if (family != null) {
            ops.add(op);
        }
    }

    /**
     * Starts an engine over {@code memory} computing in {@code precisions}.
     *
     * @throws IllegalArgumentException when {@code memory} is null or {@code precisions} is null or empty
     */
    public static <B> Builder<B> builder(Memory<B> memory, Set<DType> precisions) {
        return new Builder<>(memory, precisions);
    }

    /** @return a builder holding every part of this engine, to decorate families (test kits) or drop some */
    public Builder<B> toBuilder() {
        Builder<B> b = new Builder<>(memory, precisions).device(device);
        b.featureMaps = featureMaps;
        b.linearAttention = linearAttention;
        b.slidingWindow = slidingWindow;
        b.basedAttention = basedAttention;
        b.conv = conv;
        b.plumbing = plumbing;
        b.weightTypes.addAll(capabilities.weightTypes());
        b.weightTypes.removeAll(precisions);
        b.maps.putAll(maps);
        b.copy = copy;
        b.synchronize = synchronize;
        b.close = close;
        b.statesSurviveFailures = statesSurviveFailures;
        b.extensions.addAll(extensions);
        return b;
    }

    /**
     * Wraps this engine into the {@link Backend} users hold. Closing that backend frees its tensors and runs the
     * engine's close action.
     *
     * @param name the name the backend reports, normally its provider's
     * @throws IllegalArgumentException when {@code name} is null or blank
     */
    public Backend open(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("name: expected the backend's name, got " + (name == null ? "null" : "''"));
        }
        return new KernelBackend<>(name.strip(), this);
    }

    /**
     * The engine behind a backend that based4j made, for test kits that decorate its families.
     *
     * @throws IllegalArgumentException when {@code backend} was not made by {@link #open}
     */
    public static Engine<?> behind(Backend backend) {
        if (backend instanceof KernelBackend<?> kb) {
            return kb.engine();
        }
        throw new IllegalArgumentException("backend: expected a backend made by Engine.open, got "
                + (backend == null ? "null" : backend.getClass().getName()));
    }

    /** @return the memory */
    public Memory<B> memory() {
        return memory;
    }

    /** @return the element types it computes in */
    public Set<DType> precisions() {
        return precisions;
    }

    /** @return the device it runs on, in words */
    public String device() {
        return device;
    }

    /** @return what it computes, derived from the supplied families */
    public Capabilities capabilities() {
        return capabilities;
    }

    /** @return the feature-map family, if supplied */
    public Optional<FeatureMapFamily<B>> featureMaps() {
        return Optional.ofNullable(featureMaps);
    }

    /** @return the linear-attention family, if supplied */
    public Optional<LinearAttentionFamily<B>> linearAttention() {
        return Optional.ofNullable(linearAttention);
    }

    /** @return the sliding-window family, if supplied */
    public Optional<SlidingWindowFamily<B>> slidingWindow() {
        return Optional.ofNullable(slidingWindow);
    }

    /** @return the fused-layer family, if supplied */
    public Optional<BasedAttentionFamily<B>> basedAttention() {
        return Optional.ofNullable(basedAttention);
    }

    /** @return the causal-convolution family, if supplied */
    public Optional<ConvFamily<B>> conv() {
        return Optional.ofNullable(conv);
    }

    /** @return the plumbing family, if supplied */
    public Optional<PlumbingFamily<B>> plumbing() {
        return Optional.ofNullable(plumbing);
    }

    /** @return the device-side copy, if supplied */
    public Optional<DeviceCopy<B>> copy() {
        return Optional.ofNullable(copy);
    }

    /** Waits until every kernel enqueued so far has finished (a no-op for engines that run synchronously). */
    public void synchronize() {
        if (synchronize != null) {
            synchronize.run();
        }
    }

    /** Runs the close action, if any: frees device resources after every tensor was freed. */
    public void close() {
        if (close != null) {
            close.run();
        }
    }

    /** @return whether state kernels never leave a state half-written when they throw (no backups needed) */
    public boolean statesSurviveFailures() {
        return statesSurviveFailures;
    }

    /** @return the first extension object of type {@code type}, for {@link Backend#unwrap} */
    public <T> Optional<T> extension(Class<T> type) {
        return extensions.stream().filter(type::isInstance).map(type::cast).findFirst();
    }

    /**
     * Assembles an engine. Only {@link Engine#builder(Memory, Set)}'s arguments are required; every family and
     * part is optional.
     */
    public static final class Builder<B> {
        private final Memory<B> memory;
        private final Set<DType> precisions;
        private String device = "unnamed device";
        private FeatureMapFamily<B> featureMaps;
        private LinearAttentionFamily<B> linearAttention;
        private SlidingWindowFamily<B> slidingWindow;
        private BasedAttentionFamily<B> basedAttention;
        private ConvFamily<B> conv;
        private PlumbingFamily<B> plumbing;
        private final Map<Operation, Set<FeatureMap.Kind>> maps = new EnumMap<>(Operation.class);
        private DeviceCopy<B> copy;
        private Runnable synchronize;
        private Runnable close;
        private boolean statesSurviveFailures;
        private final List<Object> extensions = new ArrayList<>();
        private final Set<DType> weightTypes = EnumSet.noneOf(DType.class);

        private Builder(Memory<B> memory, Set<DType> precisions) {
            if (memory == null) {
                throw new IllegalArgumentException("memory: expected the backend's Memory, got null");
            }
            if (precisions == null || precisions.isEmpty() || precisions.stream().anyMatch(java.util.Objects::isNull)) {
                throw new IllegalArgumentException("precisions: expected at least one element type, got " + precisions);
            }
            if (precisions.stream().anyMatch(t -> !t.isCompute())) {
                throw new IllegalArgumentException("precisions: expected compute types (f32, f64), got " + precisions
                        + "; declare weight storage types with plumbing(family, weightTypes)");
            }
            this.memory = memory;
            this.precisions = EnumSet.copyOf(precisions);
        }

        /** Names the device in words ({@code "NVIDIA H100 (sm_90, 80 GiB)"}); shown by {@code based4j info}. */
        public Builder<B> device(String description) {
            this.device = required("device", description);
            return this;
        }

        /** Supplies {@link dev.based4j.Backend#featureMap} for every feature map. */
        public Builder<B> featureMaps(FeatureMapFamily<B> family) {
            return featureMaps(family, EnumSet.allOf(FeatureMap.Kind.class));
        }

        /** Supplies {@link dev.based4j.Backend#featureMap} for the maps in {@code accepted}. */
        public Builder<B> featureMaps(FeatureMapFamily<B> family, Set<FeatureMap.Kind> accepted) {
            this.featureMaps = required("featureMaps", family);
            maps.put(Operation.FEATURE_MAP, kinds(accepted));
            return this;
        }

        /** Supplies linear attention for every feature map. */
        public Builder<B> linearAttention(LinearAttentionFamily<B> family) {
            return linearAttention(family, EnumSet.allOf(FeatureMap.Kind.class));
        }

        /** Supplies linear attention for the feature maps in {@code accepted}. */
        public Builder<B> linearAttention(LinearAttentionFamily<B> family, Set<FeatureMap.Kind> accepted) {
            this.linearAttention = required("linearAttention", family);
            maps.put(Operation.LINEAR_ATTENTION, kinds(accepted));
            return this;
        }

        /** Supplies sliding-window (and full causal) attention. */
        public Builder<B> slidingWindow(SlidingWindowFamily<B> family) {
            this.slidingWindow = required("slidingWindow", family);
            return this;
        }

        /** Supplies the fused layer for every feature map. */
        public Builder<B> basedAttention(BasedAttentionFamily<B> family) {
            return basedAttention(family, EnumSet.allOf(FeatureMap.Kind.class));
        }

        /** Supplies the fused layer for the feature maps in {@code accepted}. */
        public Builder<B> basedAttention(BasedAttentionFamily<B> family, Set<FeatureMap.Kind> accepted) {
            this.basedAttention = required("basedAttention", family);
            maps.put(Operation.BASED_ATTENTION, kinds(accepted));
            return this;
        }

        /** Supplies the causal depthwise convolution of BaseConv. */
        public Builder<B> conv(ConvFamily<B> family) {
            this.conv = required("conv", family);
            return this;
        }

        /** Supplies the model plumbing, its weights stored in the engine's precisions. */
        public Builder<B> plumbing(PlumbingFamily<B> family) {
            this.plumbing = required("plumbing", family);
            return this;
        }

        /**
         * Supplies the model plumbing, whose {@code linear} and {@code embedding} also take weights stored in
         * {@code weightTypes} ({@link DType#BF16}, {@link DType#F16}, {@link DType#I8} with scales).
         */
        public Builder<B> plumbing(PlumbingFamily<B> family, Set<DType> weightTypes) {
            this.plumbing = required("plumbing", family);
            if (weightTypes == null || weightTypes.stream().anyMatch(java.util.Objects::isNull)) {
                throw new IllegalArgumentException("weightTypes: expected a set of element types, got " + weightTypes);
            }
            this.weightTypes.clear();
            this.weightTypes.addAll(weightTypes);
            return this;
        }

        /** Supplies a device-side copy, used for state backups instead of a round trip through the host. */
        public Builder<B> copy(DeviceCopy<B> deviceCopy) {
            this.copy = required("copy", deviceCopy);
            return this;
        }

        /** Supplies what {@link dev.based4j.Backend#synchronize()} runs: wait for every enqueued kernel. */
        public Builder<B> synchronize(Runnable action) {
            this.synchronize = required("synchronize", action);
            return this;
        }

        /** Supplies what runs when the backend is closed, after every tensor was freed. {@code null} runs nothing. */
        public Builder<B> onClose(Runnable action) {
            this.close = action;
            return this;
        }

        /**
         * Declares that the state kernels never leave a state half-written when they throw (they compute into
         * scratch and commit at the end, or cannot fail once the arguments are valid). Without it, based4j copies a
         * state before each kernel that updates it and puts the copy back if the kernel throws.
         */
        public Builder<B> statesSurviveFailures(boolean survive) {
            this.statesSurviveFailures = survive;
            return this;
        }

        /** Adds an object {@link dev.based4j.Backend#unwrap} hands out by type (backend-specific details). */
        public Builder<B> extension(Object extension) {
            extensions.add(required("extension", extension));
            return this;
        }

        /** Removes every family, keeping memory and the optional parts (to build a subset). */
        public Builder<B> withoutFamilies() {
            featureMaps = null;
            linearAttention = null;
            slidingWindow = null;
            basedAttention = null;
            conv = null;
            plumbing = null;
            maps.clear();
            weightTypes.clear();
            return this;
        }

        /** @return the engine */
        public Engine<B> build() {
            return new Engine<>(this);
        }

        private static <T> T required(String name, T value) {
            if (value == null) {
                throw new IllegalArgumentException(name + ": expected a value, got null");
            }
            return value;
        }

        private static Set<FeatureMap.Kind> kinds(Set<FeatureMap.Kind> accepted) {
            if (accepted == null || accepted.isEmpty() || accepted.stream().anyMatch(java.util.Objects::isNull)) {
                throw new IllegalArgumentException("accepted: expected at least one feature map kind, got " + accepted);
            }
            return EnumSet.copyOf(accepted);
        }
    }
}

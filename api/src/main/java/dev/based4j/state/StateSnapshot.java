package dev.based4j.state;

import dev.based4j.tensor.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A host copy of one {@link RecurrentState}: its kind, position, integer metadata and named tensors. Written
 * and read by {@link StateFormat}; restored on any backend by the state classes' {@code restore} methods.
 *
 * @param kind which state this is
 * @param position tokens consumed, in {@code [0, }{@link StateFormat#MAX_POSITION}{@code ]}
 * @param meta integer metadata (e.g. {@code lookback})
 * @param tensors named host tensors
 */
public record StateSnapshot(Kind kind, long position, List<Meta> meta, List<Entry> tensors) {

    /** Which state a snapshot holds; the code is stored in the file and never reused. */
    public enum Kind {
        LINEAR_ATTENTION(1), WINDOW(2), BASED_ATTENTION(3), CONV(4);

        private final int code;

        Kind(int code) {
            this.code = code;
        }

        /** @return the code written to files */
        public int code() {
            return code;
        }

        /** @return a lower-case name for messages */
        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /** @return the kind with this file code, or {@code null} */
        public static Kind ofCode(int code) {
            for (Kind k : values()) {
                if (k.code == code) {
                    return k;
                }
            }
            return null;
        }
    }

    /** One integer of metadata. */
    public record Meta(String name, int value) {
        /** Requires a name. */
        public Meta {
            Objects.requireNonNull(name, "name");
        }
    }

    /** One named tensor. */
    public record Entry(String name, HostTensor tensor) {
        /** Requires both. */
        public Entry {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(tensor, "tensor");
        }
    }

    /** Validates and copies the lists. */
    public StateSnapshot {
        Objects.requireNonNull(kind, "kind");
        if (position < 0 || position > StateFormat.MAX_POSITION) {
            throw new IllegalArgumentException("position: expected 0.." + StateFormat.MAX_POSITION + ", got " + position);
        }
        meta = List.copyOf(meta);
        tensors = List.copyOf(tensors);
    }

    /**
     * @return the tensor named {@code name}
     * @throws IllegalArgumentException naming the tensor when it is missing
     */
    public HostTensor tensor(String name) {
        for (Entry e : tensors) {
            if (e.name().equals(name)) {
                return e.tensor();
            }
        }
        throw new IllegalArgumentException("snapshot: " + kind.label() + " state has no tensor '" + name + "'");
    }

    /**
     * @return the metadata value named {@code name}
     * @throws IllegalArgumentException naming the entry when it is missing
     */
    public int meta(String name) {
        for (Meta m : meta) {
            if (m.name().equals(name)) {
                return m.value();
            }
        }
        throw new IllegalArgumentException("snapshot: " + kind.label() + " state has no metadata '" + name + "'");
    }

    /** @return the sub-snapshot whose names start with {@code prefix}, prefix removed, as {@code kind} */
    StateSnapshot part(Kind partKind, String prefix) {
        List<Meta> m = new ArrayList<>();
        for (Meta x : meta) {
            if (x.name().startsWith(prefix)) {
                m.add(new Meta(x.name().substring(prefix.length()), x.value()));
            }
        }
        List<Entry> t = new ArrayList<>();
        for (Entry x : tensors) {
            if (x.name().startsWith(prefix)) {
                t.add(new Entry(x.name().substring(prefix.length()), x.tensor()));
            }
        }
        return new StateSnapshot(partKind, position, m, t);
    }
}

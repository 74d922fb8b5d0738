package dev.based4j.tensor;

import dev.based4j.Backend;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A weight matrix {@code [out, in]} (or an embedding table {@code [vocab, d]}) on the host, in the storage of a
 * {@link WeightFormat}: the host side of a {@link Weight}. Float values alone, or int8 values with their scales
 * (float32 or float64, {@code [out]} for one scale per output channel, {@code [out, in / groupSize]} per group).
 *
 * <p>{@link #convert} turns a float tensor into any format, one tensor at a time: bf16 and f16 round to nearest even,
 * int8 quantizes symmetrically ({@code scale = max|run| / 127} rounded to float32, {@code q = round(w / scale)} in
 * {@code -127..127}, where a run is a row or a group of a row). The results are read-only host memory, which the CPU
 * backend computes on where it lies, without another copy.
 *
 * @param values {@code [out, in]}, of the storage type
 * @param scales for int8 values: {@code [out]} or {@code [out, in / groupSize]}, f32 or f64, finite; else null
 * @param groupSize inputs per scale, or 0 for one scale per output channel and for float values
 */
public record HostWeight(HostTensor values, HostTensor scales, int groupSize) {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort S16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    /** Elements converted at a time through a float array. */
    private static final int CHUNK = 1 << 14;

    /**
     * Validates the combination.
     *
     * @throws IllegalArgumentException naming the field that does not fit
     */
    public HostWeight {
        check("weight", values, scales, groupSize);
    }

    /** A weight stored in a float type. */
    public static HostWeight of(HostTensor values) {
        return new HostWeight(values, null, 0);
    }

    /**
     * An int8 weight as a checkpoint stores it: {@code values} and its {@code scales}, the group size read from the
     * scales' shape. Errors name {@code name} and {@code name.scales}.
     *
     * @throws IllegalArgumentException naming the tensor when the values are not int8, the scales are not f32/f64,
     *     not of shape {@code [out]} or {@code [out, in / g]} for a group size {@code g} in
     *     {@link Weight#MIN_GROUP}..{@link Weight#MAX_GROUP}, or hold a value that is not finite
     */
    public static HostWeight stored(String name, HostTensor values, HostTensor scales) {
        if (values == null || values.dtype() != DType.I8) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' expected int8 values with scales '"
                    + name + ".scales', got " + values);
        }
        Shape s = values.shape();
        if (s.rank() != 2) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' expected shape [out, in], got " + s);
        }
        if (scales == null) {
            throw new IllegalArgumentException("weights: tensor '" + name + ".scales' is missing; int8 values need one"
                    + " scale per output channel [" + s.dim(0) + "] or per group [" + s.dim(0) + ", in / group]");
        }
        Shape ss = scales.shape();
        int group = -1;
        if (ss.equals(Shape.of(s.dim(0)))) {
            group = 0;
        } else if (ss.rank() == 2 && ss.dim(0) == s.dim(0) && s.dim(1) % ss.dim(1) == 0) {
            group = s.dim(1) / ss.dim(1);
        }
        if (group < 0 || group != 0 && (group < Weight.MIN_GROUP || group > Weight.MAX_GROUP)) {
            throw new IllegalArgumentException("weights: tensor '" + name + ".scales' expected shape [" + s.dim(0)
                    + "] (one scale per output channel) or [" + s.dim(0) + ", in / group] with a group of "
                    + Weight.MIN_GROUP + ".." + Weight.MAX_GROUP + " dividing in=" + s.dim(1) + ", got " + ss);
        }
        if (!scales.dtype().isCompute()) {
            throw new IllegalArgumentException("weights: tensor '" + name + ".scales' expected f32 or f64 scales, got "
                    + scales.dtype().label());
        }
        long n = ss.elementCount();
        for (long i = 0; i < n; i++) {
            double v = scales.getDouble(i);
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("weights: tensor '" + name + ".scales' element " + i + " is " + v
                        + "; scales must be finite");
            }
        }
        return new HostWeight(values, scales, group);
    }

    /** @return the format the weight is stored in */
    public WeightFormat format() {
        return new WeightFormat(values.dtype(), groupSize);
    }

    /** @return the shape of the values */
    public Shape shape() {
        return values.shape();
    }

    /** @return bytes of the values and the scales */
    public long byteSize() {
        return values.segment().byteSize() + (scales == null ? 0 : scales.segment().byteSize());
    }

    /**
     * Converts a float weight to {@code format}: as is when it is stored so already, rounded for the float formats,
     * quantized for int8 (scales in float32). Errors name {@code name}.
     *
     * @param source {@code [out, in]} of a float type (f32, f64, bf16, f16)
     * @throws IllegalArgumentException naming the tensor when it is int8 already, is not of rank 2 (int8), a group
     *     does not divide its rows, or a value is not finite or not in the range of the target type
     */
    public static HostWeight convert(String name, HostTensor source, WeightFormat format) {
        if (source == null || format == null) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' expected a tensor and a format, got "
                    + source + ", " + format);
        }
        if (source.dtype() == DType.I8) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' is int8 already; read it with its"
                    + " scales (HostWeight.stored)");
        }
        DType target = format.type();
        if (target == source.dtype()) {
            return of(source);
        }
        return switch (target) {
            case F32, F64 -> of(source.to(target));
            case BF16, F16 -> of(round(name, source, target));
            case I8 -> quantize(name, source, format.groupSize());
        };
    }

    /** Rounds to bf16 or f16 a chunk at a time; a result that is not finite names the element. */
    private static HostTensor round(String name, HostTensor source, DType target) {
        HostTensor out = HostTensor.allocate(source.shape(), target);
        MemorySegment dst = out.segment();
        long n = source.shape().elementCount();
        float[] chunk = new float[(int) Math.min(n, CHUNK)];
        for (long first = 0; first < n; first += chunk.length) {
            int len = (int) Math.min(chunk.length, n - first);
            readFloats(source, first, chunk, len);
            for (int i = 0; i < len; i++) {
                float v = chunk[i];
                short bits = target == DType.BF16 ? DType.toBf16(v) : Float.floatToFloat16(v);
                float back = target == DType.BF16 ? DType.fromBf16(bits) : Float.float16ToFloat(bits);
                if (!Float.isFinite(back)) {
                    throw outOfRange(name, source, first + i, source.getDouble(first + i), target);
                }
                dst.setAtIndex(S16, first + i, bits);
            }
        }
        return HostTensor.wrap(dst.asReadOnly(), source.shape(), target);
    }

    private static IllegalArgumentException outOfRange(String name, HostTensor t, long index, double value,
            DType target) {
        String range = target == DType.F16 ? " (largest f16 is 65504)" : "";
        return new IllegalArgumentException("weights: tensor '" + name + "' " + t.shape() + " element " + index + " is "
                + value + (Double.isFinite(value) ? ", beyond the range of " + target.label() + range
                        + "; store it in a wider format" : "; weights must be finite"));
    }

    /** Quantizes {@code [out, in]} a row at a time: each row (or group of a row) gets its scale. */
    private static HostWeight quantize(String name, HostTensor source, int groupSize) {
        Shape s = source.shape();
        if (s.rank() != 2) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' expected shape [out, in] to quantize,"
                    + " got " + s);
        }
        int rows = s.dim(0);
        int in = s.dim(1);
        if (groupSize != 0 && in % groupSize != 0) {
            throw new IllegalArgumentException("weights: tensor '" + name + "' " + s + " has rows of " + in
                    + " inputs, which groups of " + groupSize + " do not divide; use int8 per channel or another"
                    + " group size");
        }
        int run = groupSize == 0 ? in : groupSize;
        int runs = in / run;
        HostTensor values = HostTensor.allocate(s, DType.I8);
        HostTensor scales = HostTensor.allocate(groupSize == 0 ? Shape.of(rows) : Shape.of(rows, runs), DType.F32);
        float[] row = new float[in];
        byte[] q = new byte[in];
        for (int r = 0; r < rows; r++) {
            readFloats(source, (long) r * in, row, in);
            for (int g = 0; g < runs; g++) {
                for (int i = g * run; i < (g + 1) * run; i++) {
                    if (!Float.isFinite(row[i])) {
                        throw outOfRange(name, source, (long) r * in + i, source.getDouble((long) r * in + i),
                                DType.F32);
                    }
                }
                float scale = quantizeRun(row, g * run, run, q, g * run);
                scales.segment().setAtIndex(F32, (long) r * runs + g, scale);
            }
            MemorySegment.copy(q, 0, values.segment(), ValueLayout.JAVA_BYTE, (long) r * in, in);
        }
        return new HostWeight(HostTensor.wrap(values.segment().asReadOnly(), s, DType.I8),
                HostTensor.wrap(scales.segment().asReadOnly(), scales.shape(), DType.F32), groupSize);
    }

    /**
     * Quantizes one run of finite values (a row, or a group of a row) symmetrically to int8: {@code scale = max|v| /
     * 127} rounded to float32, {@code q[i] = round(v[i] / scale)} clamped to {@code -127..127} (all 0 when every value
     * is 0).
     *
     * @return the scale
     */
    public static float quantizeRun(float[] v, int from, int n, byte[] q, int qFrom) {
        double max = 0;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, Math.abs(v[from + i]));
        }
        float scale = (float) (max / 127.0);
        for (int i = 0; i < n; i++) {
            long r = scale == 0 ? 0 : Math.round(v[from + i] / (double) scale);
            q[qFrom + i] = (byte) Math.max(-127, Math.min(127, r));
        }
        return scale;
    }

    /** Reads {@code n} elements from {@code first} of a float tensor as float32. */
    static void readFloats(HostTensor t, long first, float[] dst, int n) {
        MemorySegment s = t.segment();
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(s, F32, first * Float.BYTES, dst, 0, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[i] = DType.fromBf16(s.getAtIndex(S16, first + i));
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst[i] = Float.float16ToFloat(s.getAtIndex(S16, first + i));
                }
            }
            default -> {
                for (int i = 0; i < n; i++) {
                    dst[i] = (float) t.getDouble(first + i);
                }
            }
        }
    }

    /**
     * @return every element's value, {@code values · scale} for int8, as float64 (row-major): the weight a kernel
     *     must multiply by, for references and tests
     */
    public double[] dequantized() {
        double[] v = values.toDoubleArray();
        if (scales == null) {
            return v;
        }
        int in = values.shape().dim(1);
        int run = groupSize == 0 ? in : groupSize;
        for (int i = 0; i < v.length; i++) {
            v[i] *= scales.getDouble(i / run);
        }
        return v;
    }

    /**
     * Uploads the weight to {@code backend}, the scales in {@code compute} (the type of the activations it will
     * multiply); frees what was uploaded when a part fails.
     *
     * @throws UnsupportedOperationException when the backend does not take weights of this type
     */
    public Weight upload(Backend backend, DType compute) {
        if (backend == null) {
            throw new IllegalArgumentException("backend: expected a backend, got null");
        }
        if (compute == null || !compute.isCompute()) {
            throw new IllegalArgumentException("compute: expected f32 or f64, got " + compute);
        }
        Tensor v = backend.upload(values);
        if (scales == null) {
            return Weight.of(v);
        }
        try {
            Tensor s = backend.upload(scales.dtype() == compute ? scales : scales.to(compute));
            return new Weight(v, s, groupSize);
        } catch (RuntimeException | Error e) {
            v.close();
            throw e;
        }
    }

    private static void check(String name, HostTensor values, HostTensor scales, int groupSize) {
        if (values == null) {
            throw new IllegalArgumentException("values: expected a tensor, got null");
        }
        boolean int8 = values.dtype() == DType.I8;
        if (int8 != (scales != null)) {
            throw new IllegalArgumentException("scales: " + (int8 ? "int8 values need scales, got null"
                    : "only int8 values take scales; values are " + values.dtype().label()));
        }
        if (!int8) {
            if (groupSize != 0) {
                throw new IllegalArgumentException("groupSize: only int8 values are grouped; expected 0, got "
                        + groupSize);
            }
            return;
        }
        Shape s = values.shape();
        if (s.rank() != 2) {
            throw new IllegalArgumentException("values: expected shape [out, in], got " + s);
        }
        if (groupSize != 0 && (groupSize < Weight.MIN_GROUP || groupSize > Weight.MAX_GROUP
                || s.dim(1) % groupSize != 0)) {
            throw new IllegalArgumentException("groupSize: expected 0 or a divisor of in=" + s.dim(1) + " in "
                    + Weight.MIN_GROUP + ".." + Weight.MAX_GROUP + ", got " + groupSize);
        }
        Shape expected = groupSize == 0 ? Shape.of(s.dim(0)) : Shape.of(s.dim(0), s.dim(1) / groupSize);
        if (!scales.shape().equals(expected) || !scales.dtype().isCompute()) {
            throw new IllegalArgumentException("scales: expected f32 or f64 " + expected + " for " + name + " " + s
                    + ", got " + scales);
        }
    }
}

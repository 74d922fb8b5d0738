package dev.based4j.onnx.graph;

import dev.based4j.tensor.DType;

/** The ONNX element types the builder uses, with their {@code TensorProto.DataType} codes. */
public enum ElementType {
    /** float32. */
    FLOAT(1, 4),
    /** int8: int8 weights. */
    INT8(3, 1),
    /** int32. */
    INT32(6, 4),
    /** int64: indices, shapes, positions. */
    INT64(7, 8),
    /** bool: masks. */
    BOOL(9, 1),
    /** IEEE binary16: f16 weights. */
    FLOAT16(10, 2),
    /** float64. */
    DOUBLE(11, 8),
    /** bfloat16: bf16 weights. */
    BFLOAT16(16, 2);

    private final int onnxCode;
    private final int byteSize;

    ElementType(int onnxCode, int byteSize) {
        this.onnxCode = onnxCode;
        this.byteSize = byteSize;
    }

    /** @return the {@code TensorProto.DataType} number */
    public int onnxCode() {
        return onnxCode;
    }

    /** @return bytes per element */
    public int byteSize() {
        return byteSize;
    }

    /**
     * @return the element type of a based4j compute dtype
     * @throws IllegalArgumentException for a weight storage type this backend does not compute in
     */
    public static ElementType of(DType dtype) {
        return switch (dtype) {
            case F32 -> FLOAT;
            case F64 -> DOUBLE;
            default -> throw new IllegalArgumentException("dtype: the onnx backend computes in f32 or f64, got "
                    + dtype.label());
        };
    }

    /** @return the element type a tensor of {@code dtype} is stored as: a compute type, or a weight storage type */
    public static ElementType stored(DType dtype) {
        return switch (dtype) {
            case F32 -> FLOAT;
            case F64 -> DOUBLE;
            case BF16 -> BFLOAT16;
            case F16 -> FLOAT16;
            case I8 -> INT8;
        };
    }
}

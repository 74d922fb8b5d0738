package dev.based4j.onnx.graph;

import dev.based4j.tensor.DType;

/** The ONNX element types the builder uses, with their {@code TensorProto.DataType} codes. */
public enum ElementType {
    /** float32. */
    FLOAT(1, 4),
    /** int32. */
    INT32(6, 4),
    /** int64: indices, shapes, positions. */
    INT64(7, 8),
    /** bool: masks. */
    BOOL(9, 1),
    /** float64. */
    DOUBLE(11, 8);

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
}

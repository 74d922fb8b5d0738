package dev.based4j.onnx.graph;

import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The protobuf messages {@link GraphBuilder} writes for value declarations and initializers. */
final class TensorProtos {
    private TensorProtos() {}

    /** A typed value declaration; each dim an {@link Integer} or {@link Long} (fixed) or a {@link String} (symbolic). */
    static ValueInfoProto valueInfo(String valueName, ElementType type, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Integer i) {
                dim.setDimValue(i);
            } else if (d instanceof Long l) {
                dim.setDimValue(l);
            } else if (d instanceof String s) {
                dim.setDimParam(s);
            } else {
                throw new IllegalArgumentException("dims: expected Integer, Long or String, got " + d);
            }
            shape.addDim(dim);
        }
        TypeProto type1 = TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(type.onnxCode()).setShape(shape)).build();
        return ValueInfoProto.newBuilder().setName(valueName).setType(type1).build();
    }

    /** @return {@code data} as little-endian elements of {@code type} (FLOAT, rounded, or DOUBLE) */
    static ByteBuffer encode(ElementType type, double[] data) {
        ByteBuffer buf = ByteBuffer.allocate(Math.multiplyExact(data.length, type.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        if (type == ElementType.DOUBLE) {
            for (double d : data) {
                buf.putDouble(d);
            }
        } else if (type == ElementType.FLOAT) {
            for (double d : data) {
                buf.putFloat((float) d);
            }
        } else {
            throw new IllegalArgumentException("type: expected FLOAT or DOUBLE for double data, got " + type);
        }
        return buf.flip();
    }

    /** @return {@code data} as little-endian INT64 elements */
    static ByteBuffer encode(long[] data) {
        ByteBuffer buf = ByteBuffer.allocate(Math.multiplyExact(data.length, 8)).order(ByteOrder.LITTLE_ENDIAN);
        for (long d : data) {
            buf.putLong(d);
        }
        return buf.flip();
    }

    /** An initializer from the {@code remaining()} little-endian bytes of {@code data}, which must fill {@code dims}. */
    static TensorProto raw(String initName, ElementType type, ByteBuffer data, long... dims) {
        long count = 1;
        for (long d : dims) {
            count *= d;
        }
        if (data.remaining() != count * type.byteSize()) {
            throw new IllegalArgumentException("data: initializer " + initName + " expected " + count * type.byteSize()
                    + " bytes for dims " + java.util.Arrays.toString(dims) + ", got " + data.remaining());
        }
        TensorProto.Builder t = TensorProto.newBuilder().setName(initName).setDataType(type.onnxCode())
                .setRawData(ByteString.copyFrom(data.duplicate()));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    /** An initializer whose {@code length} bytes are at {@code offset} of the file {@code location} (external data). */
    static TensorProto external(String initName, ElementType type, String location, long offset, long length,
            long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(initName).setDataType(type.onnxCode())
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(Long.toString(offset)))
                .addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(Long.toString(length)));
        for (long d : dims) {
            t.addDims(d);
        }
        return t.build();
    }

    /** Checks that {@code length} values fill {@code dims}. */
    static void checkCount(String initName, int length, long... dims) {
        long count = 1;
        for (long d : dims) {
            count *= d;
        }
        if (count != length) {
            throw new IllegalArgumentException("data: initializer " + initName + " expected " + count
                    + " values for dims " + java.util.Arrays.toString(dims) + ", got " + length);
        }
    }
}

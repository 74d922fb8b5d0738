package dev.based4j.onnx.graph;

import ai.onnx.proto.OnnxMl.AttributeProto;
import com.google.protobuf.ByteString;

/** An attribute of a node of a {@link GraphBuilder} graph ({@code axis}, {@code transB}, ...). */
public record Attribute(AttributeProto proto) {
    /** An INT attribute. */
    public static Attribute i(String attrName, long value) {
        return new Attribute(AttributeProto.newBuilder().setName(attrName)
                .setType(AttributeProto.AttributeType.INT).setI(value).build());
    }

    /** A FLOAT attribute. */
    public static Attribute f(String attrName, double value) {
        return new Attribute(AttributeProto.newBuilder().setName(attrName)
                .setType(AttributeProto.AttributeType.FLOAT).setF((float) value).build());
    }

    /** An INTS attribute. */
    public static Attribute ints(String attrName, long... values) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(attrName)
                .setType(AttributeProto.AttributeType.INTS);
        for (long v : values) {
            b.addInts(v);
        }
        return new Attribute(b.build());
    }

    /** A STRING attribute. */
    public static Attribute s(String attrName, String value) {
        return new Attribute(AttributeProto.newBuilder().setName(attrName)
                .setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(value)).build());
    }
}

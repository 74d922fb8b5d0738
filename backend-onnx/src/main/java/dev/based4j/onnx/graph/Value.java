package dev.based4j.onnx.graph;

/**
 * A named value of a graph under construction: a graph input, an initializer or a node output.
 *
 * @param name the value's name in the graph
 * @param type its element type, as far as the builder tracks it
 */
public record Value(String name, ElementType type) {}

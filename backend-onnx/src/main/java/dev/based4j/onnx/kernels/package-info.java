/**
 * The kernels of the based4j surface as ONNX graphs, one class per kernel family (the same names as in the other
 * backends). Each offers a standalone graph for the backend's sessions and subgraph methods that model export
 * composes into whole-model graphs.
 */
package dev.based4j.onnx.kernels;

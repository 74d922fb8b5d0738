/**
 * Export of whole BASED models and layer stacks to {@code .onnx} files: a prefill graph (token ids → logits and
 * every layer's state) and a decode graph (one token and the states → logits and the new states).
 */
package dev.based4j.onnx.export;

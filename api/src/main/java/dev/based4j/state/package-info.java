/**
 * Recurrent state that decoding carries: {@link dev.based4j.state.LinearAttentionState} (per head the
 * {@code dv×D} sum of {@code v⊗φ(k)} and the {@code D} sum of {@code φ(k)}), the window's key/value ring
 * buffer {@link dev.based4j.state.WindowState}, the fused layer's {@link dev.based4j.state.BasedAttentionState},
 * BaseConv's {@link dev.based4j.state.ConvState}, each with its absolute position. States are backend tensors;
 * {@link dev.based4j.state.StateFormat} saves and loads them in a versioned, checksummed byte format that any
 * backend resumes from.
 */
package dev.based4j.state;

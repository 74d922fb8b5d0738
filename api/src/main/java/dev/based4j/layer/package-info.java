/**
 * The mixers and blocks of a BASED model with their weights, named as in the released checkpoints: linear
 * attention ({@link dev.based4j.layer.LinearAttentionLayer}: {@code proj_q, proj_k, proj_v, out_proj}), sliding
 * window ({@link dev.based4j.layer.SlidingWindowLayer}: {@code Wqkv}, rotary, {@code out_proj}), BaseConv
 * ({@link dev.based4j.layer.BaseConvLayer}: {@code in_proj, conv.conv, out_proj}), the fused linear-plus-window
 * layer ({@link dev.based4j.layer.BasedAttentionLayer}), the SwiGLU MLP ({@link dev.based4j.layer.SwiGluMlp}:
 * {@code fc1, fc2}) and {@link dev.based4j.layer.RmsNorm}; a pre-norm {@link dev.based4j.layer.Block} and a
 * {@link dev.based4j.layer.LayerStack} with final norm, embedding and (tied) head.
 *
 * <p>Every layer is built once from a {@link dev.based4j.layer.WeightSource} (each tensor's shape checked, the
 * error naming the tensor) or from seeded random weights, uploads its weights once in the requested type, runs
 * only through {@link dev.based4j.Backend} operations (so it works on any backend), takes and returns
 * {@code [batch, seq, d_model]} and frees its weights on {@code close()}. Mixers run prefill and decode and carry
 * their {@link dev.based4j.state.RecurrentState}; prefill of {@code n} tokens then decode of {@code m} equals
 * prefill of {@code n + m}.
 */
package dev.based4j.layer;

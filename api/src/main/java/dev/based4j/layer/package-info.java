/**
 * The mixers and blocks of a BASED model with their weights, named as in the released checkpoints: linear
 * attention ({@code proj_q, proj_k, proj_v, out_proj}), sliding window ({@code Wqkv}, rotary, {@code out_proj}),
 * BaseConv ({@code in_proj, conv.conv, out_proj}), the SwiGLU MLP ({@code fc1, fc2}) and RMSNorm. Each runs
 * prefill and decode on any backend and carries its state.
 */
package dev.based4j.layer;
